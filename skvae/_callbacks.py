"""The skorch callbacks of a fit: the progress line, the KL warm-up and the stopping rule."""

import copy
import math
import re
import sys
from numbers import Number

from skorch.callbacks import Callback, PrintLog

from ._batches import _n_rows


class FitProgress(Callback):
    """One progress bar for a whole fit: its batches, the last epoch's losses and the ETA.

    skorch's ``ProgressBar`` starts a bar for every epoch; this one counts
    the batches of every epoch of the fit (``max_epochs`` times the training
    batches), so its estimate of the time left is the fit's. The losses it
    shows are those of the last finished epoch, plus ``shift`` (the
    estimator's change of units, so that they read as ``loss_curve_`` does).
    Only process 0 of a data-parallel fit shows it. ``file`` defaults to
    stderr. ``after_steps``: the steps trained after this net (a learned
    prior's): the bar counts them and stays open at the end of this net's
    training for a ``ContinuedProgress`` to go on; ``close_bar`` closes it.
    ``terminal_only``: no bar where the file is not a terminal (beside the
    epoch table of ``verbose=2``, which is the log there).
    """

    def __init__(self, shift=0.0, file=None, after_steps=0, terminal_only=False):
        self.shift = shift
        self.file = file
        self.after_steps = after_steps
        self.terminal_only = terminal_only

    def on_train_begin(self, net, X=None, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = None
        if (net.process_group_ or (0, 1))[0] != 0:
            return
        n = _n_rows(X)
        n_train = n - (math.floor(net.validation_fraction * n) if net.validation_fraction else 0)
        per_epoch = math.ceil(n_train / net.batch_size)
        self.bar_ = tqdm(
            total=net.max_epochs * per_epoch + self.after_steps, unit="batch",
            file=self.file or sys.stderr, disable=None if self.terminal_only else False,
            desc="fit", dynamic_ncols=True, leave=True,
        )

    def on_batch_end(self, net, training=False, **kwargs):
        if training and self.bar_ is not None:
            self.bar_.update(1)

    def on_epoch_end(self, net, **kwargs):
        if self.bar_ is None:
            return
        row = net.history[-1]
        # partial_fit runs one epoch per call: its epochs have no end to count to
        shown = {"epoch": f"{row['epoch']}" + ("" if net.incremental else f"/{net.max_epochs}")}
        for key, name in (("train_loss", "loss"), ("valid_loss", "valid")):
            if key in row:
                shown[name] = f"{row[key] + self.shift:.4g}"
        self.bar_.set_postfix(shown, refresh=False)

    def on_train_end(self, net, **kwargs):
        if getattr(self, "bar_", None) is not None and not self.after_steps:
            self.bar_.close()
            self.bar_ = None

    @staticmethod
    def open_bar(net):
        """The bar a fit left open for what it trains after, or None."""
        progress = dict(getattr(net, "callbacks_", None) or []).get("progress")
        return getattr(progress, "bar_", None)

    @staticmethod
    def close_bar(net):
        """Close the bar of ``net``'s fit, if it is still open."""
        bar = FitProgress.open_bar(net)
        if bar is not None:
            bar.close()
            dict(net.callbacks_)["progress"].bar_ = None

    def __getstate__(self):
        # a bar left open by a failed fit is not part of the net's state
        state = self.__dict__.copy()
        state.pop("bar_", None)
        return state


class ContinuedProgress(Callback):
    """Carry a fit's progress bar on through a net trained after it (a learned prior).

    Counts this net's training batches on ``bar`` and shows its epoch and
    loss under ``name``.
    """

    def __init__(self, bar, name):
        self.bar = bar
        self.name = name

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.bar.update(1)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        self.bar.set_postfix(
            {self.name: f"{row['epoch']}/{net.max_epochs}",
             f"{self.name} loss": f"{row['train_loss']:.4g}"},
            refresh=False,
        )

    def __getstate__(self):
        state = self.__dict__.copy()
        state["bar"] = None
        return state


class EpochTable(PrintLog):
    """skorch's table of every epoch (``verbose=2``), in the units of ``loss_curve_``.

    The net trains on standardised data; every ``*_loss`` column is shifted
    by ``shift`` (the estimator's change of units), so that the table, the
    progress bar and ``loss_curve_`` show one figure per epoch. The best
    epochs are coloured only when the table goes to a terminal.
    """

    def __init__(self, shift=0.0, **kwargs):
        super().__init__(**kwargs)
        self.shift = shift

    def format_row(self, row, key, color):
        value = row[key]
        if key.endswith("_loss") and isinstance(value, Number) and not isinstance(value, bool):
            row = {**row, key: value + self.shift}
        return super().format_row(row, key, color)

    def _sink(self, text, verbose):
        if self.sink is not print:
            self.sink(_ANSI.sub("", text))
            return
        if not verbose:
            return
        if not getattr(sys.stdout, "isatty", lambda: False)():
            text = _ANSI.sub("", text)
        # through tqdm, which lifts a progress bar on the terminal out of the
        # way of the line and redraws it below
        from tqdm.auto import tqdm

        tqdm.write(text, file=sys.stdout)


# colour and style codes, as skorch's table writes them
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class KLWarmup(Callback):
    """Raise the training weight of the KL term linearly over the first steps.

    At training step ``s`` (counted from 1 at the start of this ``fit``) of a
    warm-up of ``n_steps``, the criterion's ``kl_factor`` is ``min(1, s /
    n_steps)``: step by step, so that a plan of few long epochs (large data)
    warms up as smoothly as one of many short ones. Early on the decoder
    learns to use the codes before the prior pulls them together; the last
    steps train the true (``beta``-weighted) ELBO.
    """

    def __init__(self, n_steps):
        self.n_steps = n_steps

    def on_train_begin(self, net, **kwargs):
        self.step_ = 0

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self.step_ += 1
            net.criterion_.kl_factor = min(1.0, self.step_ / self.n_steps)

    def on_train_end(self, net, **kwargs):
        net.criterion_.kl_factor = 1.0


class Plateau(Callback):
    """End a fit when its loss has stopped improving: the stopping rule of every fit.

    ``monitor="train_loss"``: the fit ends when the mean training loss of
    the last ``patience`` epochs is not lower by at least ``tol`` than the
    mean of the ``patience`` epochs before them. Means of windows, not the
    best epoch: one epoch's training loss of a VAE is a noisy estimate (its
    codes are drawn), and a new best comes by chance long after the bound has
    stopped improving, or fails to come long before. The fitted weights are the
    last epoch's: nothing is restored.

    ``monitor="valid_loss"`` (``early_stopping=True``): the fit ends when
    the validation loss has not improved on its best by at least ``tol`` for
    ``patience`` epochs; with ``load_best``, the weights of the best epoch it
    watched are restored when the fit ends, whether the rule or the plan
    ended it (``verbose`` says so, as it says why the fit ended). A
    non-finite validation loss never counts as an improvement.

    The rule is not checked in this fit's first ``first_epoch`` epochs (the
    warm-ups, while the loss does not measure the final objective yet, and a
    minimum share of the plan). ``stopped_`` tells whether it ended the fit.
    """

    def __init__(self, monitor="train_loss", patience=10, tol=1e-4, first_epoch=0,
                 load_best=False, verbose=False):
        self.monitor = monitor
        self.verbose = verbose
        self.patience = patience
        self.tol = tol
        self.first_epoch = first_epoch
        self.load_best = load_best

    def on_train_begin(self, net, **kwargs):
        self.start_ = len(net.history)  # a warm fit continues a history
        self.stopped_ = False
        self.best_loss_, self.best_epoch_, self.best_weights_ = math.inf, None, None

    def on_epoch_end(self, net, **kwargs):
        done = len(net.history) - self.start_
        if done <= self.first_epoch:
            return
        watched = [float(v) for v in net.history[self.start_ + self.first_epoch:, self.monitor]]
        if self.monitor == "valid_loss":
            if watched[-1] < self.best_loss_ - self.tol:  # never with NaN
                self.best_loss_, self.best_epoch_ = watched[-1], len(net.history)
                if self.load_best:
                    self.best_weights_ = copy.deepcopy(net.module_.state_dict())
            since = self.best_epoch_ or self.start_ + self.first_epoch
            stop = len(net.history) - since >= self.patience
        else:
            k = self.patience
            if len(watched) < 2 * k:
                return
            earlier, last = sum(watched[-2 * k : -k]) / k, sum(watched[-k:]) / k
            stop = not earlier - last >= self.tol
        if stop:
            self.stopped_ = True
            # skorch's way to end training; the net tells it from a user's Ctrl-C
            raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        restore = (
            self.load_best and self.best_weights_ is not None
            and self.best_epoch_ != len(net.history)
        )
        if restore:
            net.module_.load_state_dict(self.best_weights_)
        if not self.verbose or (net.process_group_ or (0, 1))[0] != 0:
            return
        parts = []
        if self.stopped_:
            parts.append(f"Stopped after epoch {len(net.history)}: {self.monitor} stopped "
                         f"improving by tol={self.tol:g}")
        if restore:
            parts.append(f"the weights of epoch {self.best_epoch_} (the lowest {self.monitor} "
                         f"from epoch {self.start_ + self.first_epoch + 1} on) are kept")
        if parts:
            from tqdm.auto import tqdm

            text = "; ".join(parts)
            tqdm.write(text[0].upper() + text[1:] + ".", file=sys.stderr)
