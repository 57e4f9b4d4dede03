"""What :func:`skvae.load` checks before it builds anything from a model file.

A model file is data from someone else. Its JSON description and its tensors
are checked for types, sizes and consistency before an estimator or a network
is built from them, so that a damaged or hostile file is refused with a
ValueError that names the file and the problem (never a raw traceback, a
runaway allocation, NaN outputs or a method hidden by an attribute):

* only a regular file is opened (a named pipe would block forever);
* the description nests at most ``MAX_DEPTH`` levels, and its integers fit
  in 64 bits;
* attributes never shadow a method or a property of the class;
* hyperparameters pass the estimator's own ``_parameter_constraints``;
* a fitted estimator's data attributes have the types and shapes its
  inference needs, consistent with ``n_features_in_``;
* the network that the hyperparameters describe is built on torch's
  ``meta`` device first (no memory) and must have exactly the shapes of the
  weights in the file, so the real one costs no more than the file holds;
* weights are finite.
"""

import inspect
import math
import os
import stat
from numbers import Integral, Real

import numpy as np
import torch

# Levels of nesting a model description may have (skvae writes fewer than 10).
MAX_DEPTH = 64
_INT_BOUND = 2**63


def unreadable(path, why):
    return ValueError(f"{path} is not a skvae model file this version can read: {why}.")


def check_regular_file(path):
    """Refuse a directory, a device or a named pipe before opening it (never block)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"No such model file: {path}") from None
    except OSError as exc:
        raise unreadable(path, f"it cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ValueError(f"{path} is a directory; give the model file written by skvae.save.")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(
            f"{path} is not a regular file (a named pipe, a socket or a device); give "
            "the model file written by skvae.save."
        )


def check_description(description, path):
    """The JSON description's shape: nesting, integer sizes, the top-level keys."""
    stack = [(description, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise unreadable(path, f"its description nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and abs(value) >= _INT_BOUND:
            raise unreadable(path, f"its description holds an integer too large ({value:.3g})")
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise unreadable(path, "its description has keys that are not strings")
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    if not isinstance(description, dict) or not isinstance(description.get("model"), dict):
        raise unreadable(path, "its description holds no model")


def check_estimator_entry(data, path):
    """One estimator's entry: its class name, state, weights and history."""
    if not isinstance(data.get("__estimator__"), str):
        raise unreadable(path, "an estimator entry names no class")
    if not isinstance(data.get("state"), dict):
        raise unreadable(path, f"the state of {data['__estimator__']} is not a mapping")
    weights = data.get("weights")
    if weights is not None and not (
        isinstance(weights, dict)
        and all(isinstance(v, str) for v in weights.values())
        and isinstance(data.get("history"), list)
    ):
        raise unreadable(path, f"the weights or history of {data['__estimator__']} are damaged")
    if weights is not None and not all(_history_row(row) for row in data["history"]):
        raise unreadable(path, f"the training history of {data['__estimator__']} is damaged")


def _history_row(row):
    """One epoch of a saved history: its losses numbers, its batches records."""
    if not isinstance(row, dict) or not _number(row.get("train_loss")):
        return False
    if "valid_loss" in row and not _number(row["valid_loss"]):
        return False
    batches = row.get("batches", [])
    return isinstance(batches, list) and all(
        isinstance(b, dict)
        and all(_number(v) for k, v in b.items() if k.startswith(("train_", "valid_")))
        for b in batches
    )


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_optimizer_entry(saved, path):
    """A saved optimiser state: tensors by parameter index, one group of settings."""
    state, groups = (saved.get("state"), saved.get("param_groups")) if isinstance(
        saved, dict
    ) else (None, None)
    ok = (
        isinstance(state, dict)
        and all(k.isdigit() and isinstance(v, dict) for k, v in state.items())
        and all(isinstance(t, str) for v in state.values() for t in v.values())
        and isinstance(groups, list)
        and all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in groups)
    )
    if not ok:
        raise unreadable(path, "its optimiser state is damaged")


def check_state_names(cls, state, path):
    """No attribute may hide anything of the class (a method, ``_parameter_constraints``)."""
    params = set(inspect.signature(cls.__init__).parameters)
    # hyperparameters added to the core later: a family that does not take
    # one still holds the core's value
    params |= set(getattr(cls, "_params_added", {}))
    for name in state:
        if name in params:
            continue
        if name.startswith("__"):
            raise unreadable(path, f"its {cls.__name__} has a reserved attribute {name!r}")
        try:
            inspect.getattr_static(cls, name)
        except AttributeError:
            continue
        raise unreadable(path, f"its {cls.__name__} has an attribute {name!r} that would "
                               "hide the class's own")


def check_params(est, path):
    """The hyperparameters pass the estimator's own validation."""
    validate = getattr(est, "_validate_params", None)
    if validate is None or not hasattr(type(est), "_parameter_constraints"):
        return
    try:
        validate()
    except (ValueError, TypeError) as exc:
        raise unreadable(path, f"its {type(est).__name__} has an invalid hyperparameter: "
                               f"{str(exc).splitlines()[0]}") from None


# the dtypes a network's weights and buffers are saved in
_WEIGHT_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
                  torch.bool)

# what a fitted skvae estimator's inference reads, beside its net
_FITTED = ("n_features_in_", "x_offset_", "x_unit_", "_fitted_structure_", "_inference_seed")


def check_fitted(est, path):
    """A fitted skvae estimator's data attributes: present, typed, consistent."""
    name = type(est).__name__
    missing = [a for a in _FITTED if a not in vars(est)]
    if missing:
        raise unreadable(path, f"its fitted {name} lacks {', '.join(missing)}")
    n = est.n_features_in_
    if not isinstance(n, Integral) or isinstance(n, bool) or not 1 <= n <= 10**8:
        raise unreadable(path, f"its {name} has n_features_in_={n!r}, not a count of features")
    offset = est.x_offset_
    if not (isinstance(offset, np.ndarray) and offset.shape == (n,) and offset.dtype.kind == "f"
            and np.isfinite(offset).all()):
        raise unreadable(path, f"its {name}'s x_offset_ is not {n} finite numbers")
    unit = est.x_unit_
    if not (isinstance(unit, Real) and not isinstance(unit, bool) and math.isfinite(unit)
            and unit > 0):
        raise unreadable(path, f"its {name}'s x_unit_ is {unit!r}, not a positive number")
    shape = getattr(est, "image_shape_", None)
    if shape is not None and not (
        isinstance(shape, (tuple, list)) and len(shape) == 3
        and all(isinstance(s, Integral) and s > 0 for s in shape) and math.prod(shape) == n
    ):
        raise unreadable(path, f"its {name}'s image_shape_ {shape!r} does not hold {n} features")
    structure = est._fitted_structure_
    if not isinstance(structure, dict) or set(structure) != set(est._structural_names()):
        raise unreadable(path, f"its {name}'s fitted structure is damaged")
    if not isinstance(est._inference_seed, Integral) or not 0 <= est._inference_seed < 2**32:
        raise unreadable(path, f"its {name}'s inference seed is damaged")
    if vars(est).get("_table_") is not None:
        check_table(est, path)


def check_table(est, path):
    """A fitted table's description (``_table_``): types, categories, dtypes, names.

    Everything ``decode`` reads is checked here, so that an edited file is
    refused when it is read rather than failing inside pandas later.
    """
    from ._table_values import MAX_CATEGORIES
    from .models import CATEGORICAL_TYPES, COLUMN_TYPES

    table, n, name = est._table_, est.n_features_in_, type(est).__name__

    def bad(why):
        return unreadable(path, f"its {name}'s table description is damaged ({why})")

    if not isinstance(table, dict) or set(table) != {"types", "categories", "dtypes", "names",
                                                     "frame", "declared", "integral"}:
        raise bad("not the seven entries of a table")
    integral = table["integral"]
    if not isinstance(integral, list) or len(integral) != n or not all(
        isinstance(v, bool) for v in integral
    ):
        raise bad("which columns are integers")
    declared = table["declared"]
    if not isinstance(declared, list) or len(declared) != n or not all(
        d is None or d == t for d, t in zip(declared, table["types"], strict=False)
    ):
        raise bad("the declared column types")
    types, categories, dtypes = table["types"], table["categories"], table["dtypes"]
    for key, value in (("types", types), ("categories", categories), ("dtypes", dtypes)):
        if not isinstance(value, list) or len(value) != n:
            raise bad(f"{key} is not a list of {n} entries")
    if not all(isinstance(t, str) and t in COLUMN_TYPES for t in types):
        raise bad("an unknown column type")
    for kind, cats in zip(types, categories, strict=True):
        if kind not in CATEGORICAL_TYPES:
            if cats is not None:
                raise bad(f"a {kind} column has categories")
            continue
        if not isinstance(cats, list) or not 1 <= len(cats) <= MAX_CATEGORIES:
            raise bad("a categorical column without its categories")
        for c in cats:
            finite = not isinstance(c, float) or math.isfinite(c)
            if not isinstance(c, (str, int, float, bool)) or not finite:
                raise bad(f"the category {c!r}")
        if len({(type(c) is bool, c) for c in cats}) != len(cats):
            raise bad("a category listed twice")
    import pandas as pd

    for dtype in dtypes:
        if not isinstance(dtype, str) or len(dtype) > 40:
            raise bad("a dtype that is not a dtype's name")
        try:
            pd.api.types.pandas_dtype(dtype)
        except (TypeError, ValueError):
            raise bad(f"the dtype {dtype!r}") from None
    names = table["names"]
    if names is not None and not (
        isinstance(names, list) and len(names) == n
        and (all(isinstance(v, str) for v in names)
             or all(isinstance(v, int) and not isinstance(v, bool) for v in names))
        and len(set(names)) == n
    ):
        raise bad("the column names")
    if not isinstance(table["frame"], bool) or (table["frame"] and names is None):
        raise bad("whether it was a DataFrame")
    if est.x_unit_ != 1.0:
        raise bad("a table's x_unit_ is 1")


def check_weights(est, weights, path):
    """Finite weights, of exactly the shapes of the network the hyperparameters describe.

    The network is first built on torch's ``meta`` device (shapes, no memory);
    a network of the user's own (``encoder`` / ``decoder``) is checked by
    loading the weights into the real one instead.
    """
    name = type(est).__name__
    for key, tensor in weights.items():
        if tensor.dtype not in _WEIGHT_DTYPES:
            raise unreadable(path, f"its {name} has weights of type {tensor.dtype} ({key})")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise unreadable(path, f"its {name} has weights that are not finite ({key})")
    structure = est._fitted_structure_
    params = est.get_params(deep=False)
    try:
        est.set_params(**structure)
        check_params(est, path)
        if any(structure.get(p) is not None for p in ("encoder", "decoder")):
            return  # the user's modules: checked when the weights are loaded into them
        with torch.device("meta"):
            module = est._module_class(
                **est._module_params(np.zeros((2, est.n_features_in_), dtype=np.float32))
            )
        expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    except (ValueError, TypeError, RuntimeError, OverflowError, MemoryError) as exc:
        if str(path) in str(exc):
            raise
        raise unreadable(path, f"its {name} describes no network skvae can build: "
                               f"{str(exc).splitlines()[0]}") from None
    finally:
        est.set_params(**params)
    found = {k: tuple(v.shape) for k, v in weights.items()}
    if found != expected:
        wrong = sorted(set(found) ^ set(expected)) or sorted(
            k for k in found if found[k] != expected[k]
        )
        raise unreadable(
            path, f"its {name}'s weights do not fit the network its hyperparameters describe "
                  f"({wrong[0]}: {found.get(wrong[0])} in the file, "
                  f"{expected.get(wrong[0])} expected)"
        )


def check_strings(items, dtype, shape, path):
    """A stored array of strings: the declared width and shape match its items."""
    if not (isinstance(items, list) and all(isinstance(v, str) for v in items)
            and isinstance(shape, list) and all(isinstance(s, int) and s >= 0 for s in shape)
            and math.prod(shape) == len(items)):
        raise unreadable(path, "an array of strings is damaged")
    if dtype == "object":
        return
    kind = np.dtype(dtype) if isinstance(dtype, str) and dtype[1:2] == "U" else None
    widest = max((len(v) for v in items), default=0)
    if kind is None or kind.itemsize // 4 > max(widest, 1):
        raise unreadable(path, f"an array of strings declares the type {dtype!r}")


def check_fitted_numbers(est, path):
    """Every number a fitted estimator holds (``offset_``, ``weights_``...) is finite."""
    name = type(est).__name__
    for key, value in vars(est).items():
        if not key.endswith("_") or key.startswith("__"):
            continue
        if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
            ok = np.isfinite(value).all()
        elif isinstance(value, (float, np.floating)):
            ok = math.isfinite(value)
        else:
            continue
        if not ok:
            raise unreadable(path, f"its {name}'s {key} is not finite")


def check_pipeline(pipe, path):
    """A Pipeline of (name, estimator) steps: scalers, then a skvae estimator; no cache."""
    from ._base import BaseVAE

    steps = pipe.steps
    ok = isinstance(steps, list) and len(steps) >= 1 and all(
        isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], str) for s in steps
    )
    if ok:
        *first, (_, last) = steps
        ok = all(not isinstance(e, (BaseVAE, str)) and hasattr(e, "transform")
                 for _, e in first) and (isinstance(last, BaseVAE) or hasattr(last, "transform"))
    if not ok:
        raise unreadable(path, "its Pipeline's steps are not (name, estimator) pairs of "
                               "scalers and an skvae estimator")
    if pipe.memory is not None:
        raise unreadable(path, "its Pipeline names a cache directory (memory); a model file "
                               "does not choose where to write")


def codes_model(inner):
    """The skvae estimator that gives a ``VAEMap``'s codes: its ``estimator_``,
    or that Pipeline's last step; None when it is neither (a file cannot hold it)."""
    from sklearn.pipeline import Pipeline

    from ._base import BaseVAE

    if isinstance(inner, Pipeline):
        inner = inner.steps[-1][1]
    return inner if isinstance(inner, BaseVAE) else None


def check_map(mapper, path):
    """A fitted ``VAEMap``'s arrays agree with each other and its codes' estimator."""
    state = vars(mapper)
    codes, embedding = state.get("training_codes_"), state["embedding_"]
    inner = state.get("estimator_")
    ok = (
        isinstance(codes, np.ndarray) and codes.ndim == 2 and codes.dtype == np.float32
        and isinstance(embedding, np.ndarray) and embedding.dtype == np.float64
        and embedding.shape == (codes.shape[0], mapper.n_components)
        and codes.shape[0] >= mapper.n_components + 2
        and hasattr(codes_model(inner), "net_")
        and state.get("n_features_in_") == getattr(inner, "n_features_in_", None)
        and state.get("_n_features_out") == mapper.n_components
    )
    if not ok:
        raise unreadable(path, "its VAEMap's fitted arrays do not agree with each other "
                               "or with its estimator_")


def check_model(model, path):
    """The loaded model answers a probe row with finite numbers (no NaN, no hang).

    The probe is the training mean (``x_offset_``) through every method the
    model's tags promise; a model that gives NaN there was edited or damaged.
    """
    from sklearn.pipeline import Pipeline

    from ._base import BaseVAE
    from ._map import VAEMap
    from ._registry import get_model_tags

    est = model
    if isinstance(model, Pipeline):
        est = model.steps[-1][1]
    mapper = None
    if isinstance(est, VAEMap) and hasattr(est, "embedding_"):  # probe its codes' model
        mapper, est = est, codes_model(est.estimator_)
    if not isinstance(est, BaseVAE) or not hasattr(est, "net_"):
        return
    tags = get_model_tags(est)
    row = np.asarray(est.x_offset_, dtype=np.float64)[None, :]
    if est._fitted_param("likelihood") == "bernoulli":
        row = np.full_like(row, 0.5)
    names = getattr(est, "feature_names_in_", None)
    table = est._table
    if table is not None:
        # the real columns' means, each category column's first category
        row = table.decode(row)
    elif names is not None:  # as fitted: a row without names would warn the user
        import pandas as pd

        row = pd.DataFrame(row, columns=names)
    y = (est.classes_[:1],) if tags.labels == "classes" else ()
    outputs = [est.score_samples(row, *y)]
    if tags.codes is not None:
        codes = est.transform(row, *y)
        outputs.append(codes)
        if mapper is not None and np.shape(codes)[1] != mapper.training_codes_.shape[1]:
            raise unreadable(path, "its VAEMap's training codes do not have the width of "
                                   "its estimator's codes")
    if tags.labels is not None:
        outputs.append(est.predict_proba(row))
    if tags.outlier_scores:
        outputs.append(est.decision_function(row))
    if tags.samples is not None:
        drawn = est.sample(2, random_state=0)
        drawn = drawn[0] if tags.samples == "X_y" else drawn
        outputs.append(drawn if table is None else table.encode(drawn))
    for out in outputs:
        out = np.asarray(out, dtype=np.float64)
        if np.isnan(out).any() or np.isposinf(out).any():
            raise unreadable(path, f"its {type(est).__name__} gives NaN or +inf on its own "
                                   "training mean: its parameters were edited or damaged")
