"""Hostile but realistic use of skvae, judged case by case.

Every case is something a user could do: bad data, absurd but finite values,
bad parameters and method arguments, interrupted and warm fits, model files
that are not model files, and the command line on broken CSV files. Each gets
one of five verdicts:

- **clear error**: a ValueError / TypeError / FileNotFoundError (or the
  scikit-learn subclasses) raised by skvae's or scikit-learn's own checks with
  a message, or a command-line run that exits 2 with one line on stderr, where
  an error is the right answer;
- **correct result**: a result that passes the case's check (finite,
  well-formed, the value it should be), or the documented behaviour (Ctrl-C
  propagates and the previous model is kept);
- **unclear error**: any other exception, or one raised from deep inside torch
  or numpy, or a command-line traceback;
- **silent wrong result**: a result where an error was due, or a result that
  fails its check (NaN, a normal flag for an absurd row, a changed model after
  a failed fit);
- **refused valid input**: a clear error where a result was due;
- **data loss**: whatever happened, a file the case protects (an input, the
  previous version of an output) changed.

The cases include what skvae writes (outputs that name an input, links,
named pipes, devices, a file-size limit in the middle of a write) and model
files whose description was edited, key by key. The target is 0 unclear
errors, 0 silent wrong results, 0 refusals and 0 data loss.

    python benchmarks/hostile_inputs.py       # every case (about 20 s on one core)
    python benchmarks/hostile_inputs.py -v    # every case and its verdict

``tests/test_hostile_inputs.py`` runs it in CI.
"""

import argparse
import atexit
import contextlib
import io
import os
import pickle
import stat
import subprocess
import sys
import tempfile
import threading
import traceback
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.datasets import load_wine
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

import skvae
from skvae import (
    AutoencoderTransformer,
    AutoregressivePrior,
    ConditionalVAE,
    DiffusionPrior,
    GMVAEClusterer,
    VAEOutlierDetector,
    VAETransformer,
    VQVAETransformer,
    all_estimators,
)
from skvae import get_model_tags as tags
from skvae.cli import main as cli_main

CLEAR, CORRECT, UNCLEAR, SILENT, REFUSED, LOST = (
    "clear error",
    "correct result",
    "unclear error",
    "silent wrong result",
    "refused valid input",
    "data loss",
)
ERROR, RESULT, EITHER = "error", "result", "either"
SMALL = dict(max_iter=3, hidden_layer_sizes=(16,), n_components=2, random_state=0, device="cpu")
# a learned prior over discrete codes (the VQ-VAE's), trained in a moment; one
# slot fits any n_components
CHEAP_DISCRETE = dict(n_slots=1, prior=AutoregressivePrior(hidden_layer_sizes=(8,), max_steps=10))
# every estimator of the registry: a new one is tested without an edit here
ESTIMATORS = [cls for _, cls in all_estimators()]
CLEAR_TYPES = (ValueError, TypeError, FileNotFoundError)


class Case:
    """``run()`` does what the user does; ``check(result)`` is True when the result is right."""

    def __init__(self, group, name, run, expect, check=None, protect=()):
        self.group, self.name, self.run, self.expect, self.check = group, name, run, expect, check
        # files that must be byte-identical after the case, whatever it did
        self.protect = tuple(protect)


def _from_our_checks(exc):
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1].filename if frames else ""
    return any(f"{os.sep}{pkg}{os.sep}" in last for pkg in ("skvae", "sklearn"))


def judge(case):
    """The verdict on one case, and a note on what happened."""
    before = {path: _contents(path) for path in case.protect}
    verdict, note = _judge(case)
    changed = [str(path) for path in case.protect if _contents(path) != before[path]]
    if changed:
        return LOST, f"{', '.join(changed)} changed ({verdict}: {note})"
    return verdict, note


def _contents(path):
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        return f"unreadable: {exc}"


def _judge(case):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = case.run()
    except CLEAR_TYPES as exc:
        if not ((isinstance(exc, _CLIFailed) or _from_our_checks(exc)) and str(exc)):
            return (
                UNCLEAR,
                f"{type(exc).__name__} from {_origin(exc)}: {exc}",
            )
        return (REFUSED if case.expect == RESULT else CLEAR), str(exc).splitlines()[0]
    except Exception as exc:  # noqa: BLE001 - anything else is what we count
        return UNCLEAR, f"{type(exc).__name__}: {exc}".splitlines()[0]
    if case.expect == ERROR:
        return SILENT, f"returned {_short(result)} where an error was due"
    try:
        ok = bool(case.check(result))
    except Exception as exc:  # noqa: BLE001 - a check that cannot read the result failed
        ok, result = False, f"{type(exc).__name__}: {exc}"
    return (CORRECT, "") if ok else (SILENT, f"check failed on {_short(result)}")


def _origin(exc):
    frames = traceback.extract_tb(exc.__traceback__)
    return frames[-1].filename if frames else "?"


def _short(value):
    text = repr(value)
    return text if len(text) < 120 else text[:117] + "..."


# ------------------------------------------------------------------ data and models


def takes_y(cls):
    """Whether ``cls.fit`` needs ``y`` (scikit-learn's tag)."""
    return cls().__sklearn_tags__().target_tags.required


def _data():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _fit(cls, X, y, **params):
    cheap = CHEAP_DISCRETE if tags(cls).codes == "discrete" else {}
    params = {**SMALL, **cheap, **params}
    if takes_y(cls):
        return cls(**params).fit(X, y)
    if tags(cls).labels == "clusters":
        return cls(**{"n_clusters": 3, **params}).fit(X)
    return cls(**params).fit(X)


def _finite(shape):
    return lambda out: np.shape(out) == shape and np.isfinite(np.asarray(out, float)).all()


def _proba(n, k):
    def check(p):
        return p.shape == (n, k) and np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1)

    return check


def _methods(est, d):
    """(name, call(X), width of the X it takes) for each method that takes rows."""
    k = 2
    if isinstance(est, ConditionalVAE):
        # one label for every row (the documented broadcast)
        return [
            ("predict", est.predict, d),
            ("predict_proba", est.predict_proba, d),
            ("transform", lambda X: est.transform(X, 0), d),
            ("score_samples", lambda X: est.score_samples(X, 0), d),
            ("inverse_transform", lambda Z: est.inverse_transform(Z, 0), k),
        ]
    out = [("score_samples", est.score_samples, d)]
    for name in (
        "score",
        "transform",
        "predict",
        "predict_proba",
        "decision_function",
        "score_features",
    ):
        if hasattr(est, name):
            out.append((name, getattr(est, name), d))
    if hasattr(est, "inverse_transform"):
        out.append(("inverse_transform", est.inverse_transform, k))
    return out




def _remove(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _as_memmap(A):
    """``A`` written to a file and opened read-only as a ``np.memmap`` (out-of-core input)."""
    # a name of its own even when this script is loaded twice in one process
    fd, path = tempfile.mkstemp(prefix="skvae-hostile-")
    os.close(fd)
    out = np.memmap(path, dtype=A.dtype, mode="w+", shape=A.shape)
    out[:] = A
    out.flush()
    atexit.register(_remove, path)
    return np.memmap(path, dtype=A.dtype, mode="r", shape=A.shape)


def _as_dask(A):
    import dask.array as da

    return da.from_array(A, chunks=(max(1, len(A) // 3),) + A.shape[1:])


def _bad_inputs(width, rng):
    X = rng.standard_normal((6, width))
    nan, inf, s = X.copy(), X.copy(), X.astype(object)
    nan[2, 0], inf[1, -1], s[0, 0] = np.nan, np.inf, "seven"
    out_of_core = {
        "NaN in a memory map": _as_memmap(nan),
        "one feature too many, a memory map": _as_memmap(np.hstack([X, X[:, :1]])),
        "3-D memory map": _as_memmap(X.reshape(6, width, 1)),
    }
    with contextlib.suppress(ImportError):
        out_of_core["inf in a dask array"] = _as_dask(inf)
    dates = pd.DataFrame(X[:, :1].copy(), columns=["a"])
    dates["when"] = pd.date_range("2020-01-01", periods=6)
    return {
        "NaN": nan,
        "inf": inf,
        "a string cell": s,
        "one feature too few": X[:, :-1] if width > 1 else np.empty((6, 0)),
        "one feature too many": np.hstack([X, X[:, :1]]),
        "no rows": X[:0],
        "1-D array": X[0],
        "3-D array": X.reshape(6, width, 1),
        "complex numbers": X.astype(complex),
        "a sparse matrix": sp.csr_matrix(X),
        "None": None,
        "a dict": {"a": [1, 2]},
        "ragged lists": [[1.0, 2.0], [3.0]],
        "datetime64 array": np.array(["2020-01-01"] * 6 * width, dtype="datetime64[D]").reshape(
            6, width
        ),
        "a date column": dates,
        "object array with None": np.where(rng.rand(6, width) < 0.2, None, X.astype(object)),
        "a scalar": 3.0,
        **out_of_core,
    }


# inputs of _bad_inputs that are a valid table with missing entries (a memory
# map is read whole by a model of a table)
TABLE_VALID = ("NaN", "object array with None", "NaN in a memory map")


def _all_finite(out):
    values = out.to_numpy() if hasattr(out, "to_numpy") else out
    return bool(np.isfinite(np.asarray(values, dtype=np.float64)).all())


def _extreme_rows(X):
    rows = np.repeat(X[:1], 5, axis=0)
    rows[0, 0] = 1e25
    rows[1, :] = 1e20
    rows[2, 3] = 9.97e36
    rows[3, 0] = -1e300
    rows[4, 5] = np.finfo(np.float64).max
    return rows


# ------------------------------------------------------------------ the cases


def inference_cases(models, X, y):
    rng = np.random.RandomState(0)
    for cls, est in models.items():
        for method, call, width in _methods(est, X.shape[1]):
            for what, bad in _bad_inputs(width, rng).items():
                if what in TABLE_VALID and getattr(est, "_table_", None) is not None:
                    # a model of a table takes its missing entries
                    yield Case(
                        "valid but unusual input",
                        f"{cls.__name__}.{method}({what})",
                        lambda call=call, bad=bad: call(bad),
                        RESULT,
                        _all_finite,
                    )
                    continue
                yield Case(
                    "bad input to a method",
                    f"{cls.__name__}.{method}({what})",
                    lambda call=call, bad=bad: call(bad),
                    ERROR,
                )


def extreme_row_cases(models, X, y):
    rows = _extreme_rows(X)
    for cls, est in models.items():
        train = est.score_samples(X, y) if takes_y(cls) else est.score_samples(X)
        lowest = train.min()
        for i in range(len(rows)):
            row = rows[i : i + 1]
            name = f"{cls.__name__}, extreme row {i}"
            if takes_y(cls):

                def score(row=row, est=est):
                    return est.score_samples(row, y[:1])
            else:

                def score(row=row, est=est):
                    return est.score_samples(row)

            yield Case(
                "absurd but finite rows",
                f"{name}: score_samples",
                score,
                RESULT,
                lambda s, lo=lowest: not np.isnan(s).any() and s[0] < lo,
            )
            if hasattr(est, "predict_proba"):
                yield Case(
                    "absurd but finite rows",
                    f"{name}: predict_proba",
                    lambda row=row, est=est: est.predict_proba(row),
                    RESULT,
                    _proba(1, len(getattr(est, "classes_", range(3)))),
                )
            if isinstance(est, VAEOutlierDetector):
                yield Case(
                    "absurd but finite rows",
                    f"{name}: predict is -1",
                    lambda row=row, est=est: est.predict(row),
                    RESULT,
                    lambda p: list(p) == [-1],
                )
            if hasattr(est, "transform") and not takes_y(cls):
                # an imputer gives the row back (nothing is missing); others a code
                want = (
                    (lambda out, row=row: np.array_equal(out, row))
                    if tags(cls).imputes
                    else _finite((1, 2))
                )
                yield Case(
                    "absurd but finite rows",
                    f"{name}: transform",
                    lambda row=row, est=est: est.transform(row),
                    RESULT,
                    want,
                )
    raw = load_wine().data
    pipe = make_pipeline(StandardScaler(), VAEOutlierDetector(**SMALL)).fit(raw)
    for i, row in enumerate(_extreme_rows(raw)):
        # StandardScaler itself overflows float64's largest value to inf, which
        # the detector may refuse (scikit-learn's "contains infinity")
        yield Case(
            "absurd but finite rows",
            f"StandardScaler + detector, extreme row {i}",
            lambda row=row: pipe.predict(row[None]),
            EITHER if i == 4 else RESULT,
            lambda p: list(p) == [-1],
        )


def valid_unusual_input_cases(models, X, y):
    """Inputs that are fine: the answer must equal the float64 array's."""
    variants = {
        "float32": lambda A: A.astype(np.float32),
        "a list of lists": lambda A: A.tolist(),
        "a DataFrame": lambda A: pd.DataFrame(A),
        "one row": lambda A: A[:1],
        "Fortran order": np.asfortranarray,
        "a read-only array": lambda A: _read_only(A),
        "reversed rows (negative strides)": lambda A: A[::-1][::-1],
        "int values": lambda A: np.round(A * 10).astype(int),
        "a memory map": _as_memmap,
    }
    with contextlib.suppress(ImportError):
        import dask.array  # noqa: F401

        variants["a dask array"] = _as_dask
    for cls, est in models.items():
        for method, call, width in _methods(est, X.shape[1]):
            if method == "score":
                continue
            base = X[:20] if width == X.shape[1] else np.random.RandomState(1).randn(20, width)
            for what, make in variants.items():

                def run(call=call, make=make, base=base):
                    return call(make(base)), call(_plain(make(base)))

                yield Case(
                    "valid but unusual input",
                    f"{cls.__name__}.{method}({what})",
                    run,
                    RESULT,
                    _same_as_plain,
                )


def _read_only(A):
    A = A.copy()
    A.setflags(write=False)
    return A


def _plain(A):
    return np.asarray(pd.DataFrame(A).to_numpy() if isinstance(A, pd.DataFrame) else A, float)


def _same_as_plain(pair):
    got, want = pair
    if np.asarray(got).dtype.kind in "iub":
        return np.array_equal(got, want)
    return np.allclose(got, want, rtol=1e-5, atol=1e-6, equal_nan=False) and not np.isnan(got).any()


def precision_cases(X, y):
    shifts = [
        ("X + 1e8", lambda A: A + 1e8),
        ("X * 1e30", lambda A: A * 1e30),
        ("X * 1e-20", lambda A: A * 1e-20),
        ("X + 1e6", lambda A: A + 1e6),
    ]
    for cls in (VAETransformer, VAEOutlierDetector):
        for what, change in shifts:

            def run(cls=cls, change=change):
                a = cls(**SMALL).fit(X)
                b = cls(**SMALL).fit(change(X))
                if tags(cls).codes is not None:
                    return a.transform(X), b.transform(change(X))
                return a.predict(X), b.predict(change(X))

            yield Case(
                "offset and scale",
                f"{cls.__name__} fitted on {what}",
                run,
                RESULT,
                lambda p: np.allclose(p[0], p[1], atol=1e-4),
            )
    yield Case(
        "offset and scale",
        "X * 1e300 (near float64's limit)",
        lambda: VAETransformer(**SMALL).fit_transform(X * 1e300),
        EITHER,
        _finite((len(X), 2)),
    )


def parameter_cases(X, y, estimators):
    common = {
        "n_components": [0, -1, 1.5, "2"],
        "max_iter": [0, 2.5],
        "batch_size": [0, -3],
        "learning_rate_init": [0, -1.0, "fast"],
        "beta": [-1.0],
        "kl_warmup": [1.5, -0.1],
        "likelihood": ["poisson"],
        "variance": ["diagonal"],
        "activation": ["swish"],
        "architecture": ["rnn"],
        "hidden_layer_sizes": [(0,), (8, -1), "abc", (2.5,)],
        "device": ["xpu", "meta", "cuda:99", "nonsense"],
        "callbacks": [[1], ["x"], "abc"],
        "image_shape": [(3, 3), (0, 2, 2), "abc"],
        "encoder": [5, "abc"],
        "decoder": [lambda: 3],
        "random_state": ["x", -1],
        "learning_rate": ["adaptive"],
        "conv_channels": [(0,)],
        "tol": [-1.0],
        "n_iter_no_change": [0],
        "verbose": ["loud"],
        "warm_start": ["yes"],
    }
    specific = {
        GMVAEClusterer: {
            "n_clusters": [0, 1.5],
            "inference": ["sampling"],
            "temperature_min": [5.0],
            "categorical_weight": [-1.0],
            "n_neighbors": [0],
            "n_init": [0],
        },
        ConditionalVAE: {"latent_prior": ["flat"], "independence_weight": [-1.0]},
        VAETransformer: {
            "prior": ["flat", DiffusionPrior(n_timesteps=0), DiffusionPrior(beta_end=1.5)]
        },
        AutoencoderTransformer: {
            "sparsity": [-1.0, "high"],
            "denoising": ["blur", True],
            "noise_level": [-0.1],
            "prior": ["uniform", DiffusionPrior(hidden_layer_sizes=(0,))],
        },
        VQVAETransformer: {
            "n_slots": [0, 3],
            "n_codes": [0, 2.5],
            "commitment": [-1.0],
            "codebook_decay": [1.0, 0.0],
            "prior": ["gaussian", AutoregressivePrior(max_steps=0)],
        },
        VAEOutlierDetector: {
            "contamination": [0.7, -0.1, "high"],
            "score_method": ["max"],
            "n_draws": [0],
            "trim": [1.5],
        },
    }
    for cls in estimators:
        grid = {**common, **specific.get(cls, {})}
        for param, values in grid.items():
            if param not in cls().get_params():
                continue
            for value in values:
                yield Case(
                    "bad parameters",
                    f"{cls.__name__}({param}={value!r})",
                    lambda cls=cls, param=param, value=value: _fit(cls, X, y, **{param: value}),
                    ERROR,
                )
        yield Case(
            "bad parameters",
            f"{cls.__name__}(early_stopping, validation_fraction=0.001)",
            lambda cls=cls: _fit(cls, X, y, early_stopping=True, validation_fraction=0.001),
            ERROR,
        )
        yield Case(
            "bad parameters",
            f"{cls.__name__}(architecture='conv') without image_shape",
            lambda cls=cls: _fit(cls, X, y, architecture="conv"),
            ERROR,
        )


def argument_cases(models, X, y):
    vae, ae, gm, cvae = (
        models[c] for c in (VAETransformer, AutoencoderTransformer, GMVAEClusterer, ConditionalVAE)
    )
    bad_counts = [0, -1, 1.5, "3", None]
    for est in (vae, ae, gm):
        for n in bad_counts:
            yield Case(
                "bad method arguments",
                f"{type(est).__name__}.sample({n!r})",
                lambda est=est, n=n: est.sample(n),
                ERROR,
            )
    for n_draws in [0, -2, 1.5, "10", True]:
        yield Case(
            "bad method arguments",
            f"VAETransformer.score_samples(n_draws={n_draws!r})",
            lambda n=n_draws: vae.score_samples(X, n_draws=n),
            ERROR,
        )
        yield Case(
            "bad method arguments",
            f"ConditionalVAE.predict_proba(n_draws={n_draws!r})",
            lambda n=n_draws: cvae.predict_proba(X, n_draws=n),
            ERROR,
        )
    for cluster in [99, -1, "a", 1.5]:
        yield Case(
            "bad method arguments",
            f"GMVAEClusterer.sample(cluster={cluster!r})",
            lambda c=cluster: gm.sample(3, cluster=c),
            ERROR,
        )
    for label in ["unknown", [99], None, [0, 1]]:
        yield Case(
            "bad method arguments",
            f"ConditionalVAE.sample(3, y={label!r})",
            lambda label=label: cvae.sample(3, y=label),
            ERROR if label is not None else EITHER,
            lambda out: _finite((3, X.shape[1]))(out[0]),
        )
    for label in [
        ["a"] * len(X),
        [None] * len(X),
        y[:-1],
        np.full(len(X), np.nan),
        y.reshape(-1, 1, 1),
    ]:
        yield Case(
            "bad method arguments",
            f"ConditionalVAE.transform(X, y={_short(label)[:30]})",
            lambda label=label: cvae.transform(X, label),
            ERROR,
        )
    yield Case(
        "bad method arguments",
        "VAETransformer.sample(random_state='x')",
        lambda: vae.sample(2, random_state="x"),
        ERROR,
    )


def fit_data_cases(X, y, estimators):
    rng = np.random.RandomState(0)
    labels = np.resize(np.unique(y), 6)  # every class, for the 6 rows of _bad_inputs
    for cls in estimators:
        name = cls.__name__
        for what, bad in _bad_inputs(X.shape[1], rng).items():
            if what.startswith("one feature"):
                continue
            if what == "NaN in a memory map":
                # read by blocks: refused; read whole (a neighbor search, an
                # imputer): a table with a missing entry
                yield Case("bad training data", f"{name}.fit({what})",
                           lambda cls=cls, bad=bad: _fit(cls, bad, labels), EITHER,
                           lambda est: list(est.column_types_) == ["real"] * X.shape[1])
                continue
            if what in TABLE_VALID or what == "a string cell":
                # a table: missing entries modelled, a text column nominal
                first = "nominal" if what == "a string cell" else "real"
                yield Case(
                    "valid but unusual input",
                    f"{name}.fit({what})",
                    lambda cls=cls, bad=bad: _fit(cls, bad, labels),
                    RESULT,
                    lambda est, first=first: list(est.column_types_)
                    == [first] + ["real"] * (X.shape[1] - 1),
                )
                continue
            yield Case(
                "bad training data",
                f"{name}.fit({what})",
                lambda cls=cls, bad=bad: _fit(cls, bad, y[:6] if bad is not None else y),
                ERROR,
            )
        yield Case(
            "bad training data",
            f"{name}.fit(one row)",
            lambda cls=cls: _fit(cls, X[:1], y[:1]),
            ERROR,
        )
        ok = _finite((len(X), 2))
        for what, data in {
            "constant data": np.zeros_like(X),
            "one feature": X[:, :1],
            "duplicated rows": np.repeat(X[:6], 30, axis=0)[: len(X)],
        }.items():

            def run(cls=cls, data=data):
                est = _fit(cls, data, y)
                return (
                    est.transform(data, y)
                    if takes_y(cls)
                    else (
                        est.transform(data)
                        if hasattr(est, "transform")
                        else est.decision_function(data)[:, None].repeat(2, 1)
                    )
                )

            # an imputer gives complete data back as it is
            check = (lambda out, data=data: np.array_equal(out, data)) if tags(
                cls
            ).imputes else ok
            yield Case("unusual training data", f"{name}.fit({what})", run, RESULT, check)
        yield Case(
            "bad training data",
            f"{name}(likelihood='bernoulli').fit(values outside [0, 1])",
            lambda cls=cls: _fit(cls, X, y, likelihood="bernoulli"),
            ERROR,
        )


def label_cases(X, y):
    for what, labels in {
        "None labels": np.where(np.arange(len(y)) == 3, None, y),
        "NaN labels": np.where(np.arange(len(y)) == 3, np.nan, y.astype(float)),
        "too few labels": y[:-1],
        "2-D labels": np.c_[y, y],
        "no labels": None,
    }.items():
        yield Case(
            "bad training data",
            f"ConditionalVAE.fit(X, {what})",
            lambda labels=labels: ConditionalVAE(**SMALL).fit(X, labels),
            ERROR,
        )
    yield Case(
        "unusual training data",
        "ConditionalVAE.fit(X, one class)",
        lambda: ConditionalVAE(**SMALL).fit(X, np.zeros(len(X))),
        EITHER,
        lambda est: _proba(len(X), 1)(est.predict_proba(X)),
    )


class _Interrupt(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) >= 2:
            raise KeyboardInterrupt


def lifecycle_cases(models, X, y, estimators):
    for cls in estimators:

        def ctrl_c(cls=cls):
            est = _fit(cls, X, y)
            before = est.score_samples(X, y) if takes_y(cls) else est.score_samples(X)
            est.set_params(callbacks=[_Interrupt()], max_iter=10)
            try:
                est.fit(X, y) if takes_y(cls) else est.fit(X)
            except KeyboardInterrupt:
                after = est.score_samples(X, y) if takes_y(cls) else est.score_samples(X)
                return np.array_equal(before, after) and est.n_iter_ == SMALL["max_iter"]
            return False

        yield Case(
            "interrupted and warm fits",
            f"{cls.__name__}: Ctrl-C keeps the previous model",
            ctrl_c,
            RESULT,
            bool,
        )

        def diverge(cls=cls):
            est = _fit(cls, X, y)
            est.set_params(learning_rate_init=1e6, learning_rate="constant")
            return est.fit(X, y) if takes_y(cls) else est.fit(X)

        yield Case("interrupted and warm fits", f"{cls.__name__}: a diverging fit", diverge, ERROR)
        for param, value in [
            ("n_components", 3),
            ("likelihood", "bernoulli"),
            ("hidden_layer_sizes", (8,)),
        ]:

            def warm_change(cls=cls, param=param, value=value):
                est = _fit(cls, X, y, warm_start=True)
                before = (
                    est.score_samples(X[:5], y[:5])
                    if takes_y(cls)
                    else est.score_samples(X[:5])
                )
                est.set_params(**{param: value})
                try:
                    est.fit(X, y) if takes_y(cls) else est.fit(X)
                except ValueError:
                    after = (
                        est.score_samples(X[:5], y[:5])
                        if takes_y(cls)
                        else est.score_samples(X[:5])
                    )
                    if not np.array_equal(before, after):
                        return "the failed warm fit changed the model"
                    raise
                return est

            yield Case(
                "interrupted and warm fits",
                f"{cls.__name__}: warm fit after {param} changed",
                warm_change,
                ERROR,
            )
    for cls in estimators:
        method = "predict" if hasattr(cls, "predict") else "transform"
        yield Case(
            "interrupted and warm fits",
            f"unfitted {cls.__name__}.{method}",
            lambda cls=cls, m=method: getattr(cls(), m)(X),
            ERROR,
        )


def warm_fit_cases(X, y):
    def warm_takes_new_params():
        est = _fit(VAETransformer, X, y, warm_start=True)
        est.set_params(beta=4.0, learning_rate_init=0.05)
        est.fit(X)
        return est.net_.criterion_.beta == 4.0 and est.net_.lr == 0.05 and est.n_iter_ == 6

    yield Case(
        "interrupted and warm fits",
        "warm fit takes beta and learning_rate_init",
        warm_takes_new_params,
        RESULT,
        bool,
    )

    def cuda_pickle():
        est = _fit(VAETransformer, X, y)
        before = est.transform(X)
        est.device, est.net_.device = "cuda", "cuda"
        blob = pickle.dumps(est)
        real = torch.cuda.is_available
        torch.cuda.is_available = lambda: False
        try:
            loaded = pickle.loads(blob)
            loaded.set_params(warm_start=True, max_iter=1).fit(X)
        finally:
            torch.cuda.is_available = real
        return (
            loaded.device == "cpu"
            and loaded.n_iter_ == 4
            and loaded.transform(X).shape == before.shape
        )

    yield Case(
        "interrupted and warm fits",
        "a model pickled on CUDA, loaded and refitted on a CPU",
        cuda_pickle,
        RESULT,
        bool,
    )


def family_file_cases(models, X, y, tmp):
    """Every family's model file: the round trip is exact, an edited file is refused."""
    for cls, est in models.items():
        path = tmp / f"{cls.__name__}.safetensors"
        skvae.save(est, path)

        def round_trip(cls=cls, est=est, path=path):
            loaded = skvae.load(path)
            args = (X, y) if takes_y(cls) else (X,)
            return type(loaded) is cls and np.array_equal(
                loaded.score_samples(*args), est.score_samples(*args)
            )

        yield Case("model files", f"skvae.load(a saved {cls.__name__})", round_trip, RESULT, bool)

        def edited(path=path):
            data = bytearray(path.read_bytes())
            data[-1] ^= 0xFF  # the last byte of the weights
            data[12:16] = b"\x00\x00\x00\x00"  # and the header's start
            bad = path.with_suffix(".edited.safetensors")
            bad.write_bytes(bytes(data))
            return skvae.load(bad)

        yield Case("model files", f"skvae.load(an edited {cls.__name__} file)", edited, ERROR)


def model_file_cases(models, X, y, tmp):
    good = tmp / "good.safetensors"
    skvae.save(models[VAETransformer], good)
    (tmp / "model.pkl").write_bytes(pickle.dumps(models[VAETransformer]))
    (tmp / "model.csv").write_text("a,b\n1,2\n")
    (tmp / "empty.safetensors").write_bytes(b"")
    for what, path in {
        "a pickle": tmp / "model.pkl",
        "a CSV": tmp / "model.csv",
        "an empty file": tmp / "empty.safetensors",
        "a directory": tmp,
        "a missing file": tmp / "missing.safetensors",
    }.items():
        yield Case("model files", f"skvae.load({what})", lambda p=path: skvae.load(p), ERROR)
    yield Case(
        "model files",
        "skvae.load(a good file)",
        lambda: skvae.load(good),
        RESULT,
        lambda m: np.array_equal(m.transform(X), models[VAETransformer].transform(X)),
    )

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(X.shape[1], 4)

        def forward(self, x):
            return self.linear(x)

    custom = tmp / "custom.safetensors"
    skvae.save(VAETransformer(encoder=Encoder(), **SMALL).fit(X), custom)
    yield Case(
        "model files",
        "skvae.load(a model with a user encoder, no encoder given)",
        lambda: skvae.load(custom),
        ERROR,
    )
    yield Case(
        "model files",
        "skvae.save(something else)",
        lambda: skvae.save(make_pipeline(StandardScaler(), torch.nn.Linear(2, 2)), tmp / "x"),
        ERROR,
    )


def cli_cases(tmp):
    wine = tmp / "wine.csv"
    load_wine(as_frame=True).frame.drop(columns="target").to_csv(wine, index=False)
    labelled = tmp / "labelled.csv"  # wine, and a text column of classes
    files = {
        "header-only.csv": "a,b,c\n",
        "semicolon.csv": "a;b;c\n1,5;2,0;3,1\n4,2;5,5;6,0\n",
        "text.csv": "a,b\n1,x\n2,y\n",
        "nan.csv": "a,b\n1,2\n,3\n4,5\n",
        "empty.csv": "a,b\n1,\n2,\n4,\n",
        "binary.csv": None,
    }
    for name, content in files.items():
        path = tmp / name
        if content is None:
            path.write_bytes(bytes(range(256)) * 4)
        else:
            path.write_text(content)
    fast = ["--max-iter", "2", "-q"]
    runs = {
        "a directory as input": (["reduce", str(tmp), *fast], ERROR),
        "a missing file": (["reduce", str(tmp / "nope.csv"), *fast], ERROR),
        "a header-only CSV": (["reduce", str(tmp / "header-only.csv"), *fast], ERROR),
        "a semicolon CSV with decimal commas": (
            ["reduce", str(tmp / "semicolon.csv"), *fast],
            ERROR,
        ),
        # a table: text and empty cells modelled column by column
        "text columns": (["cluster", str(tmp / "text.csv"), "-k", "2", *fast], RESULT),
        "more clusters than rows": (["cluster", str(tmp / "text.csv"), *fast], ERROR),
        "missing values": (["outliers", str(tmp / "nan.csv"), *fast], RESULT),
        "an empty column": (["impute", str(tmp / "empty.csv"), *fast], ERROR),
        "empty cells, imputed": (["impute", str(tmp / "nan.csv"), *fast], RESULT),
        "a bad --column-types": (["reduce", str(tmp / "nan.csv"), "--column-types",
                                  "count=nope", *fast], ERROR),
        "a binary file": (["reduce", str(tmp / "binary.csv"), *fast], ERROR),
        "an output in a missing directory": (
            ["reduce", str(wine), "-o", str(tmp / "no" / "x.csv"), *fast],
            ERROR,
        ),
        "a directory as output": (["reduce", str(wine), "-o", str(tmp), *fast], ERROR),
        "--device xpu": (["reduce", str(wine), "--device", "xpu", *fast], ERROR),
        "--n-clusters 0": (["cluster", str(wine), "-k", "0", *fast], ERROR),
        "--contamination 2": (["outliers", str(wine), "--contamination", "2", *fast], ERROR),
        "generate without --label": (["generate", str(wine), *fast], ERROR),
        "generate --label missing column": (["generate", str(wine), "-l", "nope", *fast], ERROR),
        "--model that is a CSV": (["outliers", str(wine), "--model", str(wine), *fast], ERROR),
        "--save-model in a missing directory": (
            ["reduce", str(wine), "--save-model", str(tmp / "no" / "m"), *fast],
            ERROR,
        ),
        "--no-scale with huge values": (
            ["reduce", str(tmp / "huge.csv"), "--no-scale", *fast],
            RESULT,
        ),
        "a saved pandas index": (["reduce", str(tmp / "indexed.csv"), *fast], RESULT),
        "--label ''": (["reduce", str(labelled), "-l", "", *fast], ERROR),
        "--label naming a missing column": (["cluster", str(labelled), "-l", "nope", *fast],
                                            ERROR),
        "a label column with empty cells": (["reduce", str(tmp / "blank-label.csv"), "-l",
                                             "kind", *fast], ERROR),
        "generate --label naming a measurement": (
            ["generate", str(labelled), "-l", "alcohol", "--drop-non-numeric", *fast], ERROR),
        "a text label column": (["cluster", str(labelled), "-l", "kind", *fast], RESULT),
        "a numeric label column": (["reduce", str(labelled), "-l", "alcohol",
                                    "--drop-non-numeric", *fast], RESULT),
        "--plot with a label": (["reduce", str(labelled), "-l", "kind", "--plot",
                                 str(tmp / "labelled.png"), *fast], RESULT),
        "generate -n (deprecated)": (["generate", "-c", "3", "-n", "2", *fast], RESULT),
    }
    frame = pd.read_csv(wine)
    frame["kind"] = np.where(np.arange(len(frame)) % 2, "odd", "even")
    frame.to_csv(labelled, index=False)
    frame.loc[[2, 5], "kind"] = None
    frame.to_csv(tmp / "blank-label.csv", index=False)
    big = pd.read_csv(wine) * 1e12
    big.to_csv(tmp / "huge.csv", index=False)
    pd.read_csv(wine).to_csv(tmp / "indexed.csv")
    for what, (argv, expect) in runs.items():
        yield Case(
            "command line",
            f"skvae {argv[0]} with {what}",
            lambda argv=argv: _cli(argv),
            expect,
            lambda out: out[0] == 0 and _csv_ok(out[1]),
        )

    def interrupted():
        out = tmp / "interrupted.csv"
        real = VAETransformer.fit
        VAETransformer.fit = lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)
        try:
            code, _ = _cli(["reduce", str(wine), "-o", str(out), *fast])
        finally:
            VAETransformer.fit = real
        return code == 130 and not out.exists()

    yield Case(
        "command line", "Ctrl-C during skvae reduce: exit 130, no output", interrupted, RESULT, bool
    )


class _CLIFailed(ValueError):
    """A command-line run that ended with exit 2 and one line on stderr (a clear error)."""


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli_main(argv)
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code
    text = err.getvalue()
    if "Traceback" in text:
        raise RuntimeError(text)
    if code == 2:
        lines = [line for line in text.splitlines() if "error:" in line]
        if len(lines) != 1:
            raise RuntimeError(f"exit 2 without one error line: {text!r}")
        raise _CLIFailed(lines[0])
    return code, out.getvalue()


def _csv_ok(text):
    frame = pd.read_csv(io.StringIO(text))
    return len(frame) > 0 and np.isfinite(frame.to_numpy(dtype=float)).all()


# ------------------------------------------------------------------ running


def display_cases(X):
    """Drawings of codes and samples given what they cannot draw."""
    import matplotlib

    matplotlib.use("Agg")
    from skvae.plotting import LatentSpaceDisplay, SampleGridDisplay

    codes = X[:, :2].copy()
    far = codes.copy()
    far[:1] = 1e6  # one code (under 1% of them) far from the rest
    nan = codes.copy()
    nan[4, 0] = np.nan

    def latent(points, **kwargs):
        def draw():
            import matplotlib.pyplot as plt

            try:
                return LatentSpaceDisplay.from_codes(points, **kwargs)
            finally:
                plt.close("all")
        return draw

    for what, value in [("reversed", (0.9, 0.1)), ("a string", "robust"), ("digits as a string",
                        "01"), ("one value", (0.5,)), ("NaN", (np.nan, 0.9)), ("None inside",
                        (None, 0.9))]:
        yield Case("bad argument", f"LatentSpaceDisplay quantile_range {what}",
                   latent(codes, quantile_range=value), ERROR)
    yield Case("bad argument", "LatentSpaceDisplay of codes with NaN", latent(nan), ERROR)
    yield Case("bad argument", "LatentSpaceDisplay of no codes", latent(codes[:0]), ERROR)
    yield Case("valid but unusual input", "LatentSpaceDisplay quantile_range with a far code",
               latent(far, quantile_range=(0.01, 0.99)), RESULT,
               lambda d: d.n_outside_ >= 1 and d.ax_.get_xlim()[1] < 1e5)
    samples = X[:12, :4].reshape(2, 6, 4)

    def grid(values, labels, **kwargs):
        def draw():
            import matplotlib.pyplot as plt

            try:
                return SampleGridDisplay(values, labels, **kwargs).plot()
            finally:
                plt.close("all")
        return draw

    for what, args, kwargs in [
        ("2-D samples", (samples[0], list("abcdef")), {}),
        ("too many group labels", (samples, ["a", "b", "c"]), {}),
        ("too few feature names", (samples, ["a", "b"]), {"feature_names": ["w", "x"]}),
        ("feature names as one string", (samples, ["a", "b"]), {"feature_names": "wxyz"}),
    ]:
        yield Case("bad argument", f"SampleGridDisplay with {what}", grid(*args, **kwargs),
                   ERROR)


def all_cases(tmp, estimators=None):
    """Every case; ``estimators`` (classes) limits them to the cases every family gets."""
    X, y = _data()
    own = estimators is None
    estimators = ESTIMATORS if own else list(estimators)
    models = {cls: _fit(cls, X, y) for cls in estimators}
    yield from inference_cases(models, X, y)
    yield from extreme_row_cases(models, X, y)
    yield from valid_unusual_input_cases(models, X, y)
    yield from parameter_cases(X, y, estimators)
    yield from fit_data_cases(X, y, estimators)
    yield from lifecycle_cases(models, X, y, estimators)
    yield from family_file_cases(models, X, y, tmp)
    if own:  # the cases written for skvae's own estimators, the CLI and the files
        yield from argument_cases(models, X, y)
        yield from label_cases(X, y)
        yield from precision_cases(X, y)
        yield from warm_fit_cases(X, y)
        yield from model_file_cases(models, X, y, tmp)
        yield from cli_cases(tmp)
        yield from output_cases(tmp / "outputs")
        yield from description_cases(models[VAETransformer], X, tmp / "descriptions")
        yield from user_module_cases(X)
        yield from table_cases(X, y, tmp / "tables")


def run(verbose=False, out=sys.stdout, estimators=None):
    """Judge every case; return the Counter of verdicts and the (case, verdict, note) failures.

    ``estimators`` (classes, e.g. a model family defined outside skvae) runs
    the cases that every family gets on those only. Runs torch on one
    thread, and sets the caller's thread count back after.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(verbose, out, estimators)
    finally:
        torch.set_num_threads(threads)


def _run(verbose, out, estimators=None):
    counts, by_group, failures = Counter(), {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for case in all_cases(Path(tmp), estimators):
            verdict, note = judge(case)
            counts[verdict] += 1
            by_group.setdefault(case.group, Counter())[verdict] += 1
            if verdict in (UNCLEAR, SILENT, REFUSED, LOST):
                failures.append((case, verdict, note))
            if verbose:
                print(f"{verdict:20s} {case.group}: {case.name}  {note[:100]}", file=out)
    verdicts = [CLEAR, CORRECT, UNCLEAR, SILENT, REFUSED, LOST]
    print(f"\n{'group':32s}" + "".join(f"{v:>22s}" for v in verdicts), file=out)
    for group, c in by_group.items():
        print(f"{group:32s}" + "".join(f"{c[v]:22d}" for v in verdicts), file=out)
    print(
        f"{'all ' + str(sum(counts.values())) + ' cases':32s}"
        + "".join(f"{counts[v]:22d}" for v in verdicts),
        file=out,
    )
    for case, verdict, note in failures:
        print(f"  {verdict}: {case.group}: {case.name}: {note}", file=out)
    return counts, failures



# ------------------------------------------------------------ what skvae writes


def output_cases(tmp):
    """Outputs that name inputs, links, pipes, devices, a write cut short."""
    tmp.mkdir()
    data = tmp / "data.csv"
    load_wine(as_frame=True).frame.drop(columns="target").iloc[:60].to_csv(data, index=False)
    model = tmp / "model.safetensors"
    _cli(["reduce", str(data), "--save-model", str(model), "--max-iter", "2", "-q"])
    (tmp / "link.csv").symlink_to(data)
    fast = ["--max-iter", "2", "-q"]
    collisions = {
        "-o naming the input": ["reduce", str(data), "-o", str(data)],
        "--save-model naming the input": ["reduce", str(data), "--save-model", str(data)],
        "--plot naming the input": ["reduce", str(data), "--plot", str(data) + ".png"],
        "-o naming a link to the input": ["reduce", str(data), "-o", str(tmp / "link.csv")],
        "-o naming the --model file": ["reduce", str(data), "--model", str(model), "-o",
                                       str(model)],
        "--save-model naming the --model file": ["reduce", str(data), "--model",
                                                 str(model), "--save-model", str(model)],
        "-o and --save-model naming one file": ["reduce", str(data), "-o", str(tmp / "x"),
                                                "--save-model", str(tmp / "x")],
    }
    for what, argv in collisions.items():
        expect = RESULT if what.startswith("--plot") else ERROR
        yield Case("outputs and inputs", what, lambda argv=argv: _cli([*argv, *fast]), expect,
                   lambda result: result[0] == 0, protect=(data, model))

    previous = tmp / "previous.csv"
    previous.write_text("the previous output\n")
    for what, option, name in [
        ("CSV output", "-o", "previous.csv"),
        ("model file", "--save-model", "previous.safetensors"),
        ("picture", "--plot", "previous.png"),
    ]:
        target = tmp / name
        target.write_bytes(b"the previous file")
        yield Case(
            "outputs and inputs",
            f"a file-size limit while writing the {what}",
            lambda option=option, target=target: _limited_cli(
                ["reduce", str(data), option, str(target), *fast]
            ),
            ERROR,
            protect=(data, target),
        )
    yield Case("outputs and inputs", "-o on a full device (/dev/full)",
               lambda: _cli(["reduce", str(data), "-o", "/dev/full", *fast]), ERROR,
               protect=(data,))

    def over_a_link():
        real, link = tmp / "real.safetensors", tmp / "model-link.safetensors"
        real.write_bytes(b"old")
        link.symlink_to(real)
        _cli(["reduce", str(data), "--save-model", str(link), *fast])
        return link.is_symlink() and skvae.load(real).n_features_in_ == 13

    yield Case("outputs and inputs", "--save-model over a symbolic link", over_a_link, RESULT,
               bool, protect=(data,))

    def keeps_mode():
        out = tmp / "shared.csv"
        out.write_text("old\n")
        out.chmod(0o644)
        _cli(["reduce", str(data), "-o", str(out), *fast])
        return (out.stat().st_mode & 0o777) == 0o644 and len(pd.read_csv(out)) == 60

    yield Case("outputs and inputs", "-o over a file with mode 0644", keeps_mode, RESULT, bool)

    def into_a_pipe():
        fifo = tmp / "codes.fifo"
        os.mkfifo(fifo)
        got = []
        reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
        reader.start()
        _cli(["reduce", str(data), "-o", str(fifo), *fast])
        reader.join(timeout=60)
        return stat.S_ISFIFO(fifo.stat().st_mode) and len(got) == 1 and got[0].count(b"\n") == 61

    yield Case("outputs and inputs", "-o naming a named pipe", into_a_pipe, RESULT, bool)

    def device():
        node = tmp / "null"
        try:  # a device node of our own; the system's null device where we may not
            os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except (PermissionError, OSError):
            node = Path(os.devnull)
        skvae.save(skvae.load(model), node)
        return stat.S_ISCHR(node.stat().st_mode)

    yield Case("outputs and inputs", "skvae.save to a character device", device, RESULT, bool)

    def pipe_as_model():
        # in a child process: a load that blocks on the pipe holds the GIL
        fifo = tmp / "model.fifo"
        os.mkfifo(fifo)
        code = (
            "import skvae, sys\n"
            "try:\n"
            f"    skvae.load({str(fifo)!r})\n"
            "except ValueError as exc:\n"
            "    sys.exit('refused: ' + str(exc))\n"
        )
        try:
            done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                  text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return "skvae.load blocked on a named pipe"
        if done.stderr.startswith("refused: "):
            raise _CLIFailed(done.stderr.strip())
        raise RuntimeError(done.stderr or "skvae.load returned from a named pipe")

    yield Case("model files", "skvae.load(a named pipe)", pipe_as_model, ERROR)
    yield Case("model files", "skvae.load(device='nonsense')",
               lambda: skvae.load(model, device="nonsense"), ERROR)

    def copy_of_loaded():
        copy = tmp / "copy.safetensors"
        _cli(["reduce", str(data), "--model", str(model), "--save-model", str(copy),
              "-o", str(tmp / "codes.csv"), *fast])
        return copy.exists() and skvae.load(copy).steps[-1][1].n_features_in_ == 13

    yield Case("outputs and inputs", "--model M --save-model COPY", copy_of_loaded, RESULT,
               bool, protect=(data, model))


def _limited_cli(argv):
    """The CLI in a child process whose files may not grow past 300 bytes."""
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))\n"
        "from skvae.cli import main\n"
        f"sys.exit(main({argv!r}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600)
    if "Traceback" in done.stderr:
        raise RuntimeError(done.stderr)
    lines = [line for line in done.stderr.splitlines() if "error:" in line]
    if done.returncode == 2 and len(lines) == 1:
        raise _CLIFailed(lines[0])
    return done.returncode, done.stdout


# -------------------------------------------------------- edited model files

# What an edited description may hold at a key: gone, or another kind of value.
_MUTATIONS = {
    "removed": None,
    "null": lambda value: None,
    "a string": lambda value: "x",
    "a list": lambda value: [value],
    "negative": lambda value: -1,
    "huge": lambda value: 2**62,
    "a fraction": lambda value: 0.5,
    "nested 100 deep": lambda value: _nest(value, 100),
}


def _nest(value, depth):
    for _ in range(depth):
        value = [value]
    return value


def _key_paths(value, prefix=()):
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "history":  # the training curves: every epoch alike
                yield from _key_paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value[:2]):
            yield from _key_paths(item, prefix + (i,))


def description_cases(model, X, tmp):
    """A saved model whose description is edited at every key, every way.

    ``skvae.load`` must refuse the file with a ValueError that names it, or
    give a model that answers with finite numbers.
    """
    import copy
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    tmp.mkdir()
    original = tmp / "model.safetensors"
    skvae.save(model, original)
    with safe_open(str(original), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    description = json.loads(metadata["skvae"])
    paths = list(_key_paths(description["model"]))
    for i, path in enumerate(paths):
        for how, mutate in _MUTATIONS.items():
            edited = copy.deepcopy(description)
            parent = edited["model"]
            for key in path[:-1]:
                parent = parent[key]
            if mutate is None:
                parent.pop(path[-1])
            else:
                parent[path[-1]] = mutate(parent[path[-1]])
            file = tmp / f"edited-{i}-{how.replace(' ', '-')}.safetensors"
            save_file(tensors, str(file), metadata={**metadata, "skvae": json.dumps(edited)})

            def check(loaded):
                codes = loaded.transform(X)
                return np.isfinite(codes).all() and np.isfinite(loaded.score_samples(X)).all()

            yield Case(
                "edited model files",
                f"{'.'.join(map(str, path))} {how}",
                lambda file=file: _load_naming(file),
                EITHER,
                check,
            )


def _load_naming(file):
    """skvae.load(file); a refusal must name the file."""
    try:
        return skvae.load(file)
    except ValueError as exc:
        if str(file) not in str(exc):
            raise RuntimeError(f"a refusal that does not name the file: {exc}") from None
        raise


def user_module_cases(X):
    """An encoder that changes the dtype, one that needs two rows per batch."""

    class Double(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(X.shape[1], 8)

        def forward(self, x):
            return self.linear(x).double()

    class Float(Double):
        def forward(self, x):
            return self.linear(x.float())

    class Normed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 8),
                                            torch.nn.BatchNorm1d(8))

        def forward(self, x):
            return self.body(x)

    rows = X[:33]
    for what, encoder, params in [
        ("an encoder that returns float64", Double, {}),
        ("an encoder that casts its input to float32", Float, {}),
        ("a BatchNorm encoder and a last batch of one row", Normed, {"batch_size": 16}),
    ]:
        yield Case(
            "user modules",
            what,
            lambda encoder=encoder, params=params: VAETransformer(
                encoder=encoder, **{**SMALL, **params}
            ).fit(rows),
            ERROR,
        )


def table_cases(X, y, tmp):
    """Narrow tables at the defaults, text and categories, -inf scores drawn, a resumed stream."""
    tmp.mkdir()
    one = X[:, :1]
    for cls in ESTIMATORS:

        def defaults(cls=cls):
            est = cls(max_iter=2, hidden_layer_sizes=(8,), random_state=0)
            args = (one, y) if takes_y(cls) else (one,)
            est.fit(*args)
            return est.score_samples(*args)

        yield Case("unusual training data", f"{cls.__name__}() at its defaults on one feature",
                   defaults, RESULT, lambda scores: np.isfinite(scores).all())
    frame = pd.DataFrame(X[:, :3], columns=["a", "b", "c"]).assign(
        name=np.where(np.arange(len(X)) % 2, "p", "q"),
        kind=pd.Categorical(np.where(np.arange(len(X)) % 3, "u", "v")),
    )
    yield Case("valid but unusual input",
               "VAETransformer.fit(a DataFrame with text and categories)",
               lambda: VAETransformer(**SMALL).fit(frame), RESULT,
               lambda est: list(est.column_types_) == ["real"] * 3 + ["nominal"] * 2)
    yield Case("valid but unusual input", "VAETransformer.fit(a DataFrame with a bool column)",
               lambda: VAETransformer(**SMALL).fit(frame[["a", "b"]].assign(flag=X[:, 2] > 0)),
               RESULT, lambda est: est.n_features_in_ == 3)
    tsv, flags = tmp / "data.tsv", tmp / "flags.csv"
    pd.DataFrame(X[:, :3]).to_csv(tsv, sep="\t", index=False)
    pd.DataFrame({"a": X[:, 0], "flag": X[:, 1] > 0}).to_csv(flags, index=False)
    fast = ["--max-iter", "2", "-q"]
    yield Case("command line", "a tab-separated file", lambda: _cli(["reduce", str(tsv), *fast]),
               ERROR)
    yield Case("command line", "a True/False column", lambda: _cli(["reduce", str(flags), *fast]),
               RESULT, lambda result: result[0] == 0 and _csv_ok(result[1]))

    odd = X.copy()
    odd[0, 0] = 1e300  # a row whose score is -inf

    def picture():
        import matplotlib

        matplotlib.use("Agg")
        from skvae.plotting import OutlierScoreDisplay

        detector = VAEOutlierDetector(**SMALL).fit(X)
        return OutlierScoreDisplay.from_estimator(detector, odd).n_infinite_

    yield Case("absurd but finite rows", "OutlierScoreDisplay with a score of -inf", picture,
               RESULT, lambda n: n == 1)
    yield from display_cases(X)
    absurd = tmp / "absurd.csv"
    pd.DataFrame(odd).to_csv(absurd, index=False)
    yield Case("command line", "outliers --plot with a score of -inf",
               lambda: _cli(["outliers", str(absurd), "--no-scale", "--plot",
                             str(tmp / "scores.png"), "-o", str(tmp / "flags.csv"), *fast]),
               RESULT, lambda result: result[0] == 0)

    def resumed():
        est = VAETransformer(**SMALL).partial_fit(X)
        skvae.save(est, tmp / "stream.safetensors")
        loaded = skvae.load(tmp / "stream.safetensors")
        return est.partial_fit(X).transform(X), loaded.partial_fit(X).transform(X)

    yield Case("model files", "partial_fit after save and load", resumed, RESULT,
               lambda pair: np.array_equal(pair[0], pair[1]))

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = parser.parse_args()
    counts, failures = run(args.verbose)
    sys.exit(1 if failures else 0)
