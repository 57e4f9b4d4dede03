"""The vector-quantised VAE (van den Oord et al. 2017) and its learned prior.

:class:`VQVAEModule` splits the encoder's output into ``n_slots`` slots of
``n_components / n_slots`` values and replaces each by the nearest of
``n_codes`` codebook vectors (:class:`VectorQuantizer`); the decoder sees the
quantised code. Gradients pass the quantisation by the straight-through
estimator, a commitment loss keeps the encoder near the codebook, and the
codebook follows the encoder outputs assigned to it by exponential moving
averages (the EMA variant of the paper's appendix), with dead codes (used
less than once per batch on average) restarted at encoder outputs of the
current batch.

:class:`SlotPrior` is the learned prior over code indices: autoregressive
over the slots, ``p(k_1) p(k_2 | k_1) ... p(k_S | k_<S)``, a masked MLP
(MADE) over the slots' one-hot codes, trained after the VQ-VAE on the
training rows' indices.
"""

import math
from typing import NamedTuple

import torch
from torch import nn

from .._random import forked_draws
from ._autoencoder import Autoencoder
from ._noise import DrawsNoise
from .diffusion import HoldsCodePrior

# EMA codebook: a code is dead when it is chosen less than this many times
# per batch on average, and Laplace smoothing of the counts.
_DEAD_COUNT = 1.0
_EPS = 1e-5


class VQOutput(NamedTuple):
    """What :meth:`VQVAEModule.forward` returns for a batch of ``n`` rows."""

    log_px: torch.Tensor  # (n,) log p(x | z_q)
    commitment: torch.Tensor  # (n,) ||z_e - sg(z_q)||^2
    indices: torch.Tensor  # (n, n_slots) the chosen codes


class VectorQuantizer(DrawsNoise, nn.Module):
    """A codebook of ``n_codes`` vectors of ``code_dim`` values, updated by EMA.

    Parameters
    ----------
    n_codes : int
        Size of the codebook.
    code_dim : int
        Dimension of each codebook vector.
    decay : float
        Decay of the moving averages of the counts and sums of the encoder
        outputs assigned to each code.
    """

    def __init__(self, n_codes, code_dim, decay):
        super().__init__()
        self.n_codes = n_codes
        self.decay = decay
        self.register_buffer("codebook", torch.zeros(n_codes, code_dim))
        self.register_buffer("ema_count", torch.zeros(n_codes))
        self.register_buffer("ema_sum", torch.zeros(n_codes, code_dim))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def nearest(self, z):
        """Index of the nearest codebook vector of each row of ``z`` (..., code_dim)."""
        flat = z.reshape(-1, z.shape[-1])
        book = self.codebook.to(z.dtype)
        distance = (
            (flat**2).sum(1, keepdim=True) - 2 * flat @ book.T + (book**2).sum(1)[None, :]
        )
        return distance.argmin(1).reshape(z.shape[:-1])

    def lookup(self, indices):
        """The codebook vectors of ``indices``, shape ``indices.shape + (code_dim,)``."""
        return self.codebook[indices]

    @torch.no_grad()
    def update(self, z, indices):
        """One EMA step towards the mean of the vectors ``z`` (m, code_dim) assigned to each code.

        The first call starts the codebook at random rows of ``z``; codes that
        fall out of use are restarted at random rows of ``z``, drawn from
        ``generator``.
        """
        z = z.detach().float()
        if not self.initialised:
            self.codebook.copy_(z[self.randint(0, len(z), (self.n_codes,), z.device)])
            self.ema_sum.copy_(self.codebook)
            self.ema_count.fill_(1.0)
            self.initialised.fill_(True)
        one_hot = nn.functional.one_hot(indices, self.n_codes).float()
        self.ema_count.mul_(self.decay).add_(one_hot.sum(0), alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(one_hot.T @ z, alpha=1 - self.decay)
        total = self.ema_count.sum()
        count = (self.ema_count + _EPS) / (total + self.n_codes * _EPS) * total
        self.codebook.copy_(self.ema_sum / count[:, None])
        dead = self.ema_count < _DEAD_COUNT
        n_dead = int(dead.sum())
        if n_dead:
            fresh = z[self.randint(0, len(z), (n_dead,), z.device)]
            self.codebook[dead] = fresh
            self.ema_sum[dead] = fresh
            self.ema_count[dead] = 1.0


class VQVAEModule(HoldsCodePrior, Autoencoder):
    """Encoder, slot-wise vector quantisation, decoder and likelihood.

    Takes the parameters of :class:`Autoencoder`, and:

    Parameters
    ----------
    n_slots : int
        Number of slots the code of ``n_components`` values is split into
        (``n_components`` must be a multiple of it).
    n_codes : int
        Codebook size.
    decay : float
        Decay of the codebook's moving averages.
    prior : dict or None
        Settings of the :class:`SlotPrior` (``hidden_layer_sizes``), kept as
        ``code_prior``; None for a uniform prior.
    """

    def __init__(self, networks, n_components, *args, n_slots, n_codes, decay, prior, **kwargs):
        super().__init__(networks, n_components, *args, **kwargs)
        self.n_slots = n_slots
        self.code_dim = n_components // n_slots
        self.code_layer = nn.Linear(self.width, n_components)
        self.quantizer = VectorQuantizer(n_codes, self.code_dim, decay)
        self.code_prior = None
        if prior is not None:
            # initialised from forked draws, as the diffusion prior is
            with forked_draws():
                self.code_prior = SlotPrior(n_slots, n_codes, prior["hidden_layer_sizes"])

    def encode_continuous(self, x):
        """The encoder outputs before quantisation, (n, n_slots, code_dim)."""
        z = self.code_layer(self.features(x))
        return z.reshape(len(z), self.n_slots, self.code_dim)

    def encode_indices(self, x):
        """The code index of each slot, (n, n_slots)."""
        return self.quantizer.nearest(self.encode_continuous(x))

    def encode_mean(self, x):
        """The quantised code, (n, n_components)."""
        return self.quantizer.lookup(self.encode_indices(x)).flatten(1).to(x.dtype)

    def decode_indices(self, indices):
        """``p(x | z_q)`` for code indices (n, n_slots)."""
        return self.decode(self.quantizer.lookup(indices).flatten(1))

    def forward(self, x):
        z_e = self.encode_continuous(x)
        indices = self.quantizer.nearest(z_e)
        if self.training:
            self.quantizer.update(z_e.reshape(-1, self.code_dim), indices.reshape(-1))
            indices = self.quantizer.nearest(z_e)
        z_q = self.quantizer.lookup(indices)
        commitment = ((z_e - z_q.detach()) ** 2).sum(dim=(1, 2))
        # straight-through: the decoder sees z_q, the encoder gets its gradient
        z_st = z_e + (z_q - z_e).detach()
        return VQOutput(self.decode(z_st.flatten(1)).log_prob(x), commitment, indices)

    def reconstruction_log_prob(self, x):
        """``log p(x | z_q(x))`` of each row, shape (n,)."""
        return self.decode(self.encode_mean(x)).log_prob(x)

    def log_bound(self, x):
        """``log p(x | z_q(x)) + log p(k(x))``: the ELBO of a one-hot posterior, (n,)."""
        indices = self.encode_indices(x)
        log_px = self.decode_indices(indices).log_prob(x)
        if self.code_prior is None:  # uniform
            return log_px - self.n_slots * math.log(self.quantizer.n_codes)
        return log_px + self.code_prior.log_prob(indices).to(log_px.dtype)


class VQLoss(nn.Module):
    """``-log p(x | z_q) + commitment * ||z_e - sg(z_q)||^2``, per row, averaged."""

    def __init__(self, commitment=0.25):
        super().__init__()
        self.commitment = commitment

    def forward(self, output, x=None, training=False):
        return (-output.log_px + self.commitment * output.commitment).mean()


class MaskedLinear(nn.Linear):
    """A linear layer whose weights are multiplied by a fixed 0/1 mask (MADE)."""

    def __init__(self, n_in, n_out, mask):
        super().__init__(n_in, n_out)
        self.register_buffer("mask", mask.to(self.weight.dtype))

    def forward(self, x):
        return nn.functional.linear(x, self.weight * self.mask, self.bias)


class SlotPrior(DrawsNoise, nn.Module):
    """An autoregressive prior over the code indices of the slots.

    ``p(k) = prod_s p(k_s | k_<s)``, every factor from one pass of a masked
    MLP (MADE, Germain et al. 2015) over the one-hot codes of all slots: the
    masks let the logits of slot ``s`` see the codes of the slots before it
    only, so training needs one forward pass per batch and sampling one per
    slot.

    Parameters
    ----------
    n_slots, n_codes : int
        Number of slots and codebook size.
    hidden_layer_sizes : tuple of int
        Widths of the hidden layers (ReLU).
    """

    def __init__(self, n_slots, n_codes, hidden_layer_sizes):
        super().__init__()
        self.n_slots = n_slots
        self.n_codes = n_codes
        # MADE degrees: input and output units of slot s have degree s + 1;
        # hidden units cycle through 1 .. n_slots - 1; a unit sees those of
        # lower (hidden: lower or equal) degree
        slot_degree = torch.arange(1, n_slots + 1).repeat_interleave(n_codes)
        layers, previous = [], slot_degree
        for width in hidden_layer_sizes:
            degree = torch.arange(width) % max(1, n_slots - 1) + 1
            mask = (degree[:, None] >= previous[None, :]).float()
            layers += [MaskedLinear(len(previous), width, mask), nn.ReLU()]
            previous = degree
        mask = (slot_degree[:, None] > previous[None, :]).float()
        out = MaskedLinear(len(previous), n_slots * n_codes, mask)
        nn.init.zeros_(out.weight)
        nn.init.zeros_(out.bias)
        self.net = nn.Sequential(*layers, out)

    def logits(self, indices):
        """Logits of each slot's code given the previous ones, (n, n_slots, n_codes)."""
        # the first layer of one-hot inputs, as a sum of the weight columns of
        # the codes present: the same numbers as the product, without it
        first = self.net[0]
        columns = indices + self.n_codes * torch.arange(self.n_slots, device=indices.device)
        table = (first.weight * first.mask).T.contiguous()
        hidden = nn.functional.embedding(columns, table).sum(dim=1) + first.bias
        out = self.net[1:](hidden)
        return out.reshape(len(indices), self.n_slots, self.n_codes)

    def log_prob(self, indices):
        """``log p(k)`` of each row of code indices (n, n_slots), in nats, (n,)."""
        log_p = torch.log_softmax(self.logits(indices), dim=-1)
        return log_p.gather(-1, indices[..., None]).squeeze(-1).sum(dim=1)

    def forward(self, x):
        """Per-row negative log-probability of the code indices ``x`` (the training loss)."""
        return -self.log_prob(x.long())

    @torch.no_grad()
    def sample(self, n_samples):
        """Code indices (n, n_slots) drawn slot by slot (from ``generator``)."""
        device = self.net[-1].weight.device
        indices = torch.zeros(n_samples, self.n_slots, dtype=torch.long, device=device)
        for slot in range(self.n_slots):
            probs = torch.softmax(self.logits(indices)[:, slot], dim=-1)
            indices[:, slot] = torch.multinomial(
                probs.float(), 1, generator=self.generator
            ).squeeze(1)
        return indices


def perplexity(indices, n_codes):
    """``exp`` of the entropy of the codes' usage, pooled over slots: from 1 to ``n_codes``."""
    return perplexity_of_counts(torch.bincount(indices.reshape(-1), minlength=n_codes))


def perplexity_of_counts(counts):
    """:func:`perplexity` from the number of times each code is used."""
    counts = counts.double()
    p = counts / counts.sum()
    entropy = -(p[p > 0] * torch.log(p[p > 0])).sum()
    return float(math.exp(entropy.item()))
