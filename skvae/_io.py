"""Model files that are safe to load: :func:`save` and :func:`load`.

A pickle (``joblib.dump``) runs code from the file when it is loaded, so a
model file from someone else is a program from someone else. A skvae model
file holds data only, in the `safetensors <https://huggingface.co/docs/safetensors>`_
format: the network's weights and every numeric fitted array as tensors, and
a JSON description (hyperparameters, scalar fitted attributes, the training
history) in the file's metadata. :func:`load` rebuilds the estimator from
that description; the only classes it creates are the skvae estimators, a
:class:`~sklearn.pipeline.Pipeline` and a few scikit-learn scalers, and
nothing in the file can name another.

What a file cannot hold is code: a network of your own (``encoder`` /
``decoder``) is stored as its weights, and :func:`load` needs the module
again to put them into; ``callbacks`` only matter to training and are not
stored.
"""

import json
import os
import warnings
from importlib import import_module

import numpy as np
import torch
from sklearn.base import BaseEstimator

from ._io_checks import (
    check_description,
    check_estimator_entry,
    check_fitted,
    check_fitted_numbers,
    check_map,
    check_model,
    check_optimizer_entry,
    check_params,
    check_pipeline,
    check_regular_file,
    check_state_names,
    check_strings,
    check_weights,
    codes_model,
    unreadable,
)

FORMAT = "skvae-model"
# Raised when a file written by this version cannot be read by an older one.
FORMAT_VERSION = 1

# The classes a model file may name, and nothing else: load() never imports
# or calls anything a file asks for beyond these. The estimators are those of
# the registry (skvae._registry): skvae's own, and model families defined
# outside skvae that this process has already imported. A file names them;
# it can never make load() import one.
# skvae's classes outside the registry: settings objects, and the map
_SKVAE_CLASSES = ("DiffusionPrior", "AutoregressivePrior", "VAEMap")
_SKLEARN_CLASSES = {
    "Pipeline": "sklearn.pipeline",
    "StandardScaler": "sklearn.preprocessing",
    "MinMaxScaler": "sklearn.preprocessing",
    "MaxAbsScaler": "sklearn.preprocessing",
    "RobustScaler": "sklearn.preprocessing",
}
# Hyperparameters that hold code: stored as a placeholder, given back to load().
_CODE_PARAMS = ("encoder", "decoder")


def _class_named(name):
    from ._registry import registered_class

    if name in _SKVAE_CLASSES:
        return getattr(import_module("skvae"), name)
    if name in _SKLEARN_CLASSES:
        return getattr(import_module(_SKLEARN_CLASSES[name]), name)
    return registered_class(name)


def _stored_name(cls):
    """The name a file stores for ``cls``: skvae's classes by name, others in full."""
    from ._registry import registered_name

    if cls.__name__ in _SKVAE_CLASSES or cls.__name__ in _SKLEARN_CLASSES:
        return cls.__name__
    return registered_name(cls) or cls.__name__


def _allowed_names():
    from ._registry import registered_classes

    estimators = [name for name, _ in registered_classes(include_external=True)]
    return ", ".join(estimators + list(_SKVAE_CLASSES) + list(_SKLEARN_CLASSES))


def _version():
    from . import __version__

    return __version__


class _Code:
    """Stands in for a module of the user's in a model file: only its name is written."""

    def __init__(self, param, name):
        self.param, self.name = param, name


class _Writer:
    """Turns an estimator into JSON-able data plus a dict of tensors."""

    def __init__(self):
        self.tensors = {}

    def add_tensor(self, key, tensor):
        self.tensors[key] = tensor.detach().to("cpu", copy=True).contiguous()
        return {"__tensor__": key}

    def value(self, value, key):
        """``value`` as JSON-able data; arrays go to the tensors under ``key``."""
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.generic):
            if value.dtype.kind not in "biuf":
                raise TypeError(f"{key} holds a {value.dtype} scalar, which a model file cannot")
            return {"__scalar__": value.dtype.str, "value": value.item()}
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biuf":
                return {"__ndarray__": self.add_tensor(key, torch.from_numpy(np.array(value)))}
            items = value.ravel().tolist()
            if not all(isinstance(v, str) for v in items):
                kinds = sorted({type(v).__name__ for v in items})
                raise TypeError(
                    f"{key} is an array of {', '.join(kinds)} values; a model file holds "
                    "arrays of numbers or of strings only."
                )
            dtype = value.dtype.str if value.dtype.kind == "U" else "object"
            return {"__strings__": items, "dtype": dtype, "shape": list(value.shape)}
        if isinstance(value, torch.Tensor):
            return self.add_tensor(key, value)
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, _Code):
            return {"__code__": value.param, "name": value.name}
        if isinstance(value, tuple):
            return {"__tuple__": [self.value(v, f"{key}.{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.value(v, f"{key}.{i}") for i, v in enumerate(value)]
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise TypeError(f"{key} is a dict with keys that are not strings")
            return {"__dict__": {k: self.value(v, f"{key}.{k}") for k, v in value.items()}}
        if isinstance(value, np.random.RandomState):
            kind, keys, pos, has_gauss, gauss = value.get_state()
            return {
                "__random_state__": [kind, self.value(keys, f"{key}.keys"), pos, has_gauss, gauss]
            }
        if isinstance(value, BaseEstimator):
            return self.estimator(value, key)
        raise TypeError(
            f"{key} holds a {type(value).__module__}.{type(value).__qualname__}, which a "
            "model file cannot store (it holds numbers, strings and arrays only)."
        )

    def optimizer(self, state, key):
        """An optimiser's ``state_dict``: its tensors as tensors, its settings as JSON."""
        return {
            "state": {
                str(index): {
                    name: self.add_tensor(f"{key}.optimizer.{index}.{name}", value)["__tensor__"]
                    for name, value in entry.items()
                }
                for index, entry in state["state"].items()
            },
            "param_groups": _optimizer_groups(state["param_groups"]),
        }

    def estimator(self, est, key):
        from ._base import BaseVAE
        from ._map import VAEMap

        name = _stored_name(type(est))
        if _class_named(name) is not type(est):
            hint = "Use joblib or skops to store other objects."
            if isinstance(est, BaseVAE):
                hint = (
                    "A model family of your own is registered (and saved) when its class "
                    "names a _module_class and its name does not start with '_'."
                )
            raise TypeError(
                f"skvae.save stores {_allowed_names()} (and Pipelines of them); "
                f"{key} is a {type(est).__module__}.{type(est).__qualname__}. {hint}"
            )
        if type(est).__module__ == "__main__":
            warnings.warn(
                f"{type(est).__qualname__} is defined in __main__ (a script or a notebook): "
                "the file can be loaded only where a class of that name is defined in "
                "__main__ again. Define the family in a module to load it elsewhere.",
                UserWarning,
                stacklevel=4,
            )
        state = dict(vars(est))
        if isinstance(est, VAEMap):
            if hasattr(est, "estimator_") and codes_model(est.estimator_) is None:
                raise TypeError(
                    f"{key} is a VAEMap whose codes come from a "
                    f"{type(est.estimator_).__name__}; a model file holds a VAEMap on the "
                    "codes of an skvae estimator (or a Pipeline ending in one). Use joblib "
                    "or skops to store this one."
                )
            state.pop("_index", None)  # rebuilt from training_codes_ on load
        out = {"__estimator__": name}
        if isinstance(est, BaseVAE):
            if "net_" in state:
                net = state.pop("net_")
                out["weights"] = {
                    k: self.add_tensor(f"{key}.module.{k}", v)["__tensor__"]
                    for k, v in net.module_.state_dict().items()
                }
                out["history"] = json.loads(json.dumps(net.history.to_list(), default=_plain))
                if getattr(net, "incremental", False):
                    # partial_fit continues from here: its optimiser's state too
                    out["optimizer"] = self.optimizer(net.optimizer_.state_dict(), key)
            callbacks = state.pop("callbacks", None)
            if callbacks:
                warnings.warn(
                    f"{name}'s callbacks are not stored in a model file (they matter "
                    "to training only); the loaded model has callbacks=None.",
                    UserWarning,
                    stacklevel=3,
                )
            state["callbacks"] = None
            if "_fitted_structure_" in state:
                state["_fitted_structure_"] = dict(state["_fitted_structure_"])
            _store_column_types(est, state, name)
            for owner in (state, state.get("_fitted_structure_") or {}):
                for param in _CODE_PARAMS:
                    module = owner.get(param)
                    if module is not None:
                        owner[param] = _Code(param, _code_name(module))
        out["state"] = {k: self.value(v, f"{key}.{k}") for k, v in state.items()}
        return out


def _store_column_types(est, state, name):
    """``column_types`` without code: a callable entry (``make_column_selector``)
    becomes the columns it selected at fit; unfitted, it cannot be stored."""
    for owner in (state, state.get("_fitted_structure_") or {}):
        given = owner.get("column_types")
        if not isinstance(given, dict) or not any(callable(v) for v in given.values()):
            continue
        table = est._table
        if table is None:
            raise TypeError(
                f"{name}'s column_types holds a callable (such as make_column_selector), "
                "and a model file holds no code: fit the model first (the file then "
                "holds the columns it selected), or name the columns."
            )
        owner["column_types"] = table.stored_column_types(given)
        if owner is state:
            warnings.warn(
                f"{name}'s column_types selects columns with a callable, which a model "
                "file cannot hold: it is saved as the columns it selected at fit, "
                f"{owner['column_types']!r}.",
                UserWarning,
                stacklevel=4,
            )


def _optimizer_groups(groups):
    return json.loads(json.dumps(groups, default=_plain))


def _code_name(obj):
    """What a user's module (an instance, a class or a factory) is called, for messages."""
    what = obj if isinstance(obj, type) else type(obj)
    if isinstance(obj, (type, torch.nn.Module)):
        return f"{what.__module__}.{what.__qualname__}"
    return repr(obj)[:100]


def _plain(value):
    """JSON for the numpy scalars skorch's history may hold."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store a {type(value).__name__} in the training history")


def save(estimator, file):
    """Save a fitted (or unfitted) skvae estimator to a file that is safe to load.

    The file is a `safetensors <https://huggingface.co/docs/safetensors>`_
    file: the network's weights and the fitted arrays as tensors, and the
    hyperparameters, the other fitted attributes and the training history as
    JSON in its metadata. Unlike a pickle, loading it runs no code from the
    file (see :func:`load`). It loads on any machine whatever device the model
    was trained on, and the loaded model gives bit-identical outputs on the
    same kind of device.

    Parameters
    ----------
    estimator : skvae estimator or Pipeline
        Any estimator of :func:`skvae.all_estimators` (a model family of
        your own too, once it is defined), or a
        :class:`~sklearn.pipeline.Pipeline` of them and scikit-learn's
        ``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler`` or
        ``RobustScaler``.
    file : str or os.PathLike
        Where to write. A ``.safetensors`` name lets other tools recognise it.
        The file is written whole beside the target and renamed over it, so
        a failed write leaves the previous file unchanged; a symbolic link is
        followed (its target replaced, the link kept); an existing file keeps
        its permissions; a device or a named pipe is written in place.

    Raises
    ------
    TypeError
        When the estimator (or a step of a Pipeline) is not one a model file
        can hold.
    OSError
        When the file cannot be written (no space, a file-size limit, no
        permission); the message says the previous file is unchanged.

    Notes
    -----
    A network of your own (``encoder`` / ``decoder``) is saved as its weights
    only: pass the same module to :func:`load`. ``callbacks`` are not saved
    (a warning says so); the loaded model has ``callbacks=None``. A model
    trained with ``partial_fit`` is saved with its optimiser's state, so that
    ``partial_fit`` continues after :func:`load` as it would have.

    Examples
    --------
    >>> import skvae
    >>> from sklearn.datasets import load_wine
    >>> X = load_wine().data
    >>> vae = skvae.VAETransformer(max_iter=2, random_state=0, device="cpu").fit(X)
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "vae.safetensors")
    >>> skvae.save(vae, path)
    >>> loaded = skvae.load(path)
    >>> bool((loaded.transform(X) == vae.transform(X)).all())
    True
    """
    from safetensors.torch import save as to_bytes

    from ._files import write_file

    writer = _Writer()
    description = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skvae_version": _version(),
        "torch_version": torch.__version__,
        "model": writer.estimator(estimator, "model"),
    }
    metadata = {
        "format": FORMAT,
        "skvae": json.dumps(description, allow_nan=True, separators=(",", ":")),
    }
    data = to_bytes(writer.tensors, metadata=metadata)
    write_file(file, lambda handle: handle.write(data))


class _Reader:
    """Rebuilds values written by :class:`_Writer`."""

    def __init__(self, tensors, code, device, path):
        self.tensors = tensors
        self.code = code
        self.device = device
        self.path = path

    def tensor(self, key):
        if key not in self.tensors:
            raise unreadable(self.path, f"the tensor {key!r} is missing")
        return self.tensors[key]

    def value(self, data):
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        if isinstance(data, list):
            return [self.value(v) for v in data]
        if not isinstance(data, dict) or len(data) == 0:
            raise unreadable(self.path, f"unexpected value {data!r}")
        tag = next(iter(data))
        if tag == "__tensor__":
            return self.tensor(data[tag])
        if tag == "__ndarray__":
            return self.tensor(data[tag]["__tensor__"]).numpy()
        if tag == "__scalar__":
            dtype = np.dtype(data[tag])
            if dtype.kind not in "biuf":
                raise unreadable(self.path, f"a scalar has the type {data[tag]!r}")
            return dtype.type(data["value"])
        if tag == "__strings__":
            check_strings(data[tag], data.get("dtype"), data.get("shape"), self.path)
            return np.array(data[tag], dtype=data["dtype"]).reshape(data["shape"])
        if tag == "__tuple__":
            return tuple(self.value(v) for v in data[tag])
        if tag == "__dict__":
            return {k: self.value(v) for k, v in data[tag].items()}
        if tag == "__device__":
            return torch.device(data[tag])
        if tag == "__random_state__":
            kind, keys, pos, has_gauss, gauss = data[tag]
            rng = np.random.RandomState()
            rng.set_state((kind, self.value(keys), pos, has_gauss, gauss))
            return rng
        if tag == "__code__":
            param = data[tag]
            module = self.code.get(param)
            if module is None:
                raise ValueError(
                    f"{self.path} was fitted with an {param} of your own "
                    f"({data.get('name')}); a model file holds its weights but never "
                    f"code. Pass the same module: skvae.load(path, {param}=...)."
                )
            return module
        if tag == "__estimator__":
            return self.estimator(data)
        raise unreadable(self.path, f"unknown tag {tag!r}")

    def optimizer(self, data):
        """The saved optimiser state of a ``partial_fit`` net, or None."""
        saved = data.get("optimizer")
        if saved is None:
            return None
        check_optimizer_entry(saved, self.path)
        return {
            "state": {
                int(index): {name: self.tensor(key) for name, key in entry.items()}
                for index, entry in saved["state"].items()
            },
            "param_groups": saved["param_groups"],
        }

    def estimator(self, data):
        from ._base import BaseVAE, fill_added_params
        from ._map import VAEMap

        check_estimator_entry(data, self.path)
        name = data["__estimator__"]
        cls = _class_named(name)
        if cls is None:
            module = name.rpartition(".")[0]
            hint = (
                f" (a model family of your own is loaded once its module, {module}, is "
                "imported: import it before skvae.load)"
                if module
                else ""
            )
            raise unreadable(
                self.path,
                f"it names a class {name!r}; skvae loads only {_allowed_names()}{hint}",
            )
        check_state_names(cls, data["state"], self.path)
        est = cls.__new__(cls)
        est.__dict__.update({k: self.value(v) for k, v in data["state"].items()})
        if issubclass(cls, BaseVAE):
            fill_added_params(cls, est.__dict__)  # a file from before the parameter
        check_params(est, self.path)
        if cls.__name__ == "Pipeline":
            check_pipeline(est, self.path)
        check_fitted_numbers(est, self.path)
        if isinstance(est, VAEMap) and hasattr(est, "embedding_"):
            check_map(est, self.path)
            est._build_index()
        if not isinstance(est, BaseVAE):
            return est
        if self.device is not None:
            est.device = self.device
        est._check_device_here(stacklevel=4)
        if "weights" not in data and any(
            k.endswith("_") and not k.startswith("__") for k in data["state"]
        ):
            raise unreadable(self.path, f"its {name} has fitted attributes but no weights")
        if "weights" in data:
            check_fitted(est, self.path)
            weights = {k: self.tensor(key) for k, key in data["weights"].items()}
            check_weights(est, weights, self.path)
            try:
                est._restore_net(weights, data["history"], self.optimizer(data))
            except ValueError as exc:
                message = str(exc).splitlines()[0]
                if self.path in message:
                    raise
                raise unreadable(self.path, message.rstrip(".")) from None
        return est




def load(file, *, encoder=None, decoder=None, device=None):
    """Load an estimator written by :func:`save`, running no code from the file.

    The file's JSON names the estimator's class, which must be one of the
    skvae estimators, a ``Pipeline`` or one of the scalers :func:`save`
    accepts; its values are numbers, strings and arrays. Nothing else is
    imported or called, so a file from someone else cannot run code on your
    machine.

    Parameters
    ----------
    file : str or os.PathLike
        A file written by :func:`save`.
    encoder, decoder : torch.nn.Module, class or None, default=None
        The networks of your own that the model was fitted with, when it was
        (the file holds their weights, which are loaded into them). Give what
        you passed to the estimator's ``encoder`` / ``decoder``.
    device : str or None, default=None
        The ``device`` of the loaded estimators. None keeps the saved one,
        except that a model fitted on a device this machine lacks (a CUDA
        GPU, ``"cuda:1"``, Apple's MPS) is loaded on the CPU, with a warning.

    Returns
    -------
    estimator : skvae estimator or Pipeline
        As it was saved: fitted when it was, with bit-identical outputs on
        the same kind of device.

    Raises
    ------
    ValueError
        When the file is not a regular file or not a skvae model file, was
        written by a newer skvae in a format this one cannot read, fails the
        checks of a damaged or edited file (see the user guide's "Saving and
        loading"), needs an ``encoder`` / ``decoder`` that was not given, or
        ``device`` is not one this machine has. The message names the file.
    """
    from safetensors import SafetensorError, safe_open

    path = os.fspath(file)
    check_regular_file(path)
    if device is not None:
        from ._units import resolve_device

        try:
            resolve_device(device)
        except ValueError as exc:
            raise ValueError(f"skvae.load({path!r}, device={device!r}): {exc}") from None
    try:
        with safe_open(path, framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except FileNotFoundError:
        raise FileNotFoundError(f"No such model file: {path}") from None
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise unreadable(path, f"it is not a safetensors file ({exc})") from None
    if metadata.get("format") != FORMAT or "skvae" not in metadata:
        raise unreadable(path, "it is a safetensors file without a skvae model description")
    try:
        description = json.loads(metadata["skvae"])
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, or too many digits
        raise unreadable(path, f"its model description is not valid JSON ({exc})") from None
    check_description(description, path)
    written_by = description.get("skvae_version", "an unknown version")
    version = description.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise unreadable(path, f"its format version is {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by skvae {written_by} in model-file format {version}; "
            f"this skvae ({_version()}) reads format {FORMAT_VERSION} and older. "
            "Upgrade skvae to load it."
        )
    reader = _Reader(tensors, {"encoder": encoder, "decoder": decoder}, device, path)
    try:
        model = reader.estimator(description["model"])
        if not isinstance(model, BaseEstimator) or not hasattr(model, "fit"):
            raise unreadable(path, f"it holds a {type(model).__name__}, not a model")
        check_model(model, path)
        return model
    except ValueError as exc:
        if path in str(exc):
            raise
        raise unreadable(path, str(exc).splitlines()[0].rstrip(".")) from None
    except (KeyError, TypeError, IndexError, AttributeError, RecursionError, OverflowError,
            RuntimeError, NotImplementedError, MemoryError) as exc:
        raise unreadable(
            path, f"its description is damaged or from another skvae ({written_by}): {exc!r}"
        ) from None
