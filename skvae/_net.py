"""The skorch net that trains every VAE estimator of the package.

skorch runs the training loop (epochs, callbacks, history, early stopping,
progress output, CUDA-safe pickling). Two of its defaults are replaced because
they dominate the run time of a small tabular VAE: the per-row ``Dataset`` and
``DataLoader`` collation (batches here are slices of one in-memory tensor) and
the scikit-learn style split helper (the split here is one random permutation).
"""

import math

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping


def _n_rows(data):
    return len(data["x"])


def _take(data, index):
    """Rows ``index`` of every per-row tensor of ``data``."""
    return {key: value[index] for key, value in data.items()}


class TensorBatches:
    """Mini-batches sliced from in-memory tensors, reshuffled every epoch.

    ``data`` is a dict of tensors with the same number of rows: ``"x"`` and
    any extra per-row inputs of the module (passed to its ``forward`` as
    keyword arguments, the skorch convention). ``prepare``, when given, turns
    each batch dict into the module's keyword arguments (an estimator's hook,
    e.g. drawing a neighbour of every row). Shuffling, and any draws of
    ``prepare``, use torch's global generator, which the estimators seed
    (inside a forked RNG state) before training.
    """

    def __init__(self, data, batch_size, shuffle, prepare=None):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.prepare = prepare

    def __len__(self):
        return math.ceil(_n_rows(self.data) / self.batch_size)

    def __iter__(self):
        data, bs, n = self.data, self.batch_size, _n_rows(self.data)
        order = torch.randperm(n).to(data["x"].device) if self.shuffle else None
        for start in range(0, n, bs):
            rows = slice(start, start + bs) if order is None else order[start : start + bs]
            batch = _take(data, rows)
            yield (self.prepare(batch) if self.prepare else batch), None


class KLWarmup(Callback):
    """Raise the training weight of the KL term linearly over the first epochs.

    In epoch ``e`` (counted from the start of this ``fit``) of a warm-up of
    ``n_epochs``, the criterion's ``kl_factor`` is ``min(1, e / n_epochs)``.
    Early on the decoder learns to use the codes before the prior pulls them
    together; the last epochs train the true (``beta``-weighted) ELBO.
    """

    def __init__(self, n_epochs):
        self.n_epochs = n_epochs

    def on_train_begin(self, net, **kwargs):
        self.first_epoch_ = len(net.history) + 1

    def on_epoch_begin(self, net, **kwargs):
        # the net has already opened this epoch's history row
        epoch = len(net.history) - self.first_epoch_ + 1
        net.criterion_.kl_factor = min(1.0, epoch / self.n_epochs)

    def on_train_end(self, net, **kwargs):
        net.criterion_.kl_factor = 1.0


class VAENet(NeuralNet):
    """A skorch ``NeuralNet`` whose loss is the criterion of the module's output.

    ``X`` is a dict of tensors already on ``device``: ``"x"`` and the
    module's extra per-row inputs (see :class:`TensorBatches`); the criterion
    receives the module output and the batch. ``prepare_batch`` (None, or a
    callable set by the estimator for the duration of a fit and not pickled
    with the net) prepares each batch.

    Parameters
    ----------
    validation_fraction : float or None, default=None
        Share of the rows held out (at random) to compute ``valid_loss`` each
        epoch; None trains on every row.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    prepare_batch = None

    def __init__(self, *args, validation_fraction=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.validation_fraction = validation_fraction

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for ``max_epochs`` epochs; unlike skorch's, Ctrl-C is not swallowed.

        skorch ends training quietly on ``KeyboardInterrupt`` and returns a
        net that looks fully trained; here it propagates, so that the estimator
        can restore its state from before the fit (scikit-learn's contract:
        an interrupted ``fit`` did not happen).
        """
        if not self.initialized_:
            self.initialize()
        self.notify("on_train_begin", X=X, y=y)
        try:
            routing = fit_params.pop("_routing_method", "partial_fit")
            self.fit_loop(X, y, _routing_method=routing, **fit_params)
        except KeyboardInterrupt:
            # skorch's EarlyStopping stops training with a KeyboardInterrupt
            # of its own: that one ends the fit as planned, a user's does not
            if not self._stopped_early():
                self.notify("on_train_end", X=X, y=y)
                raise
        self.notify("on_train_end", X=X, y=y)
        return self

    def _stopped_early(self):
        return any(
            isinstance(cb, EarlyStopping) and cb.misses_ >= cb.patience
            for _, cb in self.callbacks_
        )

    def get_dataset(self, X, y=None):
        return X

    def get_split_datasets(self, X, y=None, **fit_params):
        if not self.validation_fraction:
            return X, None
        n = _n_rows(X)
        n_valid = int(math.floor(self.validation_fraction * n))
        if n_valid < 1 or n_valid >= n:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} of {n} samples "
                f"leaves {n_valid} for validation and {n - n_valid} for "
                "training; both need at least one. Use more samples, another "
                "validation_fraction, or early_stopping=False."
            )
        order = torch.randperm(n).to(X["x"].device)
        return _take(X, order[n_valid:]), _take(X, order[:n_valid])

    def get_iterator(self, dataset, training=False):
        return TensorBatches(dataset, self.batch_size, training, self.prepare_batch)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred, X, training=training)

    def on_epoch_end(self, net, **kwargs):
        # The net hears of the epoch's end before the scoring callbacks, so the
        # check reads the batch losses rather than the epoch's train_loss.
        super().on_epoch_end(net, **kwargs)
        losses = self.history[-1, "batches", :, "train_loss"]
        if not np.all(np.isfinite(losses)):
            raise ValueError(
                f"The training loss became non-finite in epoch {len(self.history)}: "
                "training diverged. Scale the features (for example with "
                "StandardScaler) or lower learning_rate_init."
            )
