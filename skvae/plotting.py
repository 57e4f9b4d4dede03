"""Pictures of fitted skvae estimators, as scikit-learn Display objects.

Each Display follows scikit-learn's convention (``ConfusionMatrixDisplay``,
``PrecisionRecallDisplay``): the constructor takes the values to draw,
:meth:`plot` draws them on a matplotlib ``Axes`` (a new figure when ``ax`` is
None) and keeps the drawn artists as attributes ending in ``_``, and the
class method ``from_estimator`` computes the values from a fitted estimator
and plots them.

Rows of images are drawn as images when the estimator was fitted on images
(its ``image_shape_``) or when ``image_shape`` is given; other rows are drawn
as feature profiles or bars.

matplotlib is an optional dependency (``pip install 'skvae[plot]'``),
imported when a Display first draws.
"""

import numbers

import numpy as np
from scipy.stats import norm
from sklearn.decomposition import PCA
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from ._validation import check_count

__all__ = [
    "InterpolationDisplay",
    "LatentSpaceDisplay",
    "ManifoldDisplay",
    "OutlierScoreDisplay",
    "ReconstructionDisplay",
    "SampleGridDisplay",
    "TrainingDisplay",
]

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


def _check_fitted_estimator(estimator, needs, display):
    """A clear error when ``estimator`` lacks a method the Display needs."""
    check_is_fitted(estimator)
    missing = [name for name in needs if not hasattr(estimator, name)]
    if missing:
        raise TypeError(
            f"{display} needs an estimator with {' and '.join(missing)}; "
            f"{type(estimator).__name__} has none."
        )


def _image_shape(estimator, image_shape):
    """The image shape to draw rows with: given, or the estimator's, or None."""
    if image_shape is not None:
        return tuple(int(s) for s in image_shape)
    shape = getattr(estimator, "image_shape_", None)
    return None if shape is None else tuple(shape)


def _rows(X):
    """``X`` as a 2-D float array of rows (images flattened)."""
    X = np.asarray(X, dtype=np.float64)
    return X.reshape(X.shape[0], -1) if X.ndim > 2 else X


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


def _decoder(estimator, display, y):
    """``Z -> rows``: the estimator's decoder means (with class ``y`` for a conditional one)."""
    _check_fitted_estimator(estimator, ["inverse_transform"], display)
    if hasattr(estimator, "classes_"):
        if y is None:
            raise ValueError(
                f"{display} of a {type(estimator).__name__} decodes codes of one class: "
                f"pass y, one of {list(estimator.classes_)}."
            )
        return lambda Z: estimator.inverse_transform(Z, np.repeat(y, len(Z)))
    return estimator.inverse_transform


def _check_count(value, name, minimum):
    """``value`` as an int of at least ``minimum``, or skvae's one clear error."""
    return check_count(value, name, f"a count of at least {minimum}", minimum)


def _check_dims(dims, k):
    """``dims`` as two different latent dimensions of a ``k``-dimensional code."""
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
        raise ValueError(f"{name} must be {what} of X ({n} rows), got {rows.tolist()!r}.")
    return rows


def _feature_names(estimator, names, n_features):
    """``names`` (checked), or the estimator's ``feature_names_in_``, or None."""
    if names is None:
        return getattr(estimator, "feature_names_in_", None)
    names = np.asarray(names)
    if names.shape != (n_features,):
        raise ValueError(
            f"feature_names must hold one name per feature ({n_features}), got "
            f"shape {names.shape}."
        )
    return names


def _codes(estimator, X, y=None):
    """Posterior means of ``X``: ``transform``, or an outlier detector's encoder.

    ``y`` (the rows' classes) is used by a conditional estimator only.
    """
    check_is_fitted(estimator)
    if hasattr(estimator, "transform"):
        conditional = y is not None and hasattr(estimator, "classes_")
        return estimator.transform(X, y) if conditional else estimator.transform(X)
    encode = getattr(estimator, "_encode_mean", None)
    if encode is None:
        raise TypeError(
            f"{type(estimator).__name__} has no codes to draw: pass a fitted skvae estimator."
        )
    return encode(estimator._validate_X(X, reset=False, likelihood_support=False))


# --------------------------------------------------------------- latent space


class LatentSpaceDisplay:
    """Codes in two dimensions, coloured by class, cluster or score.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, 2)
        The points to draw.
    color : array-like of shape (n_samples,), default=None
        A value per point: classes or clusters (a legend) or a score (a
        colour bar).
    color_label : str, default=None
        What ``color`` is, for the legend's title or the colour bar.
    axis_labels : tuple of str, default=("z1", "z2")
    estimator_name : str, default=None
        Shown in the title.

    Attributes
    ----------
    scatter_ : matplotlib PathCollection
    legend_ : matplotlib Legend or None
    colorbar_ : matplotlib Colorbar or None
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    """

    def __init__(
        self, codes, *, color=None, color_label=None, axis_labels=("z1", "z2"),
        estimator_name=None,
    ):
        self.codes = codes
        self.color = color
        self.color_label = color_label
        self.axis_labels = axis_labels
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, cmap=None, **scatter_kwargs):
        """Draw the points.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        cmap : str or Colormap, default=None
            ``"tab10"`` / ``"tab20"`` for classes, ``"viridis"`` for scores.
        **scatter_kwargs
            Passed to ``Axes.scatter``.

        Returns
        -------
        display : LatentSpaceDisplay
        """
        ax, fig = _new_axes(ax)
        codes = np.asarray(self.codes)
        kwargs = {"s": 8, **scatter_kwargs}
        self.legend_ = self.colorbar_ = None
        if self.color is None:
            self.scatter_ = ax.scatter(codes[:, 0], codes[:, 1], **kwargs)
        elif _is_discrete(self.color):
            classes, index = np.unique(np.asarray(self.color), return_inverse=True)
            cmap = cmap or ("tab10" if len(classes) <= 10 else "tab20")
            self.scatter_ = ax.scatter(
                codes[:, 0], codes[:, 1], c=index, cmap=cmap,
                vmin=-0.5, vmax=len(classes) - 0.5 if len(classes) > 1 else 0.5, **kwargs,
            )
            handles = self.scatter_.legend_elements(num=list(range(len(classes))))[0]
            self.legend_ = ax.legend(
                handles, [str(c) for c in classes], title=self.color_label,
                loc="best", fontsize="small", markerscale=1.0,
            )
        else:
            self.scatter_ = ax.scatter(
                codes[:, 0], codes[:, 1], c=np.asarray(self.color, dtype=float),
                cmap=cmap or "viridis", **kwargs,
            )
            self.colorbar_ = fig.colorbar(self.scatter_, ax=ax, label=self.color_label)
        ax.set_xlabel(self.axis_labels[0])
        ax.set_ylabel(self.axis_labels[1])
        if self.estimator_name:
            ax.set_title(f"Codes of {self.estimator_name}")
        self.ax_, self.figure_ = ax, fig
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X, y=None, *, color="auto", dims=None, ax=None, cmap=None,
        **scatter_kwargs,
    ):
        """Encode ``X`` and draw its codes.

        Parameters
        ----------
        estimator : fitted skvae estimator
            Any of them; an outlier detector's codes are its posterior means.
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
            Classes of the rows (a ``ConditionalVAE`` encodes each row given
            its class).
        color : "auto", None or array-like of shape (n_samples,), default="auto"
            "auto" colours by ``y`` when given, else by the clusters of a
            clusterer (``predict``) or the scores of an outlier detector
            (``score_samples``), else not at all.
        dims : None, "pca" or tuple of two ints, default=None
            Which plane of the codes: None draws two-dimensional codes as they
            are and the first two principal components of longer ones;
            ``"pca"`` always projects; ``(i, j)`` draws latent dimensions i
            and j.
        ax : matplotlib Axes, default=None
        cmap : str or Colormap, default=None
        **scatter_kwargs
            Passed to ``Axes.scatter``.

        Returns
        -------
        display : LatentSpaceDisplay
        """
        codes = _codes(estimator, X, y)
        color_label = None
        if isinstance(color, str) and color == "auto":
            color = None
            if y is not None:
                color, color_label = np.asarray(y), "class"
            elif hasattr(estimator, "n_clusters") and hasattr(estimator, "predict"):
                color, color_label = estimator.predict(X), "cluster"
            elif hasattr(estimator, "offset_") and hasattr(estimator, "score_samples"):
                color, color_label = estimator.score_samples(X), "score (low: outlying)"
        return cls.from_codes(
            codes, color, color_label=color_label, dims=dims,
            estimator_name=type(estimator).__name__, ax=ax, cmap=cmap, **scatter_kwargs,
        )

    @classmethod
    def from_codes(
        cls, codes, color=None, *, color_label=None, dims=None, estimator_name=None, ax=None,
        cmap=None, **scatter_kwargs,
    ):
        """Draw codes already computed (``transform``'s, or any other embedding's).

        Parameters
        ----------
        codes : array-like of shape (n_samples, n_dimensions)
        color : array-like of shape (n_samples,), default=None
        color_label : str, default=None
        dims : None, "pca" or tuple of two ints, default=None
            As in :meth:`from_estimator`.
        estimator_name : str, default=None
        ax : matplotlib Axes, default=None
        cmap : str or Colormap, default=None
        **scatter_kwargs
            Passed to ``Axes.scatter``.

        Returns
        -------
        display : LatentSpaceDisplay
        """
        codes = np.asarray(codes, dtype=np.float64)
        if codes.ndim != 2 or codes.shape[1] < 2:
            raise ValueError(
                f"The codes have shape {codes.shape}: a plane needs two dimensions. Fit the "
                "model with n_components >= 2."
            )
        if dims is None:
            dims = (0, 1) if codes.shape[1] == 2 else "pca"
        if isinstance(dims, str):
            if dims != "pca":
                raise ValueError(f'dims must be None, "pca" or two ints, got {dims!r}.')
            # exact (not randomized) and deterministic: the codes have few columns
            points = PCA(n_components=2, svd_solver="full").fit_transform(codes)
            labels = ("first principal axis of the codes", "second principal axis")
        else:
            dims = _check_dims(dims, codes.shape[1])
            points = codes[:, list(dims)]
            labels = (f"z{dims[0] + 1}", f"z{dims[1] + 1}")
        if color is not None:
            color = np.asarray(color)
            if color.shape != (codes.shape[0],):
                raise ValueError(
                    f"color must hold one value per row of X ({codes.shape[0]}), "
                    f"got shape {color.shape}."
                )
        display = cls(
            points, color=color, color_label=color_label, axis_labels=labels,
            estimator_name=estimator_name,
        )
        return display.plot(ax=ax, cmap=cmap, **scatter_kwargs)


# ------------------------------------------------------------------ manifold


class ManifoldDisplay:
    """The decoder's output on a grid over two latent dimensions.

    Parameters
    ----------
    decoded : ndarray of shape (n_points, n_points, n_features)
        ``decoded[i, j]`` is the row decoded at ``(grid_x[j], grid_y[i])``;
        the first grid row is drawn at the top.
    grid_x, grid_y : ndarray of shape (n_points,)
        The codes along the two dimensions.
    image_shape : tuple of int, default=None
        Draw the rows as images of this shape (channels first); None draws
        each row as a profile of its features.
    dims : tuple of two ints, default=(0, 1)
        The latent dimensions of the grid, for the axis labels.

    Attributes
    ----------
    image_ : matplotlib AxesImage or None
        The mosaic of images.
    lines_ : ndarray of matplotlib Line2D, shape (n_points, n_points), or None
        The feature profiles.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    """

    def __init__(self, decoded, grid_x, grid_y, *, image_shape=None, dims=(0, 1)):
        self.decoded = decoded
        self.grid_x = grid_x
        self.grid_y = grid_y
        self.image_shape = image_shape
        self.dims = dims

    def plot(self, ax=None, *, cmap="gray_r"):
        """Draw the grid: a mosaic of images, or one feature profile per cell.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        cmap : str or Colormap, default="gray_r"
            For one-channel images.

        Returns
        -------
        display : ManifoldDisplay
        """
        ax, fig = _new_axes(ax)
        decoded = np.asarray(self.decoded, dtype=np.float64)
        n_y, n_x = decoded.shape[:2]
        self.image_ = self.lines_ = None
        if self.image_shape is not None:
            pictures = _as_pictures(decoded, self.image_shape)
            self.image_ = _show_mosaic(ax, pictures, cmap)
            h, w = pictures.shape[2:4]
            ax.set_xticks(_cell_centres(n_x, w))
            ax.set_yticks(_cell_centres(n_y, h))
        else:
            # each cell holds its row's features, scaled to the range over the grid
            low, high = decoded.min(axis=(0, 1)), decoded.max(axis=(0, 1))
            span = np.where(high > low, high - low, 1.0)
            scaled = (decoded - low) / span
            d = decoded.shape[2]
            x = np.linspace(0.1, 0.9, d) if d > 1 else np.array([0.5])
            self.lines_ = np.empty((n_y, n_x), dtype=object)
            for i in range(n_y):
                for j in range(n_x):
                    top = n_y - 1 - i
                    (self.lines_[i, j],) = ax.plot(
                        j + x, top + 0.1 + 0.8 * scaled[i, j], color="C0", lw=1
                    )
            ax.set_xlim(0, n_x)
            ax.set_ylim(0, n_y)
            ax.set_xticks(np.arange(n_x) + 0.5)
            ax.set_yticks(n_y - 1 - np.arange(n_y) + 0.5)
            ax.grid(True, which="minor")
            ax.set_xticks(np.arange(n_x + 1), minor=True)
            ax.set_yticks(np.arange(n_y + 1), minor=True)
            ax.tick_params(which="minor", length=0)
        ax.set_xticklabels([f"{v:.2g}" for v in self.grid_x], fontsize="x-small")
        ax.set_yticklabels([f"{v:.2g}" for v in self.grid_y], fontsize="x-small")
        ax.set_xlabel(f"z{self.dims[0] + 1}")
        ax.set_ylabel(f"z{self.dims[1] + 1}")
        self.ax_, self.figure_ = ax, fig
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X=None, *, y=None, dims=(0, 1), n_points=10,
        quantile_range=(0.05, 0.95), image_shape=None, ax=None, cmap="gray_r",
    ):
        """Decode a grid of codes and draw it.

        The grid spans ``quantile_range`` of the codes of ``X`` along each
        dimension, the other dimensions held at the codes' medians. Without
        ``X`` it spans those quantiles of the standard normal prior, the
        other dimensions at 0: for the estimators whose prior is ``N(0, I)``.

        Parameters
        ----------
        estimator : fitted skvae estimator with ``inverse_transform``
        X : array-like of shape (n_samples, n_features), default=None
        y : a class label, default=None
            The class to decode for a ``ConditionalVAE`` (required there).
        dims : tuple of two ints, default=(0, 1)
        n_points : int, default=10
            Grid points along each dimension.
        quantile_range : tuple of two floats, default=(0.05, 0.95)
        image_shape : tuple of int, default=None
            Overrides the estimator's ``image_shape_``.
        ax : matplotlib Axes, default=None
        cmap : str or Colormap, default="gray_r"

        Returns
        -------
        display : ManifoldDisplay
        """
        decode = _decoder(estimator, "ManifoldDisplay", y)
        if hasattr(estimator, "n_slots"):
            raise TypeError(
                f"ManifoldDisplay needs a continuous code of n_components dimensions; "
                f"{type(estimator).__name__} has none."
            )
        k = int(estimator._n_features_out)  # the width of transform's codes
        dims = _check_dims(dims, k)
        _check_count(n_points, "n_points", 2)
        lo, hi = quantile_range
        if not 0.0 < lo < hi < 1.0:
            raise ValueError(
                f"quantile_range must be two quantiles 0 < low < high < 1, got {quantile_range}."
            )
        if X is None:
            if not hasattr(estimator, "kl_per_dim_"):
                raise ValueError(
                    f"{type(estimator).__name__} has no standard normal prior to take a grid "
                    "from: pass X, and the grid spans the codes of X."
                )
            centre = np.zeros(k)
            q = norm.ppf(np.linspace(lo, hi, n_points))
            axes_values = (q, q)
        else:
            codes = np.asarray(_codes(estimator, X, y=None if y is None else np.repeat(
                y, len(X))), dtype=np.float64)
            centre = np.median(codes, axis=0)
            axes_values = tuple(
                np.linspace(*np.quantile(codes[:, d], [lo, hi]), n_points) for d in dims
            )
        grid_x, grid_y = axes_values[0], axes_values[1][::-1]  # top row: largest
        Z = np.tile(centre, (n_points, n_points, 1))
        Z[:, :, dims[0]] = grid_x[None, :]
        Z[:, :, dims[1]] = grid_y[:, None]
        decoded = np.asarray(decode(Z.reshape(-1, k)), dtype=np.float64)
        decoded = decoded.reshape(n_points, n_points, -1)
        display = cls(
            decoded, grid_x, grid_y, image_shape=_image_shape(estimator, image_shape),
            dims=dims,
        )
        return display.plot(ax=ax, cmap=cmap)


# -------------------------------------------------------------- interpolation


def _slerp(a, b, t):
    """Spherical interpolation between codes ``a`` and ``b`` at fractions ``t``."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = np.dot(a, b) / (na * nb) if na > 0 and nb > 0 else 1.0
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:  # (nearly) the same direction: the straight line
        return a + t[:, None] * (b - a)
    return (
        np.sin((1 - t) * omega)[:, None] * a + np.sin(t * omega)[:, None] * b
    ) / np.sin(omega)


class InterpolationDisplay:
    """Rows decoded along a path between the codes of two rows.

    Parameters
    ----------
    decoded : ndarray of shape (n_steps, n_features)
        The decoded rows, from the start to the end.
    inputs : ndarray of shape (2, n_features), default=None
        The two rows themselves, drawn at both ends.
    image_shape : tuple of int, default=None
        Draw the rows as images of this shape; None draws feature profiles.
    method : str, default="linear"
        How the codes were interpolated, for the title.

    Attributes
    ----------
    image_ : matplotlib AxesImage or None
    lines_ : list of matplotlib Line2D or None
        One profile per step (and the inputs, dashed, last).
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    """

    def __init__(self, decoded, *, inputs=None, image_shape=None, method="linear"):
        self.decoded = decoded
        self.inputs = inputs
        self.image_shape = image_shape
        self.method = method

    def plot(self, ax=None, *, cmap="gray_r"):
        """Draw the path: a strip of images, or profiles coloured from start to end.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        cmap : str or Colormap, default="gray_r"
            For one-channel images.

        Returns
        -------
        display : InterpolationDisplay
        """
        ax, fig = _new_axes(ax)
        decoded = np.asarray(self.decoded, dtype=np.float64)
        n = len(decoded)
        self.image_ = self.lines_ = None
        if self.image_shape is not None:
            rows = decoded
            if self.inputs is not None:
                inputs = np.asarray(self.inputs, dtype=np.float64)
                rows = np.concatenate([inputs[:1], decoded, inputs[1:]])
            pictures = _as_pictures(rows, self.image_shape)
            self.image_ = _show_mosaic(ax, pictures[None], cmap)
            if self.inputs is not None:
                w = pictures.shape[2]
                centres = _cell_centres(len(rows), w)
                ax.set_xticks([centres[0], centres[-1]])
                ax.set_xticklabels(["start", "end"], fontsize="small")
        else:
            colors = _pyplot().get_cmap("viridis")(np.linspace(0, 1, n))
            self.lines_ = [
                ax.plot(row, color=c, lw=1.2)[0] for row, c in zip(decoded, colors, strict=True)
            ]
            if self.inputs is not None:
                for row, c, name in zip(self.inputs, colors[[0, -1]], ("start", "end"),
                                        strict=True):
                    self.lines_.append(ax.plot(row, color=c, ls="--", lw=1, label=name)[0])
                ax.legend(fontsize="small")
            ax.set_xlabel("feature")
            ax.set_ylabel("value")
        ax.set_title(f"{self.method.capitalize()} interpolation, {n} steps")
        self.ax_, self.figure_ = ax, fig
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X, *, rows=(0, 1), y=None, n_steps=8, method="linear",
        show_inputs=True, image_shape=None, ax=None, cmap="gray_r",
    ):
        """Decode the path between the codes of two rows of ``X``.

        Parameters
        ----------
        estimator : fitted skvae estimator with ``transform`` and ``inverse_transform``
        X : array-like of shape (n_samples, n_features)
        rows : tuple of two ints, default=(0, 1)
            The rows of ``X`` at the start and the end.
        y : a class label, default=None
            The class to encode and decode with, for a ``ConditionalVAE``
            (required there).
        n_steps : int, default=8
            Decoded points, both ends included.
        method : {"linear", "spherical"}, default="linear"
            A straight line between the codes, or the great-circle path
            (which keeps the codes at a typical distance from the origin of a
            Gaussian prior).
        show_inputs : bool, default=True
            Draw the two rows themselves at the ends.
        image_shape : tuple of int, default=None
        ax : matplotlib Axes, default=None
        cmap : str or Colormap, default="gray_r"

        Returns
        -------
        display : InterpolationDisplay
        """
        decode = _decoder(estimator, "InterpolationDisplay", y)
        _check_fitted_estimator(estimator, ["transform"], "InterpolationDisplay")
        if method not in ("linear", "spherical"):
            raise ValueError(f'method must be "linear" or "spherical", got {method!r}.')
        _check_count(n_steps, "n_steps", 2)
        X_rows = _rows(X)
        rows = _check_rows(rows, len(X_rows), "rows", count=2)
        ends = np.asarray(X)[rows]
        codes = np.asarray(_codes(estimator, ends, None if y is None else np.repeat(y, 2)),
                           dtype=np.float64)
        t = np.linspace(0.0, 1.0, n_steps)
        if method == "linear":
            path = codes[0] + t[:, None] * (codes[1] - codes[0])
        else:
            path = _slerp(codes[0], codes[1], t)
        decoded = np.asarray(decode(path), dtype=np.float64)
        display = cls(
            decoded, inputs=X_rows[rows] if show_inputs else None,
            image_shape=_image_shape(estimator, image_shape), method=method,
        )
        return display.plot(ax=ax, cmap=cmap)


# ------------------------------------------------------------ reconstruction


class ReconstructionDisplay:
    """Rows beside their reconstructions.

    Parameters
    ----------
    inputs, reconstructions : ndarray of shape (n_rows, n_features)
    image_shape : tuple of int, default=None
        Draw the rows as images of this shape (inputs in the top row,
        reconstructions below); None draws each row's features as bars, one
        Axes per row.
    feature_names : array-like of str, default=None
        Tick labels of the bars.
    row_labels : list of str, default=None
        A label per row (``from_estimator`` gives the rows' indices in ``X``).

    Attributes
    ----------
    image_ : matplotlib AxesImage or None
    bars_ : list of (BarContainer, BarContainer) or None
        Per row: the inputs' bars and the reconstructions' bars.
    axes_ : ndarray of matplotlib Axes
    figure_ : matplotlib Figure
    """

    def __init__(
        self, inputs, reconstructions, *, image_shape=None, feature_names=None, row_labels=None
    ):
        self.inputs = inputs
        self.reconstructions = reconstructions
        self.image_shape = image_shape
        self.feature_names = feature_names
        self.row_labels = row_labels

    def plot(self, ax=None, *, cmap="gray_r"):
        """Draw the rows and their reconstructions.

        Parameters
        ----------
        ax : matplotlib Axes or array of them, default=None
            One Axes for images, one per row for bars; new ones when None.
        cmap : str or Colormap, default="gray_r"

        Returns
        -------
        display : ReconstructionDisplay
        """
        inputs = np.asarray(self.inputs, dtype=np.float64)
        recon = np.asarray(self.reconstructions, dtype=np.float64)
        self.image_ = self.bars_ = None
        if self.image_shape is not None:
            ax, fig = _new_axes(ax)
            pictures = _as_pictures(np.stack([inputs, recon]), self.image_shape)
            self.image_ = _show_mosaic(ax, pictures, cmap)
            h = pictures.shape[2]
            ax.set_yticks(_cell_centres(2, h))
            ax.set_yticklabels(["input", "reconstruction"], fontsize="small")
            if self.row_labels is not None:
                ax.set_xticks(_cell_centres(len(inputs), pictures.shape[3]))
                ax.set_xticklabels(self.row_labels, fontsize="x-small")
            self.axes_ = np.array([ax], dtype=object)
        else:
            n = len(inputs)
            if ax is None:
                fig, axes = _pyplot().subplots(
                    n, 1, figsize=(7, 1.6 * n + 0.6), sharex=True, squeeze=False
                )
                axes = axes.ravel()
            else:
                axes, fig = _new_axes(ax, n)
                axes = np.atleast_1d(axes)
            d = inputs.shape[1]
            x = np.arange(d)
            self.bars_ = []
            for i, a in enumerate(axes):
                self.bars_.append((
                    a.bar(x - 0.2, inputs[i], width=0.4, color="C0", label="input"),
                    a.bar(x + 0.2, recon[i], width=0.4, color="C1", label="reconstruction"),
                ))
                a.axhline(0, color="0.6", lw=0.5)
                if self.row_labels is not None:
                    a.set_ylabel(self.row_labels[i], fontsize="small")
            axes[0].legend(fontsize="small", ncols=2, loc="upper right")
            if self.feature_names is not None:
                axes[-1].set_xticks(x)
                axes[-1].set_xticklabels(
                    [str(f) for f in self.feature_names], rotation=90, fontsize="x-small"
                )
            else:
                axes[-1].set_xlabel("feature")
            self.axes_ = np.asarray(axes, dtype=object)
        self.figure_ = fig
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X, y=None, *, n_rows=None, rows=None, image_shape=None,
        feature_names=None, ax=None, cmap="gray_r",
    ):
        """Reconstruct rows of ``X`` (decode their codes) and draw them.

        Parameters
        ----------
        estimator : fitted skvae estimator with ``transform`` and ``inverse_transform``
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
            Classes of the rows, for a ``ConditionalVAE`` (required there).
        n_rows : int, default=None
            The first ``n_rows`` rows: 8 images or 4 rows of bars by default.
        rows : array-like of int, default=None
            The rows to draw, instead of the first ones.
        image_shape : tuple of int, default=None
        feature_names : array-like of str, default=None
            Tick labels of the bars; the estimator's ``feature_names_in_``
            when None.
        ax : matplotlib Axes or array of them, default=None
        cmap : str or Colormap, default="gray_r"

        Returns
        -------
        display : ReconstructionDisplay
        """
        _check_fitted_estimator(
            estimator, ["transform", "inverse_transform"], "ReconstructionDisplay"
        )
        shape = _image_shape(estimator, image_shape)
        X_rows = _rows(X)
        if rows is None:
            n_rows = (8 if shape is not None else 4) if n_rows is None else n_rows
            _check_count(n_rows, "n_rows", 1)
            rows = np.arange(min(n_rows, len(X_rows)))
        rows = _check_rows(rows, len(X_rows), "rows")
        selected = np.asarray(X)[rows]
        if hasattr(estimator, "classes_"):
            if y is None:
                raise ValueError(
                    f"ReconstructionDisplay of a {type(estimator).__name__} reconstructs "
                    "each row with its class: pass y."
                )
            labels = np.asarray(y)[rows]
            recon = estimator.inverse_transform(estimator.transform(selected, labels), labels)
        else:
            recon = estimator.inverse_transform(estimator.transform(selected))
        display = cls(
            X_rows[rows], recon, image_shape=shape,
            feature_names=_feature_names(estimator, feature_names, X_rows.shape[1]),
            row_labels=[f"row {r}" for r in rows],
        )
        return display.plot(ax=ax, cmap=cmap)


# ---------------------------------------------------------------- sample grid


class SampleGridDisplay:
    """Samples of a generative model, one group per class, cluster or the prior.

    Parameters
    ----------
    samples : ndarray of shape (n_groups, n_per_group, n_features)
    group_labels : list of str
        One per group: the class, cluster or "prior".
    image_shape : tuple of int, default=None
        Draw the samples as images (one row of the mosaic per group); None
        draws each sample as a thin profile of its features, coloured by
        group, with each group's mean profile bold.

    Attributes
    ----------
    image_ : matplotlib AxesImage or None
    lines_ : list of matplotlib Line2D or None
        The group means' profiles.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    """

    def __init__(self, samples, group_labels, *, image_shape=None):
        self.samples = samples
        self.group_labels = group_labels
        self.image_shape = image_shape

    def plot(self, ax=None, *, cmap="gray_r"):
        """Draw the samples.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        cmap : str or Colormap, default="gray_r"

        Returns
        -------
        display : SampleGridDisplay
        """
        ax, fig = _new_axes(ax)
        samples = np.asarray(self.samples, dtype=np.float64)
        self.image_ = self.lines_ = None
        if self.image_shape is not None:
            pictures = _as_pictures(samples, self.image_shape)
            self.image_ = _show_mosaic(ax, pictures, cmap)
            ax.set_yticks(_cell_centres(len(samples), pictures.shape[2]))
            ax.set_yticklabels([str(g) for g in self.group_labels], fontsize="small")
        else:
            self.lines_ = []
            for g, (group, label) in enumerate(zip(samples, self.group_labels, strict=True)):
                color = f"C{g % 10}"
                ax.plot(group.T, color=color, lw=0.5, alpha=0.35)
                self.lines_.append(
                    ax.plot(group.mean(axis=0), color=color, lw=2, label=str(label))[0]
                )
            ax.legend(fontsize="small", title="mean of")
            ax.set_xlabel("feature")
            ax.set_ylabel("value")
        self.ax_, self.figure_ = ax, fig
        return self

    @classmethod
    def from_estimator(
        cls, estimator, *, n_samples=8, groups=None, noise=False, random_state=0,
        image_shape=None, ax=None, cmap="gray_r",
    ):
        """Draw ``n_samples`` samples of each group.

        Parameters
        ----------
        estimator : fitted skvae estimator with ``sample``
        n_samples : int, default=8
            Samples per group.
        groups : array-like, default=None
            The classes of a ``ConditionalVAE`` or the clusters of a
            ``GMVAEClusterer`` to sample; None takes all of them. Other
            estimators sample their prior (one group).
        noise : bool, default=False
            Draw from ``p(x | z)`` (True) or show its mean (False).
        random_state : int, RandomState instance or None, default=0
        image_shape : tuple of int, default=None
        ax : matplotlib Axes, default=None
        cmap : str or Colormap, default="gray_r"

        Returns
        -------
        display : SampleGridDisplay
        """
        _check_fitted_estimator(estimator, ["sample"], "SampleGridDisplay")
        _check_count(n_samples, "n_samples", 1)
        if hasattr(estimator, "classes_"):
            groups = list(estimator.classes_) if groups is None else list(groups)
            samples = [
                estimator.sample(n_samples, y=g, random_state=random_state, noise=noise)[0]
                for g in groups
            ]
            labels = [str(g) for g in groups]
        elif hasattr(estimator, "n_clusters"):
            groups = list(range(estimator.n_clusters)) if groups is None else list(groups)
            samples = [
                estimator.sample(n_samples, random_state=random_state, cluster=g, noise=noise)[0]
                for g in groups
            ]
            labels = [f"cluster {g}" for g in groups]
        else:
            if groups is not None:
                raise ValueError(
                    f"{type(estimator).__name__} samples its prior: groups must be None."
                )
            out = estimator.sample(n_samples, random_state=random_state, noise=noise)
            samples, labels = [out[0] if isinstance(out, tuple) else out], ["prior"]
        display = cls(
            np.stack([_rows(s) for s in samples]), labels,
            image_shape=_image_shape(estimator, image_shape),
        )
        return display.plot(ax=ax, cmap=cmap)


# ------------------------------------------------------------------- training


class TrainingDisplay:
    """Loss curves and, for a VAE, the KL divergence of each latent dimension.

    Parameters
    ----------
    loss_curve : list of float
        Training loss per epoch.
    validation_loss_curve : list of float, default=None
    kl_per_dim : ndarray of shape (n_components,), default=None
        Drawn as bars beside the curves: a dimension with a KL near zero
        carries no information (posterior collapse).
    n_active_units : int, default=None
        Shown in the bars' title.

    Attributes
    ----------
    loss_line_ : matplotlib Line2D
    validation_line_ : matplotlib Line2D or None
    kl_bars_ : matplotlib BarContainer or None
    axes_ : ndarray of matplotlib Axes
        The curves' Axes, and the bars' when there are bars.
    figure_ : matplotlib Figure
    """

    def __init__(
        self, loss_curve, *, validation_loss_curve=None, kl_per_dim=None, n_active_units=None
    ):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.kl_per_dim = kl_per_dim
        self.n_active_units = n_active_units

    def plot(self, ax=None):
        """Draw the curves (and the KL bars).

        Parameters
        ----------
        ax : matplotlib Axes or pair of Axes, default=None
            One Axes for the curves, or two for the curves and the bars.

        Returns
        -------
        display : TrainingDisplay
        """
        with_bars = self.kl_per_dim is not None
        n_axes = 2 if with_bars else 1
        if ax is not None and np.size(np.asarray(ax, dtype=object)) == 1:
            n_axes, with_bars = 1, False
        axes, fig = _new_axes(ax, n_axes)
        axes = np.atleast_1d(axes)
        curves = axes[0]
        epochs = np.arange(1, len(self.loss_curve) + 1)
        (self.loss_line_,) = curves.plot(epochs, self.loss_curve, label="training")
        self.validation_line_ = None
        if self.validation_loss_curve is not None:
            (self.validation_line_,) = curves.plot(
                epochs, self.validation_loss_curve, label="validation"
            )
        curves.set_xlabel("epoch")
        curves.set_ylabel("loss (nats per row)")
        curves.legend(fontsize="small")
        self.kl_bars_ = None
        if with_bars:
            kl = np.asarray(self.kl_per_dim, dtype=np.float64)
            bars = axes[1]
            self.kl_bars_ = bars.bar(np.arange(1, len(kl) + 1), kl, color="C2")
            bars.set_xlabel("latent dimension")
            bars.set_ylabel("KL from the prior (nats)")
            bars.set_xticks(np.arange(1, len(kl) + 1))
            if self.n_active_units is not None:
                bars.set_title(f"{self.n_active_units} of {len(kl)} units active")
        self.axes_ = np.asarray(axes, dtype=object)
        self.figure_ = fig
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Draw a fitted estimator's ``loss_curve_`` (and ``validation_loss_curve_``,
        ``kl_per_dim_``).

        Parameters
        ----------
        estimator : fitted skvae estimator
        ax : matplotlib Axes or pair of Axes, default=None

        Returns
        -------
        display : TrainingDisplay
        """
        _check_fitted_estimator(estimator, ["loss_curve_"], "TrainingDisplay")
        display = cls(
            estimator.loss_curve_,
            validation_loss_curve=getattr(estimator, "validation_loss_curve_", None),
            kl_per_dim=getattr(estimator, "kl_per_dim_", None),
            n_active_units=getattr(estimator, "n_active_units_", None),
        )
        return display.plot(ax=ax)


# --------------------------------------------------------------- outlier score


class OutlierScoreDisplay:
    """A histogram of outlier scores with the detector's threshold.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        ``score_samples``: lower is more abnormal.
    threshold : float
        The detector's ``offset_``: rows scoring below it are outliers.
    is_outlier : ndarray of bool of shape (n_samples,), default=None
        True labels: the histogram is then split into inliers and outliers.
    feature_scores : ndarray of shape (n_features,), default=None
        ``score_features`` of one row, drawn as bars beside the histogram
        (lowest: the features that the model could least explain).
    feature_names : array-like of str, default=None

    Attributes
    ----------
    hist_ : list of matplotlib BarContainer
        One per group of rows (all, or inliers and outliers).
    threshold_line_ : matplotlib Line2D
    feature_bars_ : matplotlib BarContainer or None
    axes_ : ndarray of matplotlib Axes
    figure_ : matplotlib Figure
    """

    def __init__(
        self, scores, threshold, *, is_outlier=None, feature_scores=None, feature_names=None,
        row=None,
    ):
        self.scores = scores
        self.threshold = threshold
        self.is_outlier = is_outlier
        self.feature_scores = feature_scores
        self.feature_names = feature_names
        self.row = row

    def plot(self, ax=None, *, bins=50):
        """Draw the histogram (and the feature scores).

        Parameters
        ----------
        ax : matplotlib Axes or pair of Axes, default=None
        bins : int, default=50

        Returns
        -------
        display : OutlierScoreDisplay
        """
        n_axes = 2 if self.feature_scores is not None else 1
        axes, fig = _new_axes(ax, n_axes)
        axes = np.atleast_1d(axes)
        scores = np.asarray(self.scores, dtype=np.float64)
        hist = axes[0]
        edges = np.histogram_bin_edges(scores, bins=bins)
        if self.is_outlier is None:
            groups = [(scores, "rows", "C0")]
        else:
            flag = np.asarray(self.is_outlier, dtype=bool)
            groups = [(scores[~flag], "inliers", "C0"), (scores[flag], "outliers", "C3")]
        self.hist_ = [
            hist.hist(values, bins=edges, alpha=0.6, label=label, color=color)[2]
            for values, label, color in groups
        ]
        self.threshold_line_ = hist.axvline(
            self.threshold, color="k", ls="--", label="threshold (offset_)"
        )
        hist.set_xlabel("score_samples (lower: more abnormal)")
        hist.set_ylabel("rows")
        hist.legend(fontsize="small")
        self.feature_bars_ = None
        if self.feature_scores is not None:
            values = np.asarray(self.feature_scores, dtype=np.float64)
            names = (
                [str(f) for f in self.feature_names] if self.feature_names is not None
                else [str(j) for j in range(len(values))]
            )
            order = np.argsort(values)[: min(len(values), 20)]  # the 20 least explained
            bars = axes[1]
            self.feature_bars_ = bars.barh(np.arange(len(order)), values[order], color="C3")
            bars.set_yticks(np.arange(len(order)))
            bars.set_yticklabels([names[j] for j in order], fontsize="x-small")
            bars.invert_yaxis()
            bars.set_xlabel("score_features (nats)")
            title = "least explained features"
            bars.set_title(title if self.row is None else f"row {self.row}: {title}")
        self.axes_ = np.asarray(axes, dtype=object)
        self.figure_ = fig
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X, y=None, *, row=None, feature_names=None, ax=None, bins=50
    ):
        """Score ``X`` and draw the histogram.

        Parameters
        ----------
        estimator : fitted VAEOutlierDetector
            Or any fitted detector with ``score_samples`` and ``offset_``;
            ``row`` needs ``score_features``.
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
            True labels, True or 1 for an outlier.
        row : int, default=None
            Also draw ``score_features`` of this row of ``X``.
        feature_names : array-like of str, default=None
            Names of the features; the estimator's ``feature_names_in_`` when
            None (a fit on a DataFrame), else their indices.
        ax : matplotlib Axes or pair of Axes, default=None
        bins : int, default=50

        Returns
        -------
        display : OutlierScoreDisplay
        """
        _check_fitted_estimator(
            estimator, ["score_samples", "offset_"], "OutlierScoreDisplay"
        )
        scores = estimator.score_samples(X)
        is_outlier = None
        if y is not None:
            y = np.asarray(y)
            if y.shape != scores.shape or not np.isin(y, [0, 1]).all():
                raise ValueError(
                    f"y must hold one label per row of X ({len(scores)}), True or 1 for an "
                    "outlier and False or 0 for an inlier."
                )
            is_outlier = y.astype(bool)
        feature_scores = None
        if row is not None:
            _check_fitted_estimator(estimator, ["score_features"], "OutlierScoreDisplay(row=)")
            row = int(_check_rows([row], len(scores), "row", count=1)[0])
            feature_scores = estimator.score_features(np.asarray(X)[[row]])[0]
        display = cls(
            scores, estimator.offset_, is_outlier=is_outlier, feature_scores=feature_scores,
            feature_names=_feature_names(estimator, feature_names, np.shape(X)[-1]), row=row,
        )
        return display.plot(ax=ax, bins=bins)
