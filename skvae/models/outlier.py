"""The outlier detector's loss: the ELBO over a trimmed share of each batch."""

import math

from .vae import ELBOLoss


class TrimmedELBOLoss(ELBOLoss):
    """:class:`ELBOLoss` over a trimmed share of each training batch.

    ``trim`` is the share of each training batch's rows with the highest loss
    that are left out of it once the KL warm-up is over (a trimmed mean,
    robust to outliers in the training data); validation losses use every row.
    """

    def __init__(self, beta=1.0, trim=0.0):
        super().__init__(beta)
        self.trim = trim

    def forward(self, output, x=None, training=False):
        per_row = self.per_row(output, training)
        if training and self.trim and self.kl_factor >= 1.0:
            keep = max(1, math.ceil((1.0 - self.trim) * per_row.shape[0]))
            per_row = per_row.topk(keep, largest=False, sorted=False).values
        return per_row.mean()
