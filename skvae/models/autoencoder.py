"""The deterministic autoencoder, with its sparse and denoising variants.

:class:`AutoencoderModule` maps a row to one code ``z = f(x)`` and scores the
reconstruction with the family's likelihood (a Gaussian with a learned
variance, or a Bernoulli), so training minimises ``-log p(x | f(x))``: with a
Gaussian of one shared variance this is the squared error, in nats.

* Sparse (``sparse=True``): the codes are rectified, ``z = relu(W h + b)``,
  and the loss adds ``weight * sum_j z_j * ||d_j||``, an L1 penalty on the
  codes in which each unit is weighed by the norm of the decoder weights
  ``d_j`` that read it (the linear path's and the first layer's). The norm
  makes the penalty blind to the scale of the codes (an L1 penalty alone is
  lowered by shrinking the codes while the decoder grows, without a single
  zero more), so it can only be lowered by switching units off: most codes
  are exactly 0 for most rows.
* Denoising (``corruption`` not None, :meth:`Denoising.corrupt`): in
  training the encoder sees a corrupted row, ``x + noise_level * sd * eps``
  (``"gaussian"``) or ``x`` with each entry replaced by its feature's
  training mean with probability ``noise_level`` (``"mask"``), and the loss
  scores the clean row.
"""

from typing import NamedTuple

import torch
from torch import nn

from ._autoencoder import INPUT_BOUND, Autoencoder
from ._denoising import Denoising
from .diffusion import HoldsCodePrior, make_code_prior


class AutoencoderOutput(NamedTuple):
    """What :meth:`AutoencoderModule.forward` returns for a batch of ``n`` rows."""

    log_px: torch.Tensor  # (n,) log p(x | f(x~)), x~ the (corrupted) input
    penalty: torch.Tensor  # () the sparsity penalty of the batch
    z: torch.Tensor  # (n, n_components), the codes


class AutoencoderModule(HoldsCodePrior, Denoising, Autoencoder):
    """A deterministic code ``z = f(x)``, decoded by the family's likelihood.

    Takes the parameters of :class:`Autoencoder` and of :class:`Denoising`, and:

    Parameters
    ----------
    sparse : bool, default=False
        Rectified codes, with the penalty :meth:`sparsity_penalty`.
    prior : dict or None, default=None
        A learned prior over the codes (see
        :func:`skvae.models.diffusion.make_code_prior`), kept as
        ``code_prior``.
    """

    def __init__(
        self,
        networks,
        n_components,
        *args,
        sparse=False,
        prior=None,
        **kwargs,
    ):
        super().__init__(networks, n_components, *args, **kwargs)
        self.code_layer = nn.Linear(self.width, n_components)
        # linear paths beside the networks, from the standardised row to the
        # code and from the code to the output: the model contains PCA's
        # solution, and the networks only add to it
        n_inputs = self.x_shift.shape[0] if self.table_input is None else self.table_input.n_outputs
        self.linear_encoder = nn.Linear(n_inputs, n_components, bias=False)
        self.linear_decoder = nn.Linear(n_components, self.n_raw, bias=False)
        self.sparse = sparse
        self.code_prior = make_code_prior(prior, n_components)

    def encode_mean(self, x):
        """The code ``f(x)``, shape (n, n_components)."""
        standardised = self.standardise(x)
        features = self.features_of_standardised(standardised)
        z = self.code_layer(features) + self.linear_encoder(standardised)
        return torch.relu(z) if self.sparse else z

    def raw(self, z, c=None):
        """The decoder's output plus the linear path from the code."""
        z = z.clamp(-INPUT_BOUND, INPUT_BOUND)
        return super().raw(z, c) + self.linear_decoder(z)

    def code_distribution(self, x):
        """The code of each row as a (loc, scale) pair; the scale is 0 here."""
        z = self.encode_mean(x)
        return z, torch.zeros_like(z)

    def _code_weight_norms(self):
        """``||d_j||``: the norm of the decoder weights that read each code unit.

        The weights of the linear path and of the decoder's first linear
        layer that takes the codes (a decoder of the user's own may have
        none).
        """
        squares = (self.linear_decoder.weight**2).sum(dim=0)
        for layer in self.decoder.modules():
            if isinstance(layer, nn.Linear) and layer.in_features == self.n_components:
                squares = squares + (layer.weight**2).sum(dim=0)
                break
        return squares.sqrt()

    def sparsity_penalty(self, z):
        """``mean_rows sum_j z_j * ||d_j||`` (0 for an autoencoder that is not sparse)."""
        if not self.sparse:
            return z.new_zeros(())
        return (z * self._code_weight_norms()).sum(dim=1).mean()

    def forward(self, x):
        z = self.encode_mean(self.corrupt(x))
        return AutoencoderOutput(self.decode(z).log_prob(x), self.sparsity_penalty(z), z)

    def reconstruction_log_prob(self, x):
        """``log p(x | f(x))`` of each row, shape (n,)."""
        return self.decode(self.encode_mean(x)).log_prob(x)

    def feature_log_px(self, x):
        """``log p(x_j | f(x))`` of each feature, shape (n, n_features)."""
        return self.decode(self.encode_mean(x)).base_dist.log_prob(x)


class AutoencoderLoss(nn.Module):
    """``-log p(x | f(x~)) + sparsity * penalty``, in nats per row.

    In training the penalty's weight is ``kl_factor * sparsity``, where
    ``kl_factor`` (set by :class:`skvae._callbacks.KLWarmup`) rises from near 0 to
    1: the decoder learns to use the codes before the penalty switches units
    off (with the full weight from the start, every unit can die at once).
    """

    def __init__(self, sparsity=0.0):
        super().__init__()
        self.sparsity = sparsity
        self.kl_factor = 1.0

    def forward(self, output, x=None, training=False):
        loss = -output.log_px.mean()
        if self.sparsity:
            weight = self.sparsity * (self.kl_factor if training else 1.0)
            loss = loss + weight * output.penalty
        return loss
