"""Hostile but realistic input: extreme values, far offsets and scales."""

import re

import numpy as np
import pytest
import torch
from helpers import cheap, tags, takes_y

from skvae import (
    ConditionalVAE,
    GMVAEClusterer,
    VAEOutlierDetector,
    VAETransformer,
    all_estimators,
)
from skvae._base import BaseVAE

# every estimator of the registry: a new one is tested without an edit here
ESTIMATORS = [cls for _, cls in all_estimators()]
SMALL = dict(max_iter=15, hidden_layer_sizes=(16,), n_components=2, random_state=0)


def _fit(cls, X, y, **params):
    params = {**SMALL, **cheap(cls), **params}
    if takes_y(cls):
        return cls(**params).fit(X, y)
    if tags(cls).labels == "clusters":
        return cls(n_clusters=3, **params).fit(X)
    return cls(**params).fit(X)


def _extreme_rows(X):
    """Finite rows far outside the data: each the most abnormal row there is."""
    rows = np.repeat(X[:1], 5, axis=0)
    rows[0, 0] = 1e25  # one feature
    rows[1, :] = 1e20  # every feature
    rows[2, 3] = 9.97e36  # the netCDF fill value
    rows[3, 0] = -1e300
    rows[4, 5] = np.finfo(np.float64).max
    return rows


@pytest.fixture(params=["float64", "float32"])
def inference_dtype(request, monkeypatch):
    """CPU inference (float64) and the accelerators' float32, simulated on the CPU."""
    if request.param == "float32":
        monkeypatch.setattr(BaseVAE, "_inference_dtype", property(lambda self: torch.float32))
    return request.param


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_extreme_finite_rows_score_lowest_never_nan(cls, wine, inference_dtype):
    X, y = wine
    est = _fit(cls, X, y)
    bad = _extreme_rows(X)
    with np.errstate(invalid="raise"):  # no NaN made along the way either
        scores = est.score_samples(bad)
        train = est.score_samples(X)
    assert not np.isnan(scores).any(), scores
    assert np.all(scores < train.min())
    Z = est.transform(bad) if hasattr(est, "transform") else None
    if Z is not None:
        assert np.isfinite(Z).all()
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(bad)
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert np.all(proba >= 0)
    if tags(cls).outlier_scores:
        assert np.all(est.predict(bad) == -1)
        assert np.all(est.decision_function(bad) < 0)


def test_conditional_row_no_class_can_score_gets_the_class_prior(wine):
    X, y = wine
    cvae = _fit(ConditionalVAE, X, y)
    bad = _extreme_rows(X)[[3]]  # -1e300: its bound overflows under every class
    assert np.isneginf(cvae._class_bounds(bad, 10)).all()
    np.testing.assert_allclose(cvae.predict_proba(bad)[0], cvae.class_prior_)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_results_do_not_depend_on_offset(cls, wine):
    # centred in float64 before the float32 cast: +1e8 loses nothing
    X, y = wine
    near, far = _fit(cls, X, y), _fit(cls, X + 1e8, y)
    # (atol: the outlier scores are centred, so some lie near 0)
    np.testing.assert_allclose(
        far.score_samples(X + 1e8), near.score_samples(X), rtol=1e-5, atol=1e-6
    )
    if tags(cls).codes is not None:
        np.testing.assert_allclose(far.transform(X + 1e8), near.transform(X), atol=1e-4)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("scale", [1e30, 1e-20])
def test_results_do_not_depend_on_scale(cls, wine, scale):
    X, y = wine
    est = _fit(cls, X, y)
    scaled = _fit(cls, X * scale, y)
    if tags(cls).codes is not None:
        np.testing.assert_allclose(scaled.transform(X * scale), est.transform(X), atol=1e-4)
        # a density in nats of X: a change of units moves it by the Jacobian
        shift = -X.shape[1] * np.log(scale)
        np.testing.assert_allclose(
            scaled.score_samples(X * scale), est.score_samples(X) + shift, rtol=1e-6
        )
        np.testing.assert_allclose(
            scaled.loss_curve_, np.asarray(est.loss_curve_) - shift, rtol=1e-5
        )
    elif tags(cls).imputes:
        holed = X.copy()
        holed[::7, 2] = np.nan
        np.testing.assert_allclose(
            scaled.transform(holed * scale) / scale, est.transform(holed), rtol=1e-4
        )
    else:
        np.testing.assert_array_equal(scaled.predict(X * scale), est.predict(X))


def test_decoded_rows_come_back_in_the_units_of_x(wine):
    X, _ = wine
    X_far = X * 1e6 + 1e9
    vae = VAETransformer(**SMALL).fit(X_far)
    near = VAETransformer(**SMALL).fit(X)
    np.testing.assert_allclose(
        vae.inverse_transform(vae.transform(X_far)),
        near.inverse_transform(near.transform(X)) * 1e6 + 1e9,
        rtol=1e-9,
        atol=1e-3,
    )
    samples = vae.sample(200, random_state=0)
    assert np.abs(samples.mean(axis=0) - 1e9).max() < 5e6


# ---------------------------------------------------------------- interrupted fits


class _Interrupt:
    """A callback that presses Ctrl-C at the end of epoch ``at``."""

    def __new__(cls, at):
        from skorch.callbacks import Callback

        class Interrupt(Callback):
            def on_epoch_end(self, net, **kwargs):
                if len(net.history) == at:
                    raise KeyboardInterrupt

        return Interrupt()


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("warm", [False, True])
def test_ctrl_c_during_fit_propagates_and_keeps_the_previous_model(cls, wine, warm):
    X, y = wine
    est = _fit(cls, X, y)
    before, state = est.score_samples(X), dict(vars(est))
    est.set_params(callbacks=[("stop", _Interrupt(at=3 + (15 if warm else 0)))], warm_start=warm)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y) if takes_y(cls) else est.fit(X)
    assert est.net_ is state["net_"] and est.n_iter_ == state["n_iter_"]
    np.testing.assert_array_equal(est.score_samples(X), before)


def test_ctrl_c_during_a_first_fit_leaves_it_unfitted(wine):
    X, _ = wine
    vae = VAETransformer(**SMALL, callbacks=[("stop", _Interrupt(at=2))])
    with pytest.raises(KeyboardInterrupt):
        vae.fit(X)
    assert not hasattr(vae, "net_") and not hasattr(vae, "n_features_in_")


def test_early_stopping_still_ends_a_fit_normally(wine):
    X, _ = wine
    vae = VAETransformer(
        **{**SMALL, "max_iter": 200}, early_stopping=True, n_iter_no_change=2, tol=1e3
    ).fit(X)
    assert vae.n_iter_ < 200


# ---------------------------------------------------------------- warm starts


def test_warm_fit_uses_changed_training_hyperparameters(wine):
    X, _ = wine
    from skorch.callbacks import Callback

    class Record(Callback):
        def on_epoch_begin(self, net, **kwargs):
            net.history.record("lr", net.optimizer_.param_groups[0]["lr"])
            net.history.record("beta", net.criterion_.beta)

    vae = VAETransformer(**SMALL, callbacks=[("rec", Record())]).fit(X)
    vae.set_params(warm_start=True, beta=4.0, learning_rate_init=0.05, max_iter=4)
    vae.fit(X)
    lrs, betas = vae.net_.history[15:, "lr"], vae.net_.history[15:, "beta"]
    assert betas == [4.0] * 4
    # a whole cosine schedule from the new step size, not the end of the old one
    assert lrs[0] == pytest.approx(0.05) and lrs[-1] < lrs[0]
    assert vae.n_iter_ == 19


def test_per_batch_callbacks_hear_every_batch(wine):
    # the net skips callbacks with nothing to do per batch; one that does
    # hears every event, and the history still records every batch
    X, _ = wine
    from skorch.callbacks import Callback

    class Count(Callback):
        def on_train_begin(self, net, **kwargs):
            self.events = []

        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            self.events.append(("begin", training))

        def on_grad_computed(self, net, named_parameters, **kwargs):
            self.events.append(("grad", sum(1 for _ in named_parameters)))

        def on_batch_end(self, net, batch=None, training=False, **kwargs):
            self.events.append(("end", training))

    params = {**SMALL, "max_iter": 2, "batch_size": 50}
    vae = VAETransformer(**params, callbacks=[("count", Count())]).fit(X)
    events = dict(vae.net_.callbacks_)["count"].events
    n_batches = 2 * -(-len(X) // 50)
    n_params = len(list(vae.module_.parameters()))
    assert events == [("begin", True), ("grad", n_params), ("end", True)] * n_batches
    assert [len(epoch["batches"]) for epoch in vae.net_.history] == [n_batches // 2] * 2


@pytest.mark.parametrize(
    "cls, change",
    [
        (VAETransformer, {"n_components": 3}),
        (VAETransformer, {"likelihood": "bernoulli"}),
        (VAETransformer, {"hidden_layer_sizes": (8,)}),
        (GMVAEClusterer, {"n_clusters": 4}),
        (VAEOutlierDetector, {"n_components": 3}),
        (ConditionalVAE, {"activation": "relu"}),
    ],
)
def test_warm_fit_refuses_changed_network_shape_and_keeps_the_model(wine, cls, change):
    X, y = wine
    X01 = (X - X.min()) / (X.max() - X.min())
    est = _fit(cls, X01, y)
    before = est.score_samples(X01)
    est.set_params(warm_start=True, **change)
    name = next(iter(change))
    with pytest.raises(ValueError, match=rf"warm_start=True.*{name}.*warm_start=False"):
        est.fit(X01, y) if takes_y(cls) else est.fit(X01)
    # the fitted model still answers, as fitted, though its parameters changed
    np.testing.assert_array_equal(est.score_samples(X01), before)


def test_failed_warm_fit_of_the_outlier_detector_keeps_the_model(wine):
    X, _ = wine
    det = _fit(VAEOutlierDetector, X, None)
    before = det.decision_function(X)
    det.set_params(warm_start=True, learning_rate_init=1e6)
    with pytest.raises(ValueError, match="diverged"):
        det.fit(X)
    np.testing.assert_array_equal(det.decision_function(X), before)


# ---------------------------------------------------------------- devices


def test_model_pickled_on_cuda_loads_and_refits_on_a_cpu_only_machine(wine, monkeypatch):
    import pickle

    X, _ = wine
    vae = VAETransformer(**SMALL, device="cpu").fit(X)
    before = vae.transform(X)
    # what a GPU machine writes: the estimator and its net say "cuda"
    vae.device = "cuda"
    vae.net_.device = "cuda"
    blob = pickle.dumps(vae)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="no CUDA GPU"):
        loaded = pickle.loads(blob)
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.transform(X), before)
    loaded.set_params(warm_start=True, max_iter=2).fit(X)
    assert loaded.n_iter_ == 17


@pytest.mark.parametrize("device", ["xpu", "meta", "hpu"])
def test_devices_skvae_does_not_train_on_are_clear_errors(wine, device):
    X, _ = wine
    with pytest.raises(ValueError, match="not a device skvae trains on"):
        VAETransformer(**SMALL, device=device).fit(X)


# ---------------------------------------------------------------- invalid inputs


@pytest.mark.parametrize("callbacks", [[1], [("name", 1)], [(1, "x")]])
def test_callbacks_that_are_not_callbacks_are_clear_errors(wine, callbacks):
    X, _ = wine
    with pytest.raises(ValueError, match="callbacks must hold skorch callbacks.*entry 0"):
        VAETransformer(**SMALL, callbacks=callbacks).fit(X)


def test_datetime_columns_are_named_in_a_clear_error(wine):
    pd = pytest.importorskip("pandas")
    X, _ = wine
    frame = pd.DataFrame(X[:, :3], columns=list("abc"))
    frame["when"] = pd.date_range("2020-01-01", periods=len(frame))
    with pytest.raises(ValueError, match=r"'when'.*datetime64.*encode dates"):
        VAETransformer(**SMALL).fit(frame)
    dates = np.arange(len(X)).astype("datetime64[D]").reshape(-1, 1)
    with pytest.raises(ValueError, match="X must hold numbers"):
        VAETransformer(**SMALL).fit(dates)


@pytest.mark.parametrize("missing", [None, np.nan])
def test_missing_labels_of_the_conditional_vae_are_clear_errors(wine, missing):
    X, y = wine
    labels = np.array([f"c{k}" for k in y], dtype=object)
    labels[7] = missing
    with pytest.raises(ValueError, match="y has no class in 1 row.*row 7"):
        ConditionalVAE(**SMALL).fit(X, labels)


# ---------------------------------------------------------------- divergence


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_divergence_names_the_epoch_the_cause_and_what_to_do(cls, wine):
    X, y = wine
    previous = _fit(cls, X, y)
    before = previous.score_samples(X, y) if takes_y(cls) else previous.score_samples(X)
    previous.set_params(learning_rate_init=1e6, learning_rate="constant")
    with pytest.raises(ValueError) as info:
        previous.fit(X, y) if takes_y(cls) else previous.fit(X)
    message = str(info.value)
    # a loss that overflows (epoch and batch) or one that explodes while finite
    assert re.search(r"diverged in epoch \d+(, batch \d+: the loss is non-finite|: the mean "
                     r"training loss is [0-9.e+]+ nats per row)", message), message
    assert "1e+06" in message and "lower learning_rate_init" in message
    assert "GradientNormClipping" in message and "\n" not in message
    # the diverged fit left the previous model
    after = previous.score_samples(X, y) if takes_y(cls) else previous.score_samples(X)
    np.testing.assert_array_equal(after, before)


class _LogEncoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(13, 8)

    def forward(self, x):
        return torch.log(self.linear(x))  # NaN wherever the linear part is negative


class _ExpDecoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 13)

    def forward(self, z):
        return torch.exp(1e3 * self.linear(z))


@pytest.mark.parametrize(
    "params, part, name",
    [({"encoder": _LogEncoder()}, "encoder", "_LogEncoder"),
     ({"decoder": _ExpDecoder()}, "decoder", "_ExpDecoder")],
)
def test_divergence_in_a_user_module_names_the_module(wine, params, part, name):
    X, _ = wine
    with pytest.raises(ValueError) as info:
        VAETransformer(**{**SMALL, **params}).fit(X)
    message = str(info.value)
    assert "epoch 1, batch 1" in message
    assert f"because the {part}'s output is" in message
    assert f"The {part} is {name}, a module of your own" in message


@pytest.mark.parametrize("cls", [VAETransformer, ConditionalVAE], ids=lambda c: c.__name__)
def test_dates_given_as_codes_are_refused_not_decoded(cls, wine):
    # found by benchmarks/hostile_inputs.py: numpy casts datetime64 to floats
    X, y = wine
    est = _fit(cls, X, y)
    codes = np.array(["2020-01-01", "2021-06-30"], dtype="datetime64[D]").reshape(1, 2)
    with pytest.raises(ValueError, match="datetime64"):
        est.inverse_transform(codes, 0) if takes_y(cls) else est.inverse_transform(codes)


def test_string_and_category_columns_are_modelled_by_their_type():
    import pandas as pd

    frame = pd.DataFrame({
        "x": np.arange(10.0),
        "name": list("abcdeabcde"),
        "kind": pd.Categorical(list("uvuvuvuvuv")),
        "flag": [True, False] * 5,
    })
    # a table: each column modelled by its type (tests/test_tables.py)
    est = VAETransformer(max_iter=1).fit(frame)
    assert list(est.column_types_) == ["real", "nominal", "nominal", "binary"]
    # numbers and booleans are numbers
    assert VAETransformer(max_iter=1).fit(frame[["x", "flag"]]).n_features_in_ == 2


@pytest.mark.slow  # every estimator at its full defaults: CI's full run has it
@pytest.mark.parametrize("name, cls", all_estimators())
def test_defaults_fit_a_one_feature_table(name, cls):
    # only epochs and widths made cheap: every other parameter at its default
    X = np.random.RandomState(0).normal(size=(40, 1))
    y = np.arange(40) % 2
    est = cls(max_iter=2, hidden_layer_sizes=(8,), random_state=0)
    args = (X, y) if takes_y(cls) else (X,)
    est.fit(*args)
    assert np.isfinite(est.score_samples(*args)).all()
