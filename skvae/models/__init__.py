"""Torch modules and losses of skvae's model families.

Each family is a module of its own: :mod:`skvae.models.vae` (the VAE, and
:class:`Autoencoder`, what every family builds on), :mod:`skvae.models.autoencoder`
(the deterministic autoencoder), :mod:`skvae.models.vq` (the VQ-VAE),
:mod:`skvae.models.hierarchical` (several stochastic layers),
:mod:`skvae.models.conditional` and :mod:`skvae.models.mixture`;
:mod:`skvae.models.diffusion` is the learned prior over codes that the VAE
and the autoencoder can carry. The estimators
only name a family's module class and loss; the shared estimator core
(``skvae._base``) never imports a family other than the plain VAE it
defaults to (and the diffusion prior's loss, to train a learned prior).

:class:`Networks` builds the encoder body and decoder of every family from
the ``architecture`` hyperparameters, or wraps a user's own modules (see
:class:`UserEncoder` and :class:`UserDecoder` for the contract).
"""

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
    gaussian_head,
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
from .diffusion import LatentDiffusion, MeanLoss
from .hierarchical import HierarchicalVAEModule
from .vae import (
    CORRUPTIONS,
    Autoencoder,
    ELBOLoss,
    NeighbourPairs,
    TrimmedELBOLoss,
    VAEModule,
    VAEOutput,
    elbo_from_draws,
    iw_bound_from_draws,
    neighbour_embedding_loss,
)
from .vq import SlotPrior, VectorQuantizer, VQLoss, VQVAEModule

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "CORRUPTIONS",
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
    "DrawsNoise",
    "ELBOLoss",
    "GaussianLikelihood",
    "HierarchicalVAEModule",
    "LatentDiffusion",
    "LearnedComponentPriors",
    "MLPDecoder",
    "MeanLoss",
    "SlotPrior",
    "StudentTLikelihood",
    "NeighbourPairs",
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
    "neighbour_embedding_loss",
    "set_generator",
]
