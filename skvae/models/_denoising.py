"""Denoising: training inputs corrupted before the encoder sees them."""

import torch

# How training inputs can be corrupted before the encoder sees them.
CORRUPTIONS = ("gaussian", "mask")


class Denoising:
    """Mixin of a family module whose encoder sees corrupted rows in training.

    Takes two keyword arguments besides the module's own:

    corruption : {"gaussian", "mask"} or None, default=None
        How :meth:`corrupt` corrupts training inputs; None for none. The
        family applies it where its ``forward`` encodes in training and
        scores the clean row.
    noise_level : float, default=0.0
        Standard deviation of the Gaussian noise, in units of each feature's
        standard deviation (``x_scale``), or the share of entries masked.
    """

    def __init__(self, *args, corruption=None, noise_level=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.corruption = corruption
        self.noise_level = noise_level

    def corrupt(self, x):
        """``x`` as the encoder sees it in training: with the corruption applied.

        Gaussian noise of ``noise_level`` standard deviations of each feature,
        or each entry replaced by the encoder's input mean (``x_shift``; in a
        table of mixed columns, made missing) with probability
        ``noise_level``, drawn from the module's ``generator``; in evaluation
        mode, or without a corruption, ``x`` itself.
        """
        if not self.training or self.corruption is None:
            return x
        if self.corruption == "gaussian":
            return x + self.noise_level * self.x_scale * self.normal_like(x)
        masked = self.uniform_like(x) < self.noise_level
        return torch.where(masked, self.missing_fill().expand_as(x), x)
