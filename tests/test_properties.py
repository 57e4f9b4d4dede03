"""Property-based tests: any input gets a well-formed answer or a clear error.

For random shapes, dtypes, magnitudes, NaN / inf placement and label arrays,
every public method of every estimator either returns finite, well-formed
output (scores may be -inf for absurd rows, never NaN) or raises ValueError /
TypeError from skvae's or scikit-learn's own checks: never a raw torch or
numpy error from deeper down, never NaN. Hypothesis runs derandomized, so CI
sees the same examples every time.
"""

import os
import traceback

import numpy as np
import pandas as pd
import pytest
from helpers import cheap, tags, takes_y
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_wine
from sklearn.preprocessing import StandardScaler

from skvae import (
    ConditionalVAE,
    GMVAEClusterer,
    VAEOutlierDetector,
    VAETransformer,
    all_estimators,
)

TINY = dict(
    max_iter=2, hidden_layer_sizes=(8,), n_components=2, batch_size=32, random_state=0, device="cpu"
)
N_FEATURES = 5
SETTINGS = settings(
    max_examples=int(os.environ.get("SKVAE_HYPOTHESIS_EXAMPLES", 30)),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# every estimator of the registry: a new one is tested without an edit here
ESTIMATORS = [cls for _, cls in all_estimators()]


def _make(cls):
    if tags(cls).labels == "clusters":
        return cls(n_clusters=3, **TINY)
    return cls(**TINY, **cheap(cls))


@pytest.fixture(scope="module")
def fitted():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X[:, :N_FEATURES])
    models = {}
    for cls in ESTIMATORS:
        est = _make(cls)
        models[cls] = est.fit(X, y) if takes_y(cls) else est.fit(X)
    return models


# ------------------------------------------------------------------ inputs

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, 1e308, -1e308, 5e-324, 9.97e36]


@st.composite
def tables(draw, n_rows=None, n_features=None):
    """A table as a user might pass one: shape, dtype, magnitude and specials drawn."""
    n = draw(n_rows if n_rows is not None else st.integers(0, 12))
    d = (
        draw(n_features)
        if n_features is not None
        else draw(st.sampled_from([N_FEATURES] * 6 + [N_FEATURES - 1, N_FEATURES + 1, 1]))
    )
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    values = rng.standard_normal((n, d)) * 10.0 ** draw(st.integers(-40, 40))
    for _ in range(draw(st.integers(0, 3))):
        if n and d:
            values[rng.randint(n), rng.randint(d)] = draw(st.sampled_from(SPECIAL))
    if draw(st.booleans()) and n:
        values[:] = values[0]  # every row the same
    kind = draw(
        st.sampled_from(
            [
                "float64",
                "float64",
                "float32",
                "float16",
                "int64",
                "bool",
                "object",
                "str",
                "list",
                "frame",
                "frame-str",
            ]
        )
    )
    with np.errstate(all="ignore"):
        if kind in ("float32", "float16"):
            return values.astype(kind)
        if kind == "int64":
            return np.nan_to_num(values, posinf=0, neginf=0).clip(-1e18, 1e18).astype(np.int64)
        if kind == "bool":
            return values > 0
        if kind == "object":
            return values.astype(object)
        if kind == "str":
            out = values.astype(str).astype(object)
            if n and d:
                out[0, 0] = "n/a"
            return out
        if kind == "list":
            return values.tolist()
        if kind == "frame":
            return pd.DataFrame(values)
        if kind == "frame-str":
            frame = pd.DataFrame(values, columns=[f"c{i}" for i in range(d)])
            if n and d:
                frame[frame.columns[0]] = frame[frame.columns[0]].astype(str)
            return frame
    return values


def labels(n):
    """Class labels as a user might pass them, for ``n`` rows (or the wrong number)."""
    size = st.sampled_from([n, n, n, max(n - 1, 0), n + 1])
    return st.one_of(
        size.flatmap(lambda k: st.lists(st.integers(0, 2), min_size=k, max_size=k)),
        size.flatmap(lambda k: st.lists(st.sampled_from(["a", "b"]), min_size=k, max_size=k)),
        size.flatmap(
            lambda k: st.lists(
                st.sampled_from([0, 1, None, np.nan, "x", 2.5]), min_size=k, max_size=k
            )
        ),
        st.just(None),
    )


# ------------------------------------------------------------------ checks


def _from_our_checks(exc):
    """Whether ``exc`` was raised by skvae's or scikit-learn's own code."""
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1].filename if frames else ""
    return any(f"{os.sep}{pkg}{os.sep}" in last for pkg in ("skvae", "sklearn"))


def _call(fn, *args, valid=False, **kwargs):
    """The result of ``fn``, or None when it raised a clear error; anything else fails.

    ``valid``: the input is well formed, so ``fn`` must answer, not raise.
    """
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        assert not valid, f"a well-formed input was refused: {exc!r}"
        assert _from_our_checks(exc), f"raw error from deep inside: {exc!r}"
        assert str(exc), "an error without a message"
        return None


def _is_number(value):
    return isinstance(value, (int, float, np.number, np.bool_)) and not isinstance(value, str)


def _well_formed(X, n_features=N_FEATURES, min_rows=1):
    """Whether ``X`` is a table every method must answer: finite numbers, the right width."""
    if isinstance(X, pd.DataFrame):
        if any(dtype.kind not in "biuf" for dtype in X.dtypes):
            return False
        A = X.to_numpy()
    else:
        A = np.asarray(X, dtype=object)
        if A.ndim != 2 or not all(_is_number(v) for v in A.ravel()):
            return False
    if A.ndim != 2 or A.shape[1] != n_features or A.shape[0] < min_rows:
        return False
    dtype = A.dtype if A.dtype.kind in "fb" else np.float64
    with np.errstate(over="ignore"):
        return bool(np.isfinite(A.astype(np.float64).astype(dtype).astype(np.float64)).all())


def _known_labels(y, n, classes):
    """Whether ``y`` holds one known class per row."""
    return (
        y is not None
        and len(y) == n
        and all(not isinstance(v, float) and v in set(classes) for v in y)
    )


def _rows(X):
    return len(X)


def _check_scores(out, n):
    assert out.shape == (n,) and out.dtype == np.float64
    assert not np.isnan(out).any(), "NaN score"
    assert not np.isposinf(out).any(), "a +inf score"


def _check_finite(out, shape):
    assert out.shape == shape
    assert np.isfinite(np.asarray(out, dtype=float)).all(), "non-finite output"


def _check_proba(proba, n, k):
    assert proba.shape == (n, k)
    assert np.isfinite(proba).all() and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)


# ------------------------------------------------------------------ inference


@SETTINGS
@given(X=tables())
def test_transformer_methods_answer_any_table(fitted, X):
    est = fitted[VAETransformer]
    valid = _well_formed(X)
    codes = _call(est.transform, X, valid=valid)
    if codes is not None:
        _check_finite(codes, (_rows(X), 2))
        back = _call(est.inverse_transform, codes, valid=True)
        _check_finite(back, (_rows(X), N_FEATURES))
    scores = _call(est.score_samples, X, valid=valid)
    if scores is not None:
        _check_scores(scores, _rows(X))
    iw = _call(est.score_samples, X, importance_weighted=True, valid=valid)
    if iw is not None:
        _check_scores(iw, _rows(X))


@SETTINGS
@given(X=tables())
def test_clusterer_methods_answer_any_table(fitted, X):
    est = fitted[GMVAEClusterer]
    valid = _well_formed(X)
    proba = _call(est.predict_proba, X, valid=valid)
    if proba is not None:
        _check_proba(proba, _rows(X), 3)
        np.testing.assert_array_equal(est.predict(X), proba.argmax(axis=1))
    codes = _call(est.transform, X, valid=valid)
    if codes is not None:
        _check_finite(codes, (_rows(X), 2))
    scores = _call(est.score_samples, X, valid=valid)
    if scores is not None:
        _check_scores(scores, _rows(X))


@SETTINGS
@given(X=tables(), data=st.data())
def test_conditional_methods_answer_any_table_and_labels(fitted, X, data):
    est = fitted[ConditionalVAE]
    y = data.draw(labels(_rows(X)))
    valid = _well_formed(X)
    with_labels = valid and _known_labels(y, _rows(X), est.classes_)
    proba = _call(est.predict_proba, X, valid=valid)
    if proba is not None:
        _check_proba(proba, _rows(X), 3)
        assert set(est.predict(X)) <= set(est.classes_)
    codes = _call(est.transform, X, y, valid=with_labels)
    if codes is not None:
        _check_finite(codes, (_rows(X), 2))
        back = _call(est.inverse_transform, codes, y, valid=with_labels)
        if back is not None:
            _check_finite(back, (_rows(X), N_FEATURES))
    scores = _call(est.score_samples, X, y, valid=with_labels)
    if scores is not None:
        _check_scores(scores, _rows(X))


@SETTINGS
@given(X=tables())
def test_outlier_methods_answer_any_table(fitted, X):
    est = fitted[VAEOutlierDetector]
    valid = _well_formed(X)
    flags = _call(est.predict, X, valid=valid)
    if flags is not None:
        decision = est.decision_function(X)
        assert not np.isnan(decision).any()
        np.testing.assert_array_equal(flags, np.where(decision < 0, -1, 1))
    scores = _call(est.score_samples, X, valid=valid)
    if scores is not None:
        _check_scores(scores, _rows(X))
    per_feature = _call(est.score_features, X, valid=valid)
    if per_feature is not None:
        assert per_feature.shape == (_rows(X), N_FEATURES)
        assert not np.isnan(per_feature).any()


@SETTINGS
@given(
    n=st.one_of(st.integers(-2, 6), st.floats(0, 3), st.just("3"), st.just(None)),
    cls=st.sampled_from([VAETransformer, GMVAEClusterer]),
)
def test_sample_answers_any_count(fitted, n, cls):
    counts_ok = isinstance(n, int) and not isinstance(n, bool) and n >= 1
    drawn = _call(fitted[cls].sample, n, valid=counts_ok)
    if drawn is not None:
        drawn = drawn[0] if isinstance(drawn, tuple) else drawn
        _check_finite(drawn, (n, N_FEATURES))


# ------------------------------------------------------------------ fitting


def _two_classes(y, n):
    """Labels a classifier must accept: one int or str per row, two classes or more."""
    if y is None or len(y) != n:
        return False
    kinds = {type(v) for v in y}
    return kinds in ({int}, {str}) and len(set(y)) >= 2


@SETTINGS
@given(cls=st.sampled_from(ESTIMATORS), data=st.data())
def test_fit_on_any_table_gives_a_working_model_or_a_clear_error(cls, data):
    X = data.draw(tables(n_rows=st.integers(0, 20), n_features=st.integers(1, 4)))
    y = data.draw(labels(_rows(X))) if takes_y(cls) else None
    est = _make(cls)
    n_features = np.shape(X)[1] if np.ndim(X) == 2 else -1
    valid = _well_formed(X, n_features, min_rows=2) and (
        not takes_y(cls) or _two_classes(y, _rows(X))
    )
    if _call(est.fit, X, y, valid=valid) is None:
        assert not hasattr(est, "net_"), "a failed fit left a model behind"
        return
    # a fitted model answers on its own training rows
    scores = est.score_samples(X, y) if takes_y(cls) else est.score_samples(X)
    _check_scores(scores, _rows(X))
    if hasattr(est, "transform"):
        codes = est.transform(X, y) if takes_y(cls) else est.transform(X)
        if tags(cls).imputes:  # the table filled in: nothing missing
            assert np.shape(codes) == np.shape(X) and not pd.isna(codes).any()
        else:
            _check_finite(codes, (_rows(X), 2))
