"""What the transformers with one deterministic code per row share."""

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._base import BaseVAE


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
