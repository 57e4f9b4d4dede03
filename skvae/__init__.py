"""Variational autoencoders as scikit-learn estimators, trained with skorch."""

from ._autoencoder import AutoencoderTransformer
from ._cluster import GMVAEClusterer
from ._conditional import ConditionalVAE
from ._hierarchical import HierarchicalVAETransformer
from ._imputer import VAEImputer
from ._io import load, save
from ._map import VAEMap
from ._outlier import VAEOutlierDetector
from ._priors import AutoregressivePrior, DiffusionPrior
from ._registry import ModelTags, get_model_tags, registered_classes
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
    "ModelTags",
    "VAEImputer",
    "VAEMap",
    "VAEOutlierDetector",
    "VAETransformer",
    "VQVAETransformer",
    "all_estimators",
    "get_model_tags",
    "load",
    "save",
]


def all_estimators(include_external=False):
    """The estimator classes of skvae's registry, as ``(name, class)`` pairs.

    Every public subclass of skvae's estimator core is registered when it is
    defined, so the common checks, the model files' allow-list, the command
    line and the tests see a new estimator without a list to edit. Settings
    objects such as :class:`DiffusionPrior` have no ``fit`` and are not listed,
    nor is :class:`VAEMap`, which is built on an estimator of the list.

    Parameters
    ----------
    include_external : bool, default=False
        Also list the model families defined outside skvae (through the
        public route of "Adding a model family"), named ``module.ClassName``.
    """
    return registered_classes(include_external)
