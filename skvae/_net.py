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
from skorch.callbacks import Callback


def _n_rows(data):
    return len(data["x"]) if isinstance(data, dict) else len(data)


def _take(data, index):
    """Rows ``index`` of a tensor, or of every per-row tensor of a dict of them.

    In a dict, ``"pool"`` is not per-row: it is the full training data that
    ``"neighbors"`` (row indices) point into, and is passed along whole.
    """
    if isinstance(data, dict):
        return {
            key: value if key == "pool" else value[index] for key, value in data.items()
        }
    return data[index]


def _with_pairs(batch):
    """Replace ``neighbors``/``pool`` by ``x_pair``: one random neighbour per row."""
    if not isinstance(batch, dict) or "neighbors" not in batch:
        return batch
    batch = dict(batch)
    neighbors, pool = batch.pop("neighbors"), batch.pop("pool")
    pick = torch.randint(neighbors.shape[1], (neighbors.shape[0],), device=neighbors.device)
    batch["x_pair"] = pool[neighbors[torch.arange(neighbors.shape[0]), pick]]
    return batch


def _device(data):
    return data["x"].device if isinstance(data, dict) else data.device


class TensorBatches:
    """Mini-batches sliced from in-memory tensors, reshuffled every epoch.

    ``X`` is one tensor, or a dict of tensors with the same number of rows
    (passed to the module's ``forward`` as keyword arguments, the skorch
    convention). A dict with ``"neighbors"`` (n, k) and ``"pool"`` gives each
    batch ``"x_pair"``: for every row, one of its neighbours drawn at random.
    Shuffling and neighbour draws use torch's global generator, which the
    estimators seed (inside a forked RNG state) before training.
    """

    def __init__(self, X, batch_size, shuffle):
        self.X = X
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return math.ceil(_n_rows(self.X) / self.batch_size)

    def __iter__(self):
        X, bs, n = self.X, self.batch_size, _n_rows(self.X)
        if self.shuffle:
            order = torch.randperm(n).to(_device(X))
            for start in range(0, n, bs):
                yield _with_pairs(_take(X, order[start : start + bs])), None
        else:
            for start in range(0, n, bs):
                yield _with_pairs(_take(X, slice(start, start + bs))), None


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
    """A skorch ``NeuralNet`` whose loss is the module's negative ELBO.

    ``X`` is passed as one float tensor (already on ``device``), or as a dict
    with ``"x"`` and extra per-row inputs of the module (partial labels,
    neighbours; see :class:`TensorBatches`); the criterion receives the module
    output and the batch.

    Parameters
    ----------
    validation_fraction : float or None, default=None
        Share of the rows held out (at random) to compute ``valid_loss`` each
        epoch; None trains on every row.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(self, *args, validation_fraction=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.validation_fraction = validation_fraction

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
        order = torch.randperm(n).to(_device(X))
        return _take(X, order[n_valid:]), _take(X, order[:n_valid])

    def get_iterator(self, dataset, training=False):
        return TensorBatches(dataset, self.batch_size, shuffle=training)

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


class TemperatureAnnealing(Callback):
    """Lower the module's Gumbel-softmax ``temperature`` geometrically.

    In epoch ``e`` (counted from the start of this ``fit``) the temperature is
    ``max(floor, start * (floor / start) ** (e / n_epochs))``: ``start`` in the
    first epoch, ``floor`` from epoch ``n_epochs`` on. Evaluation never uses
    the temperature (it sums the clusters out exactly).
    """

    def __init__(self, start, floor, n_epochs):
        self.start = start
        self.floor = floor
        self.n_epochs = n_epochs

    def on_train_begin(self, net, **kwargs):
        self.first_epoch_ = len(net.history) + 1

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history) - self.first_epoch_
        progress = min(1.0, epoch / max(1, self.n_epochs))
        value = self.start * (self.floor / self.start) ** progress
        net.module_.temperature = max(self.floor, value)
