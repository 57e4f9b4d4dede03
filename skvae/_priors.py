"""Learned priors over codes, for sampling: the ``prior`` hyperparameter's objects."""

import math
from numbers import Integral, Real

from sklearn.base import BaseEstimator


class DiffusionPrior(BaseEstimator):
    """A denoising diffusion model (DDPM) over the codes, as a learned prior.

    Pass it as ``prior=DiffusionPrior(...)`` (``prior="diffusion"`` is
    ``DiffusionPrior()``) to :class:`~skvae.VAETransformer`,
    :class:`~skvae.AutoencoderTransformer` or :class:`~skvae.ConditionalVAE`.
    After the autoencoder is fitted, a DDPM (Ho et al. 2020) is trained on the
    training rows' codes: posterior draws ``z ~ q(z | x)`` for a VAE, fresh
    at every step, or the codes ``f(x)`` of an autoencoder, standardised per
    dimension. Its noise predictor is an MLP of ``hidden_layer_sizes`` (SiLU)
    on the noisy code, a sinusoidal embedding of the step and, for a
    conditional VAE, the one-hot class; it is trained to predict the noise
    (the ``epsilon`` loss) at a uniformly drawn step of a linear schedule of
    noise variances from ``beta_start`` to ``beta_end`` over
    ``n_timesteps``. ``sample`` then draws codes by the reverse process and
    decodes them, which follows the codes of the data where the fixed
    ``N(0, I)`` prior of a VAE also covers regions no row maps to (the "prior
    holes" that give blurry or implausible samples). The bounds of
    ``score_samples`` keep the model's own prior.

    Its parameters are nested hyperparameters of the estimator, so a search
    can tune them (``prior__n_timesteps``).

    Parameters
    ----------
    n_timesteps : int, default=1000
        Number of diffusion steps ``T``; sampling runs that many network
        evaluations.
    beta_start : float, default=1e-4
        Noise variance of the first step.
    beta_end : float, default=0.02
        Noise variance of the last step.
    hidden_layer_sizes : tuple of int, default=(256, 256, 256)
        Widths of the noise predictor's hidden layers.
    max_steps : int, default=4000
        Optimiser steps of training (rounded up to whole epochs over the
        training codes), whatever the number of rows: on a small data set
        they take most of the fit's time (the progress bar of ``verbose=1``
        counts them).
    batch_size : int, default=256
        Codes per training step.
    learning_rate_init : float, default=3e-3
        Initial step size of Adam, decayed to 0 by a cosine schedule.

    References
    ----------
    .. [1] J. Ho, A. Jain and P. Abbeel, "Denoising Diffusion Probabilistic
       Models", NeurIPS 2020.
    .. [2] R. Rombach et al., "High-Resolution Image Synthesis with Latent
       Diffusion Models", CVPR 2022.

    Examples
    --------
    >>> from skvae import DiffusionPrior, VAETransformer
    >>> vae = VAETransformer(prior=DiffusionPrior(n_timesteps=500))
    >>> vae.get_params()["prior__n_timesteps"]
    500
    """

    def __init__(
        self,
        n_timesteps=1000,
        beta_start=1e-4,
        beta_end=0.02,
        hidden_layer_sizes=(256, 256, 256),
        max_steps=4000,
        batch_size=256,
        learning_rate_init=3e-3,
    ):
        self.n_timesteps = n_timesteps
        self.beta_start = beta_start
        self.beta_end = beta_end
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init

    def _checked(self):
        """The parameters, checked, as a dict (what the torch module is built from)."""
        for name in ("n_timesteps", "max_steps", "batch_size"):
            _check_positive_int(self, name)
        for name in ("beta_start", "beta_end", "learning_rate_init"):
            _check_positive_number(self, name)
        if not self.beta_start <= self.beta_end < 1:
            raise ValueError(
                "DiffusionPrior needs 0 < beta_start <= beta_end < 1 (the noise variances "
                f"of the first and last steps), got beta_start={self.beta_start!r} and "
                f"beta_end={self.beta_end!r}."
            )
        sizes = _checked_sizes(self)
        return {
            "kind": "diffusion",
            "n_timesteps": int(self.n_timesteps),
            "beta_start": float(self.beta_start),
            "beta_end": float(self.beta_end),
            "hidden_layer_sizes": sizes,
            "max_steps": int(self.max_steps),
            "batch_size": int(self.batch_size),
            "learning_rate_init": float(self.learning_rate_init),
        }


def prior_steps(config, n_rows):
    """The optimiser steps of a learned prior's training on ``n_rows`` codes:
    ``max_steps`` rounded up to whole epochs."""
    per_epoch = math.ceil(n_rows / config["batch_size"])
    return math.ceil(config["max_steps"] / per_epoch) * per_epoch


class AutoregressivePrior(BaseEstimator):
    """An autoregressive model of a VQ-VAE's code indices, as a learned prior.

    Pass it as ``prior=AutoregressivePrior(...)`` (``prior="autoregressive"``,
    the default, is ``AutoregressivePrior()``) to
    :class:`~skvae.VQVAETransformer`. After the VQ-VAE is fitted, the
    indices of the training rows' codes are modelled slot by slot, ``p(k) =
    p(k_1) p(k_2 | k_1) ... p(k_S | k_1, ..., k_{S-1})``, by a masked MLP
    (MADE, Germain et al. 2015) over the one-hot codes of the slots, whose
    masks let each slot's softmax see the slots before it only. ``sample``
    draws indices from it slot by slot and decodes their codebook vectors,
    and ``score_samples`` adds ``log p(k)`` to the reconstruction term. Its
    parameters are nested hyperparameters of the estimator
    (``prior__hidden_layer_sizes``).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256,)
        Widths of the masked MLP's hidden layers (ReLU).
    max_steps : int, default=3000
        Optimiser steps of training (rounded up to whole epochs over the
        training rows).
    batch_size : int, default=256
        Rows per training step.
    learning_rate_init : float, default=1e-3
        Initial step size of Adam, decayed to 0 by a cosine schedule.

    References
    ----------
    .. [1] A. van den Oord, O. Vinyals and K. Kavukcuoglu, "Neural Discrete
       Representation Learning", NeurIPS 2017 (a PixelCNN prior over the
       spatial grid of codes; here an autoregressive model over slots).
    .. [2] M. Germain, K. Gregor, I. Murray and H. Larochelle, "MADE: Masked
       Autoencoder for Distribution Estimation", ICML 2015.
    """

    def __init__(
        self,
        hidden_layer_sizes=(256,),
        max_steps=3000,
        batch_size=256,
        learning_rate_init=1e-3,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init

    def _checked(self):
        for name in ("max_steps", "batch_size"):
            _check_positive_int(self, name)
        _check_positive_number(self, "learning_rate_init")
        return {
            "kind": "autoregressive",
            "hidden_layer_sizes": _checked_sizes(self),
            "max_steps": int(self.max_steps),
            "batch_size": int(self.batch_size),
            "learning_rate_init": float(self.learning_rate_init),
        }


def _checked_sizes(settings):
    sizes = settings.hidden_layer_sizes
    sizes = (sizes,) if isinstance(sizes, Integral) else sizes
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = None
    if sizes is None or not all(
        isinstance(v, Integral) and not isinstance(v, bool) and v >= 1 for v in sizes
    ):
        raise ValueError(
            f"{type(settings).__name__}'s hidden_layer_sizes must hold positive integers "
            f"(the widths of its network's layers), got {settings.hidden_layer_sizes!r}."
        )
    return tuple(int(v) for v in sizes)


def _check_positive_int(settings, name):
    value = getattr(settings, name)
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(
            f"{type(settings).__name__}'s {name} must be a positive integer, got {value!r}."
        )


def _check_positive_number(settings, name):
    value = getattr(settings, name)
    if not isinstance(value, Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"{type(settings).__name__}'s {name} must be a positive number, got {value!r}."
        )


PRIORS = ("gaussian", "diffusion")
VQ_PRIORS = ("autoregressive", "uniform")


def prior_config(prior):
    """The checked parameters of a ``prior`` hyperparameter's learned prior, or None.

    None for a fixed prior (``"gaussian"``, ``"uniform"``).
    """
    if isinstance(prior, (DiffusionPrior, AutoregressivePrior)):
        return prior._checked()
    if prior == "diffusion":
        return DiffusionPrior()._checked()
    if prior == "autoregressive":
        return AutoregressivePrior()._checked()
    return None
