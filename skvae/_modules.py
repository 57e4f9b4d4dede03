"""PyTorch building blocks of the VAE estimators.

The estimators in this package only validate data and map hyperparameters; the
probability maths lives here, written with :mod:`torch.distributions` so that
each piece can be tested on its own:

* :class:`MLP` is a plain stack of ``Linear`` + activation layers;
* :class:`GaussianLikelihood` and :class:`BernoulliLikelihood` turn decoder
  features into a distribution ``p(x | z)``;
* :class:`VAEModule` puts encoder ``q(z | x)``, prior ``p(z)`` and decoder
  ``p(x | z)`` together and returns the per-sample terms of the ELBO; given
  a number of classes it is the conditional VAE, with ``q(z | x, y)``,
  ``p(z)`` or ``p(z | y)`` and ``p(x | z, y)``;
* :class:`ELBOLoss` weighs those terms into the training loss (the criterion
  of the skorch net);
* :class:`GMVAEModule` and :class:`GMVAELoss` are the Gaussian-mixture VAE.
"""

import math
from typing import NamedTuple

import torch
from torch import nn
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
}


# The distribution parameters (a likelihood's log noise variance, a mixture
# prior's means and log variances) are stored divided by this factor. Adam
# moves every stored parameter by about its step size per step, so these move
# 30 times faster than the network's weights. They are few and start far from
# their optimum: the noise variance starts at the data's variance, mostly
# signal on clustered data, and took ~1000 steps to settle at the base step
# size (a GMVAE ended 6.7 nats short of GaussianMixture on 300 blob rows). A
# separate optimiser parameter group does the same but made each step of a
# small net ~20% slower on the CPU (benchmarks/bench_fit.py).
_FAST = 30.0


def _normal(loc, scale):
    """Diagonal Gaussian over the last axis.

    Argument validation is off: it costs a device sync per batch, and the
    scales built here are positive by construction.
    """
    return Independent(Normal(loc, scale, validate_args=False), 1, validate_args=False)


class MLP(nn.Sequential):
    """``Linear`` layers of the given widths, each followed by ``activation``."""

    def __init__(self, n_inputs, hidden_layer_sizes, activation):
        layers = []
        for width in hidden_layer_sizes:
            layers += [nn.Linear(n_inputs, width), ACTIVATIONS[activation]()]
            n_inputs = width
        super().__init__(*layers)
        self.n_outputs = n_inputs


class GaussianLikelihood(nn.Module):
    """``p(x | z) = N(loc(z), diag(var))`` with a learned variance.

    The variance is ``var_floor + exp(log_var)``, either one value shared by
    every feature (isotropic noise, as in probabilistic PCA) or one per feature
    (as in factor analysis). ``log_var`` starts at the features' spread, which
    spares the first epochs the slow climb that a unit variance shows on data
    of another scale; the floor keeps features that are nearly constant in the
    training data from driving their variance to zero and the log-density of
    any other value to minus infinity.

    Parameters
    ----------
    n_inputs : int
        Width of the decoder features fed to the head.
    feature_mean : Tensor of shape (n_features,)
        Training mean of each feature: the starting bias of ``loc``.
    feature_var : Tensor of shape (n_features,)
        Training variance of each feature: the starting variance.
    var_floor : float
        Smallest variance any feature can have.
    shared : bool, default=True
        One variance for all features (True) or one per feature (False).
    """

    def __init__(self, n_inputs, feature_mean, feature_var, var_floor, shared=True):
        super().__init__()
        # The mean is learned in standardised units and mapped back, so the
        # network sees unit-scale targets whatever the scale of the data.
        self.raw_loc = nn.Linear(n_inputs, feature_mean.shape[0])
        nn.init.zeros_(self.raw_loc.bias)
        self.register_buffer("shift", feature_mean.clone())
        self.register_buffer("scale", torch.sqrt(torch.clamp(feature_var, min=var_floor)))
        self.register_buffer("var_floor", torch.as_tensor(float(var_floor)))
        start = feature_var.mean(0, keepdim=True) if shared else feature_var
        start = torch.clamp(start - var_floor, min=var_floor)
        self.scaled_log_var = nn.Parameter(torch.log(start) / _FAST)
        self.n_features = feature_mean.shape[0]

    @property
    def log_var(self):
        return _FAST * self.scaled_log_var

    @property
    def variance(self):
        """Variance of each feature, shape (n_features,)."""
        return (self.var_floor + torch.exp(self.log_var)).expand(self.n_features)

    def forward(self, h):
        return _normal(self.mean(h), self.variance.sqrt())

    def mean(self, h):
        return self.shift + self.scale * self.raw_loc(h)


class BernoulliLikelihood(nn.Module):
    """``p(x | z) = Bernoulli(sigmoid(logits(z)))`` per feature, for data in [0, 1].

    For values strictly between 0 and 1 the log-probability is the usual
    binary cross-entropy; it is a normalised log-likelihood for binary data only.
    """

    def __init__(self, n_inputs, feature_mean):
        super().__init__()
        self.logits = nn.Linear(n_inputs, feature_mean.shape[0])
        with torch.no_grad():
            p = feature_mean.clamp(1e-3, 1 - 1e-3)
            self.logits.bias.copy_(torch.log(p) - torch.log1p(-p))

    def forward(self, h):
        # validate_args=False admits grey levels in [0, 1], not only {0, 1}
        return Independent(
            Bernoulli(logits=self.logits(h), validate_args=False), 1, validate_args=False
        )

    def mean(self, h):
        return torch.sigmoid(self.logits(h))


LIKELIHOODS = ("gaussian", "bernoulli")
VARIANCES = ("shared", "feature")


class VAEOutput(NamedTuple):
    """What :meth:`VAEModule.forward` returns for a batch of ``n`` rows."""

    log_px: torch.Tensor  # (n,) log p(x | z) at one draw z ~ q(z | x)
    kl: torch.Tensor  # (n,) KL(q(z | x) || p(z)), closed form
    qz: torch.distributions.Distribution  # the posterior, batch shape (n,)
    # () per-row mismatch of each class's codes with their prior (see
    # VAEModule.class_mismatch); None without classes
    mismatch: torch.Tensor = None


def _make_likelihood(likelihood, n_inputs, feature_mean, feature_var, var_floor, variance):
    if likelihood == "gaussian":
        return GaussianLikelihood(
            n_inputs, feature_mean, feature_var, var_floor, shared=variance == "shared"
        )
    return BernoulliLikelihood(n_inputs, feature_mean)


def _join(a, c):
    """``a`` with the condition ``c`` (n, n_conditions) appended to its last axis.

    ``c`` is broadcast over ``a``'s leading axes (draws, clusters); None leaves
    ``a`` as it is.
    """
    if c is None:
        return a
    return torch.cat([a, c.expand(a.shape[:-1] + c.shape[-1:])], dim=-1)


class _Autoencoder(nn.Module):
    """Encoder trunk and decoder shared by the VAE modules of the package.

    The encoder sees inputs standardised with the training mean and spread
    (the spread floored like the likelihood's variance); the decoder mirrors
    the encoder's hidden layers and ends in the likelihood head. With
    ``n_conditions > 0`` both also take a condition ``c`` (a one-hot class in
    a conditional VAE), appended to their inputs (Sohn et al. 2015).
    """

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes,
        activation,
        likelihood,
        feature_mean,
        feature_var,
        var_floor,
        variance,
        n_conditions=0,
    ):
        super().__init__()
        self.n_components = n_components
        self.n_conditions = n_conditions
        self.register_buffer("x_shift", feature_mean.clone())
        self.register_buffer(
            "x_scale", torch.sqrt(torch.clamp(feature_var, min=var_floor))
        )
        self.encoder = MLP(n_features + n_conditions, hidden_layer_sizes, activation)
        self.decoder = MLP(
            n_components + n_conditions, tuple(reversed(hidden_layer_sizes)), activation
        )
        self.likelihood = _make_likelihood(
            likelihood, self.decoder.n_outputs, feature_mean, feature_var, var_floor, variance
        )

    def condition(self, labels):
        """The one-hot condition of class indices ``labels`` (None without either)."""
        if labels is None or not self.n_conditions:
            return None
        return nn.functional.one_hot(labels, self.n_conditions).to(self.x_shift.dtype)

    def features(self, x, c=None):
        """The encoder's last hidden layer for standardised ``x`` (and ``c``)."""
        return self.encoder(_join((x - self.x_shift) / self.x_scale, c))

    def decode(self, z, c=None):
        """The likelihood ``p(x | z)`` (``p(x | z, c)`` with a condition)."""
        return self.likelihood(self.decoder(_join(z, c)))

    def decode_mean(self, z, c=None):
        """``E[x | z]``: the reconstruction a user sees."""
        return self.likelihood.mean(self.decoder(_join(z, c)))


def _gaussian_head(params):
    loc, raw_scale = params.chunk(2, dim=-1)
    # softplus grows linearly, so an extreme input cannot overflow the scale
    # to inf as exp can (seen on standardised MNIST, where rare pixels of
    # nearly blank columns reach 70 standard deviations).
    return _normal(loc, nn.functional.softplus(raw_scale) + 1e-4)


def _component_prior(y, loc, log_var):
    """``N(y @ loc, diag(y @ exp(log_var)))`` for one-hot (or relaxed) ``y`` (..., K)."""
    return _normal(y @ loc, (y @ torch.exp(log_var)).sqrt())


class VAEModule(_Autoencoder):
    """A VAE with MLP encoder and decoder (the decoder mirrors the encoder).

    With ``n_classes > 0`` it is a conditional VAE (Sohn et al. 2015): the
    encoder ``q(z | x, y)`` and the decoder ``p(x | z, y)`` both see the
    one-hot class ``y``, and the prior is ``N(0, I)`` or, with
    ``latent_prior="class"``, a learned Gaussian per class ``p(z | y)``.
    Methods then take ``labels`` (class indices, a long tensor of shape (n,)).

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_components : int
        Size of the latent code ``z``.
    hidden_layer_sizes : tuple of int
        Widths of the encoder's hidden layers; the decoder uses them reversed.
    activation : str
        Key of :data:`ACTIVATIONS`.
    likelihood : {"gaussian", "bernoulli"}
        Family of ``p(x | z)``.
    feature_mean, feature_var : Tensor of shape (n_features,)
        Training statistics used to start the likelihood head.
    var_floor : float
        Smallest variance of a Gaussian likelihood.
    variance : {"shared", "feature"}, default="shared"
        Whether a Gaussian likelihood learns one variance or one per feature.
    n_classes : int, default=0
        Number of classes of a conditional VAE; 0 for an unconditional one.
    latent_prior : {"standard", "class"}, default="standard"
        With classes, ``N(0, I)`` for every class or a learned ``p(z | y)``.
    """

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes,
        activation,
        likelihood,
        feature_mean,
        feature_var,
        var_floor,
        variance="shared",
        n_classes=0,
        latent_prior="standard",
    ):
        super().__init__(
            n_features,
            n_components,
            hidden_layer_sizes,
            activation,
            likelihood,
            feature_mean,
            feature_var,
            var_floor,
            variance,
            n_conditions=n_classes,
        )
        self.n_classes = n_classes
        self.z_params = nn.Linear(self.encoder.n_outputs, 2 * n_components)
        self.class_prior = n_classes > 0 and latent_prior == "class"
        if self.class_prior:
            # every class's Gaussian starts as N(0, I); stored scaled like the
            # likelihood's variance so it moves as fast (see _FAST)
            self.scaled_prior_loc = nn.Parameter(torch.zeros(n_classes, n_components))
            self.scaled_prior_log_var = nn.Parameter(torch.zeros(n_classes, n_components))

    @property
    def prior_loc(self):
        """Means of the classes' Gaussians ``p(z | y)``, (n_classes, n_components)."""
        return _FAST * self.scaled_prior_loc

    @property
    def prior_log_var(self):
        """Log variances of the classes' Gaussians, (n_classes, n_components)."""
        return _FAST * self.scaled_prior_log_var

    def encode(self, x, labels=None):
        """The posterior ``q(z | x)`` (``q(z | x, y)``), a diagonal Gaussian."""
        return _gaussian_head(self.z_params(self.features(x, self.condition(labels))))

    def prior(self, like, labels=None):
        """The prior ``p(z)`` (``p(z | y)``) on the device and dtype of ``like``."""
        if self.class_prior and labels is not None:
            y = self.condition(labels)
            return _component_prior(y, self.prior_loc, self.prior_log_var)
        zeros = like.new_zeros(like.shape[:-1] + (self.n_components,))
        return _normal(zeros, torch.ones_like(zeros))

    def forward(self, x, labels=None):
        qz = self.encode(x, labels)
        z = qz.rsample()
        log_px = self.decode(z, self.condition(labels)).log_prob(x)
        kl = kl_divergence(qz, self.prior(qz.mean, labels))
        mismatch = self.class_mismatch(z, labels) if self.n_classes else None
        return VAEOutput(log_px, kl, qz, mismatch)

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

    def encode_mean(self, x, labels=None):
        """``E[z | x]`` (``E[z | x, y]``), shape (n, n_components)."""
        return self.encode(x, labels).mean

    def latent_statistics(self, x, labels=None):
        """Per-dimension KL from the prior and posterior means, each (n, n_components)."""
        qz = self.encode(x, labels)
        # the base Normals, before Independent sums the dimensions
        kl = kl_divergence(qz.base_dist, self.prior(qz.mean, labels).base_dist)
        return kl, qz.mean

    def feature_log_px(self, x, eps):
        """``log p(x_j | z)`` of each feature averaged over draws ``z = loc + scale * eps``.

        ``eps`` (n_draws, n_components) are shared by every row; returns (n, n_features).
        """
        qz = self.encode(x)
        loc, scale = qz.base_dist.loc, qz.base_dist.scale
        z = loc + scale * eps[:, None, :]
        return self.decode(z).base_dist.log_prob(x).mean(0)

    def log_weights(self, x, eps, labels=None):
        """Per-draw terms for Monte-Carlo bounds, with given standard-normal noise.

        Parameters
        ----------
        x : Tensor of shape (n, n_features)
        eps : Tensor of shape (n_draws, n_components)
            The same draws are used for every row, so a row's estimate never
            depends on which other rows share its batch.
        labels : Tensor of shape (n,) or None
            Classes of a conditional VAE: the terms are then conditional on them.

        Returns
        -------
        log_px : Tensor of shape (n_draws, n)
            ``log p(x | z_l)``.
        log_ratio : Tensor of shape (n_draws, n)
            ``log p(z_l) - log q(z_l | x)``.
        kl : Tensor of shape (n,)
            The closed-form KL term.
        """
        qz = self.encode(x, labels)
        loc, scale = qz.base_dist.loc, qz.base_dist.scale
        z = loc + scale * eps[:, None, :]  # (n_draws, n, k)
        log_px = self.decode(z, self.condition(labels)).log_prob(x)
        pz = self.prior(loc, labels)
        log_ratio = pz.log_prob(z) - qz.log_prob(z)
        return log_px, log_ratio, kl_divergence(qz, pz)


class ELBOLoss(nn.Module):
    """Negative mean ELBO, ``-(log p(x|z) - beta * KL)``, in nats per sample.

    ``beta`` weighs the KL term (Higgins et al. 2017); ``beta=1`` is the ELBO.
    During training the weight is ``kl_factor * beta``, where ``kl_factor``
    (set by :class:`skvae._net.KLWarmup`) rises from near 0 to 1; validation
    losses always use ``beta`` itself, so they stay comparable across epochs.

    ``mismatch_weight`` adds a conditional VAE's class mismatch (see
    :meth:`VAEModule.class_mismatch`) during training, not warmed up.

    ``trim`` is the share of each training batch's rows with the highest loss
    that are left out of it once the warm-up is over (a trimmed mean, robust
    to outliers in the training data); validation losses use every row.
    """

    def __init__(self, beta=1.0, mismatch_weight=0.0, trim=0.0):
        super().__init__()
        self.beta = beta
        self.mismatch_weight = mismatch_weight
        self.trim = trim
        self.kl_factor = 1.0

    def forward(self, output, x=None, training=False):
        weight = self.beta * (self.kl_factor if training else 1.0)
        per_row = -(output.log_px - weight * output.kl)
        if training and self.trim and self.kl_factor >= 1.0:
            keep = max(1, math.ceil((1.0 - self.trim) * per_row.shape[0]))
            per_row = per_row.topk(keep, largest=False, sorted=False).values
        loss = per_row.mean()
        if training and self.mismatch_weight and output.mismatch is not None:
            loss = loss + self.mismatch_weight * output.mismatch
        return loss


def elbo_from_draws(log_px, kl):
    """Monte-Carlo ELBO per row from ``log_px`` of shape (n_draws, n)."""
    return log_px.mean(0) - kl


def iw_bound_from_draws(log_px, log_ratio):
    """Importance-weighted bound per row (Burda et al. 2016)."""
    n_draws = log_px.shape[0]
    return torch.logsumexp(log_px + log_ratio, dim=0) - math.log(n_draws)


# ---------------------------------------------------------------- mixture prior


class GMVAEOutput(NamedTuple):
    """What :meth:`GMVAEModule.forward` returns for a batch of ``n`` rows."""

    log_px: torch.Tensor  # (n,) log p(x | z), one draw (averaged over y when marginal)
    gauss: torch.Tensor  # (n,) KL(q(z | x, y) || p(z | y)), averaged over q(y | x)
    cat: torch.Tensor  # (n,) KL(q(y | x) || uniform), or -log q(label | x) when labelled
    logits: torch.Tensor  # (n, n_clusters) of q(y | x)
    known: torch.Tensor  # (n,) bool, rows whose cluster is observed
    pair: torch.Tensor  # (n,) -log sum_y q(y | x) q(y | x_pair), or None


class GMVAEModule(_Autoencoder):
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
    """

    def __init__(
        self,
        n_features,
        n_components,
        n_clusters,
        hidden_layer_sizes,
        activation,
        likelihood,
        feature_mean,
        feature_var,
        var_floor,
        variance="shared",
        inference="gumbel",
        hard=False,
    ):
        super().__init__(
            n_features,
            n_components,
            hidden_layer_sizes,
            activation,
            likelihood,
            feature_mean,
            feature_var,
            var_floor,
            variance,
        )
        width = self.encoder.n_outputs
        self.n_clusters = n_clusters
        self.inference = inference
        self.hard = hard
        self.temperature = 1.0
        self.y_logits = nn.Linear(width, n_clusters)
        self.z_params = nn.Sequential(
            nn.Linear(width + n_clusters, width),
            ACTIVATIONS[activation](),
            nn.Linear(width, 2 * n_components),
        )
        # cluster means start as draws from N(0, I)
        self.scaled_prior_loc = nn.Parameter(torch.randn(n_clusters, n_components) / _FAST)
        self.scaled_prior_log_var = nn.Parameter(torch.zeros(n_clusters, n_components))

    @property
    def prior_loc(self):
        """Means of the clusters' Gaussians, (n_clusters, n_components)."""
        return _FAST * self.scaled_prior_loc

    @property
    def prior_log_var(self):
        """Log variances of the clusters' Gaussians, (n_clusters, n_components)."""
        return _FAST * self.scaled_prior_log_var

    # -- pieces

    def cluster_logits(self, x):
        """Logits of ``q(y | x)``, shape (n, n_clusters)."""
        return self.y_logits(self.features(x))

    def encode_z(self, h, y):
        """``q(z | x, y)`` from encoder features ``h`` (n, width) and weights ``y`` (..., n, K)."""
        h = h.expand(y.shape[:-1] + h.shape[-1:])
        return _gaussian_head(self.z_params(torch.cat([h, y], dim=-1)))

    def cluster_prior(self, y):
        """``p(z | y)`` for one-hot (or relaxed) ``y`` of shape (..., K)."""
        return _component_prior(y, self.prior_loc, self.prior_log_var)

    def _one_hots(self, h):
        """Every cluster's one-hot, broadcast over the rows: (K, n, K)."""
        eye = torch.eye(self.n_clusters, dtype=h.dtype, device=h.device)
        return eye[:, None, :].expand(self.n_clusters, h.shape[0], self.n_clusters)

    def _categorical_kl(self, logits):
        log_q = torch.log_softmax(logits, dim=-1)
        return (log_q.exp() * log_q).sum(-1) + math.log(self.n_clusters)

    # -- training

    def forward(self, x, labels=None, x_pair=None):
        h = self.features(x)
        logits = self.y_logits(h)
        pair = None
        if x_pair is not None:
            # neighbour consistency: a row and its neighbour share a cluster
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
            y = nn.functional.gumbel_softmax(logits, tau=self.temperature, hard=self.hard)
            if known is not None:
                y = torch.where(known[:, None], observed, y)
            qz = self.encode_z(h, y)
            z = qz.rsample()
            log_px = self.decode(z).log_prob(x)
            gauss = kl_divergence(qz, self.cluster_prior(y))
        else:
            ys = self._one_hots(h)
            qz = self.encode_z(h, ys)  # batch shape (K, n)
            z = qz.rsample()
            log_px_k = self.decode(z).log_prob(x)
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
            log_px = log_px + self.decode(z).log_prob(x).sum(0)
        log_px = log_px / eps.shape[0]  # (K, n)
        return (probs.T * (log_px - gauss)).sum(0) - self._categorical_kl(logits)


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
