"""Training terms that some families add: neighbor pairs and denoising.

Mixins of the estimators: each owns its hyperparameters' checks and the per-row
training inputs it adds; the family's torch module and loss consume them (see
:mod:`skvae.models.neighbors` and :class:`skvae.models.Denoising`).
"""

from numbers import Real

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval, StrOptions

from ._data import is_out_of_core
from .models import CORRUPTIONS, INPUT_BOUND, NeighborPairs, TableInput, table_statistics


def nearest_other_rows(Z, k):
    """Distances and indices of each row's ``k`` nearest other rows (Euclidean), nearest first."""
    n = Z.shape[0]
    distances, neighbors = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z)
    # drop each row itself (the first hit, barring exact duplicates)
    own = neighbors == np.arange(n)[:, None]
    keep = np.where(own.any(axis=1, keepdims=True), ~own, np.arange(k + 1) < k)
    return distances[keep].reshape(n, k), neighbors[keep].reshape(n, k)


class NeighborTermMixin:
    """The data side of a training term on pairs of neighboring rows.

    For an estimator with ``neighbor_weight`` and ``n_neighbors``: when the
    weight is above 0, the ``n_neighbors`` nearest training rows of every row
    are found once per fit (:meth:`_with_neighbors`), and every training
    batch gets one of them per row, drawn anew each time, as ``x_pair``
    (:class:`~skvae.models.vae.NeighborPairs`). The module's ``forward``
    takes ``x_pair`` and its loss weighs the term.
    """

    def _in_memory_for_neighbors(self, X):
        """``X`` itself, or read whole when out of core: pairs come from every row."""
        if self.neighbor_weight > 0 and is_out_of_core(X):
            return np.asarray(X)
        return X

    def _neighbors(self, X):
        """Indices of each training row's ``n_neighbors`` nearest rows.

        Distances are Euclidean on ``X`` as given, as in ``KNeighborsClassifier``
        or UMAP: the user's scaling decides what "near" means. (The encoder's
        standardised space made worse neighbors: 86% of MNIST rows' 5 nearest
        shared their class there, against 91% on pixels / 255.)
        """
        k = min(self.n_neighbors, X.shape[0] - 1)
        Xf = self._neighbor_space(X).astype(np.float32, copy=False)
        return nearest_other_rows(Xf, k)[1]

    def _neighbor_space(self, X):
        """Where distances are measured: ``X`` itself, or for a table of mixed
        columns what the encoder reads of it (standardised numbers, one-hot
        categories, missing entries as 0 beside their indicators)."""
        table = self._table
        if table is None:
            return X
        layout = table.layout
        stats = table_statistics(X, layout)
        with torch.no_grad():
            return TableInput(layout, stats, INPUT_BOUND)(torch.as_tensor(X)).numpy()

    def _with_neighbors(self, X, inputs):
        """The training inputs, with ``neighbors`` when the term is on."""
        if self.neighbor_weight > 0 and X.shape[0] > 1:
            return {**inputs, "neighbors": self._neighbors(X)}
        return inputs

    def _prepare_batch(self, data):
        # one random neighbor of every row, from the training rows
        return NeighborPairs(data["x"]) if "neighbors" in data else None


class DenoisingMixin:
    """Corrupted training inputs, for an estimator with ``denoising`` and ``noise_level``.

    The module's ``forward`` encodes ``corrupt(x)`` in training
    (:meth:`skvae.models.vae.Autoencoder.corrupt`) and scores the clean row;
    :meth:`_corruption_params` checks the pair and names them for the module.
    """

    _denoising_constraints = {
        "denoising": [StrOptions(set(CORRUPTIONS)), None],
        "noise_level": [Interval(Real, 0, None, closed="left")],
    }

    def _corruption_params(self):
        if self.denoising == "mask" and self.noise_level >= 1:
            raise ValueError(
                f"denoising='mask' masks each entry with probability noise_level, which "
                f"must be below 1, got noise_level={self.noise_level!r}."
            )
        return {"corruption": self.denoising, "noise_level": self.noise_level}
