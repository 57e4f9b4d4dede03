"""Training: the net a fit builds, fit and partial_fit, warm starts, a failed fit undone.

:class:`TrainingMixin` is the part of :class:`~skvae._base.BaseVAE` that
maps the hyperparameters onto a :class:`~skvae._net.VAENet` (the family's
module and loss, the networks recipe, the callbacks), trains it, and keeps the
previous fitted state when a fit fails or is interrupted.
"""

import copy
import math
from typing import NamedTuple

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._available_if import available_if
from skorch.callbacks import Callback, LRScheduler

from ._batches import AUTO_BATCH as _AUTO_BATCH
from ._callbacks import EpochTable, FitProgress, KLWarmup, Plateau
from ._data import RowBlocks, StreamedData, column_moments, take_rows
from ._inference import forget_twins
from ._net import VAENet, adam_options
from ._parallel import agree_across_processes, keeps_on_host, shared_seeds
from ._random import child_seed
from ._units import _block_rows, _positive_ints, resolve_device
from .models import Networks

# Variance floor of the Gaussian likelihood, relative to the mean feature
# variance of the training data (0.01 on standardised data).
_RELATIVE_VAR_FLOOR = 1e-2
# A latent dimension is "active" when its posterior mean varies across the
# data by more than this (Burda et al. 2016, "Importance Weighted Autoencoders").
_ACTIVITY_THRESHOLD = 1e-2
# The fitted diagnostics of the codes (kl_per_dim_, n_active_units_) are
# estimated on a random sample of at most this many training rows (as
# QuantileTransformer's subsample): a mean or variance over 10,000 rows is
# within a few percent, and a pass over every row of a large X would cost
# another epoch of the encoder.
_STATISTICS_ROWS = 10_000

# The training budget of a fit (issue 30): ``batch_size="auto"`` takes a batch
# of about 1/_BATCHES_PER_EPOCH of the training rows, between _AUTO_BATCH[0]
# and _AUTO_BATCH[1], and scales the step size by the square root of its
# ratio to _REFERENCE_BATCH (the rule for adaptive optimisers: the gradient's
# noise falls with the square root of the batch; Malladi et al. 2022). The
# epochs are those of ``max_steps`` optimiser steps, at most ``max_iter``.
_BATCHES_PER_EPOCH = 16
_REFERENCE_BATCH = 128
# The stopping rule never ends a fit in the first _MIN_SHARE of its epochs.
_MIN_SHARE = 0.25


class TrainingPlan(NamedTuple):
    """What a fit on a number of rows runs: its batch, step size, epochs and steps."""

    batch_size: int
    learning_rate: float
    n_epochs: int
    n_steps: int  # optimiser steps of all the epochs


class TrainingMixin:
    """Building and training the net; part of :class:`~skvae._base.BaseVAE`."""

    # hidden_layer_sizes=None: these widths with architecture="mlp", none with
    # "conv". After the convolutions, dense layers overfit (the user guide
    # quotes benchmarks/bench_images.py).
    _mlp_hidden_layer_sizes = (256, 128)
    _conv_hidden_layer_sizes = ()

    def _hidden_layer_sizes(self):
        """``hidden_layer_sizes``, with None resolved for the architecture."""
        if self.hidden_layer_sizes is None:
            if self.architecture == "mlp":
                return self._mlp_hidden_layer_sizes
            return self._conv_hidden_layer_sizes
        return _positive_ints(
            self.hidden_layer_sizes,
            "hidden_layer_sizes",
            "the widths of the encoder's hidden layers",
        )

    def _networks(self, n_features, layout=None):
        """The recipe of the encoder and decoder, from the hyperparameters (and the
        :class:`~skvae.models.ColumnLayout` of a table of mixed columns)."""
        return Networks(
            n_features,
            n_inputs=None if layout is None else layout.n_inputs,
            n_outputs=None if layout is None else layout.n_raw,
            architecture=self.architecture,
            hidden_layer_sizes=self._hidden_layer_sizes(),
            activation=self.activation,
            image_shape=self.image_shape_,
            conv_channels=_positive_ints(
                self.conv_channels,
                "conv_channels",
                "the channels of each convolution",
            ),
            encoder=self.encoder,
            decoder=self.decoder,
        )

    def _module_params(self, X):
        """Keyword arguments of the torch module, from the training data."""
        table = self._table
        if table is not None:
            return self._table_module_params(X, table.layout)
        if isinstance(X, RowBlocks):
            mean, var = X.moments
        else:  # block by block: no temporary of X's size
            rows = _block_rows(X.shape[1])
            _, mean, var = column_moments(X[a : a + rows] for a in range(0, X.shape[0], rows))
        mean_var = float(var.mean())
        var_floor = _RELATIVE_VAR_FLOOR * (mean_var if mean_var > 0 else 1.0)
        networks = self._networks(X.shape[1])
        params = {
            "networks": networks,
            "n_components": self.n_components,
            "likelihood": self.likelihood,
            "variance": self.variance,
            "feature_mean": torch.as_tensor(mean, dtype=torch.float32),
            "feature_var": torch.as_tensor(var, dtype=torch.float32),
            "var_floor": var_floor,
        }
        if networks.image_input:
            # an image's pixels share one scale, so that a convolution sees the
            # same contrast everywhere in the picture
            pooled_mean = float(np.mean(mean))
            pooled_var = float(np.mean(var + (mean - pooled_mean) ** 2))
            params["input_mean"] = torch.full_like(params["feature_mean"], pooled_mean)
            params["input_var"] = torch.full_like(params["feature_var"], pooled_var)
        return params

    def _plan(self, n_rows, incremental=False):
        """The :class:`TrainingPlan` of a fit (or a ``partial_fit`` call) on ``n_rows`` rows.

        ``batch_size="auto"``: ``n_rows // 16`` rows per batch, at least 128
        (all the rows, if fewer) and at most 1024, with the step size
        ``learning_rate_init * sqrt(batch / 128)`` (never below
        ``learning_rate_init``); an int batch keeps ``learning_rate_init``.
        The epochs: as many whole epochs as fit in ``max_steps`` optimiser
        steps, at most ``max_iter`` and at least one (all ``max_iter`` when
        ``max_steps=None``); one for ``partial_fit``. With
        ``early_stopping``, ``n_rows`` counts the training rows only.
        """
        if self.early_stopping and not incremental:
            n_rows -= math.floor(self.validation_fraction * n_rows)
        n_rows = max(int(n_rows), 1)
        if self.batch_size == "auto":
            batch = min(_AUTO_BATCH[1], max(_AUTO_BATCH[0], n_rows // _BATCHES_PER_EPOCH))
            rate = self.learning_rate_init * math.sqrt(batch / _REFERENCE_BATCH)
            batch = min(batch, n_rows)
        else:
            batch, rate = int(self.batch_size), float(self.learning_rate_init)
        per_epoch = math.ceil(n_rows / batch)
        if incremental:
            return TrainingPlan(batch, rate, 1, per_epoch)
        n_epochs = self.max_iter
        if self.max_steps is not None:
            n_epochs = max(1, min(self.max_iter, self.max_steps // per_epoch))
        return TrainingPlan(batch, rate, n_epochs, n_epochs * per_epoch)

    def _callbacks(self, plan, incremental=False, n_rows=None):
        """The skorch callbacks that carry the scikit-learn style options.

        ``plan``: the fit's :class:`TrainingPlan` (the schedules run over its
        epochs and steps). ``incremental`` (a net for ``partial_fit``): no KL warm-up,
        step-size schedule or stopping rule, which need to know the epochs
        ahead. ``n_rows``: the training rows, for the progress bar's count of
        what is trained after the fit (``_steps_after_fit``).
        """
        callbacks = []
        n_epochs = plan.n_epochs
        n_warmup = 0 if incremental else self._n_warmup_steps(plan.n_steps)
        if n_warmup:
            callbacks.append(("kl_warmup", KLWarmup(n_warmup)))
        if self.learning_rate == "cosine" and not incremental:
            callbacks.append(
                (
                    "lr_schedule",
                    LRScheduler(
                        policy=torch.optim.lr_scheduler.CosineAnnealingLR,
                        T_max=n_epochs,
                        # every fit (a warm one too) runs the whole schedule
                        last_epoch=-1,
                    ),
                )
            )
        callbacks.extend(self._extra_callbacks(plan))
        if self.verbose:
            # in the units of loss_curve_ (nats of X), once the units are set
            shift = -self._log_jacobian if hasattr(self, "x_unit_") else 0.0
            after = 0 if incremental or n_rows is None else self._steps_after_fit(n_rows)
            # with the epoch table (verbose=2), the bar only on a terminal
            progress = FitProgress(shift, after_steps=after, terminal_only=self.verbose >= 2)
            callbacks.append(("progress", progress))
            if self.verbose >= 2:  # skorch's table of every epoch, in the same units
                callbacks.append(("epoch_table", EpochTable(shift)))
        _check_callbacks(self.callbacks)
        for cb in copy.deepcopy(self.callbacks or []):
            callbacks.append(cb)
        if not incremental and (self.early_stopping or self.learning_rate == "constant"):
            # Not on the training loss under the cosine schedule: there a flat
            # stretch does not end the progress (the loss falls again as the
            # step size shrinks; GMVAE on digits "plateaued" 100 epochs before
            # its end), and the schedule's end is the fit's.
            # Last, so that every other callback sees the epoch that ends the fit.
            callbacks.append(
                (
                    "stopping_rule",
                    Plateau(
                        monitor="valid_loss" if self.early_stopping else "train_loss",
                        patience=self.n_iter_no_change,
                        tol=self.tol,
                        # never while a warm-up changes what the loss measures,
                        # nor in the first quarter of the plan
                        first_epoch=max(
                            math.ceil(n_warmup * n_epochs / max(plan.n_steps, 1)),
                            math.ceil(_MIN_SHARE * n_epochs),
                        ),
                        # a validation loss is the model's: its best epoch is kept
                        load_best=self.early_stopping,
                        verbose=bool(self.verbose),
                    ),
                )
            )
        return callbacks

    def _n_warmup_steps(self, n_steps):
        """Optimiser steps of the KL warm-up in a fit of ``n_steps`` (see ``kl_warmup``)."""
        return math.ceil(self.kl_warmup * n_steps)

    # The torch module and loss of the model family: every family names its own.
    _module_class = None
    _criterion_class = None

    def _criterion_params(self):
        return {"beta": self.beta}

    def _extra_callbacks(self, plan):
        """Model-specific callbacks of a fit of :class:`TrainingPlan` ``plan``, run
        before the user's."""
        return []

    def _fit_inputs(self, X, y, reset):
        """Validated ``X`` and a dict of extra per-row training inputs (arrays)."""
        return self._validate_X(X, reset=reset), {}

    def _prepare_batch(self, data):
        """A callable that prepares every training batch, or None.

        ``data`` is the dict of training tensors (``"x"`` and the per-row
        inputs) on the training device; the callable gets each batch as a
        dict of the same keys, and the generator of the training noise to
        draw from, and returns the module's keyword arguments.
        """
        return None

    def _statistics_inputs(self, inputs):
        """The per-row inputs that the module's inference methods take."""
        return {}

    def _make_net(self, X, device, incremental=False, seed=0):
        """The skorch net to train; ``incremental``: one epoch per call, for ``partial_fit``.

        ``seed`` seeds the net's initial weights and its first call's draws.
        """
        if self._module_class is None or self._criterion_class is None:
            raise TypeError(
                f"{type(self).__name__} names no model family: set its _module_class "
                "(a torch module) and _criterion_class (its loss); see the user guide's "
                "'Adding a model family'."
            )
        plan = self._plan(X.shape[0], incremental)
        net = VAENet(
            module=self._module_class,
            seed=seed,
            criterion=self._criterion_class,
            optimizer=torch.optim.Adam,
            **{f"optimizer__{k}": v for k, v in adam_options(device).items()},
            lr=plan.learning_rate,
            max_epochs=plan.n_epochs,
            batch_size=plan.batch_size,
            validation_fraction=(
                self.validation_fraction if self.early_stopping and not incremental else None
            ),
            callbacks=self._callbacks(plan, incremental, X.shape[0]),
            device=device,
            precision=self.precision,
            compile_training=self.compile,
            # verbose=2 adds a table of every epoch to the progress bar:
            # skorch's, in the units of loss_curve_ (EpochTable), not its own
            verbose=int(self.verbose >= 2),
            callbacks__print_log=None,
            **{f"module__{k}": v for k, v in self._module_params(X).items()},
            **{f"criterion__{k}": v for k, v in self._criterion_params().items()},
        )
        net.incremental = incremental
        return net

    def _check_partial_fit(self):
        """Raise an AttributeError that says why, where ``partial_fit`` cannot run."""

    def _has_partial_fit(self):
        """Whether ``partial_fit`` exists (see ``_check_partial_fit``)."""
        self._check_partial_fit()
        return True

    @available_if(_has_partial_fit)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, continuing from the previous calls.

        For data that come in chunks (a stream, the blocks of a dask array
        through dask-ml's ``Incremental``), as ``IncrementalPCA`` and
        ``MiniBatchKMeans`` take them. The first call on an unfitted
        estimator fixes the features and the preprocessing from its chunk,
        so it should be representative; each call runs one epoch over its
        chunk at the constant step size ``learning_rate_init`` (with
        ``batch_size="auto"``, a batch taken from the chunk's rows and the
        step size scaled to it), with the optimiser's state kept between
        calls, and trains the full ELBO: the KL warm-up, the step-size
        schedule and the stopping rule, which need to know the epochs ahead,
        apply to ``fit`` only. After ``fit``, the first
        call continues from the fitted weights with a fresh optimiser. The
        fitted diagnostics (``kl_per_dim_``, ...) describe the last chunk.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        return self._fit_or_restore(X, y, partial=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the VAE to ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; images also as arrays of shape (n_samples, height,
            width) or (n_samples, channels, height, width) (see ``image_shape``).
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_or_restore(X, y)

    def _fit_or_restore(self, X, y, partial=False, **input_options):
        """Validate and fit; a failed or interrupted fit keeps the previous state.

        Whatever stops the fit (a bad input, a diverged loss, Ctrl-C), the
        estimator is left as it was before ``fit``: fitted as before, or not
        fitted. A warm fit trains a new net that starts from the fitted
        weights, so the fitted net is untouched until the new one is done;
        ``partial`` (one epoch of ``partial_fit``) trains the fitted net in
        place, so a copy of it is kept to restore. ``input_options`` go to
        ``_fit_inputs`` (a conditional model's ``classes``).
        """
        previous = self._fitted_state()
        fitted = "net_" in previous
        warm = "partial" if partial else self.warm_start and fitted
        backup = copy.deepcopy(self.net_) if partial and fitted else None
        try:
            if warm and fitted:
                self._check_warm_params()
            X, inputs = self._fit_inputs(X, y, reset=not (warm and fitted), **input_options)
            return self._fit(X, warm, inputs)
        except BaseException:
            self._clear_fitted_state()
            if backup is not None:
                previous["net_"] = backup
            self.__dict__.update(previous)
            raise

    # Hyperparameters that shape the network: a warm fit cannot change them.
    _structural_params = (
        "n_components",
        "architecture",
        "image_shape",
        "conv_channels",
        "encoder",
        "decoder",
        "hidden_layer_sizes",
        "activation",
        "likelihood",
        "variance",
        "column_types",
    )

    def _structure(self):
        # an object-valued hyperparameter (a prior's settings) is copied, so
        # that changing its parameters later does not change what was fitted
        return {
            name: clone(value) if isinstance(value, BaseEstimator) else value
            for name, value in ((n, getattr(self, n)) for n in self._structural_names())
        }

    def _fitted_param(self, name):
        """A network-shaping hyperparameter as fitted (as set, before a fit).

        Inference reads these, so that ``set_params`` without a refit (as
        when a warm fit refused the change) leaves the fitted model usable.
        """
        fitted = getattr(self, "_fitted_structure_", None)
        return getattr(self, name) if fitted is None else fitted[name]

    def _check_warm_params(self):
        """Refuse a warm fit whose network-shaping hyperparameters changed."""
        before = self._fitted_structure_
        changed = [
            name
            for name, value in self._structure().items()
            if not _same_param(value, before.get(name))
        ]
        if changed:
            what = ", ".join(f"{n} ({before.get(n)!r} -> {getattr(self, n)!r})" for n in changed)
            raise ValueError(
                f"warm_start=True continues the fitted network, but {what} changed "
                "since it was fitted, and these define the network's shape. Set them "
                "back, or set warm_start=False to fit a new model."
            )

    def _partial_rng(self):
        """The random state of this ``partial_fit`` call: from ``random_state`` and the call.

        The first call draws a base seed from ``random_state``; call ``i``
        then uses ``SeedSequence([base, i])``, so that the same seed and the
        same chunks give the same model, and no two calls share their draws.
        """
        if not hasattr(self, "_partial_seed_"):
            self._partial_seed_ = child_seed(check_random_state(self.random_state))
        call = len(self.net_.history) if hasattr(self, "net_") else 0
        seed = np.random.SeedSequence([self._partial_seed_, call]).generate_state(1)[0]
        return np.random.RandomState(int(seed))

    def _incremental_net(self, X, device, seed):
        """The net a ``partial_fit`` call trains: the fitted incremental one, or a new one.

        ``seed`` seeds this call's draws (and a new net's weights).

        After ``fit`` (whose net runs ``max_iter`` epochs with a schedule), a
        new incremental net starts from its weights, with a fresh optimiser.
        Changes of ``learning_rate_init``, ``batch_size`` and ``precision``
        between calls take effect.
        """
        net = getattr(self, "net_", None)
        if net is not None and getattr(net, "incremental", False):
            plan = self._plan(X.shape[0], incremental=True)
            net.seed = seed
            net.batch_size = plan.batch_size
            if net.precision != self.precision:
                net.set_precision(self.precision)
            net.lr = plan.learning_rate
            for group in net.optimizer_.param_groups:
                group["lr"] = plan.learning_rate
            return net
        new = self._make_net(X, device, incremental=True, seed=seed)
        if net is None:
            return new
        return _with_weights(new, net.module_.state_dict(), copy.deepcopy(net.history))

    def _fit(self, X, warm, inputs, random_state=None):
        """Train on validated ``X``; ``random_state`` overrides the estimator's.

        ``warm`` is False (a new net), True (a new net from the fitted
        weights) or "partial" (one epoch of ``partial_fit``, continuing the
        incremental net and its optimiser).
        """
        if getattr(self, "net_", None) is not None:
            # this fit trains the weights in place; a failed one restores them
            forget_twins(self.module_)
        device = resolve_device(self.device)
        partial = warm == "partial"
        if partial:
            rng = self._partial_rng()
        else:
            rng = check_random_state(self.random_state if random_state is None else random_state)
        train_seed, inference_seed = child_seed(rng), child_seed(rng)
        after_seed = child_seed(rng)
        # a data-parallel fit (see VAENet._start_training): one model
        # from the same data and seeds in every process
        agree_across_processes(
            [X.shape[0], X.shape[1], float(np.sum(self.x_offset_)), self.x_unit_],
            device,
            "the number of rows, of features, or the data's mean and scale",
        )
        train_seed, inference_seed, after_seed = shared_seeds(
            (train_seed, inference_seed, after_seed), device
        )

        if isinstance(X, RowBlocks):
            data = StreamedData(X, inputs, buffer_size=self.buffer_size)
        else:
            # moved to the device once, unless they would crowd its memory
            home = "cpu" if keeps_on_host(X.shape[0] * X.shape[1] * 4, device) else device
            # X here is the model-units copy of fit's input (or, in [0, 1] for
            # a Bernoulli likelihood, the input): shared, not copied again,
            # when it is writable float32 already
            x = X if X.flags.writeable else X.copy()
            data = {"x": torch.as_tensor(x, dtype=torch.float32, device=home)}
            for key, value in inputs.items():
                data[key] = torch.as_tensor(value, device=home)
        # every draw of the fit comes from the net's generators, seeded by train_seed
        if partial:
            net = self._incremental_net(X, device, train_seed)
        else:
            net = self._make_net(X, device, seed=train_seed)
        if warm is True:
            # A new net with today's hyperparameters (step size, beta,
            # schedule over max_iter epochs, fresh optimizer as in
            # scikit-learn's MLP) starts from the fitted weights; the
            # epochs add to the fitted history.
            net = _with_weights(
                net, self.net_.module_.state_dict(), copy.deepcopy(self.net_.history)
            )
        net.prepare_batch = self._prepare_batch(data)
        try:
            net.partial_fit(data)
        finally:
            # the hook may hold the training data: never keep it
            net.prepare_batch = None

        history = net.history
        self.net_ = net
        self._fitted_structure_ = self._structure()
        self.n_iter_ = len(history)
        # the net trains in the model's units: the curves are in nats of X
        shift = -self._log_jacobian
        self.loss_curve_ = [float(v) + shift for v in history[:, "train_loss"]]
        self.validation_loss_curve_ = (
            [float(v) + shift for v in history[:, "valid_loss"]]
            if self.early_stopping and not partial
            else None
        )
        if not partial:
            self.__dict__.pop("_partial_seed_", None)
        self._inference_seed = inference_seed
        self._set_code_statistics(X, **self._statistics_inputs(inputs))
        try:
            self._after_fit(X, self._statistics_inputs(inputs), after_seed)
        finally:
            FitProgress.close_bar(self.net_)
            forget_twins(self.module_)  # built from weights this fit changed
        return self

    def _steps_after_fit(self, n_rows):
        """Optimiser steps the family trains after the fit on ``n_rows`` rows (e.g. a
        learned prior's): the progress bar of a fit counts them too."""
        return 0

    def _after_fit(self, X, rows, seed):
        """Train what a family fits after the autoencoder (e.g. a learned prior).

        ``X`` is the training data in the model's units, ``rows`` its
        per-row inference inputs (``_statistics_inputs``), ``seed`` an int
        for the draws of this step. Runs last in every fit and ``partial_fit``.
        """

    def _set_code_statistics(self, X, **rows):
        """The fitted diagnostics of the codes: ``kl_per_dim_``, ``n_active_units_``."""
        n = X.shape[0]
        if n > _STATISTICS_ROWS:
            rng = np.random.default_rng([self._inference_seed, 1])
            index = np.sort(rng.choice(n, _STATISTICS_ROWS, replace=False))
            X = take_rows(X, index)
            rows = {key: value[index] for key, value in rows.items()}
        self.kl_per_dim_, activity = self._latent_statistics(X, **rows)
        self.n_active_units_ = int(np.sum(activity > _ACTIVITY_THRESHOLD))

    def _n_latent(self):
        """The number of latent dimensions (of every stochastic layer)."""
        return self._fitted_param("n_components")

    def _fitted_state(self):
        """Every attribute a fit sets, by name."""
        return {
            name: value
            for name, value in vars(self).items()
            if (name.endswith("_") and not name.startswith("__")) or name == "_inference_seed"
        }

    def _clear_fitted_state(self):
        for name in self._fitted_state():
            delattr(self, name)


def _with_weights(net, state_dict, history):
    """``net`` initialised with a fitted module's weights and training history."""
    net.initialize()
    net.module_.load_state_dict(state_dict)
    net.history = history
    return net


# The names of the callbacks skvae adds to a fit (some only with some settings):
# a user's callback of the same name is refused whatever the settings, so
# that a search over them never fails on some candidates only.
_OWN_CALLBACKS = ("kl_warmup", "lr_schedule", "temperature", "progress", "epoch_table",
                  "stopping_rule")


def _check_callbacks(callbacks):
    """Every entry must be a skorch callback or a (name, callback) pair, of a name not skvae's."""
    for i, entry in enumerate(callbacks or []):
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] in _OWN_CALLBACKS:
            raise ValueError(
                f"callbacks: entry {i} is named {entry[0]!r}, a name skvae gives its own "
                f"callbacks ({', '.join(_OWN_CALLBACKS)}); give yours another name."
            )
        callback = entry[1] if isinstance(entry, tuple) and len(entry) == 2 else entry
        is_callback = isinstance(callback, Callback) or (
            isinstance(callback, type) and issubclass(callback, Callback)
        )
        if not is_callback or (isinstance(entry, tuple) and not isinstance(entry[0], str)):
            raise ValueError(
                f"callbacks must hold skorch callbacks (skorch.callbacks.Callback "
                f"instances) or (name, callback) pairs, but entry {i} is {entry!r} "
                f"({type(entry).__name__})."
            )


def _same_param(a, b):
    """Whether two values of a hyperparameter are the same setting."""
    if isinstance(a, torch.nn.Module) or isinstance(b, torch.nn.Module):
        return a is b
    if isinstance(a, BaseEstimator) or isinstance(b, BaseEstimator):
        return type(a) is type(b) and all(
            _same_param(v, b.get_params(deep=False)[k])
            for k, v in a.get_params(deep=False).items()
        )
    try:
        return bool(a == b) if not isinstance(a, (tuple, list)) else tuple(a) == tuple(b)
    except (TypeError, ValueError):
        return a is b
