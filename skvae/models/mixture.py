"""The Gaussian-mixture VAE family: a mixture prior and a discrete cluster variable.

:class:`GMVAEModule` and :class:`GMVAELoss` are the model and its weighted
objective; :class:`TemperatureAnnealing` lowers the Gumbel-softmax
temperature during training. The neighbor-consistency term gets its pairs
from :class:`skvae.models.vae.NeighborPairs`.
"""

import math
from typing import NamedTuple

import torch
from skorch.callbacks import Callback
from torch import nn
from torch.distributions import kl_divergence

from ._autoencoder import Autoencoder
from ._distributions import FAST, LearnedComponentPriors, component_prior, gaussian_head
from ._networks import ACTIVATIONS


class GMVAEOutput(NamedTuple):
    """What :meth:`GMVAEModule.forward` returns for a batch of ``n`` rows."""

    log_px: torch.Tensor  # (n,) log p(x | z), one draw (averaged over y when marginal)
    gauss: torch.Tensor  # (n,) KL(q(z | x, y) || p(z | y)), averaged over q(y | x)
    cat: torch.Tensor  # (n,) KL(q(y | x) || uniform), or -log q(label | x) when labelled
    logits: torch.Tensor  # (n, n_clusters) of q(y | x)
    known: torch.Tensor  # (n,) bool, rows whose cluster is observed
    pair: torch.Tensor  # (n,) -log sum_y q(y | x) q(y | x_pair), or None


class GMVAEModule(LearnedComponentPriors, Autoencoder):
    """A VAE whose prior is a mixture of ``n_clusters`` diagonal Gaussians.

    Generative model: ``y ~ Categorical(1/K)``, ``z | y ~ N(mu_y, diag(var_y))``
    with learned ``mu_y`` and ``var_y``, ``x | z ~ p(x | z)``. Inference:
    ``q(y | x)`` is a softmax head on the encoder; ``q(z | x, y)`` a Gaussian
    head on the encoder's features and ``y``.

    During training ``y`` is either drawn with the Gumbel-softmax relaxation
    (``inference="gumbel"``; Jang et al. 2017, at ``self.temperature``, with
    a straight-through one-hot when ``hard``) or summed out exactly over the
    ``K`` clusters (``inference="marginal"``, K decoder passes per batch).
    Evaluation (:meth:`elbo`) always sums ``y`` out exactly.

    Labels: :meth:`forward` takes ``labels`` (``-1`` = unlabelled). For a
    labelled row ``y`` is observed: it replaces the draw (or the weights of the
    sum) and the categorical term becomes ``-log q(label | x)``.

    Takes the parameters of :class:`skvae.models.Autoencoder`, and
    ``n_clusters``, ``inference`` ({"gumbel", "marginal"}) and ``hard``.
    """

    def __init__(
        self, networks, n_components, *args, n_clusters, inference="gumbel", hard=False, **kwargs
    ):
        super().__init__(networks, n_components, *args, **kwargs)
        width, activation = self.width, networks.activation
        # the q(z | x, y) head's hidden width follows the encoder's, up to 256
        # (a conv encoder's flattened maps are thousands wide)
        hidden = min(width, 256)
        self.n_clusters = n_clusters
        self.inference = inference
        self.hard = hard
        self.temperature = 1.0
        self.y_logits = nn.Linear(width, n_clusters)
        self.z_params = nn.Sequential(
            nn.Linear(width + n_clusters, hidden),
            ACTIVATIONS[activation](),
            nn.Linear(hidden, 2 * n_components),
        )
        # cluster means start as draws from N(0, I)
        self.scaled_prior_loc = nn.Parameter(torch.randn(n_clusters, n_components) / FAST)
        self.scaled_prior_log_var = nn.Parameter(torch.zeros(n_clusters, n_components))

    # -- pieces

    def cluster_logits(self, x):
        """Logits of ``q(y | x)``, shape (n, n_clusters)."""
        return self.y_logits(self.features(x))

    def encode_z(self, h, y):
        """``q(z | x, y)`` from encoder features ``h`` (n, width) and weights ``y`` (..., n, K)."""
        h = h.expand(y.shape[:-1] + h.shape[-1:])
        return gaussian_head(self.z_params(torch.cat([h, y], dim=-1)))

    def cluster_prior(self, y):
        """``p(z | y)`` for one-hot (or relaxed) ``y`` of shape (..., K)."""
        return component_prior(y, self.prior_loc, self.prior_log_var)

    def _one_hots(self, h):
        """Every cluster's one-hot, broadcast over the rows: (K, n, K)."""
        eye = torch.eye(self.n_clusters, dtype=h.dtype, device=h.device)
        return eye[:, None, :].expand(self.n_clusters, h.shape[0], self.n_clusters)

    def _categorical_kl(self, logits):
        log_q = torch.log_softmax(logits, dim=-1)
        return (log_q.exp() * log_q).sum(-1) + math.log(self.n_clusters)

    def codes_of_cluster(self, x, cluster=0):
        """Means and variances of ``q(z | x, y)`` for one cluster ``y``, side by side:
        shape (n, 2 * n_components)."""
        h = self.features(x)
        y = torch.zeros(h.shape[0], self.n_clusters, dtype=h.dtype, device=h.device)
        y[:, cluster] = 1.0
        qz = self.encode_z(h, y)
        return torch.cat([qz.mean, qz.variance], dim=-1)

    @torch.no_grad()
    def start_mixture(self, locs, variances, head=None, cluster=0):
        """Start every cluster as a copy of ``cluster``, at its own place.

        Sets the prior's means and variances (``locs``, ``variances`` of
        shape (n_clusters, n_components)) and makes ``q(z | x, y)`` the
        same for every ``y`` as it is for ``cluster``: a model trained with
        every row in one cluster becomes a mixture whose clusters the
        training then tells apart. ``q(y | x)``'s head gets ``head``, the
        weights (n_clusters, width) and biases (n_clusters,) of a classifier
        of the clusters on the encoder's features, or starts uniform.
        """
        weight, bias = (0.0, 0.0) if head is None else head
        self.y_logits.weight.copy_(torch.as_tensor(weight).expand_as(self.y_logits.weight))
        self.y_logits.bias.copy_(torch.as_tensor(bias).expand_as(self.y_logits.bias))
        self.scaled_prior_loc.copy_(torch.as_tensor(locs) / FAST)
        self.scaled_prior_log_var.copy_(torch.log(torch.as_tensor(variances)) / FAST)
        first = self.z_params[0].weight  # columns: encoder features, then y's one-hot
        width = first.shape[1] - self.n_clusters
        first[:, width:] = first[:, width + cluster : width + cluster + 1]

    # -- training

    def forward(self, x, labels=None, x_pair=None):
        h = self.features(x)
        logits = self.y_logits(h)
        pair = None
        if x_pair is not None:
            # neighbor consistency: a row and its neighbor share a cluster
            log_q = torch.log_softmax(logits, dim=-1)
            log_q_pair = torch.log_softmax(self.cluster_logits(x_pair), dim=-1)
            pair = -torch.logsumexp(log_q + log_q_pair, dim=-1)
        cat = self._categorical_kl(logits)
        mask = torch.zeros_like(cat, dtype=torch.bool) if labels is None else labels >= 0
        known = None
        if mask.any():
            known = mask
            observed = nn.functional.one_hot(labels.clamp(min=0), self.n_clusters)
            observed = observed.to(h.dtype)
            nll = nn.functional.cross_entropy(logits, labels.clamp(min=0), reduction="none")
            cat = torch.where(known, nll, cat)
        if self.inference == "gumbel":
            y = self.gumbel_softmax(logits, tau=self.temperature, hard=self.hard)
            if known is not None:
                y = torch.where(known[:, None], observed, y)
            qz = self.encode_z(h, y)
            z = self.rsample(qz)
            log_px = self.log_px(z, x)
            gauss = kl_divergence(qz, self.cluster_prior(y))
        else:
            ys = self._one_hots(h)
            qz = self.encode_z(h, ys)  # batch shape (K, n)
            z = self.rsample(qz)
            log_px_k = self.log_px(z, x)
            gauss_k = kl_divergence(qz, self.cluster_prior(ys))
            weights = torch.softmax(logits, dim=-1)
            if known is not None:
                weights = torch.where(known[:, None], observed, weights)
            log_px = (weights.T * log_px_k).sum(0)
            gauss = (weights.T * gauss_k).sum(0)
        return GMVAEOutput(log_px, gauss, cat, logits, mask, pair)

    # -- evaluation (y summed out exactly)

    def posteriors(self, x):
        """``q(y | x)`` probabilities (n, K) and every ``q(z | x, y)`` (batch (K, n))."""
        h = self.features(x)
        probs = torch.softmax(self.y_logits(h), dim=-1)
        return probs, self.encode_z(h, self._one_hots(h))

    def encode_mean(self, x):
        """``E[z | x] = sum_y q(y | x) E[z | x, y]``, shape (n, n_components)."""
        probs, qz = self.posteriors(x)
        return (probs.T[..., None] * qz.mean).sum(0)

    def latent_statistics(self, x):
        """Per-dimension KL from ``p(z | y)`` (averaged over q(y | x)) and ``E[z | x]``."""
        probs, qz = self.posteriors(x)
        pz = self.cluster_prior(self._one_hots(x))
        kl = kl_divergence(qz.base_dist, pz.base_dist)  # (K, n, k)
        weights = probs.T[..., None]
        return (weights * kl).sum(0), (weights * qz.mean).sum(0)

    def elbo(self, x, eps, chunk=None):
        """The ELBO with ``y`` summed out and ``z`` averaged over ``eps`` draws.

        ``sum_y q(y|x) (E_q(z|x,y)[log p(x|z)] - KL(q(z|x,y) || p(z|y)))
        - KL(q(y|x) || uniform)``, per row. ``eps`` (n_draws, n_components)
        are shared by every row and cluster; ``chunk`` bounds how many draws
        are decoded at once.
        """
        h = self.features(x)
        logits = self.y_logits(h)
        probs = torch.softmax(logits, dim=-1)
        ys = self._one_hots(h)
        qz = self.encode_z(h, ys)
        gauss = kl_divergence(qz, self.cluster_prior(ys))  # (K, n)
        loc, scale = qz.base_dist.loc, qz.base_dist.scale  # (K, n, k)
        chunk = chunk or eps.shape[0]
        log_px = 0.0
        for start in range(0, eps.shape[0], chunk):
            e = eps[start : start + chunk]
            z = loc + scale * e[:, None, None, :]  # (draws, K, n, k)
            log_px = log_px + self.log_px(z, x).sum(0)
        log_px = log_px / eps.shape[0]  # (K, n)
        # a cluster of probability 0 adds 0, even where its bound is -inf
        terms = torch.where(probs.T > 0, probs.T * (log_px - gauss), 0.0)
        return terms.sum(0) - self._categorical_kl(logits)


class GMVAELoss(nn.Module):
    """Negative mean GMVAE objective with weights on its three parts.

    ``-(log p(x|z) - beta * gauss - categorical_weight * cat)``; during
    training both KL weights are multiplied by ``kl_factor`` (warm-up), as in
    :class:`ELBOLoss`; a labelled row's ``cat`` (its cross-entropy) shares the
    categorical weight.

    ``categorical_term`` picks the categorical part for unlabelled rows:

    * ``"elbo"``: ``KL(q(y | x) || uniform)`` of each row, the ELBO's own term;
    * ``"aggregate"``: ``KL(mean_x q(y | x) || uniform)`` over the batch. The
      data average of the ELBO's term is this plus the mutual information
      between ``x`` and ``y`` (Hoffman & Johnson 2016); dropping the latter
      keeps the pressure to use every cluster equally without pushing each
      row's assignment towards uniform.
    """

    def __init__(
        self, beta=1.0, categorical_weight=1.0, categorical_term="elbo", neighbor_weight=0.0
    ):
        super().__init__()
        self.neighbor_weight = neighbor_weight
        self.beta = beta
        self.categorical_weight = categorical_weight
        self.categorical_term = categorical_term
        self.kl_factor = 1.0

    def forward(self, output, x=None, training=False):
        factor = self.kl_factor if training else 1.0
        if self.categorical_term == "elbo":
            cat = output.cat.mean()
        else:
            free = ~output.known
            cat = torch.where(output.known, output.cat, 0.0).mean()
            if free.any():
                q = torch.softmax(output.logits[free], dim=-1).mean(0)
                n_clusters = output.logits.shape[-1]
                aggregate = (q * torch.log(q.clamp(min=1e-12))).sum() + math.log(n_clusters)
                cat = cat + aggregate * free.float().mean()
        rest = (output.log_px - factor * self.beta * output.gauss).mean()
        # the aggregate term is a balance constraint, not a per-row KL: it is
        # not warmed up, so clusters cannot merge while the KL weights are low
        cat_factor = factor if self.categorical_term == "elbo" else 1.0
        loss = -(rest - cat_factor * self.categorical_weight * cat)
        if output.pair is not None:
            loss = loss + self.neighbor_weight * output.pair.mean()
        return loss


class TemperatureAnnealing(Callback):
    """Lower the module's Gumbel-softmax ``temperature`` geometrically, step by step.

    At training step ``s`` (counted from 0 at the start of this ``fit``) of
    ``n_steps``, the temperature is ``start * (floor / start) ** (s / (n_steps
    - 1))``: ``start`` at the first step, ``floor`` at the last and after.
    Evaluation never uses the temperature (it sums the clusters out exactly).
    """

    def __init__(self, start, floor, n_steps):
        self.start = start
        self.floor = floor
        self.n_steps = n_steps

    def on_train_begin(self, net, **kwargs):
        self.step_ = 0

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        progress = min(1.0, self.step_ / max(1, self.n_steps - 1))
        self.step_ += 1
        value = self.start * (self.floor / self.start) ** progress
        net.module_.temperature = max(self.floor, value)
