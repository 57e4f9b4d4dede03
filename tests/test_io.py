"""Model files that are safe to load: skvae.save / skvae.load."""

import json
import pickle
import struct
import warnings

import numpy as np
import pytest
import torch
from helpers import cheap, tags, takes_y
from safetensors.torch import save_file
from sklearn.base import BaseEstimator, clone
from sklearn.datasets import load_digits, load_wine
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import GradientNormClipping
from torch import nn

import skvae
from skvae import (
    ConditionalVAE,
    GMVAEClusterer,
    VAEOutlierDetector,
    VAETransformer,
    all_estimators,
)

# every estimator of the registry: a new one is tested without an edit here
ESTIMATORS = [cls for _, cls in all_estimators()]
SMALL = dict(max_iter=4, hidden_layer_sizes=(16,), random_state=0, device="cpu")


def _fit(cls, X, y, **params):
    params = {**SMALL, **cheap(cls), **params}
    if takes_y(cls):
        return cls(**params).fit(X, y)
    if tags(cls).labels == "clusters":
        return cls(n_clusters=3, **params).fit(X)
    return cls(**params).fit(X)


def _outputs(est, X, y):
    """Every public output of a fitted estimator, by name."""
    out = {}
    if isinstance(est, ConditionalVAE):
        out["score_samples"] = est.score_samples(X, y)
        out["transform"] = est.transform(X, y)
        out["inverse_transform"] = est.inverse_transform(out["transform"], y)
        out["predict_proba"] = est.predict_proba(X)
        out["sample"] = est.sample(5, y=y[:5], random_state=1)[0]
        return out
    out["score_samples"] = est.score_samples(X)
    for name in ("transform", "predict", "predict_proba", "decision_function"):
        if hasattr(est, name):
            out[name] = getattr(est, name)(X)
    if hasattr(est, "inverse_transform"):
        out["inverse_transform"] = est.inverse_transform(out["transform"])
    if hasattr(est, "score_features"):
        out["score_features"] = est.score_features(X)
    if hasattr(est, "sample"):
        drawn = est.sample(5, random_state=1)
        out["sample"] = drawn[0] if isinstance(drawn, tuple) else drawn
    if isinstance(est, VAETransformer):
        out["iw"] = est.score_samples(X, importance_weighted=True)
    return out


def _params(est):
    """Hyperparameters, with settings objects (a prior's) compared by their own."""
    return {
        k: (type(v).__name__, v.get_params()) if isinstance(v, BaseEstimator) else v
        for k, v in est.get_params(deep=False).items()
    }


def _fitted_attributes(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and k != "net_"}


def _assert_same(a, b, what):
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, what
        np.testing.assert_array_equal(a, b, err_msg=what)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), what
        for key in a:
            _assert_same(a[key], b[key], f"{what}.{key}")
    elif isinstance(a, BaseEstimator):  # a settings object, such as a prior's
        assert type(a) is type(b) and a.get_params() == b.get_params(), what
    else:
        assert type(a) is type(b) and a == b, what


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_round_trip_gives_bit_identical_outputs(cls, wine, tmp_path):
    X, y = wine
    est = _fit(cls, X, y)
    path = tmp_path / "model.safetensors"
    skvae.save(est, path)
    loaded = skvae.load(path)
    assert type(loaded) is cls
    assert _params(loaded) == _params(est)
    before, after = _fitted_attributes(est), _fitted_attributes(loaded)
    assert before.keys() == after.keys()
    for name in before:
        _assert_same(before[name], after[name], name)
    for name, value in _outputs(est, X, y).items():
        out = _outputs(loaded, X, y)[name]
        assert out.dtype == value.dtype, name
        np.testing.assert_array_equal(out, value, err_msg=name)
    assert loaded.net_.history.to_list() == est.net_.history.to_list()
    # the loaded model is an ordinary estimator: clone, pickle, warm refit
    clone(loaded)
    pickle.loads(pickle.dumps(loaded))
    loaded.set_params(warm_start=True, max_iter=2)
    loaded.fit(X, y) if takes_y(cls) else loaded.fit(X)
    assert loaded.n_iter_ == est.n_iter_ + 2


def test_an_unfitted_estimator_round_trips_unfitted(tmp_path):
    est = GMVAEClusterer(n_clusters=5, hidden_layer_sizes=(8, 4), random_state=3)
    skvae.save(est, tmp_path / "m.safetensors")
    loaded = skvae.load(tmp_path / "m.safetensors")
    assert _params(loaded) == _params(est)
    assert isinstance(loaded.hidden_layer_sizes, tuple)
    with pytest.raises(NotFittedError):
        check_is_fitted(loaded)


def test_a_pipeline_with_a_scaler_round_trips(wine, tmp_path):
    X, _ = load_wine(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), VAEOutlierDetector(**SMALL))
    model.set_output(transform="pandas").fit(X)
    skvae.save(model, tmp_path / "m.safetensors")
    loaded = skvae.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    np.testing.assert_array_equal(loaded[0].feature_names_in_, model[0].feature_names_in_)
    assert loaded[0].feature_names_in_.dtype == object
    # a bad column order gets scikit-learn's message, as before the round trip
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(X[X.columns[::-1]])


def test_string_classes_images_and_a_random_state_instance_round_trip(tmp_path):
    X, y = load_digits(return_X_y=True)
    X, y = X[:200] / 16, np.array(["zero", "one", "two", "three", "four"])[y[:200] % 5]
    cvae = ConditionalVAE(
        architecture="conv",
        image_shape=(8, 8),
        conv_channels=(4,),
        max_iter=2,
        random_state=np.random.RandomState(7),
        likelihood="bernoulli",
        device="cpu",
    ).fit(X, y)
    skvae.save(cvae, tmp_path / "m.safetensors")
    loaded = skvae.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded.classes_, cvae.classes_)
    assert loaded.image_shape_ == (1, 8, 8)
    np.testing.assert_array_equal(loaded.predict(X), cvae.predict(X))
    assert loaded.random_state.randint(1000) == cvae.random_state.randint(1000)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(13, 10), nn.Tanh())

    def forward(self, x):
        return self.net(x)


def test_user_modules_are_given_back_to_load(wine, tmp_path):
    X, _ = wine
    vae = VAETransformer(encoder=Encoder(), **SMALL).fit(X)
    path = tmp_path / "m.safetensors"
    skvae.save(vae, path)
    with pytest.raises(ValueError, match=r"encoder of your own \(.*Encoder\).*skvae.load\(path"):
        skvae.load(path)
    loaded = skvae.load(path, encoder=Encoder())
    np.testing.assert_array_equal(loaded.transform(X), vae.transform(X))
    # a class works as it does for the estimator
    np.testing.assert_array_equal(skvae.load(path, encoder=Encoder).transform(X), vae.transform(X))

    class Wider(Encoder):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(13, 11), nn.Tanh())

    with pytest.raises(ValueError, match="do not fit the network"):
        skvae.load(path, encoder=Wider())


def test_callbacks_are_not_stored_and_saving_says_so(wine, tmp_path):
    X, _ = wine
    vae = VAETransformer(callbacks=[GradientNormClipping(1.0)], **SMALL).fit(X)
    with pytest.warns(UserWarning, match="callbacks are not stored"):
        skvae.save(vae, tmp_path / "m.safetensors")
    assert vae.callbacks  # the estimator itself is unchanged
    assert skvae.load(tmp_path / "m.safetensors").callbacks is None


def test_a_model_fitted_on_cuda_loads_on_a_cpu_only_machine(wine, tmp_path, monkeypatch):
    X, _ = wine
    vae = _fit(VAETransformer, X, None)
    before = vae.transform(X)
    vae.device = "cuda"  # what a GPU machine writes; the weights are saved from the CPU
    skvae.save(vae, tmp_path / "m.safetensors")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="no CUDA GPU"):
        loaded = skvae.load(tmp_path / "m.safetensors")
    assert loaded.device == "cpu" and loaded.net_.device == "cpu"
    np.testing.assert_array_equal(loaded.transform(X), before)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert skvae.load(tmp_path / "m.safetensors", device="cpu").device == "cpu"


def test_loading_runs_no_pickle(wine, tmp_path, monkeypatch):
    X, _ = wine
    skvae.save(_fit(GMVAEClusterer, X, None), tmp_path / "m.safetensors")

    def refuse(*args, **kwargs):
        raise AssertionError("a model file was unpickled")

    for module, name in [(pickle, "load"), (pickle, "loads"), (torch, "load")]:
        monkeypatch.setattr(module, name, refuse)
    assert skvae.load(tmp_path / "m.safetensors").predict(X).shape == (len(X),)


def _write_model(path, description, tensors=None):
    metadata = {"format": "skvae-model", "skvae": json.dumps(description)}
    save_file(tensors or {}, str(path), metadata=metadata)


def test_a_file_naming_another_class_is_refused_before_anything_is_built(tmp_path):
    path = tmp_path / "evil.safetensors"
    model = {"__estimator__": "Popen", "state": {"args": "touch pwned"}}
    _write_model(path, {"format_version": 1, "skvae_version": "0.1", "model": model})
    with pytest.raises(ValueError, match="names a class 'Popen'; skvae loads only"):
        skvae.load(path)
    assert not (tmp_path / "pwned").exists()


def test_a_newer_format_says_which_version_wrote_it(tmp_path):
    path = tmp_path / "new.safetensors"
    _write_model(path, {"format_version": 99, "skvae_version": "7.0", "model": {}})
    with pytest.raises(ValueError, match=r"written by skvae 7.0 .*format 99.*Upgrade skvae"):
        skvae.load(path)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"a,b\n1,2\n", "not a safetensors file"),
        (pickle.dumps({"a": 1}), "not a safetensors file"),
        (b"", "not a safetensors file"),
    ],
    ids=["csv", "pickle", "empty"],
)
def test_files_that_are_not_model_files_are_clear_errors(tmp_path, content, match):
    path = tmp_path / "m.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        skvae.load(path)


def test_other_unreadable_files_are_clear_errors(wine, tmp_path):
    with pytest.raises(FileNotFoundError, match="No such model file"):
        skvae.load(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="is a directory"):
        skvae.load(tmp_path)
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(ValueError, match="without a skvae model description"):
        skvae.load(plain)
    # a damaged description or a missing tensor: the file, and why
    X, _ = wine
    good = tmp_path / "good.safetensors"
    skvae.save(_fit(VAETransformer, X, None), good)
    header_len = struct.unpack("<Q", good.read_bytes()[:8])[0]
    header = json.loads(good.read_bytes()[8 : 8 + header_len])
    description = json.loads(header["__metadata__"]["skvae"])
    del description["model"]["state"]["n_features_in_"]
    _write_model(tmp_path / "damaged.safetensors", description)
    with pytest.raises(ValueError, match="damaged.safetensors is not a skvae model file"):
        skvae.load(tmp_path / "damaged.safetensors")


def test_saving_what_a_file_cannot_hold_is_a_clear_error(wine, tmp_path):
    from sklearn.decomposition import PCA

    with pytest.raises(TypeError, match="skvae.save stores .*PCA.*joblib or skops"):
        skvae.save(make_pipeline(PCA(2), VAETransformer()), tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()
    # the scalers it does take
    X, _ = wine
    model = make_pipeline(MinMaxScaler(), VAETransformer(**SMALL)).fit(X)
    skvae.save(model, tmp_path / "m.safetensors")
    np.testing.assert_array_equal(
        skvae.load(tmp_path / "m.safetensors").transform(X), model.transform(X)
    )


@pytest.mark.parametrize("device", ["mps", "cuda:7"])
def test_a_model_fitted_on_a_device_this_machine_lacks_loads_on_the_cpu(
    wine, tmp_path, monkeypatch, device
):
    X, _ = wine
    vae = _fit(VAETransformer, X, None)
    before = vae.transform(X)
    vae.device = device  # what another machine writes
    skvae.save(vae, tmp_path / "m.safetensors")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.warns(UserWarning, match=f"device='{device}', which is not available here"):
        loaded = skvae.load(tmp_path / "m.safetensors")
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.transform(X), before)


def test_loading_a_model_fitted_on_a_dataframe_warns_nothing(tmp_path):
    # load's probe row once had no column names, so sklearn warned the user
    import warnings

    from sklearn.datasets import load_wine

    import skvae

    X, y = load_wine(return_X_y=True, as_frame=True)
    model = skvae.ConditionalVAE(max_iter=2, random_state=0).fit(X, y)
    assert model.label_name_ == "target"
    skvae.save(model, tmp_path / "m.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = skvae.load(tmp_path / "m.safetensors")
    assert loaded.label_name_ == "target"
    assert skvae.ConditionalVAE(max_iter=2).fit(X.to_numpy(), y.to_numpy()).label_name_ is None
