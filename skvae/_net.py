"""The skorch net that trains every VAE estimator of the package.

skorch runs the training loop (epochs, callbacks, history, early stopping,
progress output, CUDA-safe pickling). Two of its defaults are replaced because
they dominate the run time of a small tabular VAE: the per-row ``Dataset`` and
``DataLoader`` collation (batches here are slices of one in-memory tensor, or
of a shuffle buffer read from an out-of-core array) and the scikit-learn style
split helper (the split here is one random permutation). The training step
adds mixed precision and, in a ``torch.distributed`` group, data parallelism
(each process on its share of every batch, under DistributedDataParallel).
The batches are made in :mod:`skvae._batches`, the callbacks of a fit are in
:mod:`skvae._callbacks` and the process-group helpers in :mod:`skvae._parallel`.
"""

import contextlib
import math

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping
from skorch.dataset import unpack_data
from skorch.utils import TeeGenerator

from ._batches import TensorBatches, _n_features, _n_rows, _RankShare, _Streamed, _take
from ._callbacks import Plateau
from ._data import StreamedData
from ._parallel import process_group
from ._random import draws_from, seeded_draws
from ._random import generator as seeded_generator
from .models import set_generator

# The net trains on data of unit root-mean-square (see BaseVAE._set_units),
# where a model that predicts every feature's mean with the data's variance
# loses about 1.4 nats per feature per row, and one that predicts the mean
# with the variance at its floor (1% of the mean variance) at most about 50,
# whatever the outliers, since the squares sum to n * d. An epoch whose mean
# loss exceeds this many nats per feature comes from a model that has blown
# up, even when its loss is still finite.
LOSS_CEILING_PER_FEATURE = 1e3

# The events that skorch notifies once per batch.
_PER_BATCH_EVENTS = ("on_batch_begin", "on_batch_end", "on_grad_computed")

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


PRECISIONS = ("float32", "bfloat16", "float16")
_AUTOCAST_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def draws_unseen(module):
    """Whether ``module`` may draw in training beyond its ``DrawsNoise`` parts.

    A part of the user's (a class from neither torch nor skvae) or a dropout
    layer: its draws in training are routed to the net's generator by
    :func:`skvae._random.draws_from`, which costs a little on every operation,
    so only such modules pay it.
    """
    return any(
        isinstance(part, torch.nn.modules.dropout._DropoutNd)
        or not type(part).__module__.startswith(("torch.", "skvae."))
        for part in module.modules()
    )


class VAENet(NeuralNet):
    """A skorch ``NeuralNet`` whose loss is the criterion of the module's output.

    ``X`` is a dict of tensors already on ``device`` (or in host memory, see
    :func:`keeps_on_host`): ``"x"`` and the module's extra per-row inputs
    (see :class:`TensorBatches`), or a :class:`~skvae._data.StreamedData`
    read from an out-of-core array. The criterion receives the module output
    and the batch. ``prepare_batch`` (None, or a callable set by the
    estimator for the duration of a fit and not pickled with the net)
    prepares each batch: it is called as ``prepare_batch(batch, generator)``
    with the training noise's generator. In a ``torch.distributed`` group the
    fit is data-parallel (see ``_start_training``).

    Every draw of a fit comes from generators of the net's own, seeded from
    ``seed`` (see :mod:`skvae._random`): the initial weights, the shuffles
    and the training noise of the module's :class:`~skvae.models.DrawsNoise`
    parts. torch's global generator is neither read nor reseeded.

    Parameters
    ----------
    seed : int, default=0
        Seeds the initial weights (:meth:`initialize`) and each
        ``partial_fit`` call's shuffles and training noise; the estimators
        set it from ``random_state`` before every call.
    validation_fraction : float or None, default=None
        Share of the rows held out (at random) to compute ``valid_loss`` each
        epoch; None trains on every row.
    precision : {"float32", "bfloat16", "float16"}, default="float32"
        The training step's arithmetic (see ``train_step_single``).
    compile_training : bool, default=False
        Train through ``torch.compile`` of the module, for the duration of
        each fit only (skorch's own ``compile`` keeps the compiled module,
        whose ``state_dict`` keys and pickling differ).
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    prepare_batch = None

    incremental = False  # a net of partial_fit (one epoch per call)

    def __init__(
        self, *args, seed=0, validation_fraction=None, precision="float32",
        compile_training=False, **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.seed = seed
        self.validation_fraction = validation_fraction
        self.precision = precision
        self.compile_training = compile_training

    def initialize(self):
        # the weights drawn when the module (a user's too) is built
        with seeded_draws(self.seed, "cpu", stream=0):
            super().initialize()
        self.set_precision(self.precision)
        return self

    def set_precision(self, precision):
        """Train under ``precision``; float16 gets a gradient scaler of its own."""
        self.precision = precision
        self.grad_scaler_ = None
        if precision == "float16":
            device = torch.device(self.device).type
            if not hasattr(torch, "amp") or not hasattr(torch.amp, "GradScaler"):
                raise ValueError(
                    "precision='float16' needs torch.amp.GradScaler (torch >= 2.3). "
                    "Upgrade torch, or use precision='bfloat16'."
                )
            self.grad_scaler_ = torch.amp.GradScaler(device)

    def _autocast(self):
        if self.precision == "float32":
            return contextlib.nullcontext()
        device = torch.device(self.device).type
        return torch.autocast(device, dtype=_AUTOCAST_DTYPES[self.precision])

    def train_step_single(self, batch, **fit_params):
        # skorch's, with the forward pass under autocast and a scaled backward
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        with self._autocast():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        scaler = self.grad_scaler_
        (loss if scaler is None else scaler.scale(loss)).backward()
        # the history records the global batch's loss in a data-parallel fit
        return {"loss": self.global_loss_, "y_pred": y_pred}

    def notify(self, method_name, **cb_kwargs):
        # skorch calls the net and every callback on every event. The
        # per-batch events reach only the callbacks that override the method:
        # the default callbacks do nothing per batch, and a call to each of
        # them for each of three events per batch was 2% of a small net's fit
        if method_name not in _PER_BATCH_EVENTS:
            return super().notify(method_name, **cb_kwargs)
        getattr(self, method_name)(self, **cb_kwargs)
        for cb in self._listeners(method_name):
            getattr(cb, method_name)(self, **cb_kwargs)

    def _listeners(self, method_name):
        """The callbacks whose class overrides ``method_name``."""
        return [
            cb
            for _, cb in self.callbacks_
            if getattr(type(cb), method_name) is not getattr(Callback, method_name)
        ]

    def train_step(self, batch, **fit_params):
        # skorch's step without the closure and its accumulator, which only
        # optimisers that re-evaluate the loss (LBFGS) need: Adam takes none,
        # and neither does GradScaler.step
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        scaler = self.grad_scaler_
        if scaler is not None:
            # callbacks (gradient clipping) see the true gradients
            scaler.unscale_(self.optimizer_)
        if self._listeners("on_grad_computed"):  # building the generator costs too
            self.notify(
                "on_grad_computed",
                named_parameters=TeeGenerator(self.get_all_learnable_params()),
                batch=batch,
                training=True,
            )
        for name in self._optimizers:
            optimizer = getattr(self, name + "_")
            if scaler is None:
                optimizer.step()
            else:
                scaler.step(optimizer)
        if scaler is not None:
            scaler.update()
        return step

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
        self._start_training()
        try:
            self.notify("on_train_begin", X=X, y=y)
            try:
                routing = fit_params.pop("_routing_method", "partial_fit")
                with self._routed_draws():
                    self.fit_loop(X, y, _routing_method=routing, **fit_params)
            except KeyboardInterrupt:
                # skorch's EarlyStopping stops training with a KeyboardInterrupt
                # of its own: that one ends the fit as planned, a user's does not
                if not self._stopped_early():
                    self.notify("on_train_end", X=X, y=y)
                    raise
            self.notify("on_train_end", X=X, y=y)
        finally:
            self._stop_training()
        return self

    # No data parallelism, and no generators, outside a fit.
    process_group_ = None
    shuffle_generator_ = None
    noise_generator_ = None

    def _start_training(self):
        """Seed the shuffles, and wrap the module for data parallelism or compilation.

        The wrappers last for this fit only (see ``_stop_training``).

        Data parallelism: when a process group is running, the module is
        wrapped in DistributedDataParallel.

        A fit in each process of an initialised ``torch.distributed`` group
        (launched by ``torchrun``, for example) of more than one
        process trains one model: each process takes its share of every
        global batch, and DDP averages the gradients. The processes shuffle
        alike (``seed`` is the same in every process) but draw the model's
        noise from generators of their own (seeded with the rank).
        """
        group = process_group()
        rank, world = group or (0, 1)
        # One process shuffles and draws noise as process 0 of a group does,
        # so that the two train the same model where there is no noise.
        self.shuffle_generator_ = seeded_generator(self.seed, "cpu", stream=1)
        self.noise_generator_ = seeded_generator(self.seed, self.device, stream=2 + rank)
        set_generator(self.module_, self.noise_generator_)
        if group is not None:
            self._wrap_data_parallel(rank, world)
        if self.compile_training:
            self.module_ = torch.compile(self.module_)

    def _routed_draws(self):
        """Route the draws of a user's parts of the module to the training noise's generator."""
        module = getattr(self.module_, "_orig_mod", self.module_)
        module = getattr(module, "module", module) if self.process_group_ else module
        if draws_unseen(module):
            return draws_from(self.noise_generator_)
        return contextlib.nullcontext()

    def _wrap_data_parallel(self, rank, world):
        self.process_group_ = (rank, world)
        self.share_ = 1.0
        device = torch.device(self.device)
        self.module_ = torch.nn.parallel.DistributedDataParallel(
            self.module_,
            # the process's GPU: the net's, or the current one (torch.cuda.set_device)
            device_ids=(
                [device.index if device.index is not None else torch.cuda.current_device()]
                if device.type == "cuda"
                else None
            ),
            # a learned prior's weights (trained after the model) take no
            # part in this loss; the search for such weights costs a pass
            # over the graph per step, so only where there are some
            find_unused_parameters=bool(getattr(self.module_, "unused_in_forward", False)),
        )

    def _stop_training(self):
        """Unwrap the module: the fitted net is a plain (picklable) one again.

        The training-time state goes too (a CUDA tensor pickled with the net
        would keep it from loading on a machine without a GPU).
        """
        self.__dict__.pop("shuffle_generator_", None)
        self.__dict__.pop("noise_generator_", None)
        self.__dict__.pop("global_loss_", None)
        if self.compile_training and hasattr(self.module_, "_orig_mod"):
            self.module_ = self.module_._orig_mod
        if self.process_group_ is not None:
            self.module_ = self.module_.module
            del self.process_group_, self.share_
        set_generator(self.module_, None)

    def _set_training(self, training=True):
        # skorch calls this before every batch, and walking the module tree
        # each time was 4% of a small net's step: skip it when the module and
        # criterion are already in that mode
        if self.module_.training == training and self.criterion_.training == training:
            return
        super()._set_training(training)

    def _stopped_early(self):
        return any(
            (isinstance(cb, EarlyStopping) and cb.misses_ >= cb.patience)
            or (isinstance(cb, Plateau) and cb.stopped_)
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
            return X.split(n_valid, self.shuffle_generator_)
        order = torch.randperm(n, generator=self.shuffle_generator_).to(X["x"].device)
        return _take(X, order[n_valid:]), _take(X, order[:n_valid])

    def get_iterator(self, dataset, training=False):
        generator, noise = self.shuffle_generator_, self.noise_generator_
        if isinstance(dataset, StreamedData):
            batches = _Streamed(
                dataset, self.batch_size, training, self.device, self.prepare_batch,
                generator, noise,
            )
        else:
            batches = TensorBatches(
                dataset, self.batch_size, training, self.prepare_batch, self.device,
                generator, noise,
            )
        if self.process_group_ is None:
            return batches
        return _RankShare(batches, self, *self.process_group_)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = self.criterion_(y_pred, X, training=training)
        reported = loss.detach()
        if self.process_group_ is not None:
            # this process's share of the global batch (see _RankShare); every
            # process sees the global batch's loss, so that all of them take
            # the same decisions (divergence, early stopping)
            loss = loss * self.share_
            reported = loss.detach().clone()
            torch.distributed.all_reduce(reported)
            reported /= self.process_group_[1]
        self.global_loss_ = reported
        # Checked before the backward pass and the optimiser step, so that the
        # weights that gave the non-finite loss can be examined. skorch reads
        # the loss with .item() after the step anyway: no extra device sync.
        if training and not torch.isfinite(reported).item():
            raise ValueError(self._divergence_report(X))
        return loss if training else reported

    def on_epoch_end(self, net, **kwargs):
        # A loss can explode without overflowing: flag an epoch whose mean loss
        # is beyond anything a working model gives (see LOSS_CEILING_PER_FEATURE).
        # The net hears of the epoch's end before the scoring callbacks, so the
        # mean is taken over the batch losses rather than read as train_loss.
        super().on_epoch_end(net, **kwargs)
        losses = self.history[-1, "batches", :, "train_loss"]
        sizes = self.history[-1, "batches", :, "train_batch_size"]
        loss = float(np.average(losses, weights=sizes))
        # the epoch's last step may leave non-finite weights behind a finite loss
        # one device sync for all the parameters
        finite = torch.stack([torch.isfinite(p).all() for p in self.module_.parameters()])
        if not finite.all().item():
            raise ValueError(
                f"Training diverged in epoch {len(self.history)}: the weights became "
                "non-finite in its last steps. The step size is most likely too large: "
                f"lower learning_rate_init (now {self.lr:g}), or clip the gradients with "
                "callbacks=[skorch.callbacks.GradientNormClipping(1.0)]."
            )
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
