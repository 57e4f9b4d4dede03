"""Data in and out of the estimators: validation, images, the model's units, devices.

:class:`DataMixin` is the part of :class:`~skvae._base.BaseVAE` that checks
what a user passes (tables, images as rows or as 3-D / 4-D arrays, memory maps
and dask arrays, without reading them whole) and maps ``X`` to the units the
model trains in and back.
"""

import math
from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_array,
    check_consistent_length,
    column_or_1d,
    validate_data,
)

from ._data import RowBlocks, column_moments, is_dask_array, is_out_of_core
from ._validation import check_count


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


def _check_numeric_columns(X, fitted_on_numbers=False):
    """Name the columns of a DataFrame that cannot be read as numbers; say how to
    model them (``fitted_on_numbers``: a model fitted on numbers only reads them)."""
    kind = getattr(getattr(X, "dtype", None), "kind", None)
    if kind is not None and kind in "mM":
        raise ValueError(
            f"X must hold numbers, but it holds {X.dtype} values. Encode dates and "
            "durations as numbers first (for example days since a reference date)."
        )
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return
    bad = [f"{name} ({dtype})" for name, dtype in dtypes.items() if not _numeric_column(X[name])]
    if bad:
        shown = ", ".join(bad[:8]) + (f" and {len(bad) - 8} more" if len(bad) > 8 else "")
        if fitted_on_numbers:
            raise ValueError(
                f"X has columns that are not numbers: {shown}, but this model was fitted "
                "on numbers only, every feature modelled as real. To model categories, "
                "fit it on such a table from the start (with partial_fit: from the first "
                "chunk), or with column_types={}, which reads even a chunk of numbers as "
                "a table."
            )
        raise ValueError(
            f"X has columns that are not numbers: {shown}. Encode categories as numbers "
            "first, for example with OneHotEncoder in a ColumnTransformer, or drop "
            "those columns."
        )


def _numeric_column(column):
    """Whether a DataFrame column can be read as numbers (booleans count)."""
    import pandas as pd

    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return False
    if pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and getattr(dtype, "kind", "f") not in "mM"
    ):
        return True
    if getattr(dtype, "kind", None) == "O" and not pd.api.types.is_string_dtype(dtype):
        # an object column: numbers stored as objects are numbers
        return all(
            isinstance(v, (int, float, bool, np.number, np.bool_)) for v in column.head(1000)
        )
    return False


class DataMixin:
    """Validation of ``X`` and the map between its units and the model's.

    Part of :class:`~skvae._base.BaseVAE`; reads the hyperparameters
    ``image_shape``, ``architecture`` and ``likelihood`` and sets
    ``image_shape_``, ``x_offset_`` and ``x_unit_`` at fit.
    """

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
        if ndim not in (3, 4):
            return X, None
        if not takes_images:
            how = (
                "image_shape or architecture='conv' (set either to fit on images)"
                if reset
                else "a model fitted on images; this one was fitted on rows"
            )
            raise ValueError(
                f"X has shape {tuple(X.shape)}: {ndim}-D input is read as images only "
                f"with {how}. Or give one row per sample: X.reshape(len(X), -1)."
            )
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
        if is_out_of_core(X) and not reset and getattr(self, "_table_", None) is not None:
            X = np.asarray(X)  # a table's columns are read whole
        if is_out_of_core(X):
            if reset:
                self.__dict__.pop("_table_", None)
            return self._validate_out_of_core(
                X, reset=reset, likelihood_support=likelihood_support, y=y
            )
        if self._takes_table(X, reset):
            return self._validate_table(X, reset=reset, y=y)
        X, shape = self._flatten_images(X, reset)
        _check_numeric_columns(X, fitted_on_numbers=not reset)
        if not reset:
            self._check_complete(X)
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
            self.__dict__.pop("_table_", None)
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
                    f"Input X contains NaN or infinity (first in row {row}). {name} is "
                    "read a block at a time, which a table with missing entries cannot "
                    "be: read it into memory (np.asarray) to model its missing entries, "
                    "or impute or drop them first."
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
