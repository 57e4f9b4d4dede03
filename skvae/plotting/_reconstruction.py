"""Rows decoded from codes: interpolations between rows, and reconstructions."""

import numpy as np

from ._common import (
    _as_pictures,
    _cell_centres,
    _check_count,
    _check_rows,
    _Fitted,
    _n_rows,
    _new_axes,
    _note_units,
    _pyplot,
    _show_mosaic,
    _take,
)

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
    units_note_ : str or None
        Set by ``from_estimator``: None when the values drawn are in the units
        of ``X``; otherwise what units they are in (a Pipeline whose earlier
        steps cannot be inverted), also written on the figure.
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
        fitted = _Fitted(estimator, "InterpolationDisplay")
        decode = fitted.decoder(y)
        fitted.require("transform", fitted.tags.codes is not None)
        if method not in ("linear", "spherical"):
            raise ValueError(f'method must be "linear" or "spherical", got {method!r}.')
        _check_count(n_steps, "n_steps", 2)
        n = _n_rows(X)
        rows = _check_rows(rows, n, "rows", count=2)
        ends = _take(X, rows)
        codes = np.asarray(fitted.codes(ends, None if y is None else np.repeat(y, 2)),
                           dtype=np.float64)
        t = np.linspace(0.0, 1.0, n_steps)
        if method == "linear":
            path = codes[0] + t[:, None] * (codes[1] - codes[0])
        else:
            path = _slerp(codes[0], codes[1], t)
        decoded = np.asarray(decode(path), dtype=np.float64)
        display = cls(
            decoded, inputs=fitted.data_rows(ends) if show_inputs else None,
            image_shape=fitted.image_shape(image_shape, decoded.shape[-1]), method=method,
        )
        return _note_units(display.plot(ax=ax, cmap=cmap), fitted)


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
    units_note_ : str or None
        Set by ``from_estimator``: None when the values drawn are in the units
        of ``X``; otherwise what units they are in (a Pipeline whose earlier
        steps cannot be inverted), also written on the figure.
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
        fitted = _Fitted(estimator, "ReconstructionDisplay")
        fitted.require(
            "transform and inverse_transform",
            fitted.tags.codes is not None and fitted.tags.decodes,
        )
        n = _n_rows(X)
        if rows is None:
            width = fitted.data_rows(_take(X, [0])).shape[1]
            images = fitted.image_shape(image_shape, width) is not None
            n_rows = (8 if images else 4) if n_rows is None else n_rows
            _check_count(n_rows, "n_rows", 1)
            rows = np.arange(min(n_rows, n))
        rows = _check_rows(rows, n, "rows")
        selected = _take(X, rows)
        Z = fitted.to_model(selected)
        if fitted.conditional:
            labels = fitted.row_labels(y, n)[rows]
            recon = fitted.model.inverse_transform(fitted.model.transform(Z, labels), labels)
        else:
            recon = fitted.model.inverse_transform(fitted.model.transform(Z))
        inputs = fitted.data_rows(selected)
        display = cls(
            inputs, fitted.to_data(recon),
            image_shape=fitted.image_shape(image_shape, inputs.shape[1]),
            feature_names=fitted.feature_names(feature_names, inputs.shape[1]),
            row_labels=[f"row {r}" for r in rows],
        )
        return _note_units(display.plot(ax=ax, cmap=cmap), fitted)
