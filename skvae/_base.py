"""BaseVAE: the estimator core that every model family derives from.

:class:`BaseVAE` is a scikit-learn estimator that *holds* a fitted skorch net
(``net_``) rather than being one. It is assembled from four parts, one module
each: :class:`~skvae._units.DataMixin` (validation, images, the model's
units), :class:`~skvae._table_data.TableMixin` (tables of mixed columns and
missing entries), :class:`~skvae._training.TrainingMixin` (the net, fit and
``partial_fit``, warm starts, a failed fit undone) and
:class:`~skvae._inference.InferenceMixin` (the fitted module over bounded
blocks, scores, samples). It names no model family: a family is its torch
module and loss (in :mod:`skvae.models`), a thin estimator that names them,
and its capability tags. Features that only some families have come as
mixins: :class:`~skvae._learned_prior.LearnedPriorMixin`,
:class:`~skvae._terms.NeighborTermMixin`, :class:`~skvae._terms.DenoisingMixin`.

The contract between the core and a family is documented on :class:`BaseVAE`.
"""

import inspect
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from ._inference import InferenceMixin
from ._net import PRECISIONS
from ._registry import ModelTags, register
from ._table_data import TableMixin
from ._training import TrainingMixin, _with_weights
from ._units import DataMixin, resolve_device
from .models import ACTIVATIONS, ARCHITECTURES, LIKELIHOODS, VARIANCES


class BaseVAE(DataMixin, TableMixin, TrainingMixin, InferenceMixin, BaseEstimator):
    """The estimator core of every model family: hyperparameters, fit, inference.

    Not an estimator by itself: a family's estimator subclasses it (see the
    user guide's "Adding a model family"); the shared parameters are
    documented on each public estimator.

    **The contract**: what a family's estimator defines, and what the core guarantees.

    Class attributes

    * ``_module_class``, ``_criterion_class`` (required): the torch module and
      its loss, built by :class:`~skvae._net.VAENet` with the keyword arguments of
      ``_module_params`` and ``_criterion_params``. The loss is called as
      ``criterion(module_output, x, training=...)``.
    * ``_parameter_constraints``: extend ``BaseVAE._parameter_constraints`` with
      the family's hyperparameters (scikit-learn's validation runs before fit).
    * ``_structural_params``: extend with the hyperparameters that shape the
      network; a warm fit refuses to change them, and inference reads them as
      fitted (``_fitted_param``).
    * ``_mlp_hidden_layer_sizes``, ``_conv_hidden_layer_sizes``: the widths that
      ``hidden_layer_sizes=None`` resolves to.
    * ``_doc_omit``: shared parameters and attributes that this family's
      docstring leaves out (see :func:`skvae._docs.fill_doc`).

    Methods (defaults here; a family overrides what it needs, calling ``super()``)

    * ``__skvae_tags__() -> ModelTags``: the declared capabilities, which the
      tests, the plotting Displays, the model files and the CLI read.
    * ``_module_params(X) -> dict``: the module's keyword arguments from the
      validated training data; the default gives the networks recipe,
      ``n_components``, the likelihood and the training statistics.
    * ``_criterion_params() -> dict``: the loss's keyword arguments
      (``{"beta": beta}``).
    * ``_extra_callbacks(plan) -> list``: skorch callbacks of the family, for a
      fit of :class:`~skvae._training.TrainingPlan` ``plan`` (its batch, epochs
      and steps), run before the user's ``callbacks``.
    * ``_fit_inputs(X, y, reset, **options) -> (X, inputs)``: validated ``X`` (the
      core's ``_validate_X``) and a dict of per-row training arrays, passed by
      name to the module's ``forward`` (e.g. class labels).
    * ``_prepare_batch(data)``: None, or a callable ``(batch, generator) ->
      batch`` applied to every training batch (a dict of tensors), drawing from
      the net's training generator.
    * ``_statistics_inputs(inputs) -> dict``: the per-row inputs that the module's
      inference methods take (``encode_mean``, ``decode``, ``latent_statistics``,
      ``log_weights`` and ``code_distribution``, each with ``**inputs``).
    * ``_after_fit(X, rows, seed)``: what is trained after the autoencoder, with
      its own seed (the learned prior).
    * ``_check_partial_fit()``: raise an AttributeError saying why, where
      ``partial_fit`` is not available.
    * ``_n_latent()``, ``_code_width()``, ``_fixed_prior_codes(n, rng)``,
      ``_draw_codes(n, rng)``: the latent sizes and the prior that ``sample``
      draws from (``N(0, I)`` of ``n_components`` dimensions by default).

    What a family's public methods call (the core's helpers)

    * ``_validate_X(X, *, reset, likelihood_support=True)``: ``X`` checked
      (``reset=True`` at fit, ``False`` after: against the fit) and in the
      model's units (``likelihood_support=False`` for encoding, which needs
      no support check).
    * ``_validate_codes(Z)``, ``_encode_mean(X, **rows)``,
      ``_decode_mean(Z, **rows)``: codes checked, posterior means, decoder
      means (back in ``X``'s units).
    * ``_score_samples(X, n_draws, importance_weighted, **rows)``: the ELBO
      or importance-weighted bound of each row, in nats of ``X``.
    * ``_sample(n_samples, random_state, noise)``: decoded draws of the prior.
    * ``_map_blocks(X, fn, dtype=None, **rows)``: ``fn(module, block,
      **block_rows)`` over blocks of rows, stacked as numpy.
    * ``_fitted_param(name)``: a structural hyperparameter as fitted.

    The core guarantees: hyperparameters are validated before ``fit``; ``X`` is
    validated, flattened from images and mapped to the model's units before a
    hook sees it (scores come back in nats of ``X``); every draw comes from a
    generator seeded from ``random_state`` (:mod:`skvae._random`); inference runs
    in evaluation mode, in float64 on the CPU, in blocks of the fit's batch
    (``_block_size``); a fit that fails or is interrupted leaves the previous
    fitted state.
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "image_shape": [tuple, list, None],
        "conv_channels": ["array-like", Interval(Integral, 1, None, closed="left")],
        "encoder": [callable, None],
        "decoder": [callable, None],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left"), None],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Real, 0, 1, closed="left")],
        "likelihood": [StrOptions(set(LIKELIHOODS))],
        "variance": [StrOptions(set(VARIANCES))],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_steps": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [StrOptions({"cosine", "constant"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "buffer_size": [Interval(Integral, 1, None, closed="left")],
        "precision": [StrOptions(set(PRECISIONS))],
        "compile": ["boolean"],
        "column_types": [dict, None],
        "handle_unknown": [StrOptions({"error", "warn", "missing"})],
    }

    def __init__(
        self,
        n_components=2,
        *,
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
        self.n_components = n_components
        self.architecture = architecture
        self.image_shape = image_shape
        self.conv_channels = conv_channels
        self.encoder = encoder
        self.decoder = decoder
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.likelihood = likelihood
        self.variance = variance
        self.max_iter = max_iter
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.buffer_size = buffer_size
        self.precision = precision
        self.compile = compile
        self.column_types = column_types
        self.handle_unknown = handle_unknown

    def __init_subclass__(cls, **kwargs):
        # every public estimator class is registered (see skvae._registry)
        super().__init_subclass__(**kwargs)
        register(cls)

    def __skvae_tags__(self):
        """What this estimator can do: its :class:`~skvae._registry.ModelTags`."""
        return ModelTags()

    @classmethod
    def _structural_names(cls):
        """``_structural_params`` that this class takes (a family written before a
        shared parameter was added may not take it)."""
        taken = inspect.signature(cls.__init__).parameters
        return tuple(n for n in cls._structural_params if n in taken)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a table's missing entries are modelled (see column_types)
        tags.input_tags.allow_nan = True
        return tags

    # A family written before tables had columns of their own (a user's,
    # through "Adding a model family") may not take column_types nor
    # handle_unknown: it reads their defaults.
    column_types = None
    handle_unknown = "warn"

    # Hyperparameters added after model files were first written, with the value
    # that keeps a file (or pickle) written before them behaving as it did.
    _params_added = {"max_steps": None, "column_types": None, "handle_unknown": "error"}

    def __setstate__(self, state):
        fill_added_params(type(self), state)
        # skorch loads a net pickled on a GPU onto the CPU when this machine
        # has none; the device hyperparameter follows, so that the loaded
        # estimator can be refitted here (a warm fit would refuse "cuda").
        super().__setstate__(state)
        if state.get("net_") is not None:
            self._check_device_here(stacklevel=3)

    def _check_device_here(self, stacklevel):
        """Set ``device`` to "cpu" (with a warning) when its device is not on this machine.

        For an estimator loaded on another machine than it was fitted on: a
        CUDA GPU, a second GPU (``"cuda:1"``) or Apple's MPS that is not here.
        """
        try:
            resolve_device(self.device)
        except ValueError as exc:
            warnings.warn(
                f"This {type(self).__name__} was fitted with device={self.device!r}, "
                f"which is not available here ({exc}) It was loaded on the CPU and its "
                "device set to 'cpu'.",
                UserWarning,
                stacklevel=stacklevel,
            )
            self.device = "cpu"

    def _restore_net(self, weights, history, optimizer=None):
        """Rebuild ``net_`` from a model file: the fitted network, ``weights`` in it.

        The network is built from the hyperparameters it was fitted with
        (``_fitted_structure_``) and placeholder training statistics: every
        data-dependent value of the module is a buffer, so ``weights`` (its
        whole ``state_dict``) restores it exactly. ``optimizer`` (the state
        of a ``partial_fit`` net's optimiser) makes the net an incremental
        one that continues as the saved one would.
        """
        from skorch.history import History

        params = self.get_params(deep=False)
        device = resolve_device(self.device)
        X = np.zeros((2, self.n_features_in_), dtype=np.float32)
        try:
            self.set_params(**self._fitted_structure_)
            net = self._make_net(X, device, incremental=optimizer is not None)
        finally:
            self.set_params(**params)
        try:
            # the weights drawn at initialisation (from the net's own
            # generator) are all replaced
            net = _with_weights(net, weights, History(history))
            # the batch the fit took ("auto" chose it from rows not saved):
            # inference runs in blocks of it
            net.batch_size = _fitted_batch(history, net.batch_size)
        except RuntimeError as exc:
            raise ValueError(
                "The saved weights do not fit the network built for them: "
                f"{str(exc).splitlines()[0]} If the model was fitted with an "
                "encoder or decoder of your own, pass the same one to skvae.load."
            ) from None
        if optimizer is not None:
            try:
                _load_optimizer(net.optimizer_, optimizer)
            except (RuntimeError, ValueError, KeyError, TypeError) as exc:
                raise ValueError(
                    f"The saved optimiser state (for partial_fit) is damaged: "
                    f"{str(exc).splitlines()[0]}"
                ) from None
        self.net_ = net


def fill_added_params(cls, state):
    """Give a pickle's or a model file's ``state`` the hyperparameters added since it
    was written (``_params_added``), in its fitted structure too."""
    structure = state.get("_fitted_structure_")
    for name, value in getattr(cls, "_params_added", {}).items():
        state.setdefault(name, value)
        if isinstance(structure, dict) and name in cls._structural_names():
            structure.setdefault(name, value)


def _fitted_batch(history, default):
    """The batch of the last epoch in a saved history, or ``default``.

    The history's shape (epochs as dicts, batch records as dicts of numbers)
    was checked when the file was read (``check_estimator_entry``).
    """
    batches = history[-1].get("batches") if history else None
    size = batches[0].get("train_batch_size") if batches else None
    return size if isinstance(size, int) and 1 <= size <= 65536 else default


def _load_optimizer(optimizer, state):
    """Load a saved optimiser state, checked against the fresh optimiser and its parameters.

    The settings of each group (all but ``params`` and ``lr``, which every
    ``partial_fit`` call sets) must be the fresh optimiser's; each moment must
    have its parameter's shape, be finite, and the second moments and step
    counts be non-negative.
    """
    fresh = [{k: v for k, v in g.items() if k not in ("params", "lr")}
             for g in optimizer.state_dict()["param_groups"]]
    saved = [{k: v for k, v in g.items() if k not in ("params", "lr")}
             for g in state["param_groups"]]
    for group in saved:
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    if saved != fresh:
        raise ValueError("The saved optimiser settings are not the ones skvae trains with.")
    optimizer.load_state_dict(state)
    for group in optimizer.param_groups:
        lr = group["lr"]
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
            raise ValueError(f"The saved optimiser step size is {lr!r}.")
        for param in group["params"]:
            entry = optimizer.state.get(param, {})
            for name, value in entry.items():
                if not isinstance(value, torch.Tensor):
                    raise ValueError(f"The saved optimiser state holds a {type(value).__name__}.")
                expected = () if name == "step" else tuple(param.shape)
                if tuple(value.shape) != expected:
                    raise ValueError(
                        f"The saved optimiser state does not fit the network ({name} of "
                        f"shape {tuple(value.shape)} for a parameter of {tuple(param.shape)})."
                    )
                if not torch.isfinite(value).all() or (
                    name in ("step", "exp_avg_sq") and (value < 0).any()
                ):
                    raise ValueError(f"The saved optimiser state is out of range ({name}).")
            if entry and set(entry) != {"step", "exp_avg", "exp_avg_sq"}:
                raise ValueError("The saved optimiser state lacks or adds moments.")
