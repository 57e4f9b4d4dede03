"""The conditional VAE family (Sohn et al. 2015): encoder and decoder see the class.

:class:`ConditionalVAEModule` takes class indices as ``labels`` (a long tensor
of shape (n,)) in every method the estimators call; :class:`ConditionalELBOLoss`
adds the class-mismatch penalty that keeps the class out of the codes.
"""

from typing import NamedTuple

import torch
from torch import nn
from torch.distributions import kl_divergence

from ._distributions import (
    LearnedComponentPriors,
    component_prior,
    diagonal_normal,
    gaussian_params,
    standard_normal_kl,
)
from .vae import ELBOLoss, VAEModule


class ConditionalVAEOutput(NamedTuple):
    """What :meth:`ConditionalVAEModule.forward` returns for a batch of ``n`` rows."""

    log_px: torch.Tensor  # (n,) log p(x | z, y) at one draw z ~ q(z | x, y)
    kl: torch.Tensor  # (n,) KL(q(z | x, y) || p(z | y))
    loc: torch.Tensor  # (n, n_components), the posterior's mean
    scale: torch.Tensor  # (n, n_components), the posterior's standard deviation
    z: torch.Tensor  # (n, n_components)
    mismatch: torch.Tensor  # () see ConditionalVAEModule.class_mismatch


class ConditionalVAEModule(LearnedComponentPriors, VAEModule):
    """``q(z | x, y)``, ``p(z)`` or ``p(z | y)``, and ``p(x | z, y)``.

    The one-hot class ``y`` joins the input of a built-in MLP encoder, or the
    features of a conv or user encoder, and the input of the decoder. The
    prior is ``N(0, I)`` or, with ``latent_prior="class"``, a learned
    Gaussian per class.

    Parameters
    ----------
    networks, n_components, likelihood, feature_mean, feature_var, var_floor, \
variance, input_mean, input_var
        As for :class:`skvae.models.Autoencoder`.
    n_classes : int
        Number of classes.
    latent_prior : {"standard", "class"}, default="standard"
        ``N(0, I)`` for every class, or a learned ``p(z | y)``.
    """

    def __init__(self, *args, n_classes, latent_prior="standard", **kwargs):
        super().__init__(*args, n_context=n_classes, **kwargs)
        self.n_classes = n_classes
        self.class_prior = latent_prior == "class"
        if self.class_prior:
            # every class's Gaussian starts as N(0, I); stored scaled like the
            # likelihood's variance so it moves as fast (see LearnedComponentPriors)
            self.scaled_prior_loc = nn.Parameter(torch.zeros(n_classes, self.n_components))
            self.scaled_prior_log_var = nn.Parameter(torch.zeros(n_classes, self.n_components))

    def condition(self, labels):
        """The one-hot condition of class indices ``labels`` (None without labels)."""
        if labels is None:
            return None
        return nn.functional.one_hot(labels, self.n_classes).to(self.x_shift.dtype)

    def encode_params(self, x, labels):
        """The mean and standard deviation of ``q(z | x, y)``, each (n, n_components)."""
        return gaussian_params(self.z_params(self.features(x, self.condition(labels))))

    def encode(self, x, labels):
        """The posterior ``q(z | x, y)``, a diagonal Gaussian."""
        return diagonal_normal(*self.encode_params(x, labels))

    def class_prior_of(self, labels):
        """``p(z | y)`` of each row, as a function of a tensor to batch it like."""
        if not self.class_prior:
            return self.prior
        y = self.condition(labels)
        return lambda like: component_prior(y, self.prior_loc, self.prior_log_var)

    def forward(self, x, labels):
        # closed forms where they exist (see VAEModule.forward)
        loc, scale = self.encode_params(x, labels)
        z = loc + scale * self.normal_like(scale)
        log_px = self.log_px(z, x, self.condition(labels))
        if self.class_prior:
            kl = kl_divergence(diagonal_normal(loc, scale), self.class_prior_of(labels)(loc))
        else:
            kl = standard_normal_kl(loc, scale)
        return ConditionalVAEOutput(log_px, kl, loc, scale, z, self.class_mismatch(z, labels))

    def class_mismatch(self, z, labels):
        """How far each class's codes in a batch are from filling its prior.

        For every class with at least two rows in the batch, the KL from
        ``p(z | y)`` (``N(0, I)`` with the standard prior) of a diagonal
        Gaussian with the mean and variance of the class's codes ``z``;
        weighted by the class's rows and averaged over the batch. The ELBO
        holds this mismatch of the class's aggregate posterior only weakly
        (as part of its KL term), and a code whose distribution depends on
        the class both leaks the class into the "style" and leaves parts of
        the prior that the decoder never saw for that class, so that samples
        drawn from the prior come out as another class.
        """
        y = self.condition(labels)  # (n, K)
        counts = y.sum(0)
        valid = counts >= 2
        n = counts.clamp(min=2)[:, None]
        mean = (y.T @ z) / n
        var = ((y.T @ z**2) - n * mean**2) / (n - 1)
        var = var.clamp(min=1e-6)
        if self.class_prior:
            loc, log_var = self.prior_loc, self.prior_log_var
        else:
            loc, log_var = torch.zeros_like(mean), torch.zeros_like(mean)
        prior_var = torch.exp(log_var)
        kl = 0.5 * ((var + (mean - loc) ** 2) / prior_var - 1 - torch.log(var) + log_var).sum(-1)
        return (torch.where(valid, kl, 0.0) * counts).sum() / z.shape[0]

    def decode(self, z, labels):
        """``p(x | z, y)``."""
        return self.px(z, self.condition(labels))

    def decode_mean(self, z, labels):
        """``E[x | z, y]``."""
        return self.px_mean(z, self.condition(labels))

    def encode_mean(self, x, labels):
        """``E[z | x, y]``, shape (n, n_components)."""
        return self.encode(x, labels).mean

    def latent_statistics(self, x, labels):
        """Per-dimension KL from ``p(z | y)`` and posterior means, each (n, n_components)."""
        qz = self.encode(x, labels)
        pz = self.class_prior_of(labels)(qz.mean)
        return kl_divergence(qz.base_dist, pz.base_dist), qz.mean

    def log_weights(self, x, eps, labels):
        """:meth:`VAEModule.log_weights` conditional on the classes ``labels``."""
        qz = self.encode(x, labels)
        return self._log_weights(
            qz, x, eps, self.class_prior_of(labels), self.condition(labels)
        )


class ConditionalELBOLoss(ELBOLoss):
    """:class:`ELBOLoss` plus ``mismatch_weight`` times the batch's class mismatch.

    The mismatch (see :meth:`ConditionalVAEModule.class_mismatch`) counts during
    training only and is not warmed up.
    """

    def __init__(self, beta=1.0, mismatch_weight=0.0):
        super().__init__(beta)
        self.mismatch_weight = mismatch_weight

    def forward(self, output, x=None, training=False):
        loss = super().forward(output, x, training)
        if training and self.mismatch_weight:
            loss = loss + self.mismatch_weight * output.mismatch
        return loss
