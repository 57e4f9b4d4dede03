"""A learned prior over codes: a denoising diffusion model in latent space.

:class:`LatentDiffusion` is a DDPM (Ho et al. 2020) on the codes of a fitted
autoencoder, the recipe of latent diffusion (Rombach et al. 2022) at the
scale of a table: a small MLP predicts the noise ``eps`` added to a code at
step ``t`` of a linear schedule of ``beta_t``, and sampling runs the reverse
process from ``N(0, I)``. It is a submodule of the autoencoder module that
owns the codes (a ``code_prior``), so its weights and the code statistics it
standardises with are saved, loaded and copied with the rest of the model; it
is trained after the autoencoder, on that module's training codes.
"""

import math

import torch
from torch import nn

from .._random import forked_draws
from ._noise import DrawsNoise

# Frequencies of the sinusoidal embedding of the step t (Vaswani et al. 2017).
_N_FREQUENCIES = 32


class LatentDiffusion(DrawsNoise, nn.Module):
    """DDPM over codes of ``n_components`` dimensions, optionally class-conditional.

    Parameters
    ----------
    n_components : int
        Dimension of the codes.
    n_timesteps : int
        Number of diffusion steps ``T``.
    beta_start, beta_end : float
        The noise variances ``beta_1`` and ``beta_T`` of the linear schedule.
    hidden_layer_sizes : tuple of int
        Widths of the noise predictor's hidden layers (SiLU activations).
    n_conditions : int, default=0
        Width of a one-hot condition (the class) given to the noise predictor.
    """

    def __init__(
        self,
        n_components,
        n_timesteps,
        beta_start,
        beta_end,
        hidden_layer_sizes,
        n_conditions=0,
    ):
        super().__init__()
        self.n_components = n_components
        self.n_timesteps = n_timesteps
        self.n_conditions = n_conditions
        betas = torch.linspace(beta_start, beta_end, n_timesteps, dtype=torch.float64)
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        self.register_buffer("betas", betas.float())
        self.register_buffer("alphas_cumprod", alphas_cumprod.float())
        # the codes are standardised with their training statistics (set by
        # set_code_statistics), so the schedule sees unit-scale data
        self.register_buffer("code_loc", torch.zeros(n_components))
        self.register_buffer("code_scale", torch.ones(n_components))
        layers, width = [], n_components + 2 * _N_FREQUENCIES + n_conditions
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), nn.SiLU()]
            width = size
        out = nn.Linear(width, n_components)
        nn.init.zeros_(out.weight)
        nn.init.zeros_(out.bias)
        self.noise_predictor = nn.Sequential(*layers, out)

    def set_code_statistics(self, loc, scale):
        """Standardise codes drawn from ``N(loc, diag(scale^2))`` row by row (n, k)."""
        mean = loc.mean(0)
        var = loc.var(0, unbiased=False) + (scale**2).mean(0)
        self.code_loc.copy_(mean)
        self.code_scale.copy_(var.clamp_min(1e-12).sqrt())

    def _embed(self, t):
        freqs = torch.exp(
            -math.log(10_000.0)
            * torch.arange(_N_FREQUENCIES, device=t.device, dtype=self.betas.dtype)
            / _N_FREQUENCIES
        )
        angles = t.to(self.betas.dtype)[:, None] * freqs
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    def predict_noise(self, zt, t, c=None):
        """The noise predictor ``eps_theta(z_t, t, c)``."""
        inputs = [zt, self._embed(t)] + ([] if c is None else [c.to(zt.dtype)])
        return self.noise_predictor(torch.cat(inputs, dim=1))

    def forward(self, x, scale=None, c=None):
        """Per-row training loss ``||eps - eps_theta(z_t, t)||^2`` at a random step.

        ``x`` holds the codes (or posterior means, with ``scale`` the
        posterior's standard deviations: a fresh code is drawn from
        ``N(x, scale^2)`` each time, so the prior learns the aggregate
        posterior rather than its means).
        """
        z0 = x if scale is None else x + scale * self.normal_like(x)
        z0 = (z0 - self.code_loc) / self.code_scale
        t = self.randint(0, self.n_timesteps, (z0.shape[0],), z0.device)
        eps = self.normal_like(z0)
        ab = self.alphas_cumprod[t][:, None]
        zt = ab.sqrt() * z0 + (1.0 - ab).sqrt() * eps
        return ((self.predict_noise(zt, t, c) - eps) ** 2).sum(dim=1)

    @torch.no_grad()
    def sample(self, n_samples, c=None):
        """Codes drawn by the reverse process (Ho et al. 2020, algorithm 2), (n, k).

        Draws from ``generator`` (None: torch's default, or the generator
        that the estimators route draws to); runs in the dtype and on the
        device of the module's buffers.
        """
        like = self.code_loc
        z = torch.randn(
            n_samples, self.n_components, dtype=like.dtype, device=like.device,
            generator=self.generator,
        )
        betas = self.betas
        alphas_cumprod = self.alphas_cumprod
        for step in reversed(range(self.n_timesteps)):
            t = torch.full((n_samples,), step, device=like.device, dtype=torch.long)
            beta, ab = betas[step], alphas_cumprod[step]
            eps = self.predict_noise(z, t, c)
            z = (z - beta / (1.0 - ab).sqrt() * eps) / (1.0 - beta).sqrt()
            if step > 0:
                z = z + beta.sqrt() * self.normal_like(z)
        return self.code_loc + self.code_scale * z


class MeanLoss(nn.Module):
    """Mean of a learned prior's per-row losses: the criterion its net trains with."""

    def forward(self, output, x=None, training=False):
        return output.mean()


class HoldsCodePrior:
    """Mixin of a family module that keeps a learned prior as ``code_prior`` (or None).

    The prior is trained apart, after the model (see
    :class:`skvae._learned_prior.LearnedPriorMixin`), so its weights take no
    part in ``forward``; data-parallel training is told so.
    """

    @property
    def unused_in_forward(self):
        """Whether some weights take no part in ``forward``: the learned prior's."""
        return getattr(self, "code_prior", None) is not None


def make_code_prior(config, n_components, n_conditions=0):
    """The ``code_prior`` submodule a ``prior`` config asks for (None for a fixed prior).

    ``config`` is None or a dict of :class:`LatentDiffusion`'s parameters
    (see ``skvae.DiffusionPrior``).
    """
    if config is None:
        return None
    # initialised from a copy of the random state, which is then put back:
    # adding the prior leaves the draws of the autoencoder's training as they
    # were, so the same seed fits the same autoencoder with or without it
    with forked_draws():
        return _latent_diffusion(config, n_components, n_conditions)


def _latent_diffusion(config, n_components, n_conditions):
    return LatentDiffusion(
        n_components,
        n_timesteps=config["n_timesteps"],
        beta_start=config["beta_start"],
        beta_end=config["beta_end"],
        hidden_layer_sizes=tuple(config["hidden_layer_sizes"]),
        n_conditions=n_conditions,
    )
