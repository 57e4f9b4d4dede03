"""The private core shared by every VAE estimator of the package.

:class:`BaseVAE` is a scikit-learn estimator that *holds* a fitted skorch net
(``net_``) rather than being one: it validates data, maps its flat
hyperparameters onto the net, scopes randomness to ``random_state`` and runs
inference in bounded blocks. Subclasses add the scikit-learn contract of their
task (transformer, clusterer, outlier detector, ...) and, where their model
differs, set ``_module_class`` / ``_criterion_class`` and override the
hooks ``_module_params``, ``_criterion_params``, ``_extra_callbacks``,
``_validate_fit_data`` (extra per-row training inputs such as labels) and
``_conditioning_labels``.
"""

import copy
import inspect
import math
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping, LRScheduler, ProgressBar

from ._modules import (
    ACTIVATIONS,
    LIKELIHOODS,
    VARIANCES,
    ELBOLoss,
    VAEModule,
    elbo_from_draws,
    iw_bound_from_draws,
)
from ._net import KLWarmup, VAENet

# Variance floor of the Gaussian likelihood, relative to the mean feature
# variance of the training data (0.01 on standardised data).
_RELATIVE_VAR_FLOOR = 1e-2
# A latent dimension is "active" when its posterior mean varies across the
# data by more than this (Burda et al. 2016, "Importance Weighted Autoencoders").
_ACTIVITY_THRESHOLD = 1e-2


def resolve_device(device):
    """Turn the ``device`` hyperparameter into a torch device string.

    ``"auto"`` takes CUDA when torch sees a GPU and the CPU otherwise. An
    explicit accelerator that is not there is an error, never a silent CPU run.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device={device!r} is not a device torch knows. Use 'auto', 'cpu', "
            "'cuda' or 'cuda:N'."
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only"
            raise ValueError(
                f"device={device!r} was requested but torch sees no CUDA GPU "
                f"(this torch build is {build}). Use device='cpu', or "
                "device='auto' to use a GPU only when one is present."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but torch sees only "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={device!r} was requested but the MPS backend is not available."
        )
    return str(dev)


@contextmanager
def torch_seed(seed, device):
    """Seed torch for a block of work without touching the caller's RNG state.

    The global CPU generator (and, when training on CUDA, the CUDA ones) is
    forked on entry and restored on exit.
    """
    on_cuda = torch.device(device).type == "cuda"
    devices = list(range(torch.cuda.device_count())) if on_cuda else []
    with torch.random.fork_rng(devices=devices):
        torch.default_generator.manual_seed(seed)
        if on_cuda:
            torch.cuda.manual_seed_all(seed)
        yield


def _seed_from(rng):
    return int(rng.randint(np.iinfo(np.int32).max))


class BaseVAE(BaseEstimator):
    """Shared hyperparameters, fitting and inference of the VAE estimators.

    Not meant to be used directly; the parameters are documented on the public
    estimators (:class:`skvae.VAETransformer` and the others).
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Real, 0, 1, closed="left")],
        "likelihood": [StrOptions(set(LIKELIHOODS))],
        "variance": [StrOptions(set(VARIANCES))],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [StrOptions({"cosine", "constant"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(256, 128),
        activation="gelu",
        beta=1.0,
        kl_warmup=0.25,
        likelihood="gaussian",
        variance="shared",
        max_iter=200,
        batch_size=128,
        learning_rate_init=5e-3,
        learning_rate="cosine",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.likelihood = likelihood
        self.variance = variance
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start

    # ------------------------------------------------------------------ fitting

    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
        if not all(isinstance(s, Integral) and s >= 1 for s in sizes):
            raise ValueError(
                "hidden_layer_sizes must hold positive integers (the widths of "
                f"the encoder's hidden layers), got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(s) for s in sizes)

    def _validate_X(self, X, *, reset, likelihood_support=True):
        """``validate_data`` as every public entry point of the package calls it.

        ``likelihood_support`` also checks that ``X`` lies where ``p(x | z)``
        is defined ([0, 1] for Bernoulli): needed to fit or score, not to
        encode, where a MinMaxScaler fitted on a training fold routinely
        gives test values slightly outside [0, 1].
        """
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_min_samples=2 if reset else 1,
        )
        if likelihood_support:
            self._check_support(X)
        return X

    def _check_support(self, X):
        """Check that validated ``X`` lies where ``p(x | z)`` is defined."""
        out_of_support = X.size and (X.min() < 0 or X.max() > 1)
        if self.likelihood == "bernoulli" and out_of_support:
            raise ValueError(
                "likelihood='bernoulli' needs every value in [0, 1], but X holds "
                f"values in [{X.min():.4g}, {X.max():.4g}]. Rescale X (for example "
                "with MinMaxScaler, or pixels / 255) or use likelihood='gaussian'."
            )

    def _module_params(self, X):
        """Keyword arguments of the torch module, from the training data."""
        mean = X.mean(axis=0)
        var = X.var(axis=0)
        mean_var = float(var.mean())
        var_floor = _RELATIVE_VAR_FLOOR * (mean_var if mean_var > 0 else 1.0)
        return {
            "n_features": X.shape[1],
            "n_components": self.n_components,
            "hidden_layer_sizes": self._hidden_layer_sizes(),
            "activation": self.activation,
            "likelihood": self.likelihood,
            "variance": self.variance,
            "feature_mean": torch.as_tensor(mean, dtype=torch.float32),
            "feature_var": torch.as_tensor(var, dtype=torch.float32),
            "var_floor": var_floor,
        }

    def _callbacks(self):
        """The skorch callbacks that carry the scikit-learn style options."""
        callbacks = []
        n_warmup = math.ceil(self.kl_warmup * self.max_iter)
        if n_warmup:
            callbacks.append(("kl_warmup", KLWarmup(n_warmup)))
        if self.learning_rate == "cosine":
            callbacks.append(
                (
                    "lr_schedule",
                    LRScheduler(
                        policy=torch.optim.lr_scheduler.CosineAnnealingLR,
                        T_max=self.max_iter,
                    ),
                )
            )
        if self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.n_iter_no_change,
                        threshold=self.tol,
                        # ELBO losses can be negative: a relative threshold flips
                        threshold_mode="abs",
                        load_best=True,
                    ),
                )
            )
        callbacks.extend(self._extra_callbacks())
        if self.verbose:
            callbacks.append(("progress_bar", ProgressBar()))
        for cb in copy.deepcopy(self.callbacks or []):
            callbacks.append(cb)
        return callbacks

    # The torch module and loss of the model; subclasses with another model
    # override these three.
    _module_class = VAEModule
    _criterion_class = ELBOLoss

    def _criterion_params(self):
        return {"beta": self.beta}

    def _extra_callbacks(self):
        """Model-specific callbacks, run before the user's."""
        return []

    def _make_net(self, X, device):
        return VAENet(
            module=self._module_class,
            criterion=self._criterion_class,
            optimizer=torch.optim.Adam,
            lr=self.learning_rate_init,
            max_epochs=self.max_iter,
            batch_size=self.batch_size,
            validation_fraction=self.validation_fraction if self.early_stopping else None,
            callbacks=self._callbacks(),
            device=device,
            verbose=self.verbose,
            **{f"module__{k}": v for k, v in self._module_params(X).items()},
            **{f"criterion__{k}": v for k, v in self._criterion_params().items()},
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the VAE to ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_or_clear(X, y)

    def _validate_fit_data(self, X, y, reset):
        """Validated ``X`` and a dict of extra per-row training inputs (or None)."""
        return self._validate_X(X, reset=reset), None

    def _fit_or_clear(self, X, y):
        """Validate and fit; a failure leaves no half-fitted state behind."""
        warm = self.warm_start and hasattr(self, "net_")
        try:
            X, inputs = self._validate_fit_data(X, y, reset=not warm)
        except BaseException:
            # A cold fit may have reset n_features_in_ already; a warm one
            # (reset=False) changed nothing and keeps its trained net.
            if not warm:
                self._clear_fitted_state()
            raise
        try:
            return self._fit(X, warm, inputs)
        except BaseException:
            self._clear_fitted_state()
            raise

    def _fit(self, X, warm, inputs=None, random_state=None):
        """Train on validated ``X``; ``random_state`` overrides the estimator's."""
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        train_seed, inference_seed = _seed_from(rng), _seed_from(rng)

        data = torch.tensor(X, dtype=torch.float32, device=device)
        if inputs:
            # extra per-row inputs of the module (integer arrays: labels,
            # neighbour indices into the training rows, the "pool")
            extra = {
                key: torch.as_tensor(value, dtype=torch.long, device=device)
                for key, value in inputs.items()
            }
            if "neighbors" in extra:
                extra["pool"] = data
            data = {"x": data, **extra}
        with torch_seed(train_seed, device):
            if warm:
                net = self.net_
                net.set_params(max_epochs=self.max_iter)
                net.partial_fit(data)
            else:
                net = self._make_net(X, device)
                net.fit(data)

        history = net.history
        self.net_ = net
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
        self.validation_loss_curve_ = (
            [float(v) for v in history[:, "valid_loss"]] if self.early_stopping else None
        )
        self._inference_seed = inference_seed
        self.kl_per_dim_, activity = self._latent_statistics(
            X, labels=self._conditioning_labels(inputs)
        )
        self.n_active_units_ = int(np.sum(activity > _ACTIVITY_THRESHOLD))
        return self

    def _conditioning_labels(self, inputs):
        """The training labels a conditional model's statistics depend on (None here)."""
        return None

    def _fitted_state(self):
        """Every attribute a fit sets, by name."""
        return {
            name: value
            for name, value in vars(self).items()
            if (name.endswith("_") and not name.startswith("__")) or name == "_inference_seed"
        }

    def _clear_fitted_state(self):
        for name in self._fitted_state():
            delattr(self, name)

    # ---------------------------------------------------------------- inference

    @property
    def module_(self):
        """The trained torch module (held by ``net_``)."""
        check_is_fitted(self, "net_")
        return self.net_.module_

    def _blocks(self, X, labels=None):
        """Yield ``X`` as float32 tensors on the net's device, ``batch_size`` rows each.

        With ``labels`` (class indices, one per row), yield ``(block, labels)``
        pairs, the labels as a long tensor. Memory stays bounded by the batch
        size. Each block is copied (torch takes neither negative strides nor
        read-only memmaps as they are).
        """
        device = self.net_.device
        for start in range(0, X.shape[0], self.batch_size):
            rows = slice(start, start + self.batch_size)
            block = torch.tensor(np.ascontiguousarray(X[rows]), dtype=torch.float32, device=device)
            if labels is None:
                yield block
            else:
                yield block, torch.as_tensor(labels[rows], dtype=torch.long, device=device)

    def _map_blocks(self, X, fn, dtype=None, labels=None):
        """Apply ``fn`` to each block under inference mode; stack as numpy.

        ``fn(module, block)``, or ``fn(module, block, block_labels)`` when
        ``labels`` are given.
        """
        module = self.module_
        module.eval()
        outputs = []
        with torch.inference_mode():
            for block in self._blocks(X, labels):
                args = block if labels is not None else (block,)
                outputs.append(fn(module, *args).cpu().numpy())
        out = np.concatenate(outputs) if outputs else np.empty((0,))
        return out.astype(dtype or X.dtype, copy=False)

    def _encode_mean(self, X, labels=None):
        """Posterior means ``E[z | x]``, shape (n_samples, n_components)."""
        if labels is None:
            return self._map_blocks(X, lambda m, xb: m.encode_mean(xb))
        return self._map_blocks(X, lambda m, xb, lb: m.encode_mean(xb, lb), labels=labels)

    def _decode_mean(self, Z, labels=None):
        """Decoder means ``E[x | z]``, shape (n_samples, n_features)."""
        if labels is None:
            return self._map_blocks(Z, lambda m, zb: m.decode_mean(zb))
        return self._map_blocks(
            Z, lambda m, zb, lb: m.decode_mean(zb, m.condition(lb)), labels=labels
        )

    def _latent_statistics(self, X, labels=None):
        """Mean KL per latent dimension and the variance of the posterior means."""

        def stats(module, xb, *lb):
            return torch.cat(module.latent_statistics(xb, *lb), dim=1)

        out = self._map_blocks(X, stats, dtype=np.float64, labels=labels)
        k = self.n_components
        return out[:, :k].mean(axis=0), out[:, k:].var(axis=0)

    def _score_noise(self, n_draws, moment_matched):
        """Standard-normal draws shared by every row (see ``VAEModule.log_weights``).

        Seeded from ``random_state`` at fit time, so scores are deterministic.
        Because every row shares the draws, their sampling error does not
        average out over rows: 10 plain draws biased the mean ELBO on PPCA data
        by 0.2 nats. ``moment_matched`` centres and whitens the draws (when
        there are more draws than latent dimensions) so that their mean is 0
        and their covariance exactly I: the ELBO is then exact wherever
        ``log p(x | z)`` is quadratic in ``z`` and far less noisy elsewhere.
        The importance-weighted bound needs independent draws and gets them.
        """
        rng = np.random.RandomState(self._inference_seed)
        eps = rng.standard_normal((n_draws, self.n_components))
        if moment_matched and n_draws > self.n_components:
            eps -= eps.mean(axis=0)
            chol = np.linalg.cholesky(eps.T @ eps / n_draws)
            eps = np.linalg.solve(chol, eps.T).T
        return torch.as_tensor(eps, dtype=torch.float32, device=self.net_.device)

    def _log_weight_draws(self, module, xb, eps, labels=None):
        """``log_weights`` over draws in chunks, so memory stays near one block's."""
        chunk = max(1, 4096 // max(1, xb.shape[0]))
        log_px, log_ratio = [], []
        for start in range(0, eps.shape[0], chunk):
            lp, lr, kl = module.log_weights(xb, eps[start : start + chunk], labels)
            log_px.append(lp)
            log_ratio.append(lr)
        return torch.cat(log_px), torch.cat(log_ratio), kl

    def _check_n_draws(self, n_draws):
        if not isinstance(n_draws, Integral) or isinstance(n_draws, bool) or n_draws < 1:
            raise ValueError(
                f"n_draws must be a positive integer (the number of Monte-Carlo "
                f"draws per sample), got {n_draws!r}."
            )

    def _score_samples(self, X, n_draws, importance_weighted, labels=None):
        """Per-row ELBO or importance-weighted bound (conditional on ``labels``)."""
        self._check_n_draws(n_draws)
        eps = self._score_noise(n_draws, moment_matched=not importance_weighted)

        def bound(module, xb, lb=None):
            log_px, log_ratio, kl = self._log_weight_draws(module, xb, eps, lb)
            if importance_weighted:
                return iw_bound_from_draws(log_px, log_ratio)
            return elbo_from_draws(log_px, kl)

        return self._map_blocks(X, bound, dtype=np.float64, labels=labels)

    @staticmethod
    def _check_n_samples(n_samples):
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )

    def _sample(self, n_samples, random_state, noise):
        self._check_n_samples(n_samples)
        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        z = rng.standard_normal((n_samples, self.n_components))
        return self._decode_draws(z, rng, noise)

    def _decode_draws(self, z, rng, noise, labels=None):
        """Decoder means at codes ``z``, or draws from ``p(x | z)`` when ``noise``.

        With ``labels``, decode each code as its class (a conditional VAE).
        """
        if not noise:
            return self._decode_mean(z, labels).astype(np.float64)
        module = self.module_
        module.eval()
        draws = []
        with torch.inference_mode():
            for block in self._blocks(z, labels):
                zb, lb = block if labels is not None else (block, None)
                px = module.decode(zb, module.condition(lb)).base_dist
                if self.likelihood == "gaussian":
                    loc, scale = px.loc.cpu().numpy(), px.scale.cpu().numpy()
                    draws.append(loc + scale * rng.standard_normal(loc.shape))
                else:
                    p = px.probs.cpu().numpy()
                    draws.append((rng.uniform(size=p.shape) < p).astype(np.float64))
        return np.concatenate(draws).astype(np.float64)


# Documentation of the shared hyperparameters, substituted into each public
# estimator's docstring where it says ``{shared_parameters}``.
SHARED_PARAMETERS_DOC = """\
    hidden_layer_sizes : tuple of int, default=<hidden_layer_sizes>
        Widths of the encoder's hidden layers; the decoder mirrors them.
        ``()`` gives a linear encoder and decoder.

    activation : {"gelu", "relu", "tanh", "logistic", "identity", "elu"}, \
default=<activation>
        Activation after each hidden layer. The smooth GELU fits densities
        more closely than ReLU: the bound on probabilistic-PCA data came 0.8%
        short of the exact log-likelihood against 1.8% (at the same step
        size), and embeddings were better (``benchmarks/``).

    beta : float, default=1.0
        Weight of the KL term of the ELBO (beta-VAE). ``beta=1`` trains the
        true ELBO; smaller values trade a looser bound for sharper
        reconstructions, larger ones for a smoother latent space.

    kl_warmup : float in [0, 1), default=<kl_warmup>
        Share of ``max_iter`` epochs over which the training weight of the KL
        term rises linearly from near 0 to ``beta`` (KL annealing, Bowman et
        al. 2016): the decoder learns to use the codes before the prior pulls
        them together. 0 trains the full ELBO from the first epoch.

    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        Decoder distribution ``p(x | z)``. ``"gaussian"`` learns its variance
        (see ``variance``), started at the features' spread and floored at 1%
        of the mean feature variance, so nearly constant features stay sane.
        ``"bernoulli"`` is for data in [0, 1] such as binary or ``pixels / 255``.

    variance : {"shared", "feature"}, default="shared"
        With a Gaussian likelihood, learn one noise variance shared by all
        features, as probabilistic PCA does, or one per feature, as factor
        analysis does. ``"shared"`` makes the codes account for every feature
        and gives better low-dimensional embeddings (see
        ``benchmarks/bench_reduce.py``); ``"feature"`` fits features of
        unequal noise more closely and so can score such data higher.

    max_iter : int, default=<max_iter>
        Maximum number of epochs.

    batch_size : int, default=128
        Rows per mini-batch; inference also runs in blocks of this size, which
        bounds its memory.

    learning_rate_init : float, default=<learning_rate_init>
        Initial step size of the Adam optimiser; each estimator's default
        was chosen with its benchmark. The likelihood's noise variance and a
        mixture prior's parameters move 30 times faster.

    learning_rate : {"cosine", "constant"}, default="cosine"
        Step-size schedule: a cosine decay to zero over ``max_iter`` epochs
        (which tightens the bound noticeably), or constant.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop when their loss
        has not improved by ``tol`` for ``n_iter_no_change`` epochs, keeping
        the weights of the best epoch. When False, all ``max_iter`` epochs
        run: unlike ``MLPRegressor``, the noisy training loss of a VAE is not
        watched, since it stalls by chance long before the bound stops
        improving.

    validation_fraction : float, default=0.1
        Share of the rows held out when ``early_stopping=True``.

    n_iter_no_change : int, default=10
        With ``early_stopping``, epochs without an improvement of at least
        ``tol`` before stopping.

    tol : float, default=1e-4
        With ``early_stopping``, the smallest improvement of the validation
        loss (nats per sample) that counts.

    device : str or torch.device, default="auto"
        Where to train and infer: ``"auto"`` (CUDA when torch sees a GPU,
        else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``... Asking for CUDA
        without a GPU is an error, never a silent CPU run.

    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffling, the training noise and the
        Monte-Carlo draws of the scores. An int gives identical results on
        the CPU from run to run. The caller's global torch and numpy random
        states are left untouched.

    verbose : int, default=0
        If > 0, show a progress bar and a table of per-epoch losses.

    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra callbacks for the underlying :class:`skorch.NeuralNet`
        (checkpoints, logging, gradient clipping...). They are copied at
        each fit.

    warm_start : bool, default=False
        If True, a second ``fit`` continues training the fitted network for
        another ``max_iter`` epochs (with a fresh schedule) instead of
        starting over."""

SHARED_ATTRIBUTES_DOC = """\
    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    net_ : skorch.NeuralNet
        The trained net; ``net_.history`` holds every epoch's losses and times.

    module_ : torch.nn.Module
        The trained VAE module (``net_.module_``).

    n_iter_ : int
        Number of epochs run.

    loss_curve_ : list of float
        Training loss (negative ELBO with KL weight ``beta``, lowered during
        the ``kl_warmup`` epochs; nats per sample) of each epoch.

    validation_loss_curve_ : list of float or None
        Validation loss of each epoch when ``early_stopping=True``.

    kl_per_dim_ : ndarray of shape (n_components,)
        Mean KL divergence of each latent dimension from the prior on the
        training data, in nats. Near-zero entries are collapsed dimensions.

    n_active_units_ : int
        Number of latent dimensions whose posterior mean varies across the
        training data by more than 0.01 (Burda et al. 2016); fewer than
        ``n_components`` shows posterior collapse."""


# Shared parameters whose default differs between estimators: each
# estimator's docstring shows its own default, read from its signature.
_PER_ESTIMATOR_DEFAULTS = (
    "hidden_layer_sizes",
    "max_iter",
    "kl_warmup",
    "activation",
    "learning_rate_init",
)


def fill_doc(cls):
    """Substitute the shared parameter and attribute docs into a docstring."""
    params = inspect.signature(cls.__init__).parameters
    shared = SHARED_PARAMETERS_DOC
    for name in _PER_ESTIMATOR_DEFAULTS:
        default = params[name].default
        text = f'"{default}"' if isinstance(default, str) else repr(default)
        shared = shared.replace(f"<{name}>", text)
    cls.__doc__ = cls.__doc__.replace("{shared_parameters}", shared.lstrip()).replace(
        "{shared_attributes}", SHARED_ATTRIBUTES_DOC.lstrip()
    )
    return cls
