"""PyTorch building blocks of the VAE estimators.

The estimators in this package only validate data and map hyperparameters; the
probability maths lives here, written with :mod:`torch.distributions` so that
each piece can be tested on its own:

* :class:`MLP` is a plain stack of ``Linear`` + activation layers;
* :class:`GaussianLikelihood` and :class:`BernoulliLikelihood` turn decoder
  features into a distribution ``p(x | z)``;
* :class:`VAEModule` puts encoder ``q(z | x)``, prior ``p(z)`` and decoder
  ``p(x | z)`` together and returns the per-sample terms of the ELBO;
* :class:`ELBOLoss` weighs those terms into the training loss (the criterion
  of the skorch net).
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
        self.log_var = nn.Parameter(torch.log(start))
        self.n_features = feature_mean.shape[0]

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


class VAEModule(nn.Module):
    """A VAE with MLP encoder and decoder (the decoder mirrors the encoder).

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
    ):
        super().__init__()
        self.n_components = n_components
        # The encoder sees standardised inputs (training mean and spread, the
        # spread floored like the likelihood's variance).
        self.register_buffer("x_shift", feature_mean.clone())
        self.register_buffer(
            "x_scale", torch.sqrt(torch.clamp(feature_var, min=var_floor))
        )
        self.encoder = MLP(n_features, hidden_layer_sizes, activation)
        self.z_params = nn.Linear(self.encoder.n_outputs, 2 * n_components)
        self.decoder = MLP(n_components, tuple(reversed(hidden_layer_sizes)), activation)
        if likelihood == "gaussian":
            self.likelihood = GaussianLikelihood(
                self.decoder.n_outputs,
                feature_mean,
                feature_var,
                var_floor,
                shared=variance == "shared",
            )
        else:
            self.likelihood = BernoulliLikelihood(self.decoder.n_outputs, feature_mean)

    def encode(self, x):
        """The posterior ``q(z | x)``, a diagonal Gaussian."""
        h = self.encoder((x - self.x_shift) / self.x_scale)
        z_loc, z_raw_scale = self.z_params(h).chunk(2, dim=-1)
        # softplus grows linearly, so an extreme input cannot overflow the scale
        # to inf as exp can (seen on standardised MNIST, where rare pixels of
        # nearly blank columns reach 70 standard deviations).
        return _normal(z_loc, nn.functional.softplus(z_raw_scale) + 1e-4)

    def prior(self, like):
        """The prior ``p(z) = N(0, I)``, on the device and dtype of ``like``."""
        zeros = like.new_zeros(like.shape[:-1] + (self.n_components,))
        return _normal(zeros, torch.ones_like(zeros))

    def decode(self, z):
        """The likelihood ``p(x | z)``."""
        return self.likelihood(self.decoder(z))

    def decode_mean(self, z):
        """``E[x | z]``: the reconstruction a user sees."""
        return self.likelihood.mean(self.decoder(z))

    def forward(self, x):
        qz = self.encode(x)
        z = qz.rsample()
        log_px = self.decode(z).log_prob(x)
        kl = kl_divergence(qz, self.prior(qz.mean))
        return VAEOutput(log_px, kl, qz)

    def log_weights(self, x, eps):
        """Per-draw terms for Monte-Carlo bounds, with given standard-normal noise.

        Parameters
        ----------
        x : Tensor of shape (n, n_features)
        eps : Tensor of shape (n_draws, n_components)
            The same draws are used for every row, so a row's estimate never
            depends on which other rows share its batch.

        Returns
        -------
        log_px : Tensor of shape (n_draws, n)
            ``log p(x | z_l)``.
        log_ratio : Tensor of shape (n_draws, n)
            ``log p(z_l) - log q(z_l | x)``.
        kl : Tensor of shape (n,)
            The closed-form KL term.
        """
        qz = self.encode(x)
        loc, scale = qz.base_dist.loc, qz.base_dist.scale
        z = loc + scale * eps[:, None, :]  # (n_draws, n, k)
        log_px = self.decode(z).log_prob(x)
        pz = self.prior(loc)
        log_ratio = pz.log_prob(z) - qz.log_prob(z)
        return log_px, log_ratio, kl_divergence(qz, pz)


class ELBOLoss(nn.Module):
    """Negative mean ELBO, ``-(log p(x|z) - beta * KL)``, in nats per sample.

    ``beta`` weighs the KL term (Higgins et al. 2017); ``beta=1`` is the ELBO.
    During training the weight is ``kl_factor * beta``, where ``kl_factor``
    (set by :class:`skvae._net.KLWarmup`) rises from near 0 to 1; validation
    losses always use ``beta`` itself, so they stay comparable across epochs.
    """

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = beta
        self.kl_factor = 1.0

    def forward(self, output, x=None, training=False):
        weight = self.beta * (self.kl_factor if training else 1.0)
        return -(output.log_px - weight * output.kl).mean()


def elbo_from_draws(log_px, kl):
    """Monte-Carlo ELBO per row from ``log_px`` of shape (n_draws, n)."""
    return log_px.mean(0) - kl


def iw_bound_from_draws(log_px, log_ratio):
    """Importance-weighted bound per row (Burda et al. 2016)."""
    n_draws = log_px.shape[0]
    return torch.logsumexp(log_px + log_ratio, dim=0) - math.log(n_draws)
