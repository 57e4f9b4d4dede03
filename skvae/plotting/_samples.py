"""What a fitted model generates, and how its training went."""

import numpy as np

from ._common import (
    _as_pictures,
    _cell_centres,
    _check_count,
    _Fitted,
    _new_axes,
    _note_units,
    _rows,
    _show_mosaic,
)

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
    feature_names : list of str, default=None
        The profiles' tick labels (up to 40 features are named); None numbers
        the features.
    value_label : str, default="value"
        The profiles' vertical axis label: the units of the values drawn.

    Attributes
    ----------
    image_ : matplotlib AxesImage or None
    lines_ : list of matplotlib Line2D or None
        The group means' profiles.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    units_note_ : str or None
        Set by ``from_estimator``: None when the values drawn are in the units
        of ``X``; otherwise what units they are in (a Pipeline whose earlier
        steps cannot be inverted), also written on the figure.
    """

    def __init__(
        self, samples, group_labels, *, image_shape=None, feature_names=None,
        value_label="value",
    ):
        self.samples = samples
        self.group_labels = group_labels
        self.image_shape = image_shape
        self.feature_names = feature_names
        self.value_label = value_label

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
        samples = np.asarray(self.samples, dtype=np.float64)
        if samples.ndim != 3:
            raise ValueError(
                f"samples must have shape (n_groups, n_per_group, n_features), got "
                f"{samples.shape}."
            )
        if len(self.group_labels) != len(samples):
            raise ValueError(
                f"group_labels has {len(self.group_labels)} labels for {len(samples)} groups "
                "of samples: give one per group."
            )
        names = self.feature_names
        if isinstance(names, str):
            raise ValueError("feature_names must be a list of names, not one string.")
        if names is not None and len(names) != samples.shape[-1]:
            raise ValueError(
                f"feature_names has {len(names)} names for {samples.shape[-1]} features."
            )
        ax, fig = _new_axes(ax)
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
            if names is not None and len(names) <= 40:
                ax.set_xticks(range(len(names)))
                ax.set_xticklabels([str(n) for n in names], rotation=60, ha="right",
                                   fontsize="small")
            ax.set_xlabel("feature")
            ax.set_ylabel(self.value_label)
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
        fitted = _Fitted(estimator, "SampleGridDisplay")
        fitted.require("sample", fitted.tags.samples is not None, "sample")
        _check_count(n_samples, "n_samples", 1)
        model = fitted.model
        if fitted.tags.labels in ("classes", "clusters"):
            if fitted.tags.labels == "classes":
                every, key = list(model.classes_), "y"
            else:
                every, key = list(range(model.n_clusters)), "cluster"
            groups = every if groups is None else list(np.atleast_1d(groups))
            if not groups:
                raise ValueError(
                    f"groups must name at least one {'class' if key == 'y' else 'cluster'} "
                    "to sample, got none."
                )
            samples = [
                model.sample(n_samples, random_state=random_state, noise=noise, **{key: g})[0]
                for g in groups
            ]
            labels = [str(g) if key == "y" else f"cluster {g}" for g in groups]
        else:
            if groups is not None:
                raise ValueError(f"{fitted.name} samples its prior: groups must be None.")
            out = model.sample(n_samples, random_state=random_state, noise=noise)
            samples, labels = [out[0] if fitted.tags.samples == "X_y" else out], ["prior"]
        samples = np.stack([_rows(fitted.to_data(s)) for s in samples])
        display = cls(
            samples, labels, image_shape=fitted.image_shape(image_shape, samples.shape[-1]),
        )
        return _note_units(display.plot(ax=ax, cmap=cmap), fitted)


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
    units_note_ : None
        Set by ``from_estimator``, as on the Displays that draw rows: codes and
        loss curves have no units of ``X``.
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
        fitted = _Fitted(estimator, "TrainingDisplay")
        model, statistics = fitted.model, fitted.tags.latent_statistics
        display = cls(
            model.loss_curve_,
            validation_loss_curve=model.validation_loss_curve_,
            kl_per_dim=model.kl_per_dim_ if statistics else None,
            n_active_units=model.n_active_units_ if statistics else None,
        )
        display = display.plot(ax=ax)
        display.units_note_ = None
        return display
