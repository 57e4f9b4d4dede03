"""Torch modules and losses of skvae's model families.

:class:`Autoencoder` is what every family builds on (input scaling, encoder
body, decoder, likelihood; ``_autoencoder.py``, with ``_networks.py``,
``_distributions.py`` and ``_noise.py`` the shared core). Each family is a
module of its own: :mod:`skvae.models.vae` (the VAE), :mod:`skvae.models.autoencoder`
(the deterministic autoencoder), :mod:`skvae.models.vq` (the VQ-VAE),
:mod:`skvae.models.hierarchical` (several stochastic layers),
:mod:`skvae.models.conditional` and :mod:`skvae.models.mixture`;
:mod:`skvae.models.diffusion` is the learned prior over codes that the VAE
and the autoencoder can carry. Features that several families share are
mixins: :class:`Denoising`, :class:`HoldsCodePrior`, and the neighbor pairs
of :mod:`skvae.models.neighbors`. The estimators only name a family's
module class and loss; the shared estimator core (``skvae._base`` and its
parts) imports no family.

:class:`Networks` builds the encoder body and decoder of every family from
the ``architecture`` hyperparameters, or wraps a user's own modules (see
:class:`UserEncoder` and :class:`UserDecoder` for the contract).
"""

from ._autoencoder import INPUT_BOUND, Autoencoder
from ._columns import (
    CATEGORICAL_TYPES,
    COLUMN_TYPES,
    ColumnLayout,
    TableDistribution,
    TableInput,
    TableLikelihood,
    table_statistics,
)
from ._denoising import CORRUPTIONS, Denoising
from ._distributions import (
    FAST,
    LIKELIHOODS,
    VARIANCES,
    BernoulliLikelihood,
    GaussianLikelihood,
    LearnedComponentPriors,
    StudentTLikelihood,
    component_prior,
    diagonal_normal,
    elbo_from_draws,
    gaussian_head,
    iw_bound_from_draws,
    make_likelihood,
)
from ._networks import (
    ACTIVATIONS,
    ARCHITECTURES,
    MLP,
    ConvDecoder,
    ConvEncoder,
    MLPDecoder,
    Networks,
    UserDecoder,
    UserEncoder,
)
from ._noise import DrawsNoise, set_generator
from .autoencoder import AutoencoderLoss, AutoencoderModule
from .diffusion import HoldsCodePrior, LatentDiffusion, MeanLoss
from .hierarchical import HierarchicalVAEModule
from .neighbors import NeighborPairs, neighbor_embedding_loss
from .outlier import TrimmedELBOLoss
from .vae import ELBOLoss, VAEModule, VAEOutput
from .vq import SlotPrior, VectorQuantizer, VQLoss, VQVAEModule

__all__ = [
    "CATEGORICAL_TYPES",
    "COLUMN_TYPES",
    "ColumnLayout",
    "TableDistribution",
    "TableInput",
    "TableLikelihood",
    "table_statistics",
    "ACTIVATIONS",
    "ARCHITECTURES",
    "CORRUPTIONS",
    "INPUT_BOUND",
    "FAST",
    "LIKELIHOODS",
    "MLP",
    "VARIANCES",
    "Autoencoder",
    "AutoencoderLoss",
    "AutoencoderModule",
    "BernoulliLikelihood",
    "ConvDecoder",
    "ConvEncoder",
    "Denoising",
    "DrawsNoise",
    "ELBOLoss",
    "GaussianLikelihood",
    "HierarchicalVAEModule",
    "HoldsCodePrior",
    "LatentDiffusion",
    "LearnedComponentPriors",
    "MLPDecoder",
    "MeanLoss",
    "SlotPrior",
    "StudentTLikelihood",
    "NeighborPairs",
    "Networks",
    "TrimmedELBOLoss",
    "UserDecoder",
    "UserEncoder",
    "VAEModule",
    "VAEOutput",
    "VQLoss",
    "VQVAEModule",
    "VectorQuantizer",
    "component_prior",
    "diagonal_normal",
    "elbo_from_draws",
    "gaussian_head",
    "iw_bound_from_draws",
    "make_likelihood",
    "neighbor_embedding_loss",
    "set_generator",
]
