"""Variational autoencoders as scikit-learn estimators, trained with skorch."""

from ._autoencoder import AutoencoderTransformer
from ._cluster import GMVAEClusterer
from ._conditional import ConditionalVAE
from ._hierarchical import HierarchicalVAETransformer
from ._io import load, save
from ._outlier import VAEOutlierDetector
from ._priors import AutoregressivePrior, DiffusionPrior
from ._transformer import VAETransformer
from ._vq import VQVAETransformer

__version__ = "0.1.0.dev0"

__all__ = [
    "AutoencoderTransformer",
    "AutoregressivePrior",
    "ConditionalVAE",
    "DiffusionPrior",
    "GMVAEClusterer",
    "HierarchicalVAETransformer",
    "VAEOutlierDetector",
    "VAETransformer",
    "VQVAETransformer",
    "all_estimators",
    "load",
    "save",
]


def all_estimators():
    """The public estimator classes of skvae, as ``(name, class)`` pairs.

    Tests use it to run scikit-learn's common checks over every estimator,
    so a new estimator is checked as soon as it is exported here. Settings
    objects such as :class:`DiffusionPrior` have no ``fit`` and are not listed.
    """
    from sklearn.base import BaseEstimator

    return sorted(
        (name, obj)
        for name, obj in globals().items()
        if name in __all__
        and isinstance(obj, type)
        and issubclass(obj, BaseEstimator)
        and hasattr(obj, "fit")
    )
