"""VAEImputer: missing entries of a table filled in by a VAE of its observed entries."""

from numbers import Integral

import numpy as np
import torch
from sklearn.base import TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._base import BaseVAE
from ._data import is_out_of_core
from ._docs import fill_doc
from ._random import child_seed, seeded_draws
from ._registry import ModelTags
from ._tables import is_frame
from ._terms import DenoisingMixin
from .models import ELBOLoss, VAEModule


@fill_doc
class VAEImputer(DenoisingMixin, TransformerMixin, BaseVAE):
    """Imputation of missing values with a variational autoencoder (MIWAE).

    A VAE is fitted to the observed entries of the table, each column with
    the likelihood of its type (see ``column_types``: numbers, counts,
    binary, nominal and ordinal categories), its encoder told which entries
    are missing; a missing entry adds nothing to the training loss. Each
    missing entry is then filled in from the rest of its row: with the
    importance-weighted estimate of MIWAE (Mattei & Frellsen 2019),
    ``sum_l w_l E[x_miss | z_l]`` over ``n_draws`` codes ``z_l`` drawn from
    the encoder, each weighted by how well it explains the row's observed
    entries (``w_l`` proportional to ``p(x_obs | z_l) p(z_l) / q(z_l |
    x_obs)``). A real column or a count gets that conditional mean (a count
    rounded), a category the most probable one under it. Observed entries
    are returned as they are.

    With ``sample_posterior=True`` each missing entry is a draw from its
    conditional distribution instead (sampling importance resampling: one
    ``z_l`` drawn with the weights ``w_l``, then ``x_miss`` from ``p(x_miss |
    z_l)``): calls with different ``random_state`` give multiple
    imputations, as :class:`~sklearn.impute.IterativeImputer` does.

    An imputer reads tables only: of the shared parameters below,
    ``architecture`` is ``"mlp"``, ``image_shape`` None, and ``likelihood``
    (``"gaussian"`` or ``"student_t"``) is the distribution of the real
    columns; an ``encoder`` of your own reads the encoded table (see
    ``column_types``).

    Missing entries are NaN, None, ``pd.NA`` or ``NaT``. ``transform``
    returns an array (of objects where the table has categories) or, under
    ``set_output(transform="pandas")``, a DataFrame with the columns' dtypes
    (categories as categories, counts as integers).

    Parameters
    ----------
    n_components : int, default=4
        Size of the latent code.

    add_indicator : bool, default=False
        Append a column per feature that had missing entries at fit, 1 where
        the entry was missing (as :class:`~sklearn.impute.MissingIndicator`
        gives it), so that an estimator after the imputer can use the
        pattern of missing entries.

    sample_posterior : bool, default=False
        Draw each imputation from its conditional distribution, seeded by
        ``random_state``, rather than its mean or most probable category.

    n_draws : int, default=100
        Codes drawn for each row to weigh (the ``L`` of MIWAE's estimate).

    denoising : {"gaussian", "mask"} or None, default="mask"
        Corruption of the training inputs: with ``"mask"`` the encoder sees
        each observed entry made missing with probability ``noise_level``,
        and the likelihood scores the entry; the encoder learns to infer
        what it does not see, the task imputation sets it. ``"gaussian"``
        adds noise of ``noise_level`` standard deviations to real and count
        columns. None trains on the rows as they are.

    noise_level : float, default=0.2
        The probability of each entry being masked (``"mask"``), or the
        noise's standard deviation (``"gaussian"``).

    {shared_parameters}

    Attributes
    ----------
    {shared_attributes}

    indicator_features_ : ndarray of int
        The features with missing entries at fit: those ``add_indicator``
        adds a column for.

    See Also
    --------
    sklearn.impute.IterativeImputer : Imputation by regressing each feature
        on the others, in rounds.
    sklearn.impute.KNNImputer : Imputation from the nearest complete rows.

    References
    ----------
    .. [1] P.-A. Mattei and J. Frellsen, "MIWAE: Deep Generative Modelling
       and Imputation of Incomplete Data Sets", ICML 2019.
    .. [2] A. Nazabal, P. M. Olmos, Z. Ghahramani and I. Valera, "Handling
       Incomplete Heterogeneous Data using VAEs", Pattern Recognition 107, 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_wine
    >>> from skvae import VAEImputer
    >>> X = load_wine().data
    >>> X_missing = X.copy()
    >>> X_missing[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    >>> imputer = VAEImputer(max_iter=20, random_state=0)
    >>> X_filled = imputer.fit_transform(X_missing)
    >>> bool(np.isnan(X_filled).any())
    False
    """

    _parameter_constraints = {
        **BaseVAE._parameter_constraints,
        **DenoisingMixin._denoising_constraints,
        "add_indicator": ["boolean"],
        "sample_posterior": ["boolean"],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
    }
    _module_class = VAEModule
    _criterion_class = ELBOLoss
    # every table goes through the column-by-column path: a fit on complete
    # rows must still impute the rows that are not
    _always_table = True

    def __skvae_tags__(self):
        return ModelTags(codes=None, decodes=False, imputes=True, images=False)

    def __init__(
        self,
        n_components=4,
        *,
        add_indicator=False,
        sample_posterior=False,
        n_draws=100,
        denoising="mask",
        noise_level=0.2,
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
        max_steps=2000,
        batch_size="auto",
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
        self.add_indicator = add_indicator
        self.sample_posterior = sample_posterior
        self.n_draws = n_draws
        self.denoising = denoising
        self.noise_level = noise_level

    def _module_params(self, X):
        return {**super()._module_params(X), **self._corruption_params()}

    def _validate_X(self, X, **kwargs):
        # a memory map or a dask array is read whole: a table's missing
        # entries are found column by column
        return super()._validate_X(_in_memory(X), **kwargs)

    def _fit(self, X, warm, inputs, random_state=None):
        if warm != "partial" or not hasattr(self, "indicator_features_"):
            missing = np.isnan(np.asarray(X)).any(axis=0)
            self.indicator_features_ = np.flatnonzero(missing)
        return super()._fit(X, warm, inputs, random_state)

    def transform(self, X):
        """Fill in the missing entries of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            A table with the columns seen during fit; missing entries are
            NaN, None, ``pd.NA`` or ``NaT``.

        Returns
        -------
        X_filled : ndarray or DataFrame of shape (n_samples, n_features_out)
            ``X`` with every missing entry filled in (and the indicator
            columns of ``add_indicator``). An array of floats, of objects
            where the table has categories, or a DataFrame under
            ``set_output(transform="pandas")``.
        """
        check_is_fitted(self)
        X = _in_memory(X)
        raw, _ = self._table_matrix(X, reset=False)
        M = self._to_model_units(raw)
        table = self._table
        # a category the model was not fitted on (handle_unknown) is read as
        # missing to impute the rest of its row, and returned as it was given
        missing = table.missing(X) if np.isnan(raw).any() else np.zeros(raw.shape, bool)
        unknown = np.isnan(raw) & ~missing
        filled = raw.copy()
        if missing.any():
            rows = np.flatnonzero(missing.any(axis=1))
            imputed = self._impute(M[rows])
            imputed = self._from_model_units(imputed)
            sub = filled[rows]
            sub[missing[rows]] = imputed[missing[rows]]
            filled[rows] = sub
        pandas = _get_output_config("transform", self)["dense"] == "pandas"
        index = X.index if pandas and is_frame(X) else None
        out = table.put_back(table.decode(filled, index=index, frame=pandas), X, unknown)
        if not self.add_indicator:
            return out
        indicator = missing[:, self.indicator_features_]
        if pandas:
            import pandas as pd

            names = self.get_feature_names_out()[len(table.types):]
            extra = pd.DataFrame(indicator, columns=names, index=out.index)
            return pd.concat([out, extra], axis=1)
        if out.dtype == object:
            return np.hstack([out, indicator.astype(object)])
        return np.hstack([out, indicator.astype(out.dtype)])

    def _impute(self, M):
        """Imputations of every entry of ``M`` (model units, NaN where missing)."""
        n_draws = self.n_draws
        rng = check_random_state(self.random_state)
        eps = np.random.RandomState(self._inference_seed).standard_normal(
            (n_draws, self._fitted_param("n_components"))
        )
        eps = torch.as_tensor(eps, dtype=self._inference_dtype, device=self.net_.device)
        sample = self.sample_posterior

        def impute(module, xb):
            qz = module.encode(xb)
            loc, scale = qz.base_dist.loc, qz.base_dist.scale
            chunk = max(1, 4096 // max(1, xb.shape[0]))
            log_w, summaries, raws = [], [], []
            for start in range(0, n_draws, chunk):
                z = loc + scale * eps[start : start + chunk, None, :]
                raw = module.raw(z)
                log_px = module.likelihood.log_prob(raw, xb)
                log_ratio = module.prior(loc).log_prob(z) - qz.log_prob(z)
                log_w.append(log_px + log_ratio)
                if sample:
                    raws.append(raw)
                else:
                    summaries.append(module.likelihood.summary(raw))
            weights = torch.softmax(torch.cat(log_w), dim=0)  # (L, n)
            if sample:
                raw = torch.cat(raws)
                pick = torch.multinomial(weights.T, 1)[:, 0]  # one code per row
                chosen = raw[pick, torch.arange(xb.shape[0], device=raw.device)]
                return module.likelihood.sample(chosen)
            summary = (weights[..., None] * torch.cat(summaries)).sum(0)
            return module.likelihood.point(summary)

        if sample:
            with seeded_draws(child_seed(rng), self.net_.device):
                return self._map_blocks(M, impute, dtype=np.float64)
        return self._map_blocks(M, impute, dtype=np.float64)

    def score_samples(self, X, *, n_draws=10, importance_weighted=False):
        """Lower bound on the log-likelihood of each row's observed entries, in nats.

        The ELBO (or, with ``importance_weighted=True``, the
        importance-weighted bound) of ``log p(x_obs)``: a missing entry adds
        nothing, so rows with fewer observed entries score higher. Real
        columns are scored in their own units; categories and counts as
        probabilities.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        n_draws : int, default=10
            Monte-Carlo draws per row.
        importance_weighted : bool, default=False
            Use the importance-weighted bound (tighter) instead of the ELBO.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._score_samples(X, n_draws, importance_weighted)

    def score(self, X, y=None, *, n_draws=10, importance_weighted=False):
        """Mean of :meth:`score_samples`: higher is better, so that
        :class:`~sklearn.model_selection.GridSearchCV` can choose an imputer's
        settings by the held-out likelihood without a scorer.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : None
            Ignored.
        n_draws : int, default=10
        importance_weighted : bool, default=False

        Returns
        -------
        score : float
        """
        scores = self.score_samples(X, n_draws=n_draws, importance_weighted=importance_weighted)
        return float(np.mean(scores))

    def sample(self, n_samples=1, random_state=None, *, noise=True):
        """Draw new rows from the fitted model, in the table's columns and dtypes.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; None uses the estimator's ``random_state``.
        noise : bool, default=True
            Draw from ``p(x | z)`` (True) or give its point (False).

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, n_features)
            A DataFrame when fitted on one.
        """
        check_is_fitted(self)
        return self._sample(n_samples, random_state, noise)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: the input's, then the indicators' of
        ``add_indicator`` (``missingindicator_<name>``)."""
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        if not self.add_indicator:
            return names
        extra = [f"missingindicator_{names[j]}" for j in self.indicator_features_]
        return np.concatenate([names, np.asarray(extra, dtype=object)])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        return tags



def _in_memory(X):
    return np.asarray(X) if is_out_of_core(X) else X
