"""Where the codes lie: the latent space, and the decoded manifold over it."""

import numpy as np
from scipy.stats import norm
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_is_fitted

from .._registry import final_estimator
from ._common import (
    _as_pictures,
    _cell_centres,
    _check_count,
    _check_dims,
    _check_quantile_range,
    _Fitted,
    _is_discrete,
    _new_axes,
    _note_units,
    _show_mosaic,
)

# Grid points along each axis of a ManifoldDisplay: beyond this the grid of
# decoded rows (n_points ** 2) is too small to see and large in memory.
_MAX_GRID = 100

# --------------------------------------------------------------- latent space


def _limit_to_quantiles(ax, points, q):
    """Limit ``ax`` to the quantiles ``q`` of ``points``, widened by 5%; the count left out."""
    low, high = np.quantile(points[:, :2], q, axis=0)
    span = np.where(high > low, high - low, 1.0)
    low, high = low - 0.05 * span, high + 0.05 * span
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    outside = int(np.sum(np.any((points[:, :2] < low) | (points[:, :2] > high), axis=1)))
    if outside:
        ax.annotate(
            f"{outside} of {len(points)} points {'lies' if outside == 1 else 'lie'} "
            "outside the axes "
            f"(they span the {q[0]:g} to {q[1]:g} quantiles)",
            xy=(0.5, 0), xycoords="axes fraction", xytext=(0, -32),
            textcoords="offset points", ha="center", va="top", fontsize="small",
        )
    return outside



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
    quantile_range : tuple of two floats or None, default=None
        Limit each axis to these quantiles of the points, such as
        ``(0.01, 0.99)``, widened by 5% on each side, so that a few far
        points do not squeeze the rest into a corner; the number of points
        left outside is written under the axes. None shows every point.

    Attributes
    ----------
    n_outside_ : int
        Points outside the axes (0 without ``quantile_range``).
    scatter_ : matplotlib PathCollection
    legend_ : matplotlib Legend or None
    colorbar_ : matplotlib Colorbar or None
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    units_note_ : None
        Set by ``from_estimator``, as on the Displays that draw rows: codes and
        loss curves have no units of ``X``.
    """

    def __init__(
        self, codes, *, color=None, color_label=None, axis_labels=("z1", "z2"),
        estimator_name=None, quantile_range=None,
    ):
        self.codes = codes
        self.color = color
        self.color_label = color_label
        self.axis_labels = axis_labels
        self.estimator_name = estimator_name
        self.quantile_range = quantile_range

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
        q = None if self.quantile_range is None else _check_quantile_range(self.quantile_range)
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
        self.n_outside_ = 0
        if q is not None:
            self.n_outside_ = _limit_to_quantiles(ax, codes, q)
        self.ax_, self.figure_ = ax, fig
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X, y=None, *, color="auto", dims=None, quantile_range=None, ax=None,
        cmap=None, **scatter_kwargs,
    ):
        """Encode ``X`` and draw its codes.

        Parameters
        ----------
        estimator : fitted skvae estimator or VAEMap
            Any of them; an outlier detector's codes are its posterior means,
            a :class:`~skvae.VAEMap`'s its map.
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
        quantile_range : tuple of two floats or None, default=None
            Limit the axes to these quantiles of the points (see the class).
        ax : matplotlib Axes, default=None
        cmap : str or Colormap, default=None
        **scatter_kwargs
            Passed to ``Axes.scatter``.

        Returns
        -------
        display : LatentSpaceDisplay
        """
        from .._map import VAEMap

        if isinstance(final_estimator(estimator), VAEMap):  # the map is the picture
            check_is_fitted(estimator)
            auto = isinstance(color, str) and color == "auto"
            if auto:
                color = None if y is None else np.asarray(y)
            display = cls.from_codes(
                estimator.transform(X), color, color_label="class" if auto and y is not None
                else None, dims=dims, quantile_range=quantile_range,
                estimator_name="VAEMap", ax=ax, cmap=cmap, **scatter_kwargs,
            )
            display.units_note_ = None
            return display
        fitted = _Fitted(estimator, "LatentSpaceDisplay")
        codes = fitted.codes(X, y)
        color_label = None
        if isinstance(color, str) and color == "auto":
            color = None
            if y is not None:
                color, color_label = np.asarray(y), "class"
            elif fitted.tags.labels == "clusters":
                color, color_label = fitted.model.predict(fitted.to_model(X)), "cluster"
            elif fitted.tags.outlier_scores:
                scores = fitted.model.score_samples(fitted.to_model(X))
                color, color_label = scores, "score (low: outlying)"
        display = cls.from_codes(
            codes, color, color_label=color_label, dims=dims, quantile_range=quantile_range,
            estimator_name=fitted.name, ax=ax, cmap=cmap, **scatter_kwargs,
        )
        display.units_note_ = None
        return display

    @classmethod
    def from_codes(
        cls, codes, color=None, *, color_label=None, dims=None, quantile_range=None,
        estimator_name=None, ax=None, cmap=None, **scatter_kwargs,
    ):
        """Draw codes already computed (``transform``'s, or any other embedding's).

        Parameters
        ----------
        codes : array-like of shape (n_samples, n_dimensions)
        color : array-like of shape (n_samples,), default=None
        color_label : str, default=None
        dims : None, "pca" or tuple of two ints, default=None
            As in :meth:`from_estimator`.
        quantile_range : tuple of two floats or None, default=None
            Limit the axes to these quantiles of the points (see the class).
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
        if len(codes) == 0:
            raise ValueError("There are no codes to draw (0 rows).")
        bad = ~np.isfinite(codes).all(axis=1)
        if bad.any():
            raise ValueError(
                f"{bad.sum()} of the {len(codes)} codes hold NaN or infinite values (e.g. "
                f"row {np.flatnonzero(bad)[0]}); drop those rows before drawing."
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
            estimator_name=estimator_name, quantile_range=quantile_range,
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
    units_note_ : str or None
        Set by ``from_estimator``: None when the values drawn are in the units
        of ``X``; otherwise what units they are in (a Pipeline whose earlier
        steps cannot be inverted), also written on the figure.
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
        fitted = _Fitted(estimator, "ManifoldDisplay")
        fitted.require(
            "a continuous code of n_components dimensions",
            fitted.tags.codes in ("stochastic", "deterministic"),
        )
        decode = fitted.decoder(y)
        k = int(fitted.model._n_features_out)  # the width of transform's codes
        dims = _check_dims(dims, k)
        _check_count(n_points, "n_points", 2)
        if n_points > _MAX_GRID:
            raise ValueError(
                f"n_points must be at most {_MAX_GRID} (a grid of n_points ** 2 decoded "
                f"rows), got {n_points}."
            )
        lo, hi = _check_quantile_range(quantile_range, open_ends=True)
        if X is None:
            if fitted.tags.codes != "stochastic":
                raise ValueError(
                    f"{fitted.name} has no standard normal prior to take a grid "
                    "from: pass X, and the grid spans the codes of X."
                )
            centre = np.zeros(k)
            q = norm.ppf(np.linspace(lo, hi, n_points))
            axes_values = (q, q)
        else:
            labels = None if y is None else np.repeat(y, len(X))
            codes = np.asarray(fitted.codes(X, labels), dtype=np.float64)
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
            decoded, grid_x, grid_y, image_shape=fitted.image_shape(image_shape, decoded.shape[-1]),
            dims=dims,
        )
        return _note_units(display.plot(ax=ax, cmap=cmap), fitted)
