"""VAEOutlierDetector: anomaly detection by reconstruction probability."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseVAE
from ._docs import fill_doc
from ._registry import ModelTags
from ._terms import DenoisingMixin
from .models import TrimmedELBOLoss, VAEModule

# "auto" threshold: Tukey's fence, this many interquartile ranges below the
# first quartile of the training scores.
_AUTO_IQRS = 1.5


@fill_doc
class VAEOutlierDetector(OutlierMixin, DenoisingMixin, BaseVAE):
    """Outlier detection with a variational autoencoder.

    A VAE is trained on (mostly normal) data; a sample is scored by how well
    the model explains it, from two views:

    * the reconstruction probability of An & Cho (2015): the average over
      ``n_draws`` posterior draws ``z_l ~ q(z | x)`` of ``log p(x | z_l)``
      under the decoder's own likelihood, so features with a large learned
      noise variance count less. The likelihood is by default a Student-t
      with its scale and degrees of freedom learned per feature: on a
      feature with heavy tails, one extreme value costs a row log-density
      that grows like the log of its distance, not its square, and the
      outliers among the training rows pull the fit less. It flags rows
      whose features break the relations of the training data;
    * the latent view, ``-KL(q(z | x) || p(z))``: how far the row's code is
      from where the training rows' codes are. It flags rows that the
      decoder reconstructs well but that lie away from the data, which a
      flexible decoder does for whole unseen classes.

    The default score (``score_method="combined"``) is the sum of the two,
    each centred on its training median and divided by its training
    interquartile range, so that each view has an equal say whatever the
    number of features (in nats, the reconstruction term dominates the ELBO
    on most data). On ADBench's data sets it beat each view alone and the
    ELBO (``benchmarks/bench_outliers.py``; the user guide has the table
    beside IsolationForest and PyOD). The draws are seeded from
    ``random_state``: a fitted model always gives a sample the same score.

    The API is that of :class:`sklearn.ensemble.IsolationForest`:
    :meth:`score_samples` (higher is more normal), ``offset_`` set from
    ``contamination``, :meth:`decision_function` (negative for outliers),
    :meth:`predict` (+1 inlier, -1 outlier) and ``fit_predict``;
    :meth:`score_features` shows which features made a row abnormal.

    The training data are assumed to hold outliers too: once the KL warm-up
    is over, the ``trim`` share of each mini-batch's rows with the highest
    loss are left out of it, so the model does not learn to explain them.
    The detector trains for 100 epochs by default, half the transformers'
    200 (the user guide's comparison with ``IsolationForest`` says why).

    Parameters
    ----------
    n_components : int, default=4
        Size of the latent code.

    contamination : "auto" or float in (0, 0.5], default="auto"
        Expected share of outliers, which sets ``offset_``: with a float, the
        score below which that share of the training rows falls; with
        ``"auto"``, Tukey's fence on the training scores, the lower whisker
        of a box plot: the first quartile minus 1.5 interquartile ranges. It
        assumes no share; a few percent of clean rows fall below it (the
        scores have a long lower tail).

    score_method : {"combined", "reconstruction", "elbo", "likelihood"}, \
default="combined"
        What :meth:`score_samples` returns: the standardised sum of the two
        views (unitless, see above); the reconstruction probability
        ``E_q[log p(x | z)]`` (nats); the ELBO, the reconstruction
        probability minus ``KL(q(z | x) || p(z))`` (nats); or the
        importance-weighted bound on ``log p(x)`` (nats).

    n_draws : int, default=10
        Posterior draws per sample for the scores.

    trim : float in [0, 0.5), default=0.2
        Share of each training batch's highest-loss rows left out of the
        loss after the KL warm-up: the 20% trimmed mean by default, the
        usual robust choice, which leaves room for data sets with many
        outliers. 0 trains on every row.

    denoising : {"gaussian", "mask"} or None, default="gaussian"
        Corruption of the training inputs (a denoising VAE): in training the
        encoder sees each row with Gaussian noise of ``noise_level`` standard
        deviations of each feature added (``"gaussian"``; in a table of
        mixed columns, its real and count columns), or with each entry
        replaced by its feature's training mean (in a table, made missing)
        with probability ``noise_level`` (``"mask"``), and the likelihood
        scores the clean row. The encoder overfits the training
        rows less, so unseen inliers are scored more like the training ones.
        The scores see the rows as they are. None trains on the rows as they
        are.

    noise_level : float, default=0.1
        With ``denoising="gaussian"``, the standard deviation of the noise in
        units of each feature's training standard deviation; with
        ``"mask"``, the probability of each entry being masked (below 1). Images
        read by a convolutional encoder use the pixels' pooled mean and
        standard deviation instead of each pixel's.

    {shared_parameters}

    Attributes
    ----------
    offset_ : float
        Threshold on :meth:`score_samples`:
        ``decision_function = score_samples - offset_``.

    view_centers_, view_scales_ : ndarray of shape (2,)
        Median and interquartile range of the reconstruction and latent
        views on the training data, which standardise the combined score.

    missing_fill_ : ndarray of shape (n_features,)
        Only for a table modelled column by column (see ``column_types``):
        what a missing entry of each column adds to a row's reconstruction
        view, the column's median reconstruction log-likelihood over the
        training rows that have it, so that an empty cell makes a row
        neither more nor less normal. A category that the model was not
        fitted on is read as an empty cell by default, with a warning
        (see ``handle_unknown``): set ``handle_unknown="error"`` where a
        new category should stop the scoring rather than count as typical.

    {shared_attributes}

    See Also
    --------
    sklearn.ensemble.IsolationForest : The contract this detector follows.
    VAETransformer : The same model as a transformer and density.

    References
    ----------
    .. [1] J. An and S. Cho, "Variational Autoencoder based Anomaly Detection
       using Reconstruction Probability", SNU Data Mining Center, 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae import VAEOutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 5))
    >>> X[:3] += 8                       # three obvious outliers
    >>> det = VAEOutlierDetector(contamination=0.01, max_iter=20, random_state=0)
    >>> det.fit_predict(X)[:5].tolist()
    [-1, -1, -1, 1, 1]
    """

    _parameter_constraints = {
        **BaseVAE._parameter_constraints,
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
        ],
        "score_method": [StrOptions({"combined", "reconstruction", "elbo", "likelihood"})],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
        "trim": [Interval(Real, 0, 0.5, closed="left")],
        **DenoisingMixin._denoising_constraints,
    }

    def __skvae_tags__(self):
        return ModelTags(codes=None, decodes=False, samples=None, outlier_scores=True)

    def __init__(
        self,
        n_components=4,
        *,
        contamination="auto",
        score_method="combined",
        n_draws=10,
        trim=0.2,
        denoising="gaussian",
        noise_level=0.1,
        architecture="mlp",
        image_shape=None,
        conv_channels=(32, 64),
        encoder=None,
        decoder=None,
        hidden_layer_sizes=None,
        activation="gelu",
        beta=1.0,
        kl_warmup=0.25,
        likelihood="student_t",
        variance="feature",
        max_iter=100,
        max_steps=1000,
        batch_size="auto",
        learning_rate_init=3e-3,
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
        column_types=None,
        handle_unknown="warn",
    ):
        super().__init__(
            n_components=n_components,
            architecture=architecture,
            image_shape=image_shape,
            conv_channels=conv_channels,
            encoder=encoder,
            decoder=decoder,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            beta=beta,
            kl_warmup=kl_warmup,
            likelihood=likelihood,
            variance=variance,
            max_iter=max_iter,
            max_steps=max_steps,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            learning_rate=learning_rate,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            device=device,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            warm_start=warm_start,
            buffer_size=buffer_size,
            precision=precision,
            compile=compile,
            column_types=column_types,
            handle_unknown=handle_unknown,
        )
        self.contamination = contamination
        self.score_method = score_method
        self.n_draws = n_draws
        self.trim = trim
        self.denoising = denoising
        self.noise_level = noise_level

    _module_class = VAEModule
    _criterion_class = TrimmedELBOLoss
    _mlp_hidden_layer_sizes = (128, 64)

    def _module_params(self, X):
        return {**super()._module_params(X), **self._corruption_params()}

    def _criterion_params(self):
        return {"beta": self.beta, "trim": self.trim}

    def _fit(self, X, warm, inputs, random_state=None):
        super()._fit(X, warm, inputs, random_state)
        self.__dict__.pop("missing_fill_", None)
        if getattr(self, "_table_", None) is not None:
            # what a missing entry of each column adds to the reconstruction
            # view: the column's median over the training rows that have it,
            # so that a hole makes a row neither more nor less normal
            per_column = self._feature_scores(X)
            observed = ~np.isnan(X)
            per_column[~observed] = np.nan
            fill = np.nanmedian(np.where(observed.any(axis=0), per_column, 0.0), axis=0)
            self.missing_fill_ = np.nan_to_num(fill)
        views = self._views(X)
        q1, median, q3 = np.percentile(views, [25, 50, 75], axis=0)
        self.view_centers_ = median
        # a view that is constant on the training data (a collapsed code)
        # gets unit scale rather than a division by zero
        self.view_scales_ = np.where(q3 - q1 > 0, q3 - q1, 1.0)
        scores = self._scores(X, views)
        if self.contamination == "auto":
            q1, q3 = np.percentile(scores, [25, 75])
            self.offset_ = float(q1 - _AUTO_IQRS * (q3 - q1))
        else:
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        return self

    def _views(self, X):
        """Reconstruction probability and ``-KL`` of each row, (n_samples, 2)."""
        eps = self._score_noise(self.n_draws, moment_matched=True)

        def views(module, xb):
            log_px, _, kl = self._log_weight_draws(module, xb, eps)
            return torch.stack([log_px.mean(0), -kl], dim=1)

        views = self._map_blocks(X, views, dtype=np.float64)
        views[:, 0] += self._log_jacobian  # nats of X
        fill = getattr(self, "missing_fill_", None)
        if fill is not None:
            views[:, 0] += np.isnan(np.asarray(X)) @ fill
        return views

    def _scores(self, X, views=None):
        if self.score_method == "likelihood":
            return self._score_samples(X, self.n_draws, importance_weighted=True)
        views = self._views(X) if views is None else views
        if self.score_method == "combined":
            return ((views - self.view_centers_) / self.view_scales_).sum(axis=1)
        if self.score_method == "elbo":
            return views.sum(axis=1)  # reconstruction - KL
        return views[:, 0]

    def score_samples(self, X):
        """Normality score of each sample (higher is more normal).

        Which score depends on ``score_method``: by default the standardised
        sum of the reconstruction and latent views (unitless; 0 is a typical
        training row), else a log-likelihood term in nats.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._scores(X)

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers (``decision_function < 0``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to classify.

        Returns
        -------
        is_inlier : ndarray of shape (n_samples,)
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    def score_features(self, X):
        """Per-feature reconstruction log-likelihood, to see why a row is abnormal.

        ``E_q[log p(x_j | z)]`` for every feature ``j``, averaged over the
        same ``n_draws`` posterior draws as the scores: the lowest entries of
        a row are the features that the model could least explain. Summed
        over the features it is the reconstruction probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to explain.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_features)
            In nats; lower is more abnormal. NaN where an entry of a table is
            missing (it has no score).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        scores = self._feature_scores(X)
        if getattr(self, "_table_", None) is not None:
            scores[np.isnan(np.asarray(X))] = np.nan  # a missing entry has no score
        return scores

    def _feature_scores(self, X):
        """``score_features`` of validated ``X``, in nats of each feature of X."""
        eps = self._score_noise(self.n_draws, moment_matched=True)
        scores = self._map_blocks(
            X, lambda m, xb: m.feature_log_px(xb, eps), dtype=np.float64
        )
        return scores - math.log(self.x_unit_)
