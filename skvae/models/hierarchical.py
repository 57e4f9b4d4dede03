"""A hierarchical VAE: stochastic layers with top-down inference.

:class:`HierarchicalVAEModule` has layers ``z_1`` (the bottom, read by the
decoder) to ``z_L`` (the top), with the generative model ``p(z_L) p(z_{L-1}
| z_L) ... p(z_1 | z_2) p(x | z_1)`` and the inference model ``q(z_L | x)
q(z_{L-1} | x, z_L) ... q(z_1 | x, z_2)``: one deterministic bottom-up pass
of the encoder gives features ``h``, and the posteriors are then drawn top
down, each layer's from ``h`` and the layer above, as in the ladder VAE
(Sonderby et al. 2016) and NVAE (Vahdat & Kautz 2020). Every conditional is
a diagonal Gaussian from a small MLP; the KL terms are in closed form given
the draws of the layers above.

The decoder contract of the other families holds with the bottom layer as
"the code": ``decode(z_1)`` and ``decode_mean(z_1)``; ``top_down_mean``
maps top-layer codes to bottom-layer ones through the conditional means.
"""

import torch
from torch import nn
from torch.distributions import kl_divergence

from ._distributions import diagonal_normal, gaussian_head
from ._networks import ACTIVATIONS
from .vae import Autoencoder, VAEOutput


def _mlp(n_in, width, n_out, activation):
    return nn.Sequential(nn.Linear(n_in, width), activation(), nn.Linear(width, n_out))


class HierarchicalVAEModule(Autoencoder):
    """Stochastic layers of ``layer_sizes`` (bottom to top) with top-down inference.

    Takes the parameters of :class:`Autoencoder` (``n_components`` is
    ignored: the bottom layer's size is ``layer_sizes[0]``), and the
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
        self.top = nn.Linear(width, 2 * layer_sizes[-1])
        # index l: the conditionals of layer l given layer l + 1 (l < L - 1)
        self.priors = nn.ModuleList(
            _mlp(layer_sizes[i + 1], width, 2 * layer_sizes[i], activation)
            for i in range(len(layer_sizes) - 1)
        )
        self.posteriors = nn.ModuleList(
            _mlp(width + layer_sizes[i + 1], width, 2 * layer_sizes[i], activation)
            for i in range(len(layer_sizes) - 1)
        )

    def _standard(self, like, size):
        zeros = like.new_zeros(like.shape[:-1] + (size,))
        return diagonal_normal(zeros, torch.ones_like(zeros))

    def _walk(self, h, top_code, eps=None):
        """Draw the layers below the top one, top down.

        ``top_code`` is the top layer's code, (..., n, k_L); ``eps`` a list of
        standard-normal draws per lower layer (bottom first), each
        broadcastable to (..., n, k_l), or None to use the posterior means.
        Returns the codes (bottom first), the per-row KL of every lower
        layer's posterior from its prior, and ``log p - log q`` of the draws.
        """
        z, codes, kls, log_ratio = top_code, [top_code], [], 0.0
        for i in reversed(range(len(self.layer_sizes) - 1)):
            hh = h.expand(z.shape[:-1] + h.shape[-1:])
            pz = gaussian_head(self.priors[i](z))
            qz = gaussian_head(self.posteriors[i](torch.cat([hh, z], dim=-1)))
            loc, scale = qz.base_dist.loc, qz.base_dist.scale
            z = loc if eps is None else loc + scale * eps[i]
            kls.append(kl_divergence(qz, pz))
            log_ratio = log_ratio + pz.log_prob(z) - qz.log_prob(z)
            codes.append(z)
        return codes[::-1], kls, log_ratio

    def encode(self, x):
        """The top layer's posterior ``q(z_L | x)``."""
        return gaussian_head(self.top(self.features(x)))

    def forward(self, x):
        h = self.features(x)
        q_top = gaussian_head(self.top(h))
        top = q_top.rsample()
        z, kl = top, kl_divergence(q_top, self._standard(top, self.layer_sizes[-1]))
        for i in reversed(range(len(self.layer_sizes) - 1)):
            pz = gaussian_head(self.priors[i](z))
            qz = gaussian_head(self.posteriors[i](torch.cat([h, z], dim=-1)))
            z = qz.rsample()
            kl = kl + kl_divergence(qz, pz)
        return VAEOutput(self.decode(z).log_prob(x), kl, q_top, z)

    def encode_mean(self, x):
        """The top layer's posterior means, (n, k_L)."""
        return self.encode(x).mean

    def encode_layers(self, x):
        """Posterior means of every layer (bottom first), each from the means above."""
        h = self.features(x)
        codes, _, _ = self._walk(h, gaussian_head(self.top(h)).mean)
        return codes

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
        """Per-dimension KL and posterior means of every layer (bottom first), (n, sum k)."""
        h = self.features(x)
        q_top = gaussian_head(self.top(h))
        prior = self._standard(q_top.mean, self.layer_sizes[-1])
        kls = [kl_divergence(q_top.base_dist, prior.base_dist)]
        z, means = q_top.mean, [q_top.mean]
        for i in reversed(range(len(self.layer_sizes) - 1)):
            pz = gaussian_head(self.priors[i](z))
            qz = gaussian_head(self.posteriors[i](torch.cat([h, z], dim=-1)))
            kls.append(kl_divergence(qz.base_dist, pz.base_dist))
            z = qz.mean
            means.append(z)
        return torch.cat(kls[::-1], dim=-1), torch.cat(means[::-1], dim=-1)

    def log_weights(self, x, eps):
        """Per-draw terms of the Monte-Carlo bounds (see :meth:`VAEModule.log_weights`).

        ``eps`` (n_draws, sum of layer_sizes): bottom layer first. Returns
        ``log_px`` (n_draws, n) less the lower layers' KL terms at the draws,
        ``log_ratio`` such that ``log_px + log_ratio`` is the full log weight
        ``log p(x, z) - log q(z | x)``, and the top layer's closed-form KL.
        """
        h = self.features(x)
        q_top = gaussian_head(self.top(h))
        parts = list(torch.split(eps[:, None, :], self.layer_sizes, dim=-1))
        loc, scale = q_top.base_dist.loc, q_top.base_dist.scale
        top = loc + scale * parts[-1]  # (n_draws, n, k_L)
        prior = self._standard(loc, self.layer_sizes[-1])
        codes, kls, log_ratio = self._walk(h, top, parts[:-1])
        log_ratio = log_ratio + prior.log_prob(top) - q_top.log_prob(top)
        lower_kl = sum(kls) if kls else 0.0
        log_px = self.decode(codes[0]).log_prob(x) - lower_kl
        return log_px, log_ratio + lower_kl, kl_divergence(q_top, prior)
