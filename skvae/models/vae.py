"""The VAE family: a Gaussian posterior, a standard normal prior, any likelihood.

:class:`Autoencoder` is what every model family shares (input scaling, an
encoder body, a decoder and a likelihood); :class:`VAEModule` is the plain VAE
(Kingma & Welling 2014) and :class:`ELBOLoss` its training loss.
:class:`NeighbourPairs` gives each training batch a random neighbour of every
row, for the neighbour terms (:func:`neighbour_embedding_loss` here, the
GMVAE's cluster consistency).

The methods that the estimators' inference calls, and that another family
provides in its own way, take the model's extra per-row inputs as keyword
arguments (``**inputs``; a conditional VAE's ``labels``), so the estimators'
shared core never names them:

* ``encode_mean(x, **inputs)``: posterior means, (n, n_components);
* ``decode(z, **inputs)`` / ``decode_mean(z, **inputs)``: ``p(x | z)`` and its
  mean, for codes with any leading axes;
* ``latent_statistics(x, **inputs)``: per-dimension KL and posterior means;
* ``log_weights(x, eps, **inputs)``: the per-draw terms of the bounds.
"""

import math
from typing import NamedTuple

import torch
from torch import nn
from torch.distributions import kl_divergence

from ._distributions import (
    diagonal_normal,
    full_precision,
    gaussian_params,
    make_likelihood,
    standard_normal_kl,
)
from ._noise import DrawsNoise
from .diffusion import make_code_prior

# The encoder and decoder see their inputs clipped to this many standard
# deviations (codes: prior units). Training data never come near it; a finite
# but absurd row (1e25 in one feature) is then encoded like a very extreme row
# instead of overflowing into NaN, and its likelihood still scores the true
# value (-inf if it overflows). Clipping what the encoder sees changes q only,
# so every bound stays a bound.
INPUT_BOUND = 1e4

# How training inputs can be corrupted before the encoder sees them (denoising).
CORRUPTIONS = ("gaussian", "mask")


def join(a, c):
    """``a`` with the condition ``c`` (n, n_conditions) appended to its last axis.

    ``c`` is broadcast over ``a``'s leading axes (draws, clusters); None leaves
    ``a`` as it is.
    """
    if c is None:
        return a
    return torch.cat([a, c.expand(a.shape[:-1] + c.shape[-1:])], dim=-1)


class Autoencoder(DrawsNoise, nn.Module):
    """Input scaling, encoder body, decoder and likelihood: what every family shares.

    A family subclass adds its posterior heads on :meth:`features` (of width
    ``self.width``), its prior, and ``forward`` (the terms its loss weighs).

    Parameters
    ----------
    networks : skvae.models.Networks
        Builds the encoder body and the decoder.
    n_components : int
        Size of the latent code ``z``.
    likelihood : {"gaussian", "student_t", "bernoulli"}
        Family of ``p(x | z)``.
    feature_mean, feature_var : Tensor of shape (n_features,)
        Training statistics that start the likelihood.
    var_floor : float
        Smallest variance (squared scale) of a Gaussian or Student-t likelihood.
    variance : {"shared", "feature"}, default="shared"
        Whether a Gaussian or Student-t likelihood learns one variance (and
        degrees of freedom) or one per feature.
    input_mean, input_var : Tensor of shape (n_features,), default=None
        What the encoder's input is standardised with (``feature_mean`` and
        ``feature_var`` when None; images pass one value for every pixel).
    n_conditions : int, default=0
        Width of a condition (a class one-hot) that both the encoder and the
        decoder see; 0 for none.
    corruption : {"gaussian", "mask"} or None, default=None
        How :meth:`corrupt` corrupts training inputs (denoising); None for
        none. A family applies it where its ``forward`` encodes in training.
    noise_level : float, default=0.0
        Standard deviation of the Gaussian noise, in units of each feature's
        standard deviation (``x_scale``), or the share of entries masked.
    """

    def __init__(
        self,
        networks,
        n_components,
        likelihood,
        feature_mean,
        feature_var,
        var_floor,
        variance="shared",
        input_mean=None,
        input_var=None,
        n_conditions=0,
        corruption=None,
        noise_level=0.0,
    ):
        super().__init__()
        self.n_components = n_components
        self.n_conditions = n_conditions
        self.corruption = corruption
        self.noise_level = noise_level
        input_mean = feature_mean if input_mean is None else input_mean
        input_var = feature_var if input_var is None else input_var
        self.register_buffer("x_shift", input_mean.clone())
        self.register_buffer("x_scale", torch.sqrt(torch.clamp(input_var, min=var_floor)))
        self.encoder = networks.build_encoder(n_conditions)
        self.width = self.encoder.n_outputs + (
            0 if self.encoder.takes_conditions else n_conditions
        )
        self.decoder = networks.build_decoder(n_components + n_conditions)
        self.likelihood = make_likelihood(
            likelihood, feature_mean, feature_var, var_floor, variance
        )

    def condition(self, labels):
        """The one-hot condition of class indices ``labels`` (None without either)."""
        if labels is None or not self.n_conditions:
            return None
        return nn.functional.one_hot(labels, self.n_conditions).to(self.x_shift.dtype)

    def corrupt(self, x):
        """``x`` as the encoder sees it in training: with the corruption applied.

        Gaussian noise of ``noise_level`` standard deviations of each feature,
        or each entry replaced by the encoder's input mean (``x_shift``) with
        probability ``noise_level``, drawn from the module's ``generator``; in
        evaluation mode, or without a corruption, ``x`` itself.
        """
        if not self.training or self.corruption is None:
            return x
        if self.corruption == "gaussian":
            return x + self.noise_level * self.x_scale * self.normal_like(x)
        masked = self.uniform_like(x) < self.noise_level
        return torch.where(masked, self.x_shift.expand_as(x), x)

    def standardise(self, x):
        """``x`` as the encoder sees it: standardised, clipped to ``INPUT_BOUND``."""
        return ((x - self.x_shift) / self.x_scale).clamp(-INPUT_BOUND, INPUT_BOUND)

    def features(self, x, c=None):
        """Encoder features of ``x`` (and the condition ``c``), shape (n, width)."""
        return self.features_of_standardised(self.standardise(x), c)

    def features_of_standardised(self, x, c=None):
        """Encoder features of rows already through :meth:`standardise`."""
        if self.encoder.takes_conditions:
            return self.encoder(join(x, c))
        return join(self.encoder(x), c)

    def raw(self, z, c=None):
        """Decoder output, one raw value per feature, for codes with any leading axes."""
        z = join(z.clamp(-INPUT_BOUND, INPUT_BOUND), c)
        lead = z.shape[:-1]
        out = self.decoder(z.reshape(-1, z.shape[-1]))
        return full_precision(out).reshape(lead + (self.x_shift.shape[0],))

    def px(self, z, c=None):
        """The likelihood ``p(x | z)`` (``p(x | z, c)`` with a condition)."""
        return self.likelihood(self.raw(z, c))

    def log_px(self, z, x, c=None):
        """``log p(x | z)`` (``log p(x | z, c)``) per row, summed over features.

        The same as ``self.px(z, c).log_prob(x)``, in closed form: the
        training step's likelihood term.
        """
        return self.likelihood.log_prob(self.raw(z, c), x)

    def px_mean(self, z, c=None):
        """``E[x | z]`` (``E[x | z, c]``)."""
        return self.likelihood.mean(self.raw(z, c))

    def decode(self, z):
        """The likelihood ``p(x | z)``; a conditional family takes its inputs here."""
        return self.px(z)

    def decode_mean(self, z):
        """``E[x | z]``: the reconstruction a user sees."""
        return self.px_mean(z)


class VAEOutput(NamedTuple):
    """What :meth:`VAEModule.forward` returns for a batch of ``n`` rows."""

    log_px: torch.Tensor  # (n,) log p(x | z) at one draw z ~ q(z | x)
    kl: torch.Tensor  # (n,) KL(q(z | x) || p(z)), closed form
    loc: torch.Tensor  # (n, n_components), the posterior's mean
    scale: torch.Tensor  # (n, n_components), the posterior's standard deviation
    z: torch.Tensor  # (n, n_components), the draw
    # (n,) the neighbour-embedding term of each row, when the batch has pairs
    pair: torch.Tensor | None = None


# Rows of the batch that push each row's code away in the neighbour term.
_NEGATIVE_SAMPLES = 5


class NeighbourPairs:
    """Batch preparation: replace each batch's ``neighbors`` by ``x_pair``.

    ``neighbors`` (a per-row input, (n, k) indices into ``pool``, the training
    rows) becomes one of each row's neighbours, drawn at random from
    ``generator`` (the net's training noise) every time a batch is made.
    """

    def __init__(self, pool):
        self.pool = pool

    def __call__(self, batch, generator=None):
        batch = dict(batch)
        neighbors = batch.pop("neighbors")
        n = neighbors.shape[0]
        pick = torch.randint(
            neighbors.shape[1], (n,), device=neighbors.device, generator=generator
        )
        rows = neighbors[torch.arange(n, device=neighbors.device), pick]
        # the pool stays in host memory when the training data do (see
        # skvae._net.keeps_on_host): the pairs follow the batch to its device
        pairs = self.pool[rows.to(self.pool.device)]
        batch["x_pair"] = pairs.to(neighbors.device, non_blocking=True)
        return batch


def neighbour_embedding_loss(loc, loc_pair, n_negative=_NEGATIVE_SAMPLES, generator=None):
    """UMAP's cross-entropy on codes, per row (McInnes et al. 2018; Sainburg et al. 2021).

    With the Cauchy kernel ``w(d) = 1 / (1 + d^2)`` of UMAP's layout
    (``a = b = 1``), a row's code ``loc`` is pulled towards the code of its
    neighbour ``loc_pair`` (``-log w``) and pushed from the codes of
    ``n_negative`` other rows of the batch (``-log(1 - w)``, averaged), drawn
    from ``generator`` as cyclic shifts of the batch, so that no row is its
    own negative.
    """
    attract = torch.log1p(((loc - loc_pair) ** 2).sum(-1))
    n = loc.shape[0]
    if n < 2:
        return attract
    repel = 0.0
    shifts = torch.randint(1, n, (n_negative,), device=loc.device, generator=generator)
    for shift in shifts.tolist():
        d2 = ((loc - loc.roll(shift, dims=0)) ** 2).sum(-1)
        # -log(1 - w) = log(1 + 1 / d^2); coincident codes give a finite push
        repel = repel + torch.log1p(1.0 / d2.clamp(min=1e-4))
    return attract + repel / n_negative


class VAEModule(Autoencoder):
    """The VAE: ``q(z | x)`` a diagonal Gaussian, ``p(z) = N(0, I)``, any likelihood.

    Takes the parameters of :class:`Autoencoder`; the posterior head is one
    linear layer on the encoder features. ``prior`` (a dict, default None)
    adds a learned prior over the codes for sampling, kept as ``code_prior``
    (see :func:`skvae.models.diffusion.make_code_prior`); the ELBO keeps
    ``N(0, I)``.
    """

    def __init__(self, networks, n_components, *args, prior=None, **kwargs):
        super().__init__(networks, n_components, *args, **kwargs)
        self.z_params = nn.Linear(self.width, 2 * n_components)
        self.code_prior = make_code_prior(prior, n_components, self.n_conditions)

    def encode_params(self, x):
        """The posterior's mean and standard deviation, each (n, n_components)."""
        return gaussian_params(self.z_params(self.features(x)))

    def encode(self, x):
        """The posterior ``q(z | x)``, a diagonal Gaussian."""
        return diagonal_normal(*self.encode_params(x))

    def prior(self, like):
        """``p(z) = N(0, I)`` on the device and dtype of ``like``, batched like it."""
        zeros = like.new_zeros(like.shape[:-1] + (self.n_components,))
        return diagonal_normal(zeros, torch.ones_like(zeros))

    def forward(self, x, x_pair=None):
        # the ELBO's terms in closed form, with no distribution object: this
        # runs once per training batch (the tests hold it equal to the
        # distributions' log_prob and kl_divergence)
        # denoising: the encoder sees a corrupted row, the likelihood the clean one
        loc, scale = self.encode_params(self.corrupt(x))
        z = loc + scale * self.normal_like(scale)
        pair = None
        if x_pair is not None:  # a neighbour of each row (see NeighbourPairs)
            pair_loc = self.encode_params(self.corrupt(x_pair))[0]
            pair = neighbour_embedding_loss(loc, pair_loc, generator=self.generator)
        return VAEOutput(
            self.log_px(z, x), standard_normal_kl(loc, scale), loc, scale, z, pair
        )

    def encode_mean(self, x):
        """``E[z | x]``, shape (n, n_components)."""
        return self.encode(x).mean

    def code_distribution(self, x, **inputs):
        """The posterior of each row as (loc, scale), each (n, n_components)."""
        qz = self.encode(x, **inputs)
        return qz.base_dist.loc, qz.base_dist.scale

    def latent_statistics(self, x):
        """Per-dimension KL from the prior and posterior means, each (n, n_components)."""
        qz = self.encode(x)
        # the base Normals, before Independent sums the dimensions
        return kl_divergence(qz.base_dist, self.prior(qz.mean).base_dist), qz.mean

    def feature_log_px(self, x, eps):
        """``log p(x_j | z)`` of each feature averaged over draws ``z = loc + scale * eps``.

        ``eps`` (n_draws, n_components) are shared by every row; returns (n, n_features).
        """
        qz = self.encode(x)
        z = qz.base_dist.loc + qz.base_dist.scale * eps[:, None, :]
        return self.decode(z).base_dist.log_prob(x).mean(0)

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
        return self._log_weights(self.encode(x), x, eps, self.prior, None)

    def _log_weights(self, qz, x, eps, prior, c):
        loc, scale = qz.base_dist.loc, qz.base_dist.scale
        z = loc + scale * eps[:, None, :]  # (n_draws, n, k)
        log_px = self.px(z, c).log_prob(x)
        pz = prior(loc)
        log_ratio = pz.log_prob(z) - qz.log_prob(z)
        return log_px, log_ratio, kl_divergence(qz, pz)


class ELBOLoss(nn.Module):
    """Negative mean ELBO, ``-(log p(x|z) - beta * KL)``, in nats per sample.

    ``beta`` weighs the KL term (Higgins et al. 2017); ``beta=1`` is the ELBO.
    During training the weight is ``kl_factor * beta``, where ``kl_factor``
    (set by :class:`skvae._net.KLWarmup`) rises from near 0 to 1; validation
    losses always use ``beta`` itself, so they stay comparable across epochs.

    ``neighbor_weight`` weighs the neighbour-embedding term of the module's
    output, when its batches come with neighbour pairs (see
    :func:`neighbour_embedding_loss`); it is not part of the ELBO.
    """

    def __init__(self, beta=1.0, neighbor_weight=0.0):
        super().__init__()
        self.beta = beta
        self.neighbor_weight = neighbor_weight
        self.kl_factor = 1.0

    def per_row(self, output, training):
        """Each row's negative (beta-weighted) ELBO."""
        weight = self.beta * (self.kl_factor if training else 1.0)
        return weight * output.kl - output.log_px

    def neighbour_term(self, output):
        """The weighted neighbour-embedding term of the batch (0 without pairs)."""
        # the outputs of families without the term have no ``pair`` field
        pair = getattr(output, "pair", None)
        if pair is None or not self.neighbor_weight:
            return 0.0
        return self.neighbor_weight * pair.mean()

    def forward(self, output, x=None, training=False):
        return self.per_row(output, training).mean() + self.neighbour_term(output)


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


def elbo_from_draws(log_px, kl):
    """Monte-Carlo ELBO per row from ``log_px`` of shape (n_draws, n)."""
    return log_px.mean(0) - kl


def iw_bound_from_draws(log_px, log_ratio):
    """Importance-weighted bound per row (Burda et al. 2016)."""
    n_draws = log_px.shape[0]
    return torch.logsumexp(log_px + log_ratio, dim=0) - math.log(n_draws)
