"""What the Displays share: axes, pictures, argument checks, the fitted model."""


import numbers

import numpy as np
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from .._registry import final_estimator, get_model_tags
from .._validation import check_count

# Beyond this many distinct values, colours are read as a continuous scale
# (a colour bar) rather than as classes (a legend).
_MAX_CLASSES = 20


def _pyplot():
    """``matplotlib.pyplot``, or an ImportError that names the extra to install."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is in the test extra
        raise ImportError(
            "skvae.plotting needs matplotlib, which is not installed. Install it "
            "with: pip install 'skvae[plot]'"
        ) from exc
    return plt


def _new_axes(ax, n=1, **subplot_kw):
    """``ax`` (one Axes or ``n`` of them) and its figure, or new ones."""
    plt = _pyplot()
    if ax is None:
        fig, axes = plt.subplots(1, n, figsize=(5 * n, 4.2), squeeze=False, **subplot_kw)
        axes = axes.ravel()
    else:
        axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
        if len(axes) != n:
            raise ValueError(f"ax must hold {n} Axes here, got {len(axes)}.")
        fig = axes[0].figure
    return (axes[0] if n == 1 else axes), fig


def _rows(X):
    """``X`` as a 2-D float array of rows (images flattened)."""
    X = np.asarray(X, dtype=np.float64)
    return X.reshape(X.shape[0], -1) if X.ndim > 2 else X


def _n_rows(X):
    """The number of rows of ``X`` (an array, a DataFrame or a list of rows)."""
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) else len(X)


def _take(X, rows):
    """Rows ``rows`` of ``X``, a DataFrame staying one (its columns keep their names)."""
    if hasattr(X, "iloc"):
        return X.iloc[np.asarray(rows)]
    return np.asarray(X)[np.asarray(rows)]


def _as_pictures(rows, image_shape):
    """Rows as pictures for ``imshow``: (n, H, W) for one channel, (n, H, W, C) else."""
    rows = np.asarray(rows, dtype=np.float64)
    shape = tuple(image_shape)
    if len(shape) == 2:
        shape = (1,) + shape
    if int(np.prod(shape)) != rows.shape[-1]:
        raise ValueError(
            f"image_shape={tuple(image_shape)} holds {int(np.prod(shape))} values, but the "
            f"rows have {rows.shape[-1]} features."
        )
    pictures = rows.reshape(rows.shape[:-1] + shape)
    if shape[0] == 1:
        return pictures[..., 0, :, :]
    # channels last, in [0, 1] as imshow reads colour images
    return np.clip(np.moveaxis(pictures, -3, -1), 0.0, 1.0)


def _mosaic(pictures, gap=1):
    """A grid of pictures (n_rows, n_cols, H, W[, C]) as one array, NaN between them."""
    n_rows, n_cols, h, w = pictures.shape[:4]
    extra = pictures.shape[4:]
    out = np.full(
        (n_rows * (h + gap) - gap, n_cols * (w + gap) - gap) + extra, np.nan
    )
    for i in range(n_rows):
        for j in range(n_cols):
            out[i * (h + gap) : i * (h + gap) + h, j * (w + gap) : j * (w + gap) + w] = (
                pictures[i, j]
            )
    return out


def _show_mosaic(ax, pictures, cmap):
    """Draw a mosaic of pictures on ``ax``; returns the AxesImage."""
    mosaic = _mosaic(pictures)
    if mosaic.ndim == 3:  # colour: gaps white
        mosaic = np.where(np.isnan(mosaic), 1.0, mosaic)
        image = ax.imshow(mosaic, interpolation="nearest")
    else:
        image = ax.imshow(np.ma.masked_invalid(mosaic), cmap=cmap, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    return image


def _cell_centres(n, size, gap=1):
    """Centres of ``n`` cells of ``size`` pixels with ``gap`` between them."""
    return np.arange(n) * (size + gap) + (size - 1) / 2


def _is_discrete(values):
    """Whether ``values`` are labels (a legend) rather than a score (a colour bar).

    Strings and booleans are labels; numbers are when they are whole
    (``1.0`` counts) and take at most ``_MAX_CLASSES`` values.
    """
    values = np.asarray(values)
    if values.dtype.kind in "OUSb":
        return True
    if values.dtype.kind not in "iuf" or len(values) == 0:
        return False
    return type_of_target(values) in ("binary", "multiclass") and (
        len(np.unique(values)) <= _MAX_CLASSES
    )


def _check_quantile_range(value, open_ends=False):
    """``(low, high)`` as floats: 0 <= low < high <= 1 (strict inequalities with ``open_ends``)."""
    try:
        if isinstance(value, str):
            raise TypeError
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        low = high = np.nan
    bounds = "0 < low < high < 1" if open_ends else "0 <= low < high <= 1"
    ok = (0 < low < high < 1) if open_ends else (0 <= low < high <= 1)
    if not ok:
        raise ValueError(
            f"quantile_range must be two quantiles {bounds}, such as (0.01, 0.99), "
            f"got {value!r}."
        )
    return low, high


def _check_count(value, name, minimum):
    """``value`` as an int of at least ``minimum``, or skvae's one clear error."""
    return check_count(value, name, f"a count of at least {minimum}", minimum)


def _check_dims(dims, k):
    """``dims`` as two different latent dimensions of a ``k``-dimensional code."""
    if isinstance(dims, str):
        raise ValueError(f"dims must be two different latent dimensions in [0, {k}), got {dims!r}.")
    dims = tuple(dims)
    if len(dims) != 2 or dims[0] == dims[1] or not all(
        isinstance(d, numbers.Integral) and 0 <= d < k for d in dims
    ):
        raise ValueError(
            f"dims must be two different latent dimensions in [0, {k}), got {dims!r}."
        )
    return dims


def _check_rows(rows, n, name, count=None):
    """``rows`` as an array of row indices of an ``X`` of ``n`` rows (``count`` of them)."""
    rows = np.asarray(rows)
    if (
        rows.ndim != 1 or rows.dtype.kind not in "iu" or len(rows) == 0
        or (count is not None and len(rows) != count)
        or np.any((rows < -n) | (rows >= n))
    ):
        what = {1: "a row index", 2: "two row indices"}.get(count, "row indices")
        raise ValueError(f"{name} must be {what} of X ({n} rows), got {_short_list(rows)}.")
    return rows


def _steps_before(estimator):
    """The transformers before the final estimator of (nested) Pipelines, in order."""
    from sklearn.pipeline import Pipeline

    steps = []
    while isinstance(estimator, Pipeline):
        steps += [s for _, s in estimator.steps[:-1] if s is not None and s != "passthrough"]
        estimator = estimator.steps[-1][1]
    return steps


def _short_list(values, n=8):
    """``values`` as a plain list for a message, the first ``n`` of them."""
    values = np.asarray(values).tolist() if not isinstance(values, list) else values
    return repr(values) if len(values) <= n else f"{values[:n]!r} ... ({len(values)} in all)"


def _inverts(step, rows):
    """``step.inverse_transform(rows)``, or None where the step cannot invert.

    A step cannot invert when it has no ``inverse_transform``, when calling it
    fails (an imputer without indicators, a model that needs ``y``), or when
    it is a ``FunctionTransformer`` whose ``func`` has no ``inverse_func``
    (scikit-learn then returns its input as it is).
    """
    from sklearn.preprocessing import FunctionTransformer

    if not hasattr(step, "inverse_transform"):
        return None
    if isinstance(step, FunctionTransformer) and step.func is not None:
        if step.inverse_func is None:
            return None
    try:
        out = np.asarray(step.inverse_transform(rows), dtype=np.float64)
    except Exception:  # noqa: BLE001 - any failure means: not invertible here
        return None
    return out if out.ndim == 2 and len(out) == len(rows) else None


class _Fitted:
    """A fitted skvae estimator, or a Pipeline ending in one, as the Displays use it.

    ``X`` goes through the pipeline's earlier steps before the model sees it
    (:meth:`to_model`); the rows the model gives back (reconstructions,
    decoded codes, samples) come back to ``X``'s units through the earlier
    steps' ``inverse_transform`` when every one inverts (:meth:`to_data`;
    tried once on a row of zeros). Otherwise pictures are in the units of the
    model's own input, and :attr:`units_note` says so. Capabilities come from
    the model's :class:`~skvae.ModelTags`, checked against its methods;
    ``skvae_only=False`` also takes another library's estimator (then
    ``tags`` is None).
    """

    def __init__(self, estimator, display, skvae_only=True):
        self.display = display
        if hasattr(estimator, "best_estimator_") and not hasattr(estimator, "steps"):
            raise TypeError(
                f"{display} draws a fitted skvae estimator (or a Pipeline ending in one), "
                f"got a {type(estimator).__name__}: pass its best_estimator_."
            )
        self.model = final_estimator(estimator)
        if isinstance(self.model, str) or self.model is None:
            raise TypeError(
                f"{display} draws a fitted skvae estimator, but the Pipeline's last step "
                f"is {self.model!r}."
            )
        self.name = type(self.model).__name__
        try:
            self.tags = get_model_tags(self.model)
        except TypeError:
            if skvae_only:
                raise TypeError(
                    f"{display} draws a fitted skvae estimator (or a Pipeline ending in "
                    f"one), got {self.name}."
                ) from None
            self.tags = None
        check_is_fitted(estimator)
        # a table of mixed columns: pictures of rows draw its numeric columns
        self.table_columns = None
        if getattr(self.model, "_table_", None) is not None:
            kinds = list(self.model.column_types_)
            self.table_columns = [j for j, k in enumerate(kinds) if k in ("real", "count")]
        self.steps = _steps_before(estimator)
        self.invertible, self.units_note = True, None
        if self.steps:
            rows = np.zeros((1, int(getattr(self.model, "n_features_in_", 1))))
            for step in reversed(self.steps):
                rows = _inverts(step, rows)
                if rows is None:
                    self.invertible = False
                    self.units_note = (
                        f"in the units of {self.name}'s input: the pipeline's "
                        f"{type(step).__name__} step cannot be inverted"
                    )
                    break

    def to_model(self, X):
        """``X`` as the model sees it: through the pipeline's earlier steps."""
        for step in self.steps:
            X = step.transform(X)
        return X

    def _numbers(self, rows):
        """A table's rows as the floats of its numeric columns (NaN where missing)."""
        if not self.table_columns:
            raise TypeError(
                f"{self.display} draws the numbers of rows, but {self.name} was fitted on "
                "a table without a numeric column."
            )
        if hasattr(rows, "iloc"):
            rows = rows.iloc[:, self.table_columns].astype(object)
        else:
            rows = np.asarray(rows, dtype=object)[:, self.table_columns]
        return np.asarray(rows, dtype=np.float64)

    def to_data(self, rows):
        """Rows from the model back in ``X``'s units, where the earlier steps invert
        (a table's numeric columns)."""
        if self.table_columns is not None:
            return self._numbers(rows)
        if not self.invertible:
            return rows
        for step in reversed(self.steps):
            rows = step.inverse_transform(rows)
        return np.asarray(rows, dtype=np.float64)

    def data_rows(self, X):
        """Rows of ``X`` in the units the pictures are in (see :attr:`units_note`)."""
        if self.table_columns is not None:
            return self._numbers(X)
        return _rows(X if self.invertible else self.to_model(X))

    def require(self, what, ok, *methods):
        """A clear TypeError when the model lacks ``what`` (``ok`` False, or a method missing)."""
        if not ok or not all(hasattr(self.model, m) for m in methods):
            raise TypeError(f"{self.display} needs an estimator with {what}; {self.name} has none.")

    @property
    def conditional(self):
        """Whether the model encodes and decodes given each row's class."""
        return self.tags is not None and self.tags.labels == "classes"

    def codes(self, X, y=None):
        """The codes of ``X`` (given the rows' classes ``y`` for a conditional model).

        ``transform``; for a model without it (an outlier detector), the
        posterior means of its encoder.
        """
        Z = self.to_model(X)
        if self.tags.codes is None or not hasattr(self.model, "transform"):
            self.require("codes", hasattr(self.model, "_encode_mean"))
            rows = self.model._validate_X(Z, reset=False, likelihood_support=False)
            return self.model._encode_mean(rows)
        if self.conditional and y is not None:
            return self.model.transform(Z, y)
        return self.model.transform(Z)

    def decoder(self, y):
        """``Z -> rows``: decoder means in the pictures' units (of class ``y`` if conditional)."""
        self.require("inverse_transform", self.tags.decodes, "inverse_transform")
        if self.conditional:
            if y is None or np.ndim(y) != 0:
                raise ValueError(
                    f"{self.display} of a {self.name} decodes codes of one class: pass y, "
                    f"one class label, one of {_short_list(self.model.classes_)}."
                )
            return lambda Z: self.to_data(self.model.inverse_transform(Z, np.repeat(y, len(Z))))
        if y is not None:
            raise ValueError(
                f"y is the class to decode with a ConditionalVAE; {self.name} decodes "
                "without one: drop y."
            )
        return lambda Z: self.to_data(self.model.inverse_transform(Z))

    def row_labels(self, y, n):
        """The classes ``y`` of the ``n`` rows of X, checked (a conditional model's)."""
        if y is None:
            raise ValueError(
                f"{self.display} of a {self.name} encodes each row with its class: pass y, "
                "one class per row of X."
            )
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != n:
            raise ValueError(
                f"y must hold one class per row of X ({n} rows), got shape {y.shape}."
            )
        return y

    def image_shape(self, given, n_features):
        """The image shape to draw rows of ``n_features`` with: given, the model's, or None."""
        if given is not None:
            return _check_image_shape(given, n_features)
        shape = getattr(self.model, "image_shape_", None)
        if shape is None or int(np.prod(shape)) != n_features:
            return None
        return tuple(shape)

    def feature_names(self, names, n_features):
        """``names`` (checked), or the names of the features drawn, or None."""
        if names is None:
            if self.table_columns is not None:
                every = getattr(self.model, "feature_names_in_", None)
                names = None if every is None else np.asarray(every)[self.table_columns]
            elif self.steps and not self.invertible:
                names = self.model_feature_names()
            else:
                source = self.steps[0] if self.steps else self.model
                names = getattr(source, "feature_names_in_", None)
            return names if names is not None and len(names) == n_features else None
        names = np.asarray(names)
        if names.shape != (n_features,):
            raise ValueError(
                f"feature_names must hold one name per feature ({n_features}), got "
                f"shape {names.shape}."
            )
        return names


    def model_feature_names(self):
        """The names of the features the model sees (after the earlier steps), or None."""
        names = getattr(self.model, "feature_names_in_", None)
        if names is None and self.steps:
            try:
                names = np.asarray(self.steps[-1].get_feature_names_out(), dtype=object)
            except Exception:  # noqa: BLE001 - a step that cannot name its outputs
                names = None
        return names


def _check_image_shape(shape, n_features):
    """``shape`` as (H, W) or (C, H, W) of positive ints holding ``n_features`` values."""
    try:
        dims = tuple(int(s) for s in shape)
        ok = all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in shape)
    except TypeError:
        dims, ok = (), False
    if not ok or len(dims) not in (2, 3) or min(dims) < 1 or (
        len(dims) == 3 and dims[0] not in (1, 3, 4)
    ):
        raise ValueError(
            "image_shape must be (height, width) or (channels, height, width) with 1, 3 "
            f"or 4 channels, got {shape!r}."
        )
    if int(np.prod(dims)) != n_features:
        raise ValueError(
            f"image_shape={dims} holds {int(np.prod(dims))} values, but the rows drawn have "
            f"{n_features} features."
        )
    return dims


def _note_units(display, fitted):
    """Say on the figure (and in ``units_note_``) when pictures are not in X's units."""
    display.units_note_ = fitted.units_note
    if fitted.units_note:
        display.figure_.text(
            0.5, 0.005, f"Values {fitted.units_note}.", ha="center", va="bottom",
            fontsize="x-small", color="0.3",
        )
    return display
