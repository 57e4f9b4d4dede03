"""How outlying the rows are: the scores beside the threshold, and one row's features."""

import numpy as np

from ._common import (
    _check_count,
    _check_rows,
    _Fitted,
    _new_axes,
    _take,
)

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
    n_infinite_ : int
        Rows whose score is ``-inf`` (rows beyond anything the model can
        explain, a valid score): drawn in a bar at the left edge and counted
        in the title.
    feature_bars_ : matplotlib BarContainer or None
    axes_ : ndarray of matplotlib Axes
    figure_ : matplotlib Figure
    units_note_ : str or None
        Set by ``from_estimator``: None, or, for a Pipeline, a note that the
        feature scores are of the features the detector sees (after the
        earlier steps), also written on the figure.
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
        scores, self.n_infinite_ = _drawable(np.asarray(self.scores, dtype=np.float64))
        values = scores[np.isfinite(scores)]
        hist = axes[0]
        edges = np.histogram_bin_edges(np.append(values, self.threshold), bins=bins)
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
        if self.n_infinite_:
            hist.set_title(
                f"{self.n_infinite_} row(s) score -inf: drawn at the left edge", fontsize="small"
            )
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
        estimator : fitted VAEOutlierDetector, or a Pipeline ending in one
            Or any fitted detector with ``score_samples`` and ``offset_``;
            ``row`` needs ``score_features``. ``X`` runs through a
            pipeline's earlier steps; ``score_features`` scores the features
            the detector sees.
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
        fitted = _Fitted(estimator, "OutlierScoreDisplay", skvae_only=False)
        model = fitted.model
        fitted.require(
            "outlier scores (score_samples and offset_)",
            fitted.tags is None or fitted.tags.outlier_scores,
            "score_samples",
            "offset_",
        )
        _check_count(bins, "bins", 1)
        Z = fitted.to_model(X)
        scores = model.score_samples(Z)
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
            fitted.require("score_features (for row=)", hasattr(model, "score_features"))
            row = int(_check_rows([row], len(scores), "row", count=1)[0])
            feature_scores = model.score_features(_take(Z, [row]))[0]
        n_features = np.shape(Z)[-1]
        if feature_names is not None or not fitted.steps:
            names = fitted.feature_names(feature_names, n_features)
        else:  # the features scored are the model's, after the earlier steps
            names = fitted.model_feature_names()
        display = cls(
            scores, model.offset_, is_outlier=is_outlier, feature_scores=feature_scores,
            feature_names=names, row=row,
        ).plot(ax=ax, bins=bins)
        display.units_note_ = None
        if fitted.steps and feature_scores is not None:
            display.units_note_ = (
                f"the features of {fitted.name}'s input, after the pipeline's earlier steps"
            )
            display.figure_.text(
                0.5, 0.005, f"Feature scores: {display.units_note_}.", ha="center",
                va="bottom", fontsize="x-small", color="0.3",
            )
        return display


def _drawable(scores):
    """Scores with -inf (and +inf) put just beyond the finite ones, and how many were."""
    infinite = np.isinf(scores)
    n = int(infinite.sum())
    if not n:
        return scores, 0
    finite = scores[~infinite]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
    margin = 0.05 * max(high - low, 1.0)
    return np.where(scores == -np.inf, low - margin, np.where(scores == np.inf, high + margin,
                                                              scores)), n
