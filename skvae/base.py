"""The public route to a new model family: the estimator core and its parts.

A model family is a torch module and its loss (see :mod:`skvae.models`), a
thin estimator that names them, and its :class:`~skvae.ModelTags`. The estimator
subclasses :class:`BaseVAE` (or :class:`GaussianCodeTransformer`, for a
transformer with a Gaussian posterior) and is registered when its class is
created: :func:`skvae.all_estimators` (with ``include_external=True``), the
model files, the Displays and the hostile-input suite take it without an
edit inside skvae. The user guide's "Adding a model family" walks through
one; the hooks the core calls are documented on :class:`BaseVAE`'s module.
"""

from ._base import BaseVAE
from ._docs import fill_doc
from ._learned_prior import LearnedPriorMixin
from ._terms import DenoisingMixin, NeighborTermMixin
from ._transformer import GaussianCodeTransformer

__all__ = [
    "BaseVAE",
    "DenoisingMixin",
    "GaussianCodeTransformer",
    "LearnedPriorMixin",
    "NeighborTermMixin",
    "fill_doc",
]
