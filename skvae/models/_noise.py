"""Training noise drawn from a generator the estimator hands over, not torch's global one.

A module that draws random numbers in ``forward`` (the reparameterised
codes, corrupted inputs, Gumbel draws, restarted codebook vectors...) inherits
:class:`DrawsNoise` and draws through its methods. For the length of a fit the
estimator's net sets ``generator`` on every such module (:func:`set_generator`),
so the draws follow ``random_state`` and no other thread's draws touch them;
outside a fit ``generator`` is None and the draws take torch's default
generator, or the one that :func:`skvae._random.draws_from` routes to.
"""

import torch
from torch.distributions import Independent


class DrawsNoise:
    """Mixin for a :class:`torch.nn.Module` whose ``forward`` draws random numbers."""

    generator = None

    def normal_like(self, x):
        """Standard normal draws of ``x``'s shape, dtype and device."""
        return torch.randn(x.shape, dtype=x.dtype, device=x.device, generator=self.generator)

    def uniform_like(self, x):
        """Uniform draws on [0, 1) of ``x``'s shape, dtype and device."""
        return torch.rand(x.shape, dtype=x.dtype, device=x.device, generator=self.generator)

    def randint(self, low, high, size, device):
        """Integers drawn uniformly from ``[low, high)``, a tensor of shape ``size``."""
        return torch.randint(low, high, size, device=device, generator=self.generator)

    def rsample(self, q):
        """A reparameterised draw of a (diagonal) Gaussian ``q``: ``loc + scale * eps``."""
        base = q.base_dist if isinstance(q, Independent) else q
        loc, scale = torch.broadcast_tensors(base.loc, base.scale)
        return loc + scale * self.normal_like(loc)

    def gumbel_softmax(self, logits, tau=1.0, hard=False):
        """:func:`torch.nn.functional.gumbel_softmax` over the last axis, with this noise."""
        gumbels = -torch.empty_like(logits).exponential_(generator=self.generator).log()
        soft = torch.softmax((logits + gumbels) / tau, dim=-1)
        if not hard:
            return soft
        index = soft.argmax(dim=-1, keepdim=True)
        one_hot = torch.zeros_like(logits).scatter_(-1, index, 1.0)
        # straight through: the one-hot forward, the soft draw's gradient
        return one_hot - soft.detach() + soft


def set_generator(module, generator):
    """Give every :class:`DrawsNoise` part of ``module`` the ``generator`` (None: take it back)."""
    for part in module.modules():
        if isinstance(part, DrawsNoise):
            if generator is None:
                part.__dict__.pop("generator", None)
            else:
                part.__dict__["generator"] = generator
