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

from ._data import StreamedData


def _n_rows(data):
    return len(data) if isinstance(data, StreamedData) else len(data["x"])


def _n_features(data):
    return data.n_features if isinstance(data, StreamedData) else data["x"].shape[1]


def _take(data, index):
    """Rows ``index`` of every per-row tensor of ``data``."""
    return {key: value[index] for key, value in data.items()}


# The net trains on data of unit root-mean-square (see BaseVAE._set_units),
# where a model that predicts every feature's mean with the data's variance
# loses about 1.4 nats per feature per row, and one that predicts the mean
# with the variance at its floor (1% of the mean variance) at most about 50,
# whatever the outliers, since the squares sum to n * d. An epoch whose mean
# loss exceeds this many nats per feature comes from a model that has blown
# up, even when its loss is still finite.
LOSS_CEILING_PER_FEATURE = 1e3

_TORCH_VERSION = tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2])


def adam_options(device):
    """Keyword arguments of ``torch.optim.Adam`` for parameters on ``device``.

    Adam's fused kernel (one pass over all parameters per step) where torch
    has it, on CUDA and, from torch 2.4, on the CPU. On a small network the
    default per-tensor loop is a large part of each step
    (``benchmarks/bench_fit.py``). The update rule is the same; results agree
    up to rounding.
    """
    kind = torch.device(device).type
    if kind == "cuda" or (kind == "cpu" and _TORCH_VERSION >= (2, 4)):
        return {"fused": True}
    return {}


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


class _Streamed:
    """Mini-batches of :class:`~skvae._data.StreamedData`, as skorch iterates them."""

    def __init__(self, data, batch_size, shuffle, device, prepare=None):
        self.data, self.batch_size, self.shuffle = data, batch_size, shuffle
        self.device, self.prepare = device, prepare

    def __len__(self):
        return math.ceil(len(self.data) / self.batch_size)

    def __iter__(self):
        for batch in self.data.batches(self.batch_size, self.shuffle, self.device):
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
        self.loss_ceiling_ = LOSS_CEILING_PER_FEATURE * _n_features(X)
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

    def _set_training(self, training=True):
        # skorch calls this before every batch, and walking the module tree
        # each time was 4% of a small net's step: skip it when the module and
        # criterion are already in that mode
        if self.module_.training == training and self.criterion_.training == training:
            return
        super()._set_training(training)

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
        if isinstance(X, StreamedData):
            return X.split(n_valid)
        order = torch.randperm(n).to(X["x"].device)
        return _take(X, order[n_valid:]), _take(X, order[:n_valid])

    def get_iterator(self, dataset, training=False):
        if isinstance(dataset, StreamedData):
            return _Streamed(dataset, self.batch_size, training, self.device, self.prepare_batch)
        return TensorBatches(dataset, self.batch_size, training, self.prepare_batch)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = self.criterion_(y_pred, X, training=training)
        # Checked before the backward pass and the optimiser step, so that the
        # weights that gave the non-finite loss can be examined. skorch reads
        # the loss with .item() after the step anyway: no extra device sync.
        if training and not torch.isfinite(loss.detach()).item():
            raise ValueError(self._divergence_report(X))
        return loss

    def on_epoch_end(self, net, **kwargs):
        # A loss can explode without overflowing: flag an epoch whose mean loss
        # is beyond anything a working model gives (see LOSS_CEILING_PER_FEATURE).
        # The net hears of the epoch's end before the scoring callbacks, so the
        # mean is taken over the batch losses rather than read as train_loss.
        super().on_epoch_end(net, **kwargs)
        losses = self.history[-1, "batches", :, "train_loss"]
        sizes = self.history[-1, "batches", :, "train_batch_size"]
        loss = float(np.average(losses, weights=sizes))
        if loss > self.loss_ceiling_:
            raise ValueError(
                f"Training diverged in epoch {len(self.history)}: the mean training loss "
                f"is {loss:.3g} nats per row of standardised data, where predicting every "
                "feature's mean costs about 1.4 per feature. The step size is most "
                f"likely too large: lower learning_rate_init (now {self.lr:g}), or clip "
                "the gradients with callbacks=[skorch.callbacks.GradientNormClipping(1.0)]."
            )

    def _divergence_report(self, batch):
        """Where training diverged, the most likely cause and what to do, in one line."""
        # skorch opens the history row of a batch before its step
        epoch, batch_index = len(self.history), len(self.history[-1]["batches"])
        n_steps = sum(len(row["batches"]) for row in self.history[:-1]) + batch_index - 1
        where = f"Training diverged in epoch {epoch}, batch {batch_index}: the loss is non-finite"
        part, name = self._first_non_finite_part(batch)
        if part is not None:
            where += f" because the {part}'s output is"
        if name is not None:
            return (
                f"{where}. The {part} is {name}, a module of your own: check its forward "
                "for operations that overflow or are undefined for some inputs (log, sqrt "
                "or division of values that can be <= 0, exp of large values)."
            )
        if n_steps == 0:
            return (
                f"{where}, before any training step, for finite standardised input. This "
                "is not expected: please report it with the data's shape and the "
                "estimator's parameters."
            )
        return (
            f"{where}, after {n_steps} optimiser step{'s' if n_steps != 1 else ''} at step "
            f"size {self.lr:g}. The "
            "step size is most likely too large: lower "
            f"learning_rate_init (for example to {self.lr / 10:g}), or clip the gradients "
            "with callbacks=[skorch.callbacks.GradientNormClipping(1.0)]."
        )

    def _first_non_finite_part(self, batch):
        """Which of the module's encoder and decoder first gives a non-finite output.

        Returns ``(part, name)``: ``part`` is "encoder", "decoder" or None, and
        ``name`` the class of a user's module there (None for a built-in one).
        The forward pass is run again, without gradients, with hooks on both.
        """
        found = []

        def hook(part):
            def check(module, inputs, output):
                if torch.is_tensor(output) and not torch.isfinite(output).all():
                    found.append((part, getattr(module, "name", None)))

            return check

        parts = [
            (part, getattr(self.module_, part))
            for part in ("encoder", "decoder")
            if isinstance(getattr(self.module_, part, None), torch.nn.Module)
        ]
        handles = [module.register_forward_hook(hook(part)) for part, module in parts]
        try:
            with torch.no_grad():
                self.infer(batch)
        except Exception:  # the report must not hide the divergence
            pass
        finally:
            for handle in handles:
                handle.remove()
        return found[0] if found else (None, None)
