"""Distributions shared by every model family: posteriors, priors, likelihoods.

The probability maths is written with :mod:`torch.distributions`, so each
piece can be tested on its own against closed forms. The training step of
the plain and conditional VAEs uses closed forms of the same quantities
(``log_prob`` of a likelihood given its raw decoder output,
:func:`standard_normal_kl`), which build no distribution object per batch;
the tests hold them equal to the distributions'.
"""

import math

import torch
from torch import nn
from torch.distributions import Bernoulli, Independent, Normal, StudentT

_LOG_2PI = math.log(2 * math.pi)

# The distribution parameters (a likelihood's log noise variance, a mixture
# prior's means and log variances) are stored divided by this factor. Adam
# moves every stored parameter by about its step size per step, so these move
# 30 times faster than the network's weights. They are few and start far from
# their optimum: the noise variance starts at the data's variance, mostly
# signal on clustered data, and took ~1000 steps to settle at the base step
# size (a GMVAE ended 6.7 nats short of GaussianMixture on 300 blob rows). A
# separate optimiser parameter group does the same but made each step of a
# small net ~20% slower on the CPU (benchmarks/bench_fit.py).
FAST = 30.0


def diagonal_normal(loc, scale):
    """Diagonal Gaussian over the last axis.

    Argument validation is off: it costs a device sync per batch, and the
    scales built here are positive by construction.
    """
    return Independent(Normal(loc, scale, validate_args=False), 1, validate_args=False)


def full_precision(t):
    """``t`` in float32 when mixed precision made it half; any other dtype as it is.

    Under ``torch.autocast`` the networks' linear layers return float16 or
    bfloat16; the probability maths (softplus scales, log-densities, KL
    terms summed over hundreds of features) reads them in float32.
    """
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def gaussian_params(params):
    """The mean and scale of a diagonal Gaussian from ``params`` (..., 2 k).

    The first half is the mean. The scale goes through softplus, which grows
    linearly, so an extreme input cannot overflow it to inf as exp can (seen
    on standardised MNIST, where rare pixels of nearly blank columns reach 70
    standard deviations).
    """
    loc, raw_scale = full_precision(params).chunk(2, dim=-1)
    return loc, nn.functional.softplus(raw_scale) + 1e-4


def gaussian_head(params):
    """The diagonal Gaussian of :func:`gaussian_params` as a distribution."""
    return diagonal_normal(*gaussian_params(params))


def standard_normal_kl(loc, scale):
    """``KL(N(loc, diag(scale^2)) || N(0, I))`` summed over the last axis, in closed form.

    What ``kl_divergence`` of the two distributions gives, without building
    them: the training step of a VAE computes it for every batch.
    """
    return 0.5 * (loc.square() + scale.square() - 1.0).sum(-1) - torch.log(scale).sum(-1)


class LearnedComponentPriors:
    """Mixin for a module with one learned diagonal Gaussian per component.

    The module stores ``scaled_prior_loc`` and ``scaled_prior_log_var``
    (n_components_of_the_mixture, n_latent), divided by :data:`FAST` so they
    move as fast as the likelihood's variance.
    """

    @property
    def prior_loc(self):
        """Means of the components' Gaussians."""
        return FAST * self.scaled_prior_loc

    @property
    def prior_log_var(self):
        """Log variances of the components' Gaussians."""
        return FAST * self.scaled_prior_log_var


def component_prior(y, loc, log_var):
    """``N(y @ loc, diag(y @ exp(log_var)))`` for one-hot (or relaxed) ``y`` (..., K)."""
    return diagonal_normal(y @ loc, (y @ torch.exp(log_var)).sqrt())


class GaussianLikelihood(nn.Module):
    """``p(x | z) = N(loc, diag(var))`` with a learned variance.

    The decoder gives one raw value per feature, in standardised units; the
    mean is ``shift + scale * raw``, so the network sees unit-scale targets
    whatever the scale of the data. The variance is ``var_floor +
    exp(log_var)``, either one value shared by every feature (isotropic noise,
    as in probabilistic PCA) or one per feature (as in factor analysis).
    ``log_var`` starts at the features' spread, which spares the first epochs
    the slow climb that a unit variance shows on data of another scale; the
    floor keeps features that are nearly constant in the training data from
    driving their variance to zero and the log-density of any other value to
    minus infinity.

    Parameters
    ----------
    feature_mean : Tensor of shape (n_features,)
        Training mean of each feature: the mean at ``raw = 0``.
    feature_var : Tensor of shape (n_features,)
        Training variance of each feature: the starting variance.
    var_floor : float
        Smallest variance any feature can have.
    shared : bool, default=True
        One variance for all features (True) or one per feature (False).
    """

    def __init__(self, feature_mean, feature_var, var_floor, shared=True):
        super().__init__()
        self.register_buffer("shift", feature_mean.clone())
        self.register_buffer("scale", torch.sqrt(torch.clamp(feature_var, min=var_floor)))
        self.register_buffer("var_floor", torch.as_tensor(float(var_floor)))
        start = feature_var.mean(0, keepdim=True) if shared else feature_var
        start = torch.clamp(start - var_floor, min=var_floor)
        self.scaled_log_var = nn.Parameter(torch.log(start) / FAST)
        self.n_features = feature_mean.shape[0]

    @property
    def log_var(self):
        return FAST * self.scaled_log_var

    @property
    def variance(self):
        """Variance of each feature, shape (n_features,)."""
        return self._var().expand(self.n_features)

    def _var(self):
        """The variance, shape (1,) when shared, else (n_features,)."""
        return self.var_floor + torch.exp(self.log_var)

    def forward(self, raw):
        return diagonal_normal(self.mean(raw), self.variance.sqrt())

    def mean(self, raw):
        return self.shift + self.scale * raw

    def log_prob(self, raw, x):
        """``log p(x | raw)`` summed over features: ``self(raw).log_prob(x)`` in closed form.

        For the training step, which needs no distribution object; with a
        shared variance the squared residuals are summed before one division.
        """
        var = self._var()
        squares = (x - self.mean(raw)).square()
        if var.shape[0] == 1:
            quad = squares.sum(-1) / var
        else:
            quad = (squares / var).sum(-1)
        log_det = torch.log(var).sum() * (self.n_features / var.shape[0])
        return -0.5 * (quad + log_det + self.n_features * _LOG_2PI)


class StudentTLikelihood(GaussianLikelihood):
    """``p(x | z)``: an independent Student-t per feature, scale and tails learned.

    The location and the scale are parameterised as in
    :class:`GaussianLikelihood`: ``variance`` is the squared scale (the
    t distribution's variance is ``df / (df - 2)`` times it), floored and
    shared or per feature in the same way. The degrees of freedom ``df`` are
    learned too, one per feature with ``shared=False`` and one in all
    otherwise, starting at ``df_init``. A large ``df`` is the Gaussian; a
    small one gives heavy tails, in which a far-off value costs log-density
    that grows like ``log |x - loc|`` rather than its square, so a few rows
    with extreme values of a feature pull the fit less.

    Parameters
    ----------
    feature_mean, feature_var, var_floor, shared
        As for :class:`GaussianLikelihood`.
    df_init : float, default=5.0
        Starting degrees of freedom, above 1. ``df`` stays above 1 (a finite
        mean).
    """

    def __init__(self, feature_mean, feature_var, var_floor, shared=True, df_init=5.0):
        if not df_init > 1:
            raise ValueError(f"df_init must be above 1, got {df_init!r}.")
        super().__init__(feature_mean, feature_var, var_floor, shared=shared)
        self.scaled_log_df = nn.Parameter(
            torch.full_like(self.scaled_log_var, math.log(df_init - 1.0) / FAST)
        )

    @property
    def df(self):
        """Degrees of freedom, above 1 (a finite mean)."""
        return 1.0 + torch.exp(FAST * self.scaled_log_df)

    def forward(self, raw):
        return Independent(StudentT(self.df, self.mean(raw), self.variance.sqrt()), 1)

    def log_prob(self, raw, x):
        """``log p(x | raw)`` summed over features: ``self(raw).log_prob(x)`` in closed form.

        For the training step: no distribution object, and the terms that do
        not depend on the row computed once per feature.
        """
        df, var = self.df, self._var()
        half = 0.5 * (df + 1.0)
        constant = (
            torch.lgamma(half) - torch.lgamma(0.5 * df)
            - 0.5 * (torch.log(df * math.pi) + torch.log(var))
        )
        squares = (x - self.mean(raw)).square()
        return (constant - half * torch.log1p(squares / (var * df))).sum(-1)


class BernoulliLikelihood(nn.Module):
    """``p(x | z) = Bernoulli(sigmoid(raw + offset))`` per feature, for data in [0, 1].

    ``offset`` is the log-odds of each feature's training mean, so a decoder
    that outputs zeros starts at the data's average. For values strictly
    between 0 and 1 the log-probability is the usual binary cross-entropy; it
    is a normalised log-likelihood for binary data only.
    """

    def __init__(self, feature_mean):
        super().__init__()
        p = feature_mean.clamp(1e-3, 1 - 1e-3)
        self.register_buffer("offset", torch.log(p) - torch.log1p(-p))

    def forward(self, raw):
        # validate_args=False admits grey levels in [0, 1], not only {0, 1}
        return Independent(
            Bernoulli(logits=raw + self.offset, validate_args=False), 1, validate_args=False
        )

    def mean(self, raw):
        return torch.sigmoid(raw + self.offset)

    def log_prob(self, raw, x):
        """``log p(x | raw)`` summed over features, as ``self(raw).log_prob(x)``."""
        logits, x = torch.broadcast_tensors(raw + self.offset, x)
        return -nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


LIKELIHOODS = ("gaussian", "bernoulli", "student_t")
VARIANCES = ("shared", "feature")


def make_likelihood(likelihood, feature_mean, feature_var, var_floor, variance="shared"):
    """The likelihood head named by the ``likelihood`` hyperparameter."""
    if likelihood == "gaussian":
        return GaussianLikelihood(
            feature_mean, feature_var, var_floor, shared=variance == "shared"
        )
    if likelihood == "bernoulli":
        return BernoulliLikelihood(feature_mean)
    if likelihood == "student_t":
        return StudentTLikelihood(
            feature_mean, feature_var, var_floor, shared=variance == "shared"
        )
    raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}.")


def elbo_from_draws(log_px, kl):
    """Monte-Carlo ELBO per row from ``log_px`` of shape (n_draws, n)."""
    return log_px.mean(0) - kl


def iw_bound_from_draws(log_px, log_ratio):
    """Importance-weighted bound per row (Burda et al. 2016)."""
    n_draws = log_px.shape[0]
    return torch.logsumexp(log_px + log_ratio, dim=0) - math.log(n_draws)
