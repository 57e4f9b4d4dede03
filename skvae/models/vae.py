"""The VAE family: a Gaussian posterior, a standard normal prior, any likelihood.

:class:`VAEModule` is the plain VAE (Kingma & Welling 2014) and
:class:`ELBOLoss` its training loss. The module can denoise (see
:class:`~skvae.models.Denoising`), take neighbor pairs (see
:mod:`skvae.models.neighbors`) and carry a learned prior over its codes (see
:mod:`skvae.models.diffusion`).
"""

from typing import NamedTuple

import torch
from torch import nn
from torch.distributions import kl_divergence

from ._autoencoder import Autoencoder
from ._denoising import Denoising
from ._distributions import diagonal_normal, gaussian_params, standard_normal_kl
from .diffusion import HoldsCodePrior, make_code_prior
from .neighbors import neighbor_embedding_loss


class VAEOutput(NamedTuple):
    """What :meth:`VAEModule.forward` returns for a batch of ``n`` rows."""

    log_px: torch.Tensor  # (n,) log p(x | z) at one draw z ~ q(z | x)
    kl: torch.Tensor  # (n,) KL(q(z | x) || p(z)), closed form
    loc: torch.Tensor  # (n, n_components), the posterior's mean
    scale: torch.Tensor  # (n, n_components), the posterior's standard deviation
    z: torch.Tensor  # (n, n_components), the draw
    # (n,) the neighbor-embedding term of each row, when the batch has pairs
    pair: torch.Tensor | None = None


class VAEModule(HoldsCodePrior, Denoising, Autoencoder):
    """The VAE: ``q(z | x)`` a diagonal Gaussian, ``p(z) = N(0, I)``, any likelihood.

    Takes the parameters of :class:`Autoencoder` and of
    :class:`~skvae.models.Denoising`; the posterior head is one linear layer
    on the encoder features. ``prior`` (a dict, default None)
    adds a learned prior over the codes for sampling, kept as ``code_prior``
    (see :func:`skvae.models.diffusion.make_code_prior`); the ELBO keeps
    ``N(0, I)``.
    """

    def __init__(self, networks, n_components, *args, prior=None, **kwargs):
        super().__init__(networks, n_components, *args, **kwargs)
        self.z_params = nn.Linear(self.width, 2 * n_components)
        self.code_prior = make_code_prior(prior, n_components, self.n_context)

    def encode_params(self, x):
        """The posterior's mean and standard deviation, each (n, n_components)."""
        return gaussian_params(self.z_params(self.features(x)))

    def encode(self, x):
        """The posterior ``q(z | x)``, a diagonal Gaussian."""
        return diagonal_normal(*self.encode_params(x))

    def prior(self, like):
        """``p(z) = N(0, I)`` on the device and dtype of ``like``, batched like it."""
        zeros = like.new_zeros(like.shape[:-1] + (self.n_components,))
        return diagonal_normal(zeros, torch.ones_like(zeros))

    def forward(self, x, x_pair=None):
        # the ELBO's terms in closed form, with no distribution object: this
        # runs once per training batch (the tests hold it equal to the
        # distributions' log_prob and kl_divergence)
        # denoising: the encoder sees a corrupted row, the likelihood the clean one
        loc, scale = self.encode_params(self.corrupt(x))
        z = loc + scale * self.normal_like(scale)
        pair = None
        if x_pair is not None:  # a neighbor of each row (see NeighborPairs)
            pair_loc = self.encode_params(self.corrupt(x_pair))[0]
            pair = neighbor_embedding_loss(loc, pair_loc, generator=self.generator)
        return VAEOutput(
            self.log_px(z, x), standard_normal_kl(loc, scale), loc, scale, z, pair
        )

    def encode_mean(self, x):
        """``E[z | x]``, shape (n, n_components)."""
        return self.encode(x).mean

    def code_distribution(self, x, **inputs):
        """The posterior of each row as (loc, scale), each (n, n_components)."""
        qz = self.encode(x, **inputs)
        return qz.base_dist.loc, qz.base_dist.scale

    def latent_statistics(self, x):
        """Per-dimension KL from the prior and posterior means, each (n, n_components)."""
        qz = self.encode(x)
        # the base Normals, before Independent sums the dimensions
        return kl_divergence(qz.base_dist, self.prior(qz.mean).base_dist), qz.mean

    def feature_log_px(self, x, eps):
        """``log p(x_j | z)`` of each feature averaged over draws ``z = loc + scale * eps``.

        ``eps`` (n_draws, n_components) are shared by every row; returns (n, n_features).
        """
        qz = self.encode(x)
        z = qz.base_dist.loc + qz.base_dist.scale * eps[:, None, :]
        return self.decode(z).base_dist.log_prob(x).mean(0)

    def log_weights(self, x, eps):
        """Per-draw terms for Monte-Carlo bounds, with given standard-normal noise.

        Parameters
        ----------
        x : Tensor of shape (n, n_features)
        eps : Tensor of shape (n_draws, n_components)
            The same draws are used for every row, so a row's estimate never
            depends on which other rows share its batch.

        Returns
        -------
        log_px : Tensor of shape (n_draws, n)
            ``log p(x | z_l)``.
        log_ratio : Tensor of shape (n_draws, n)
            ``log p(z_l) - log q(z_l | x)``.
        kl : Tensor of shape (n,)
            The closed-form KL term.
        """
        return self._log_weights(self.encode(x), x, eps, self.prior, None)

    def _log_weights(self, qz, x, eps, prior, c):
        loc, scale = qz.base_dist.loc, qz.base_dist.scale
        z = loc + scale * eps[:, None, :]  # (n_draws, n, k)
        log_px = self.px(z, c).log_prob(x)
        pz = prior(loc)
        log_ratio = pz.log_prob(z) - qz.log_prob(z)
        return log_px, log_ratio, kl_divergence(qz, pz)


class ELBOLoss(nn.Module):
    """Negative mean ELBO, ``-(log p(x|z) - beta * KL)``, in nats per sample.

    ``beta`` weighs the KL term (Higgins et al. 2017); ``beta=1`` is the ELBO.
    During training the weight is ``kl_factor * beta``, where ``kl_factor``
    (set by :class:`skvae._callbacks.KLWarmup`) rises from near 0 to 1; validation
    losses always use ``beta`` itself, so they stay comparable across epochs.

    ``neighbor_weight`` weighs the neighbor-embedding term of the module's
    output, when its batches come with neighbor pairs (see
    :func:`neighbor_embedding_loss`); it is not part of the ELBO.
    """

    def __init__(self, beta=1.0, neighbor_weight=0.0):
        super().__init__()
        self.beta = beta
        self.neighbor_weight = neighbor_weight
        self.kl_factor = 1.0

    def per_row(self, output, training):
        """Each row's negative (beta-weighted) ELBO."""
        weight = self.beta * (self.kl_factor if training else 1.0)
        return weight * output.kl - output.log_px

    def neighbor_term(self, output):
        """The weighted neighbor-embedding term of the batch (0 without pairs)."""
        # the outputs of families without the term have no ``pair`` field
        pair = getattr(output, "pair", None)
        if pair is None or not self.neighbor_weight:
            return 0.0
        return self.neighbor_weight * pair.mean()

    def forward(self, output, x=None, training=False):
        return self.per_row(output, training).mean() + self.neighbor_term(output)
