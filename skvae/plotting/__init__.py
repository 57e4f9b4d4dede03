"""Pictures of fitted skvae estimators, as scikit-learn Display objects.

Each Display follows scikit-learn's convention (``ConfusionMatrixDisplay``,
``PrecisionRecallDisplay``): the constructor takes the values to draw,
:meth:`plot` draws them on a matplotlib ``Axes`` (a new figure when ``ax`` is
None) and keeps the drawn artists as attributes ending in ``_``, and the
class method ``from_estimator`` computes the values from a fitted estimator
and plots them.

``from_estimator`` takes a fitted skvae estimator or a
:class:`~sklearn.pipeline.Pipeline` ending in one: ``X`` runs through the
earlier steps, and what the model gives back is drawn in ``X``'s units where
those steps can be inverted (each Display's ``units_note_`` says when not).

Rows of images are drawn as images when the estimator was fitted on images
(its ``image_shape_``) or when ``image_shape`` is given; other rows are drawn
as feature profiles or bars.

matplotlib is an optional dependency (``pip install 'skvae[plot]'``),
imported when a Display first draws.
"""

from ._latent import LatentSpaceDisplay, ManifoldDisplay
from ._outlier import OutlierScoreDisplay
from ._reconstruction import InterpolationDisplay, ReconstructionDisplay
from ._samples import SampleGridDisplay, TrainingDisplay

__all__ = [
    "InterpolationDisplay",
    "LatentSpaceDisplay",
    "ManifoldDisplay",
    "OutlierScoreDisplay",
    "ReconstructionDisplay",
    "SampleGridDisplay",
    "TrainingDisplay",
]
