"""The private core shared by every VAE estimator of the package.

:class:`BaseVAE` is a scikit-learn estimator that *holds* a fitted skorch net
(``net_``) rather than being one: it validates data (tables, or images as
rows or as 3-D / 4-D arrays), maps its flat hyperparameters onto the net and
the :class:`~skvae.models.Networks` recipe of the encoder and decoder, scopes
randomness to ``random_state`` and runs inference in bounded blocks. It knows
no single model: a subclass adds the scikit-learn contract of its task
(transformer, clusterer, outlier detector, ...) and its model family through

* ``_module_class`` / ``_criterion_class`` and ``_module_params`` /
  ``_criterion_params``: the family's torch module and loss, and their
  keyword arguments;
* ``_fit_inputs(X, y, reset)``: validated ``X`` and the model's extra per-row
  training inputs (a dict of arrays, passed to the module's ``forward`` as
  keyword arguments, e.g. class labels);
* ``_prepare_batch(data)``: a callable applied to every training batch as
  ``callable(batch, generator)`` (e.g. drawing a neighbour of every row from
  the training noise's generator), or None;
* ``_statistics_inputs(inputs)``: the per-row inputs that the module's
  inference methods take, for the fitted diagnostics;
* ``_extra_callbacks()``: the family's skorch callbacks.

The inference helpers (``_encode_mean``, ``_decode_mean``, ``_score_samples``,
``_decode_draws``...) pass any keyword arguments on, per block of rows, to the
module's methods of the same contract (see :mod:`skvae.models.vae`).
"""

import copy
import inspect
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from skorch.callbacks import Callback, EarlyStopping, LRScheduler

from ._data import (
    RowBlocks,
    StreamedData,
    column_moments,
    is_dask_array,
    is_out_of_core,
    take_rows,
)
from ._net import (
    PRECISIONS,
    FitProgress,
    KLWarmup,
    VAENet,
    adam_options,
    agree_across_processes,
    keeps_on_host,
    shared_seeds,
)
from ._priors import prior_config
from ._random import child_seed, seeded_draws
from ._registry import ModelTags, register
from ._validation import check_count
from .models import (
    ACTIVATIONS,
    ARCHITECTURES,
    CORRUPTIONS,
    LIKELIHOODS,
    VARIANCES,
    ELBOLoss,
    NeighbourPairs,
    Networks,
    VAEModule,
    elbo_from_draws,
    iw_bound_from_draws,
)

# Variance floor of the Gaussian likelihood, relative to the mean feature
# variance of the training data (0.01 on standardised data).
_RELATIVE_VAR_FLOOR = 1e-2
# A latent dimension is "active" when its posterior mean varies across the
# data by more than this (Burda et al. 2016, "Importance Weighted Autoencoders").
_ACTIVITY_THRESHOLD = 1e-2
# The fitted diagnostics of the codes (kl_per_dim_, n_active_units_) are
# estimated on a random sample of at most this many training rows (as
# QuantileTransformer's subsample): a mean or variance over 10,000 rows is
# within a few percent, and a pass over every row of a large X would cost
# another epoch of the encoder.
_STATISTICS_ROWS = 10_000


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
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(
            f"device={device!r} is not a device skvae trains on. Use 'auto', 'cpu', "
            "'cuda', 'cuda:N' or 'mps'."
        )
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


def _block_rows(n_features):
    """Rows of a block of about 8 MB of float64, for passes over an in-memory X."""
    return max(1, 2**20 // max(1, n_features))


def _positive_ints(values, name, what):
    """``values`` (an int or a sequence) as a tuple of positive ints, or a clear error."""
    values = (values,) if isinstance(values, Integral) else tuple(values)
    try:
        return tuple(check_count(v, name, what) for v in values)
    except ValueError:
        raise ValueError(f"{name} must hold positive integers ({what}), got {values!r}.") from None


class BaseVAE(BaseEstimator):
    """Shared hyperparameters, fitting and inference of the VAE estimators.

    Not meant to be used directly; the parameters are documented on the public
    estimators (:class:`skvae.VAETransformer` and the others).
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "image_shape": [tuple, list, None],
        "conv_channels": ["array-like", Interval(Integral, 1, None, closed="left")],
        "encoder": [callable, None],
        "decoder": [callable, None],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left"), None],
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
        "buffer_size": [Interval(Integral, 1, None, closed="left")],
        "precision": [StrOptions(set(PRECISIONS))],
        "compile": ["boolean"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        architecture="mlp",
        image_shape=None,
        conv_channels=(32, 64),
        encoder=None,
        decoder=None,
        hidden_layer_sizes=None,
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
        buffer_size=65536,
        precision="float32",
        compile=False,
    ):
        self.n_components = n_components
        self.architecture = architecture
        self.image_shape = image_shape
        self.conv_channels = conv_channels
        self.encoder = encoder
        self.decoder = decoder
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
        self.buffer_size = buffer_size
        self.precision = precision
        self.compile = compile

    def __init_subclass__(cls, **kwargs):
        # every public estimator class is registered (see skvae._registry)
        super().__init_subclass__(**kwargs)
        register(cls)

    def __skvae_tags__(self):
        """What this estimator can do: its :class:`~skvae._registry.ModelTags`."""
        return ModelTags()

    def __setstate__(self, state):
        # skorch loads a net pickled on a GPU onto the CPU when this machine
        # has none; the device hyperparameter follows, so that the loaded
        # estimator can be refitted here (a warm fit would refuse "cuda").
        super().__setstate__(state)
        if state.get("net_") is not None:
            self._check_device_here(stacklevel=3)

    def _check_device_here(self, stacklevel):
        """Set ``device`` to "cpu" (with a warning) when its device is not on this machine.

        For an estimator loaded on another machine than it was fitted on: a
        CUDA GPU, a second GPU (``"cuda:1"``) or Apple's MPS that is not here.
        """
        try:
            resolve_device(self.device)
        except ValueError as exc:
            warnings.warn(
                f"This {type(self).__name__} was fitted with device={self.device!r}, "
                f"which is not available here ({exc}) It was loaded on the CPU and its "
                "device set to 'cpu'.",
                UserWarning,
                stacklevel=stacklevel,
            )
            self.device = "cpu"

    def _restore_net(self, weights, history):
        """Rebuild ``net_`` from a model file: the fitted network, ``weights`` in it.

        The network is built from the hyperparameters it was fitted with
        (``_fitted_structure_``) and placeholder training statistics: every
        data-dependent value of the module is a buffer, so ``weights`` (its
        whole ``state_dict``) restores it exactly.
        """
        from skorch.history import History

        params = self.get_params(deep=False)
        device = resolve_device(self.device)
        X = np.zeros((2, self.n_features_in_), dtype=np.float32)
        try:
            self.set_params(**self._fitted_structure_)
            net = self._make_net(X, device)
        finally:
            self.set_params(**params)
        try:
            # the weights drawn at initialisation (from the net's own
            # generator) are all replaced
            self.net_ = _with_weights(net, weights, History(history))
        except RuntimeError as exc:
            raise ValueError(
                "The saved weights do not fit the network built for them: "
                f"{str(exc).splitlines()[0]} If the model was fitted with an "
                "encoder or decoder of your own, pass the same one to skvae.load."
            ) from None

    # ------------------------------------------------------------- data

    def _image_shape_param(self):
        """The ``image_shape`` hyperparameter as (C, H, W), or None."""
        if self.image_shape is None:
            return None
        shape = _positive_ints(
            self.image_shape, "image_shape", "(channels, height, width) or (height, width)"
        )
        if len(shape) not in (2, 3):
            raise ValueError(
                "image_shape must be (channels, height, width) or (height, width), "
                f"got {self.image_shape!r}."
            )
        return shape if len(shape) == 3 else (1,) + shape

    def _flatten_images(self, X, reset):
        """Rows of ``X`` given as images, (n, H, W) or (n, C, H, W), as flat rows.

        Only where images are expected (``architecture="conv"`` or an
        ``image_shape``, or a model fitted on images): elsewhere a 3-D array
        gets scikit-learn's usual error. At fit the image shape is recorded
        in ``image_shape_``; later calls must match it.
        """
        ndim = getattr(X, "ndim", None)
        expected = self._image_shape_param() if reset else getattr(self, "image_shape_", None)
        takes_images = expected is not None or (reset and self.architecture == "conv")
        if ndim not in (3, 4) or not takes_images:
            return X, None
        X = X if is_out_of_core(X) else np.asarray(X)
        shape = tuple(X.shape[1:]) if ndim == 4 else (1,) + tuple(X.shape[1:])
        if expected is not None and shape != expected:
            what = "image_shape" if reset else "the images seen during fit"
            raise ValueError(
                f"X holds images of shape {shape} (channels, height, width), but "
                f"{what} {'is' if reset else 'have shape'} {expected}."
            )
        return X.reshape(X.shape[0], -1), shape

    def _validate_X(self, X, *, reset, likelihood_support=True, y="no_validation"):
        """``validate_data`` as every public entry point of the package calls it.

        Returns ``X``, or ``(X, y)`` when ``y`` is given (validated as a
        target). Image arrays are flattened to rows first (see
        ``_flatten_images``).
        ``likelihood_support`` also checks that ``X`` lies where ``p(x | z)``
        is defined ([0, 1] for Bernoulli): needed to fit or score, not to
        encode, where a MinMaxScaler fitted on a training fold routinely
        gives test values slightly outside [0, 1].
        """
        if is_out_of_core(X):
            return self._validate_out_of_core(
                X, reset=reset, likelihood_support=likelihood_support, y=y
            )
        X, shape = self._flatten_images(X, reset)
        _check_numeric_columns(X)
        try:
            out = validate_data(
                self,
                X,
                y,
                reset=reset,
                dtype=[np.float64, np.float32],
                ensure_min_samples=2 if reset else 1,
            )
        except np.exceptions.DTypePromotionError as exc:  # e.g. dates in an object array
            raise ValueError(
                f"X must hold numbers, but it could not be read as floats ({exc}). "
                "Encode dates, categories and text as numbers first (for example "
                "in a ColumnTransformer) or drop those columns."
            ) from None
        X = out if isinstance(y, str) and y == "no_validation" else out[0]
        if reset:
            self._set_image_shape(shape, X.shape[1])
        if likelihood_support:
            self._check_support(X, self.likelihood if reset else self._fitted_param("likelihood"))
        if reset:
            self._set_units(X)
        X = self._to_model_units(X)
        return X if isinstance(y, str) and y == "no_validation" else (X, out[1])

    def _validate_out_of_core(self, X, *, reset, likelihood_support, y):
        """``_validate_X`` for an ``np.memmap`` or a dask array, without reading it whole.

        Returns a :class:`~skvae._data.RowBlocks` that reads, checks (finite
        values, the likelihood's support) and converts to the model's units
        one block at a time. At fit, one pass over the blocks computes the
        statistics of ``_set_units`` and ``_module_params``.
        """
        X, shape = self._flatten_images(X, reset)
        name = "a dask array" if is_dask_array(X) else "a memory map"
        if X.ndim != 2:
            raise ValueError(
                f"Expected a 2D array, got {name} of shape {tuple(X.shape)}. Give one "
                "row per sample (images as (n_samples, height, width) arrays need "
                "image_shape or architecture='conv')."
            )
        if any(isinstance(n, float) and math.isnan(n) for n in X.shape):
            raise ValueError(
                f"X is {name} with unknown chunk sizes, shape {X.shape}; skvae reads it "
                "in row chunks and needs their sizes. Call X.compute_chunk_sizes() first."
            )
        if is_dask_array(X) and len(X.chunks[1]) != 1:
            X = X.rechunk({1: -1})
        if X.dtype.kind not in "biuf":
            raise ValueError(
                f"X must hold numbers, but {name} of dtype {X.dtype} was given."
            )
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        n_min = 2 if reset else 1
        if X.shape[0] < n_min or X.shape[1] < 1:
            raise ValueError(
                f"Found array with {X.shape[0]} sample(s) and {X.shape[1]} feature(s) "
                f"(shape={tuple(X.shape)}) while a minimum of {n_min} samples and 1 "
                "feature are required."
            )
        _check_n_features(self, X, reset=reset)
        _check_feature_names(self, X, reset=reset)
        if not (isinstance(y, str) and y == "no_validation"):
            y = column_or_1d(y, warn=True)
            check_consistent_length(X, y)
            if y.dtype.kind == "f" and not np.isfinite(y).all():
                raise ValueError("Input y contains NaN or infinity.")
        likelihood = self.likelihood if reset else self._fitted_param("likelihood")
        bernoulli = likelihood_support and likelihood == "bernoulli"

        def checked(block, start):
            block = block.astype(dtype, copy=False)
            if not np.isfinite(block).all():
                row = start + int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
                raise ValueError(
                    f"Input X contains NaN or infinity (first in row {row}). Impute or "
                    "drop the missing values first."
                )
            if bernoulli and block.size and (block.min() < 0 or block.max() > 1):
                self._check_support(block, likelihood)
            return block

        if reset:
            self._set_image_shape(shape, X.shape[1])
            raw = RowBlocks(X, checked, dtype)
            _, mean, var = column_moments(raw.read(a, b) for a, b in raw.ranges)
            self._set_units_from_moments(mean, var)
        out = RowBlocks(
            X, lambda block, start: self._to_model_units(checked(block, start)), dtype
        )
        if reset:
            # the training statistics of the data the model sees (its units)
            out.moments = ((mean - self.x_offset_) / self.x_unit_, var / self.x_unit_**2)
        return out if isinstance(y, str) and y == "no_validation" else (out, y)

    def _validate_codes(self, Z):
        """Latent codes given to ``inverse_transform``, checked like ``X``."""
        _check_numeric_columns(Z)
        Z = check_array(Z, dtype=[np.float64, np.float32])
        if Z.shape[1] != self._code_width():
            raise ValueError(
                f"X has {Z.shape[1]} features, but inverse_transform expects "
                f"latent codes of {self._code_width()} columns (n_components="
                f"{self._fitted_param('n_components')!r})."
            )
        return Z

    def _code_width(self):
        """Columns of the codes that ``inverse_transform`` decodes."""
        return self._fitted_param("n_components")

    def _set_units(self, X):
        """Record the affine map from ``X``'s units to the model's, in float64.

        The model sees ``(X - x_offset_) / x_unit_``: each feature centred (an
        image's pixels around their pooled mean, so the picture keeps its
        contrast) and every feature divided by one scale, the root mean square
        of the centred values. One scale for all features changes units, not
        the model: scores come back in nats of ``X`` through the Jacobian
        ``n_features * log(x_unit_)``. Centring before the float32 cast keeps
        precision when the data sit far from 0 (``X + 1e8``), and the scale
        keeps ``X * 1e30`` or ``X * 1e-20`` inside float32's range. Computed
        on ``X / max|X|`` so that no sum overflows. A Bernoulli likelihood's
        data are probabilities and keep their units.
        """
        n_features = X.shape[1]
        if self.likelihood == "bernoulli":
            self.x_offset_, self.x_unit_ = np.zeros(n_features), 1.0
            return
        big = max(abs(float(X.max())), abs(float(X.min()))) if X.size else 0.0
        big = big if big > 0 else 1.0
        # float64 moments of X / big, block by block (no copy of X)
        rows = _block_rows(n_features)
        blocks = (
            np.asarray(X[start : start + rows], dtype=np.float64) / big
            for start in range(0, X.shape[0], rows)
        )
        _, mean, var = column_moments(blocks)
        self._set_units_from_moments(mean, var, scale=big)

    def _set_units_from_moments(self, mean, var, scale=1.0):
        """``_set_units`` from per-feature means and variances (ddof 0) of ``X / scale``.

        The centred mean square over all entries is the mean of the
        features' variances (plus the spread of their means around a pooled
        mean, for images).
        """
        if self.likelihood == "bernoulli":
            self.x_offset_, self.x_unit_ = np.zeros(mean.shape[0]), 1.0
            return
        if self._networks(mean.shape[0]).image_input:
            offset = np.full(mean.shape[0], mean.mean())
            square = float(np.mean(var + (mean - offset) ** 2))
        else:
            offset, square = mean, float(np.mean(var))
        if not math.isfinite(square):
            raise ValueError(
                "X holds values too large to standardise in float64 (their squares "
                "overflow). Rescale X first, for example with StandardScaler."
            )
        self.x_offset_ = offset * scale
        self.x_unit_ = math.sqrt(square) * scale if square > 0 else 1.0

    def _to_model_units(self, X):
        """``X`` (validated) in the model's units, in ``X``'s dtype."""
        if self.x_unit_ == 1.0 and not self.x_offset_.any():
            return X
        with np.errstate(over="ignore"):
            # a finite value beyond float64 after scaling becomes inf: the
            # encoder clips it and the likelihood scores it -inf
            if X.dtype == np.float64:
                out = np.subtract(X, self.x_offset_)
                out /= self.x_unit_
                return out
            # other dtypes through a float64 temporary of a block at a time
            out = np.empty(X.shape, dtype=X.dtype)
            rows = _block_rows(X.shape[1])
            for a in range(0, X.shape[0], rows):
                block = np.subtract(X[a : a + rows], self.x_offset_, dtype=np.float64)
                block /= self.x_unit_
                out[a : a + rows] = block
        return out

    def _from_model_units(self, X):
        """Decoder outputs (model units) back in ``X``'s units, as float64."""
        return np.asarray(X, dtype=np.float64) * self.x_unit_ + self.x_offset_

    @property
    def _log_jacobian(self):
        """``log p(x) - log p(model units of x)``: ``-n_features * log(x_unit_)``."""
        return -self.n_features_in_ * math.log(self.x_unit_)

    def _set_image_shape(self, shape, n_features):
        """Record ``image_shape_`` at fit: from image arrays or ``image_shape``."""
        shape = shape or self._image_shape_param()
        if shape is not None and math.prod(shape) != n_features:
            raise ValueError(
                f"image_shape={self.image_shape!r} holds {math.prod(shape)} values per "
                f"image, but X has {n_features} features per row. Give the shape of "
                "one row as an image: (channels, height, width)."
            )
        if shape is None and self.architecture == "conv":
            raise ValueError(
                "architecture='conv' reads each row as an image and needs its shape: "
                "pass image_shape=(channels, height, width), e.g. (1, 28, 28) for "
                "MNIST, or X as an array of shape (n, height, width) or "
                "(n, channels, height, width)."
            )
        self.image_shape_ = shape

    def _check_support(self, X, likelihood):
        """Check that validated ``X`` lies where ``p(x | z)`` is defined."""
        out_of_support = X.size and (X.min() < 0 or X.max() > 1)
        if likelihood == "bernoulli" and out_of_support:
            raise ValueError(
                "likelihood='bernoulli' needs every value in [0, 1], but X holds "
                f"values in [{X.min():.4g}, {X.max():.4g}]. Rescale X (for example "
                "with MinMaxScaler, or pixels / 255) or use likelihood='gaussian'."
            )

    # ------------------------------------------------------------------ fitting

    # hidden_layer_sizes=None: these widths with architecture="mlp", none with
    # "conv". After the convolutions, dense layers overfit (the user guide
    # quotes benchmarks/bench_images.py).
    _mlp_hidden_layer_sizes = (256, 128)
    _conv_hidden_layer_sizes = ()

    def _hidden_layer_sizes(self):
        """``hidden_layer_sizes``, with None resolved for the architecture."""
        if self.hidden_layer_sizes is None:
            if self.architecture == "mlp":
                return self._mlp_hidden_layer_sizes
            return self._conv_hidden_layer_sizes
        return _positive_ints(
            self.hidden_layer_sizes,
            "hidden_layer_sizes",
            "the widths of the encoder's hidden layers",
        )

    def _networks(self, n_features):
        """The recipe of the encoder and decoder, from the hyperparameters."""
        return Networks(
            n_features,
            architecture=self.architecture,
            hidden_layer_sizes=self._hidden_layer_sizes(),
            activation=self.activation,
            image_shape=self.image_shape_,
            conv_channels=_positive_ints(
                self.conv_channels,
                "conv_channels",
                "the channels of each convolution",
            ),
            encoder=self.encoder,
            decoder=self.decoder,
        )

    def _module_params(self, X):
        """Keyword arguments of the torch module, from the training data."""
        if isinstance(X, RowBlocks):
            mean, var = X.moments
        else:  # block by block: no temporary of X's size
            rows = _block_rows(X.shape[1])
            _, mean, var = column_moments(X[a : a + rows] for a in range(0, X.shape[0], rows))
        mean_var = float(var.mean())
        var_floor = _RELATIVE_VAR_FLOOR * (mean_var if mean_var > 0 else 1.0)
        networks = self._networks(X.shape[1])
        params = {
            "networks": networks,
            "n_components": self.n_components,
            "likelihood": self.likelihood,
            "variance": self.variance,
            "feature_mean": torch.as_tensor(mean, dtype=torch.float32),
            "feature_var": torch.as_tensor(var, dtype=torch.float32),
            "var_floor": var_floor,
        }
        if networks.image_input:
            # an image's pixels share one scale, so that a convolution sees the
            # same contrast everywhere in the picture
            pooled_mean = float(np.mean(mean))
            pooled_var = float(np.mean(var + (mean - pooled_mean) ** 2))
            params["input_mean"] = torch.full_like(params["feature_mean"], pooled_mean)
            params["input_var"] = torch.full_like(params["feature_var"], pooled_var)
        return params

    def _callbacks(self, incremental=False):
        """The skorch callbacks that carry the scikit-learn style options.

        ``incremental`` (a net for ``partial_fit``): no KL warm-up, step-size
        schedule or early stopping, which need to know the epochs ahead.
        """
        callbacks = []
        n_warmup = 0 if incremental else self._n_warmup_epochs()
        if n_warmup:
            callbacks.append(("kl_warmup", KLWarmup(n_warmup)))
        if self.learning_rate == "cosine" and not incremental:
            callbacks.append(
                (
                    "lr_schedule",
                    LRScheduler(
                        policy=torch.optim.lr_scheduler.CosineAnnealingLR,
                        T_max=self.max_iter,
                        # every fit (a warm one too) runs the whole schedule
                        last_epoch=-1,
                    ),
                )
            )
        if self.early_stopping and not incremental:
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
            # in the units of loss_curve_ (nats of X), once the units are set
            shift = -self._log_jacobian if hasattr(self, "x_unit_") else 0.0
            callbacks.append(("progress", FitProgress(shift)))
        _check_callbacks(self.callbacks)
        for cb in copy.deepcopy(self.callbacks or []):
            callbacks.append(cb)
        return callbacks

    def _n_warmup_epochs(self):
        """Epochs of the KL warm-up (see ``kl_warmup``)."""
        return math.ceil(self.kl_warmup * self.max_iter)

    # The torch module and loss of the model family; a subclass with another
    # family names its own.
    _module_class = VAEModule
    _criterion_class = ELBOLoss

    def _criterion_params(self):
        return {"beta": self.beta}

    def _extra_callbacks(self):
        """Model-specific callbacks, run before the user's."""
        return []

    def _fit_inputs(self, X, y, reset):
        """Validated ``X`` and a dict of extra per-row training inputs (arrays)."""
        return self._validate_X(X, reset=reset), {}

    def _prepare_batch(self, data):
        """A callable that prepares every training batch, or None.

        ``data`` is the dict of training tensors (``"x"`` and the per-row
        inputs) on the training device; the callable gets each batch as a
        dict of the same keys, and the generator of the training noise to
        draw from, and returns the module's keyword arguments.
        """
        return None

    def _statistics_inputs(self, inputs):
        """The per-row inputs that the module's inference methods take."""
        return {}

    def _make_net(self, X, device, incremental=False, seed=0):
        """The skorch net to train; ``incremental``: one epoch per call, for ``partial_fit``.

        ``seed`` seeds the net's initial weights and its first call's draws.
        """
        net = VAENet(
            module=self._module_class,
            seed=seed,
            criterion=self._criterion_class,
            optimizer=torch.optim.Adam,
            **{f"optimizer__{k}": v for k, v in adam_options(device).items()},
            lr=self.learning_rate_init,
            max_epochs=1 if incremental else self.max_iter,
            batch_size=self.batch_size,
            validation_fraction=(
                self.validation_fraction if self.early_stopping and not incremental else None
            ),
            callbacks=self._callbacks(incremental),
            device=device,
            precision=self.precision,
            compile_training=self.compile,
            # verbose=2 adds skorch's table of every epoch to the progress bar
            verbose=int(self.verbose >= 2),
            **{f"module__{k}": v for k, v in self._module_params(X).items()},
            **{f"criterion__{k}": v for k, v in self._criterion_params().items()},
        )
        net.incremental = incremental
        return net

    def _has_partial_fit(self):
        """``partial_fit`` exists unless a learned ``prior`` is set (an AttributeError says why)."""
        if prior_config(getattr(self, "prior", None)) is not None:
            raise AttributeError(
                f"partial_fit is not available with a learned prior (prior={self.prior!r}): "
                "the prior is fitted on the codes of all the training data after the "
                "autoencoder. Use fit, or a fixed prior with partial_fit."
            )
        return True

    @available_if(_has_partial_fit)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, continuing from the previous calls.

        For data that come in chunks (a stream, the blocks of a dask array
        through dask-ml's ``Incremental``), as ``IncrementalPCA`` and
        ``MiniBatchKMeans`` take them. The first call on an unfitted
        estimator fixes the features and the preprocessing from its chunk,
        so it should be representative; each call runs one epoch over its
        chunk at the constant step size ``learning_rate_init``, with the
        optimiser's state kept between calls, and trains the full ELBO: the
        KL warm-up, the step-size schedule and early stopping, which need to
        know the epochs ahead, apply to ``fit`` only. After ``fit``, the first
        call continues from the fitted weights with a fresh optimiser. The
        fitted diagnostics (``kl_per_dim_``, ...) describe the last chunk. A
        learned ``prior`` is fitted by ``fit`` only.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        return self._fit_or_restore(X, y, partial=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the VAE to ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; images also as arrays of shape (n_samples, height,
            width) or (n_samples, channels, height, width) (see ``image_shape``).
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_or_restore(X, y)

    def _fit_or_restore(self, X, y, partial=False, **input_options):
        """Validate and fit; a failed or interrupted fit keeps the previous state.

        Whatever stops the fit (a bad input, a diverged loss, Ctrl-C), the
        estimator is left as it was before ``fit``: fitted as before, or not
        fitted. A warm fit trains a new net that starts from the fitted
        weights, so the fitted net is untouched until the new one is done;
        ``partial`` (one epoch of ``partial_fit``) trains the fitted net in
        place, so a copy of it is kept to restore. ``input_options`` go to
        ``_fit_inputs`` (a conditional model's ``classes``).
        """
        previous = self._fitted_state()
        fitted = "net_" in previous
        warm = "partial" if partial else self.warm_start and fitted
        backup = copy.deepcopy(self.net_) if partial and fitted else None
        try:
            if warm and fitted:
                self._check_warm_params()
            X, inputs = self._fit_inputs(X, y, reset=not (warm and fitted), **input_options)
            return self._fit(X, warm, inputs)
        except BaseException:
            self._clear_fitted_state()
            if backup is not None:
                previous["net_"] = backup
            self.__dict__.update(previous)
            raise

    # Hyperparameters that shape the network: a warm fit cannot change them.
    _structural_params = (
        "n_components",
        "architecture",
        "image_shape",
        "conv_channels",
        "encoder",
        "decoder",
        "hidden_layer_sizes",
        "activation",
        "likelihood",
        "variance",
    )

    def _structure(self):
        # an object-valued hyperparameter (a prior's settings) is copied, so
        # that changing its parameters later does not change what was fitted
        return {
            name: clone(value) if isinstance(value, BaseEstimator) else value
            for name, value in ((n, getattr(self, n)) for n in self._structural_params)
        }

    def _fitted_param(self, name):
        """A network-shaping hyperparameter as fitted (as set, before a fit).

        Inference reads these, so that ``set_params`` without a refit (as
        when a warm fit refused the change) leaves the fitted model usable.
        """
        fitted = getattr(self, "_fitted_structure_", None)
        return getattr(self, name) if fitted is None else fitted[name]

    def _check_warm_params(self):
        """Refuse a warm fit whose network-shaping hyperparameters changed."""
        before = self._fitted_structure_
        changed = [
            name
            for name, value in self._structure().items()
            if not _same_param(value, before.get(name))
        ]
        if changed:
            what = ", ".join(f"{n} ({before.get(n)!r} -> {getattr(self, n)!r})" for n in changed)
            raise ValueError(
                f"warm_start=True continues the fitted network, but {what} changed "
                "since it was fitted, and these define the network's shape. Set them "
                "back, or set warm_start=False to fit a new model."
            )

    def _partial_rng(self):
        """The random state of this ``partial_fit`` call: from ``random_state`` and the call.

        The first call draws a base seed from ``random_state``; call ``i``
        then uses ``SeedSequence([base, i])``, so that the same seed and the
        same chunks give the same model, and no two calls share their draws.
        """
        if not hasattr(self, "_partial_seed_"):
            self._partial_seed_ = child_seed(check_random_state(self.random_state))
        call = len(self.net_.history) if hasattr(self, "net_") else 0
        seed = np.random.SeedSequence([self._partial_seed_, call]).generate_state(1)[0]
        return np.random.RandomState(int(seed))

    def _incremental_net(self, X, device, seed):
        """The net a ``partial_fit`` call trains: the fitted incremental one, or a new one.

        ``seed`` seeds this call's draws (and a new net's weights).

        After ``fit`` (whose net runs ``max_iter`` epochs with a schedule), a
        new incremental net starts from its weights, with a fresh optimiser.
        Changes of ``learning_rate_init``, ``batch_size`` and ``precision``
        between calls take effect.
        """
        net = getattr(self, "net_", None)
        if net is not None and getattr(net, "incremental", False):
            net.seed = seed
            net.batch_size = self.batch_size
            if net.precision != self.precision:
                net.set_precision(self.precision)
            net.lr = self.learning_rate_init
            for group in net.optimizer_.param_groups:
                group["lr"] = self.learning_rate_init
            return net
        new = self._make_net(X, device, incremental=True, seed=seed)
        if net is None:
            return new
        return _with_weights(new, net.module_.state_dict(), copy.deepcopy(net.history))

    def _fit(self, X, warm, inputs, random_state=None):
        """Train on validated ``X``; ``random_state`` overrides the estimator's.

        ``warm`` is False (a new net), True (a new net from the fitted
        weights) or "partial" (one epoch of ``partial_fit``, continuing the
        incremental net and its optimiser).
        """
        device = resolve_device(self.device)
        partial = warm == "partial"
        if partial:
            rng = self._partial_rng()
        else:
            rng = check_random_state(self.random_state if random_state is None else random_state)
        train_seed, inference_seed = child_seed(rng), child_seed(rng)
        prior_seed = child_seed(rng)
        # a data-parallel fit (see VAENet._start_training): one model
        # from the same data and seeds in every process
        agree_across_processes(
            [X.shape[0], X.shape[1], float(np.sum(self.x_offset_)), self.x_unit_],
            device,
            "the number of rows, of features, or the data's mean and scale",
        )
        train_seed, inference_seed, prior_seed = shared_seeds(
            (train_seed, inference_seed, prior_seed), device
        )

        if isinstance(X, RowBlocks):
            data = StreamedData(X, inputs, buffer_size=self.buffer_size)
        else:
            # moved to the device once, unless they would crowd its memory
            home = "cpu" if keeps_on_host(X.shape[0] * X.shape[1] * 4, device) else device
            # X here is the model-units copy of fit's input (or, in [0, 1] for
            # a Bernoulli likelihood, the input): shared, not copied again,
            # when it is writable float32 already
            x = X if X.flags.writeable else X.copy()
            data = {"x": torch.as_tensor(x, dtype=torch.float32, device=home)}
            for key, value in inputs.items():
                data[key] = torch.as_tensor(value, device=home)
        # every draw of the fit comes from the net's generators, seeded by train_seed
        if partial:
            net = self._incremental_net(X, device, train_seed)
        else:
            net = self._make_net(X, device, seed=train_seed)
        if warm is True:
            # A new net with today's hyperparameters (step size, beta,
            # schedule over max_iter epochs, fresh optimizer as in
            # scikit-learn's MLP) starts from the fitted weights; the
            # epochs add to the fitted history.
            net = _with_weights(
                net, self.net_.module_.state_dict(), copy.deepcopy(self.net_.history)
            )
        net.prepare_batch = self._prepare_batch(data)
        try:
            net.partial_fit(data)
        finally:
            # the hook may hold the training data: never keep it
            net.prepare_batch = None

        history = net.history
        self.net_ = net
        self._fitted_structure_ = self._structure()
        self.n_iter_ = len(history)
        # the net trains in the model's units: the curves are in nats of X
        shift = -self._log_jacobian
        self.loss_curve_ = [float(v) + shift for v in history[:, "train_loss"]]
        self.validation_loss_curve_ = (
            [float(v) + shift for v in history[:, "valid_loss"]]
            if self.early_stopping and not partial
            else None
        )
        if not partial:
            self.__dict__.pop("_partial_seed_", None)
        self._inference_seed = inference_seed
        self._set_code_statistics(X, **self._statistics_inputs(inputs))
        self._fit_code_prior(X, self._statistics_inputs(inputs), prior_seed)
        return self

    def _set_code_statistics(self, X, **rows):
        """The fitted diagnostics of the codes: ``kl_per_dim_``, ``n_active_units_``."""
        n = X.shape[0]
        if n > _STATISTICS_ROWS:
            rng = np.random.default_rng([self._inference_seed, 1])
            index = np.sort(rng.choice(n, _STATISTICS_ROWS, replace=False))
            X = take_rows(X, index)
            rows = {key: value[index] for key, value in rows.items()}
        self.kl_per_dim_, activity = self._latent_statistics(X, **rows)
        self.n_active_units_ = int(np.sum(activity > _ACTIVITY_THRESHOLD))

    # ------------------------------------------------------- learned code prior

    def _fit_code_prior(self, X, rows, seed):
        """Train the module's ``code_prior`` (a learned prior) on the training codes.

        Runs after the autoencoder is fitted, when the estimator has a
        ``prior`` hyperparameter. The prior is trained by a net of its own on
        what ``_prior_data`` gives (the codes of ``X``); its losses are kept
        in ``prior_loss_curve_``.
        """
        if not self.__skvae_tags__().learned_prior:
            return
        prior = getattr(self.net_.module_, "code_prior", None)
        self.prior_loss_curve_ = None
        if prior is None:
            return
        from .models.diffusion import MeanLoss

        config = prior_config(self._fitted_param("prior"))
        device = self.net_.device
        data = self._prior_data(X, rows, prior)
        n_batches = math.ceil(len(data["x"]) / config["batch_size"])
        n_epochs = max(1, math.ceil(config["max_steps"] / n_batches))
        schedule = LRScheduler(
            policy=torch.optim.lr_scheduler.CosineAnnealingLR, T_max=n_epochs, last_epoch=-1
        )
        net = VAENet(
            module=prior,
            seed=seed,
            criterion=MeanLoss,
            optimizer=torch.optim.Adam,
            **{f"optimizer__{k}": v for k, v in adam_options(device).items()},
            lr=config["learning_rate_init"],
            max_epochs=n_epochs,
            batch_size=config["batch_size"],
            callbacks=[("lr_schedule", schedule)],
            device=device,
            verbose=0,
        )
        net.partial_fit(data)
        self.prior_loss_curve_ = [float(v) for v in net.history[:, "train_loss"]]

    def _prior_data(self, X, rows, prior):
        """The training data of a learned prior over continuous codes, as tensors.

        The codes of ``X`` as (loc, scale) pairs (posterior draws of a VAE are
        drawn from them at every step), and the one-hot class of a
        conditional model; the prior is told the codes' statistics.
        """
        device = self.net_.device

        def code(module, xb, **r):
            return torch.cat(module.code_distribution(xb, **r), dim=1)

        codes = self._map_blocks(X, code, dtype=np.float32, in_float32=True, **rows)
        k = codes.shape[1] // 2
        data = {
            "x": torch.as_tensor(codes[:, :k], device=device),
            "scale": torch.as_tensor(codes[:, k:], device=device),
        }
        if "labels" in rows:
            data["c"] = torch.nn.functional.one_hot(
                torch.as_tensor(rows["labels"], device=device), prior.n_conditions
            ).float()
        prior.set_code_statistics(data["x"], data["scale"])
        return data

    # Rows of codes the reverse process runs on at once (memory ~ rows x width).
    _prior_block = 4096

    def _draw_codes(self, n_samples, rng, c=None):
        """``n_samples`` codes from the prior: ``N(0, I)``, or the learned ``code_prior``.

        ``c`` is the one-hot condition of each code (a conditional model's
        class), an array, or None.
        """
        k = self._fitted_param("n_components")
        if getattr(self.module_, "code_prior", None) is None:
            return self._fixed_prior_codes(n_samples, rng)
        module = self._inference_module()
        device, dtype = self.net_.device, self._inference_dtype
        out = []
        with seeded_draws(child_seed(rng), device), torch.inference_mode():
            for start in range(0, n_samples, self._prior_block):
                m = min(self._prior_block, n_samples - start)
                cb = None
                if c is not None:
                    cb = torch.as_tensor(c[start : start + m], dtype=dtype, device=device)
                out.append(module.code_prior.sample(m, cb).cpu().numpy())
        return np.concatenate(out).astype(np.float64).reshape(n_samples, k)

    def _fixed_prior_codes(self, n_samples, rng):
        """Codes from the model's fixed prior, ``N(0, I)``."""
        return rng.standard_normal((n_samples, self._fitted_param("n_components")))

    def _n_latent(self):
        """The number of latent dimensions (of every stochastic layer)."""
        return self._fitted_param("n_components")

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

    @property
    def _inference_dtype(self):
        """float64 on the CPU, so a row's outputs do not depend on its batch.

        BLAS picks float32 kernels by matrix shape, so in float32 a row scored
        in another batch can come out a few units in the last place apart;
        in float64 the same float32 weights give the same results to ~1e-15.
        Accelerators, slow at float64, keep float32.
        """
        return torch.float64 if torch.device(self.net_.device).type == "cpu" else torch.float32

    def _inference_module(self, dtype=None):
        """The trained module in eval mode in ``dtype`` (the inference dtype by default).

        A copy when converted; the trained module itself in float32.
        """
        module = self.module_
        dtype = dtype or self._inference_dtype
        if dtype != torch.float32:
            module = copy.deepcopy(module).to(dtype)
        return module.eval()

    def _blocks(self, X, rows, dtype=None):
        """Yield ``X`` in blocks of ``batch_size`` rows as tensors on the net's device.

        Each block comes with the same rows of every array in ``rows`` (per-row
        inputs of the module, as tensors). Memory stays bounded by the batch
        size (and by a block of the source when ``X`` is out of core). Each
        block is copied (torch takes neither negative strides nor read-only
        memmaps as they are).
        """
        device, dtype = self.net_.device, dtype or self._inference_dtype
        if isinstance(X, RowBlocks):  # read once per block of the source
            parts = X.blocks(self.batch_size)
        else:
            parts = (
                (start, X[start : start + self.batch_size])
                for start in range(0, X.shape[0], self.batch_size)
            )
        for start, values in parts:
            part = slice(start, start + len(values))
            block = torch.tensor(np.ascontiguousarray(values), dtype=dtype, device=device)
            yield block, {key: torch.as_tensor(v[part], device=device) for key, v in rows.items()}

    def _map_blocks(self, X, fn, dtype=None, *, in_float32=False, **rows):
        """``fn(module, block, **block_rows)`` for each block, under inference mode.

        ``rows`` are per-row inputs of the module (e.g. ``labels``), sliced
        like ``X``. The outputs are stacked as numpy, in ``dtype`` (``X``'s
        by default). ``in_float32`` runs the trained module in
        float32, as it trained, rather than in the inference dtype: for the
        fit's own summaries of the training data (means over rows), which
        need no row-exact reproducibility and would otherwise cost a float64
        pass (2 to 3 times slower on the CPU) at the end of every fit.
        """
        # Each block's output is copied into one array allocated at the first
        # block: a list of small per-block arrays, each living to the end,
        # fragments the heap so that the freed block buffers between them are
        # never given back (resident memory grew by ~700 bytes per row of a
        # memory map; benchmarks/bench_scale.py).
        dtype, out, start = dtype or X.dtype, None, 0
        for values in self._block_outputs(X, fn, in_float32=in_float32, **rows):
            if out is None:
                out = np.empty((X.shape[0],) + values.shape[1:], dtype=dtype)
            out[start : start + len(values)] = values
            start += len(values)
        return out if out is not None else np.empty((0,), dtype=dtype)

    def _block_outputs(self, X, fn, *, in_float32=False, **rows):
        """Yield ``fn(module, block, **block_rows)`` of each block as numpy (see ``_map_blocks``).

        For reductions over the rows (means, counts) whose memory must not
        grow with ``n_samples``.
        """
        compute = torch.float32 if in_float32 else None
        module = self._inference_module(compute)
        with torch.inference_mode():
            for block, block_rows in self._blocks(X, rows, compute):
                yield fn(module, block, **block_rows).cpu().numpy()

    def _encode_mean(self, X, **rows):
        """Posterior means ``E[z | x]``, shape (n_samples, n_components)."""
        return self._map_blocks(X, lambda m, xb, **r: m.encode_mean(xb, **r), **rows)

    def _decode_mean(self, Z, **rows):
        """Decoder means ``E[x | z]``, shape (n_samples, n_features)."""
        out = self._map_blocks(Z, lambda m, zb, **r: m.decode_mean(zb, **r), **rows)
        return self._from_model_units(out).astype(out.dtype, copy=False)

    def _latent_statistics(self, X, **rows):
        """Mean KL per latent dimension and the variance of the posterior means."""

        k = self._n_latent()
        kl_sum = np.zeros(k)

        def stats(module, xb, **r):
            return torch.cat(module.latent_statistics(xb, **r), dim=1).double()

        def means():
            # reduced block by block: memory does not grow with the rows
            for out in self._block_outputs(X, stats, in_float32=True, **rows):
                kl_sum[:] += out[:, :k].sum(axis=0)
                yield out[:, k:]

        n, _, var = column_moments(means())
        return kl_sum / n, var

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
        eps = rng.standard_normal((n_draws, self._n_latent()))
        if moment_matched and n_draws > self._n_latent():
            eps = moment_match(eps)
        return torch.as_tensor(eps, dtype=self._inference_dtype, device=self.net_.device)

    def _log_weight_draws(self, module, xb, eps, **rows):
        """``log_weights`` over draws in chunks, so memory stays near one block's."""
        chunk = max(1, 4096 // max(1, xb.shape[0]))
        log_px, log_ratio = [], []
        for start in range(0, eps.shape[0], chunk):
            lp, lr, kl = module.log_weights(xb, eps[start : start + chunk], **rows)
            log_px.append(lp)
            log_ratio.append(lr)
        return torch.cat(log_px), torch.cat(log_ratio), kl

    def _check_n_draws(self, n_draws):
        check_count(n_draws, "n_draws", "the number of Monte-Carlo draws per sample")

    def _score_samples(self, X, n_draws, importance_weighted, **rows):
        """Per-row ELBO or importance-weighted bound (given the per-row ``rows``)."""
        self._check_n_draws(n_draws)
        eps = self._score_noise(n_draws, moment_matched=not importance_weighted)

        def bound(module, xb, **r):
            log_px, log_ratio, kl = self._log_weight_draws(module, xb, eps, **r)
            if importance_weighted:
                return iw_bound_from_draws(log_px, log_ratio)
            return elbo_from_draws(log_px, kl)

        return self._map_blocks(X, bound, dtype=np.float64, **rows) + self._log_jacobian

    @staticmethod
    def _check_n_samples(n_samples):
        check_count(n_samples, "n_samples", "the number of samples to draw")

    def _sample(self, n_samples, random_state, noise):
        self._check_n_samples(n_samples)
        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        z = self._draw_codes(n_samples, rng)
        return self._decode_draws(z, rng, noise)

    def _decode_draws(self, z, rng, noise, **rows):
        """Decoder means at codes ``z``, or draws from ``p(x | z)`` when ``noise``.

        ``rows`` are per-row inputs of the module's ``decode`` (e.g. the class
        of each code). The draws come from the likelihood's own ``sample``,
        under a torch seed drawn from ``rng``.
        """
        if not noise:
            return self._decode_mean(z, **rows).astype(np.float64)
        with seeded_draws(child_seed(rng), self.net_.device):
            draws = self._map_blocks(
                z, lambda m, zb, **r: m.decode(zb, **r).sample(), dtype=np.float64, **rows
            )
        return self._from_model_units(draws)


def moment_match(eps):
    """Draws ``eps`` (n, k) centred and whitened: mean exactly 0, covariance exactly I."""
    eps = eps - eps.mean(axis=0)
    chol = np.linalg.cholesky(eps.T @ eps / eps.shape[0])
    return np.linalg.solve(chol, eps.T).T


# Documentation of the shared hyperparameters, substituted into each public
# estimator's docstring where it says ``{shared_parameters}``. Every
# ``<name>`` is replaced by that parameter's default in the estimator's own
# signature, so a documented default cannot drift from the code.
SHARED_PARAMETERS_DOC = """\
    architecture : {"mlp", "conv"}, default=<architecture>
        The encoder and decoder networks. ``"mlp"``: fully connected layers
        of ``hidden_layer_sizes``. ``"conv"``: for images (see
        ``image_shape``), stride-2 convolutions of ``conv_channels`` (kernel
        4, padding 1; each halves the height and width) then fully connected
        layers of ``hidden_layer_sizes``; the decoder mirrors them with
        transposed convolutions. ``encoder`` / ``decoder`` replace either
        network with a module of your own.

    image_shape : tuple of int or None, default=<image_shape>
        The shape of one row as an image, ``(channels, height, width)`` or
        ``(height, width)``: rows of ``channels * height * width`` values are
        read as images by ``architecture="conv"`` and by an ``encoder`` of
        your own. Images can also be passed as arrays of shape
        ``(n_samples, height, width)`` or ``(n_samples, channels, height,
        width)``, which gives the shape; outputs stay flat rows.

    conv_channels : tuple of int, default=<conv_channels>
        With ``architecture="conv"``, the channels of each stride-2
        convolution of the encoder (the decoder uses them reversed). Each
        layer halves the image, so a 28 x 28 image takes up to four.

    encoder : torch.nn.Module, class or None, default=<encoder>
        A network of your own for the encoder body. It gets a float tensor
        of standardised rows, shape ``(n, n_features)``, or of images,
        ``(n, channels, height, width)`` when ``image_shape`` is given, and
        must return a float tensor of shape ``(n, d)`` for any ``d``; skvae
        adds the posterior heads (and the class of a conditional model). An
        instance is copied at each fit, weights included (a pretrained
        encoder starts from them); a class (or ``functools.partial``) is
        called with no arguments at each fit, under ``random_state``. A
        module that breaks the contract is named in a clear error.

    decoder : torch.nn.Module, class or None, default=<decoder>
        A network of your own for the decoder. It gets a float tensor of
        codes of shape ``(m, n_components)`` (a conditional model appends the
        one-hot class) and must return a float tensor of one raw value per
        feature, shape ``(m, n_features)`` or ``(m, channels, height,
        width)``: the likelihood reads them as standardised means
        (``"gaussian"``, ``"student_t"``) or logits (``"bernoulli"``). Copied or called like
        ``encoder``.

    hidden_layer_sizes : tuple of int or None, default=<hidden_layer_sizes>
        Widths of the encoder's fully connected hidden layers (after the
        convolutions with ``"conv"``); the decoder mirrors them. None takes
        this estimator's default for the architecture:
        <mlp_hidden_layer_sizes> with ``"mlp"``, <conv_hidden_layer_sizes>
        with ``"conv"`` (dense layers after the convolutions overfit the
        likelihood; ``()`` puts the posterior heads on the flattened maps). ``()`` with
        ``"mlp"`` gives a linear encoder and decoder.

    activation : {"gelu", "relu", "tanh", "logistic", "identity", "elu"}, \
default=<activation>
        Activation after each hidden layer.

    beta : float, default=<beta>
        Weight of the KL term of the ELBO (beta-VAE). ``beta=1`` trains the
        true ELBO; smaller values trade a looser bound for sharper
        reconstructions, larger ones for a smoother latent space.

    kl_warmup : float in [0, 1), default=<kl_warmup>
        Share of ``max_iter`` epochs over which the training weight of the KL
        term rises linearly from near 0 to ``beta`` (KL annealing, Bowman et
        al. 2016): the decoder learns to use the codes before the prior pulls
        them together. 0 trains the full ELBO from the first epoch.

    likelihood : {"gaussian", "student_t", "bernoulli"}, default=<likelihood>
        Decoder distribution ``p(x | z)``. ``"gaussian"`` learns its variance
        (see ``variance``), started at the features' spread and floored at 1%
        of the mean feature variance, so nearly constant features stay sane.
        ``"student_t"`` is a Student-t with the same learned scale and
        learned degrees of freedom (one per feature with
        ``variance="feature"``, else one for all; they start at 5): heavy
        tails where the data have them, so that rows with extreme values of
        a feature pull the fit less, and the Gaussian where they do not.
        ``"bernoulli"`` is for data in [0, 1] such as binary or ``pixels / 255``.

    variance : {"shared", "feature"}, default=<variance>
        With a Gaussian or Student-t likelihood, learn one noise variance
        (squared scale) shared by all features, as probabilistic PCA does, or
        one per feature, as factor analysis does. ``"shared"`` makes the
        codes account for every feature and gives better low-dimensional
        embeddings; ``"feature"`` fits features of unequal noise more
        closely and so can score such data higher.

    max_iter : int, default=<max_iter>
        Maximum number of epochs.

    batch_size : int, default=<batch_size>
        Rows per mini-batch; inference also runs in blocks of this size, which
        bounds its memory.

    learning_rate_init : float, default=<learning_rate_init>
        Initial step size of the Adam optimiser. The likelihood's noise
        variance and a mixture prior's parameters move 30 times faster.

    learning_rate : {"cosine", "constant"}, default=<learning_rate>
        Step-size schedule: a cosine decay to zero over ``max_iter`` epochs
        (which tightens the bound noticeably), or constant.

    early_stopping : bool, default=<early_stopping>
        Hold out ``validation_fraction`` of the rows and stop when their loss
        has not improved by ``tol`` for ``n_iter_no_change`` epochs, keeping
        the weights of the best epoch. When False, all ``max_iter`` epochs
        run: unlike ``MLPRegressor``, the noisy training loss of a VAE is not
        watched, since it stalls by chance long before the bound stops
        improving.

    validation_fraction : float, default=<validation_fraction>
        Share of the rows held out when ``early_stopping=True``.

    n_iter_no_change : int, default=<n_iter_no_change>
        With ``early_stopping``, epochs without an improvement of at least
        ``tol`` before stopping.

    tol : float, default=<tol>
        With ``early_stopping``, the smallest improvement of the validation
        loss (nats per sample) that counts.

    device : str or torch.device, default=<device>
        Where to train and infer: ``"auto"`` (CUDA when torch sees a GPU,
        else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``... Asking for CUDA
        without a GPU is an error, never a silent CPU run. On the CPU,
        inference runs in float64 (training in float32), so a row's outputs
        do not depend on the other rows it is processed with.

    random_state : int, RandomState instance or None, default=<random_state>
        Seeds the weights, the shuffling, the training noise and the
        Monte-Carlo draws of the scores. An int gives identical results on
        the CPU from run to run, and in threads that fit or sample at once:
        every call draws from ``torch.Generator`` objects of its own. The
        caller's global torch and numpy random states are left untouched
        (with None, the seeds are drawn from numpy's global state).

    verbose : int, default=<verbose>
        1 shows one progress bar per fit on stderr (the batches of all epochs,
        the last epoch's losses and the time left); 2 also prints a table of
        every epoch's losses (skorch's) on stdout; 0 prints nothing.

    callbacks : list of skorch callbacks or (name, callback) tuples, \
default=<callbacks>
        Extra callbacks for the underlying :class:`skorch.NeuralNet`
        (checkpoints, logging, gradient clipping...). They are copied at
        each fit.

    warm_start : bool, default=<warm_start>
        If True, a second ``fit`` continues training the fitted network for
        another ``max_iter`` epochs instead of starting over. That fit uses
        the current training hyperparameters (``learning_rate_init``,
        ``beta``, ``kl_warmup``, ``batch_size``, ...) with a fresh optimizer
        and a whole new schedule; its epochs add to ``n_iter_`` and
        ``loss_curve_``. Hyperparameters that shape the network
        (``n_components``, ``likelihood``, the architecture, ...) cannot
        change: such a warm fit is refused with an error naming them.

    buffer_size : int, default=<buffer_size>
        When ``X`` is an ``np.memmap`` or a dask array, it is never copied
        into memory: ``fit`` reads it in contiguous blocks (8192 rows of a
        memory map, the row chunks of a dask array), in a new random order of
        the blocks every epoch, into a buffer of at least ``buffer_size``
        rows whose rows are shuffled together into mini-batches. Memory is
        bounded by the buffer, not by ``n_samples``; the shuffle is local to
        a buffer, so a larger one mixes rows from more of ``X``. Inference
        reads such data block by block as well. In-memory arrays are
        unaffected.

    precision : {"float32", "bfloat16", "float16"}, default=<precision>
        The precision of the training step's network arithmetic. ``"float32"``
        trains in full precision. ``"bfloat16"`` and ``"float16"`` run the
        encoder and decoder under ``torch.autocast`` (mixed precision: the
        weights, the optimiser and the likelihood and KL terms stay float32),
        which is faster on GPUs with tensor cores and on CPUs with bfloat16
        units; ``"float16"`` scales the loss against underflow
        (``torch.amp.GradScaler``). Inference is not affected (see
        ``device``).

    compile : bool, default=<compile>
        Train through ``torch.compile`` of the module (TorchInductor kernels
        fused for this network), which saves time per step on GPUs and for
        larger networks, after a compilation of seconds to a minute at the
        start of each ``fit``. Only training is compiled: inference and the
        fitted module are the plain module, which pickles and saves as
        usual."""

SHARED_ATTRIBUTES_DOC = """\
    n_features_in_ : int
        Number of features seen during fit (``channels * height * width``
        for images).

    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during fit, when ``X`` has string column names.

    image_shape_ : tuple of int or None
        ``(channels, height, width)`` of the images seen during fit, or None
        for tables.

    x_offset_ : ndarray of shape (n_features,)
        What each feature is centred by before it reaches the model (its
        training mean; the pooled pixel mean for images; 0 with a Bernoulli
        likelihood), computed in float64.

    x_unit_ : float
        The one scale every centred feature is divided by (the root mean
        square of the centred training data; 1 with a Bernoulli likelihood).
        Scores and losses are reported in nats of ``X``, not of these units.

    net_ : skorch.NeuralNet
        The trained net; ``net_.history`` holds every epoch's losses and times.
        It trains on ``(X - x_offset_) / x_unit_``.

    module_ : torch.nn.Module
        The trained VAE module (``net_.module_``).

    n_iter_ : int
        Number of epochs run.

    loss_curve_ : list of float
        Training loss (negative ELBO with KL weight ``beta``, lowered during
        the ``kl_warmup`` epochs; nats per sample of ``X``) of each epoch.

    validation_loss_curve_ : list of float or None
        Validation loss of each epoch when ``early_stopping=True``.

    kl_per_dim_ : ndarray of shape (n_components,)
        Mean KL divergence of each latent dimension from the prior on the
        training data, in nats. Near-zero entries are collapsed dimensions.
        On more than 10,000 training rows, estimated on 10,000 of them drawn
        at random (seeded by ``random_state``).

    n_active_units_ : int
        Number of latent dimensions whose posterior mean varies across the
        training data by more than 0.01 (Burda et al. 2016); fewer than
        ``n_components`` shows posterior collapse. Estimated on the rows of
        ``kl_per_dim_``."""


def _with_weights(net, state_dict, history):
    """``net`` initialised with a fitted module's weights and training history."""
    net.initialize()
    net.module_.load_state_dict(state_dict)
    net.history = history
    return net


def _check_numeric_columns(X):
    """Name the columns of a DataFrame that cannot be read as numbers."""
    kind = getattr(getattr(X, "dtype", None), "kind", None)
    if kind is not None and kind in "mM":
        raise ValueError(
            f"X must hold numbers, but it holds {X.dtype} values. Encode dates and "
            "durations as numbers first (for example days since a reference date)."
        )
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return
    bad = [
        f"{name} ({dtype})"
        for name, dtype in dtypes.items()
        if getattr(dtype, "kind", "O") in "mMSUV" or str(dtype).startswith(("datetime", "period"))
    ]
    if bad:
        raise ValueError(
            f"X has columns that are not numbers: {', '.join(bad)}. Encode them as "
            "numbers first (for example in a ColumnTransformer) or drop them."
        )


def _check_callbacks(callbacks):
    """Every entry must be a skorch callback or a (name, callback) pair."""
    for i, entry in enumerate(callbacks or []):
        callback = entry[1] if isinstance(entry, tuple) and len(entry) == 2 else entry
        is_callback = isinstance(callback, Callback) or (
            isinstance(callback, type) and issubclass(callback, Callback)
        )
        if not is_callback or (isinstance(entry, tuple) and not isinstance(entry[0], str)):
            raise ValueError(
                f"callbacks must hold skorch callbacks (skorch.callbacks.Callback "
                f"instances) or (name, callback) pairs, but entry {i} is {entry!r} "
                f"({type(entry).__name__})."
            )


def _same_param(a, b):
    """Whether two values of a hyperparameter are the same setting."""
    if isinstance(a, torch.nn.Module) or isinstance(b, torch.nn.Module):
        return a is b
    if isinstance(a, BaseEstimator) or isinstance(b, BaseEstimator):
        return type(a) is type(b) and all(
            _same_param(v, b.get_params(deep=False)[k])
            for k, v in a.get_params(deep=False).items()
        )
    try:
        return bool(a == b) if not isinstance(a, (tuple, list)) else tuple(a) == tuple(b)
    except (TypeError, ValueError):
        return a is b


def _default_text(default):
    return f'"{default}"' if isinstance(default, str) else repr(default)


class NeighbourTermMixin:
    """The data side of a training term on pairs of neighbouring rows.

    For an estimator with ``neighbor_weight`` and ``n_neighbors``: when the
    weight is above 0, the ``n_neighbors`` nearest training rows of every row
    are found once per fit (:meth:`_with_neighbours`), and every training
    batch gets one of them per row, drawn anew each time, as ``x_pair``
    (:class:`~skvae.models.vae.NeighbourPairs`). The module's ``forward``
    takes ``x_pair`` and its loss weighs the term.
    """

    def _in_memory_for_neighbours(self, X):
        """``X`` itself, or read whole when out of core: pairs come from every row."""
        if self.neighbor_weight > 0 and is_out_of_core(X):
            return np.asarray(X)
        return X

    def _neighbors(self, X):
        """Indices of each training row's ``n_neighbors`` nearest rows.

        Distances are Euclidean on ``X`` as given, as in ``KNeighborsClassifier``
        or UMAP: the user's scaling decides what "near" means. (The encoder's
        standardised space made worse neighbours: 86% of MNIST rows' 5 nearest
        shared their class there, against 91% on pixels / 255.)
        """
        k = min(self.n_neighbors, X.shape[0] - 1)
        Xf = X.astype(np.float32, copy=False)
        nn_index = NearestNeighbors(n_neighbors=k + 1).fit(Xf)
        neighbors = nn_index.kneighbors(Xf, return_distance=False)
        # drop each row itself (the first hit, barring exact duplicates)
        own = neighbors == np.arange(X.shape[0])[:, None]
        keep = np.where(own.any(axis=1, keepdims=True), ~own, np.arange(k + 1) < k)
        return neighbors[keep].reshape(X.shape[0], k)

    def _with_neighbours(self, X, inputs):
        """The training inputs, with ``neighbors`` when the term is on."""
        if self.neighbor_weight > 0 and X.shape[0] > 1:
            return {**inputs, "neighbors": self._neighbors(X)}
        return inputs

    def _prepare_batch(self, data):
        # one random neighbour of every row, from the training rows
        return NeighbourPairs(data["x"]) if "neighbors" in data else None


class DenoisingMixin:
    """Corrupted training inputs, for an estimator with ``denoising`` and ``noise_level``.

    The module's ``forward`` encodes ``corrupt(x)`` in training
    (:meth:`skvae.models.vae.Autoencoder.corrupt`) and scores the clean row;
    :meth:`_corruption_params` checks the pair and names them for the module.
    """

    _denoising_constraints = {
        "denoising": [StrOptions(set(CORRUPTIONS)), None],
        "noise_level": [Interval(Real, 0, None, closed="left")],
    }

    def _corruption_params(self):
        if self.denoising == "mask" and self.noise_level >= 1:
            raise ValueError(
                f"denoising='mask' masks each entry with probability noise_level, which "
                f"must be below 1, got noise_level={self.noise_level!r}."
            )
        return {"corruption": self.denoising, "noise_level": self.noise_level}


class _DeterministicCodeTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseVAE):
    """What the transformers with one code per row (no posterior spread) share.

    :class:`~skvae.AutoencoderTransformer` and :class:`~skvae.VQVAETransformer`:
    no ``beta`` or ``kl_warmup`` (their ``__init__`` does not take them), a
    code of ``n_components`` columns decoded as it is, and a score that is the
    mean of ``score_samples``.
    """

    # shared documentation that is not these models'
    _doc_omit = ("beta", "kl_warmup", "loss_curve_", "kl_per_dim_", "n_active_units_")

    def inverse_transform(self, X):
        """Decode codes to the decoder means ``E[x | z]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, such as the output of :meth:`transform` (decoded as they
            are).

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Reconstructions in feature space.
        """
        check_is_fitted(self)
        Z = self._validate_codes(X)
        return self._decode_mean(Z)

    def score(self, X, y=None):
        """Mean of :meth:`score_samples`, in nats per sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            Higher is better.
        """
        return float(np.mean(self.score_samples(X)))

    @property
    def _n_features_out(self):
        return self._fitted_param("n_components")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def fill_doc(cls):
    """Substitute the shared parameter and attribute docs into a docstring.

    Every ``<name>`` placeholder of the shared docs becomes the default of
    ``name`` in ``cls.__init__``.
    """
    params = inspect.signature(cls.__init__).parameters
    omit = getattr(cls, "_doc_omit", ())
    shared = _without_blocks(SHARED_PARAMETERS_DOC, omit)
    for name, param in params.items():
        shared = shared.replace(f"<{name}>", _default_text(param.default))
    for arch in ("mlp", "conv"):
        widths = repr(getattr(cls, f"_{arch}_hidden_layer_sizes"))
        shared = shared.replace(f"<{arch}_hidden_layer_sizes>", widths)
    if "default=<" in shared:
        missing = shared[shared.index("default=<") + 9 :].split(">", 1)[0]
        raise TypeError(f"{cls.__name__}.__init__ lacks the shared parameter {missing!r}")
    attributes = _without_blocks(SHARED_ATTRIBUTES_DOC, omit)
    cls.__doc__ = cls.__doc__.replace("{shared_parameters}", shared.lstrip()).replace(
        "{shared_attributes}", attributes.lstrip()
    )
    return cls


def _without_blocks(doc, names):
    """A numpydoc Parameters / Attributes text without the entries of ``names``."""
    blocks, current = [], []
    for line in doc.split("\n"):
        if line.startswith("    ") and not line.startswith("     ") and " : " in line:
            blocks.append(current)
            current = []
        current.append(line)
    blocks.append(current)
    kept = [b for b in blocks if not b or b[0].split(" : ")[0].strip() not in names]
    return "\n".join(line for block in kept for line in block)
