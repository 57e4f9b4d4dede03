"""A hierarchical VAE: stacked stochastic layers (Burda et al. 2016).

:class:`HierarchicalVAEModule` has layers ``z_1`` (the bottom, read by the
decoder) to ``z_L`` (the top), with the generative model ``p(z_L) p(z_{L-1}
| z_L) ... p(z_1 | z_2) p(x | z_1)`` and the inference model ``q(z_1 | x)
q(z_2 | z_1) ... q(z_L | z_{L-1})``, bottom up, as in the importance
weighted autoencoder's two-layer models: the layers above the bottom one are
a learned prior of its codes. Every conditional is a diagonal Gaussian from
a small MLP; the top layer's KL term is in closed form given the layer below,
the lower layers' are estimated at the draws.

A top-down inference model (ladder VAE / NVAE style, ``q(z_l | x,
z_{l+1})``) was tried first: on 5,000 MNIST digits it sent the information
through the small top layer, left the bottom one on its prior, and ended
6.5 nats below this one after 30 epochs.

The decoder contract of the other families holds with the bottom layer as
"the code": ``decode(z_1)`` and ``decode_mean(z_1)``; ``top_down_mean``
maps top-layer codes to bottom-layer ones through the conditional means.
"""

import torch
from torch import nn
from torch.distributions import kl_divergence

from ._autoencoder import Autoencoder
from ._distributions import diagonal_normal, gaussian_head
from ._networks import ACTIVATIONS
from .vae import VAEOutput


def _mlp(n_in, width, n_out, activation):
    return nn.Sequential(nn.Linear(n_in, width), activation(), nn.Linear(width, n_out))


class HierarchicalVAEModule(Autoencoder):
    """Stochastic layers of ``layer_sizes`` (bottom to top), inferred bottom up.

    Takes the parameters of :class:`Autoencoder` (``n_components`` is
    ignored: the bottom layer's size is ``layer_sizes[0]``); the
    conditionals' MLPs (one hidden layer as wide as the encoder's features)
    use the networks' activation.

    Parameters
    ----------
    layer_sizes : tuple of int
        Sizes of ``z_1`` (bottom) to ``z_L`` (top).
    """

    def __init__(self, networks, n_components, *args, layer_sizes, **kwargs):
        super().__init__(networks, layer_sizes[0], *args, **kwargs)
        self.layer_sizes = tuple(layer_sizes)
        activation = ACTIVATIONS[networks.activation]
        width = self.width
        self.bottom = nn.Linear(width, 2 * layer_sizes[0])
        # index i: p(z_i | z_{i+1}) and q(z_{i+1} | z_i)
        self.priors = nn.ModuleList(
            _mlp(layer_sizes[i + 1], width, 2 * layer_sizes[i], activation)
            for i in range(len(layer_sizes) - 1)
        )
        self.posteriors = nn.ModuleList(
            _mlp(layer_sizes[i], width, 2 * layer_sizes[i + 1], activation)
            for i in range(len(layer_sizes) - 1)
        )

    def _standard(self, like, size):
        zeros = like.new_zeros(like.shape[:-1] + (size,))
        return diagonal_normal(zeros, torch.ones_like(zeros))

    def _up(self, x, eps=None, sample=False):
        """The layers' posteriors and codes, bottom up.

        Each code is the posterior's mean (``eps`` None and not ``sample``),
        a reparameterised draw (``sample``), or ``loc + scale * eps[i]``.
        Returns the posteriors and the codes, bottom first.
        """
        q = gaussian_head(self.bottom(self.features(x)))
        posteriors, codes = [], []
        for i in range(len(self.layer_sizes)):
            if i:
                q = gaussian_head(self.posteriors[i - 1](codes[-1]))
            loc, scale = q.base_dist.loc, q.base_dist.scale
            if sample:
                z = self.rsample(q)
            elif eps is None:
                z = loc
            else:
                z = loc + scale * eps[i]
            posteriors.append(q)
            codes.append(z)
        return posteriors, codes

    def _terms(self, posteriors, codes):
        """``log p(z_i | z_{i+1}) - log q(z_i | .)`` of the lower layers, summed,
        and the top layer's KL from ``N(0, I)`` (closed form given the layer below)."""
        lower = 0.0
        for i in range(len(self.layer_sizes) - 1):
            pz = gaussian_head(self.priors[i](codes[i + 1]))
            lower = lower + pz.log_prob(codes[i]) - posteriors[i].log_prob(codes[i])
        top = posteriors[-1]
        return lower, kl_divergence(top, self._standard(codes[-1], self.layer_sizes[-1]))

    def forward(self, x):
        posteriors, codes = self._up(x, sample=True)
        lower, kl_top = self._terms(posteriors, codes)
        # the lower layers' KL terms are single-draw estimates
        top = posteriors[-1].base_dist
        return VAEOutput(
            self.decode(codes[0]).log_prob(x), kl_top - lower, top.loc, top.scale, codes[0]
        )

    def encode_mean(self, x):
        """The top layer's posterior means, each layer's from the means below, (n, k_L)."""
        return self._up(x)[1][-1]

    def encode_layers(self, x):
        """Posterior means of every layer (bottom first), each from the means below."""
        return self._up(x)[1]

    def top_down_mean(self, top_code):
        """The bottom-layer code that ``top_code`` gives through the priors' means."""
        z = top_code
        for i in reversed(range(len(self.layer_sizes) - 1)):
            z = gaussian_head(self.priors[i](z)).mean
        return z

    def ancestral(self, eps):
        """Bottom-layer codes drawn from the generative model with noise ``eps``.

        ``eps`` (n, sum of layer_sizes) holds standard-normal draws, bottom
        layer first, as :meth:`log_weights`'s do.
        """
        parts = list(torch.split(eps, self.layer_sizes, dim=-1))
        z = parts[-1]
        for i in reversed(range(len(self.layer_sizes) - 1)):
            pz = gaussian_head(self.priors[i](z))
            z = pz.base_dist.loc + pz.base_dist.scale * parts[i]
        return z

    def latent_statistics(self, x):
        """Per-dimension KL and posterior means of every layer (bottom first), (n, sum k).

        Along the posterior means: each lower layer's KL is from its prior
        given the layer above's mean.
        """
        posteriors, codes = self._up(x)
        kls = []
        for i in range(len(self.layer_sizes) - 1):
            pz = gaussian_head(self.priors[i](codes[i + 1]))
            kls.append(kl_divergence(posteriors[i].base_dist, pz.base_dist))
        top = self._standard(codes[-1], self.layer_sizes[-1])
        kls.append(kl_divergence(posteriors[-1].base_dist, top.base_dist))
        return torch.cat(kls, dim=-1), torch.cat(codes, dim=-1)

    def log_weights(self, x, eps):
        """Per-draw terms of the Monte-Carlo bounds (see :meth:`VAEModule.log_weights`).

        ``eps`` (n_draws, sum of layer_sizes): bottom layer first. Returns
        ``log_px`` (n_draws, n) with every KL term folded in (its mean over
        draws is the ELBO), ``log_ratio`` such that ``log_px + log_ratio`` is
        the full log weight ``log p(x, z) - log q(z | x)``, and a zero KL.
        """
        parts = list(torch.split(eps[:, None, :], self.layer_sizes, dim=-1))
        posteriors, codes = self._up(x, eps=parts)
        lower, kl_top = self._terms(posteriors, codes)
        top = codes[-1]
        log_ratio_top = self._standard(top, self.layer_sizes[-1]).log_prob(top) - posteriors[
            -1
        ].log_prob(top)
        log_px = self.decode(codes[0]).log_prob(x) + lower - kl_top
        return log_px, log_ratio_top + kl_top, x.new_zeros(x.shape[0])
