"""Convolutional nets, image input and user modules, across every estimator."""

import functools
import pickle

import numpy as np
import pytest
import torch
from helpers import cheap, tags, takes_y
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.utils.validation import check_is_fitted
from torch import nn

from skvae import (
    ConditionalVAE,
    VAETransformer,
    all_estimators,
)

CONV = dict(
    architecture="conv",
    image_shape=(1, 8, 8),
    conv_channels=(4, 8),
    hidden_layer_sizes=(16,),
    max_iter=3,
    batch_size=64,
    random_state=0,
)


@pytest.fixture(scope="module")
def images():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _fit(cls, X, y, **params):
    params = {**cheap(cls), **params}
    if takes_y(cls):
        return cls(**params).fit(X, y)
    if tags(cls).labels == "clusters":
        return cls(n_clusters=4, **params).fit(X)
    return cls(**params).fit(X)


# every estimator of the registry: a new one is tested without an edit here
ESTIMATORS = [cls for _, cls in all_estimators()]


def _outputs(est, X, y):
    """Every main output of a fitted estimator, by name."""
    out = {"score_samples": est.score_samples(X, y) if isinstance(est, ConditionalVAE)
           else est.score_samples(X)}
    if hasattr(est, "transform"):
        out["transform"] = est.transform(X)
    if hasattr(est, "predict"):
        out["predict"] = est.predict(X)
    if isinstance(est, ConditionalVAE):
        out["sample"] = est.sample(3, y=1)[0]
    elif hasattr(est, "sample"):
        out["sample"] = est.sample(3)
        out["sample"] = out["sample"][0] if isinstance(out["sample"], tuple) else out["sample"]
    return out


IMAGE_ESTIMATORS = [cls for cls in ESTIMATORS if tags(cls).images]


@pytest.mark.parametrize("cls", IMAGE_ESTIMATORS)
def test_conv_architecture_fits_and_keeps_the_contract(images, cls):
    X, y = images
    est = _fit(cls, X, y, likelihood="bernoulli", **CONV)
    assert est.image_shape_ == (1, 8, 8) and est.n_features_in_ == 64
    assert isinstance(est.module_.encoder.conv[0], nn.Conv2d)
    out = _outputs(est, X, y)
    assert out["score_samples"].shape == (300,) and np.all(np.isfinite(out["score_samples"]))
    if "sample" in out:
        assert out["sample"].shape == (3, 64)  # flat rows, as a Pipeline passes them
    # reproducible, and the same after a pickle round trip
    again = _fit(cls, X, y, likelihood="bernoulli", **CONV)
    loaded = pickle.loads(pickle.dumps(est))
    for name, value in out.items():
        np.testing.assert_array_equal(value, _outputs(again, X, y)[name], err_msg=name)
        np.testing.assert_array_equal(value, _outputs(loaded, X, y)[name], err_msg=name)


def test_image_arrays_are_rows_of_their_pixels(images):
    X, _ = images
    flat = VAETransformer(**CONV).fit(X)
    params = {**CONV, "image_shape": None}
    for shaped in (X.reshape(300, 8, 8), X.reshape(300, 1, 8, 8)):
        vae = VAETransformer(**params).fit(shaped)
        assert vae.image_shape_ == (1, 8, 8)
        np.testing.assert_allclose(vae.transform(shaped), flat.transform(X), rtol=1e-6)
        np.testing.assert_allclose(vae.transform(X), flat.transform(X), rtol=1e-6)
    with pytest.raises(ValueError, match=r"images of shape \(1, 4, 16\).*\(1, 8, 8\)"):
        flat.transform(X.reshape(300, 4, 16))
    with pytest.raises(ValueError, match=r"images of shape \(1, 4, 16\).*image_shape"):
        VAETransformer(**CONV).fit(X.reshape(300, 4, 16))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"image_shape": None}, "architecture='conv' reads each row as an image"),
        ({"image_shape": (1, 7, 7)}, "holds 49 values per image, but X has 64 features"),
        ({"image_shape": (8,)}, r"\(channels, height, width\) or \(height, width\)"),
        ({"image_shape": (1, 0, 8)}, "image_shape must hold positive integers"),
        ({"conv_channels": (4, 4, 4, 4)}, "too small for 4 stride-2 convolutions"),
        ({"conv_channels": (4, -1)}, "conv_channels"),
    ],
)
def test_bad_image_settings_are_clear_errors(images, params, match):
    X, _ = images
    vae = VAETransformer(**{**CONV, **params})
    with pytest.raises(ValueError, match=match):
        vae.fit(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(vae)


def test_mlp_refuses_image_arrays_without_a_shape(images):
    X, _ = images
    with pytest.raises(ValueError, match="3-D input is read as images only with image_shape"):
        VAETransformer(max_iter=1).fit(X.reshape(300, 8, 8))
    rows = VAETransformer(max_iter=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="this one was fitted on rows"):
        rows.transform(X.reshape(300, 8, 8))
    # with image_shape, an MLP reads image arrays too
    vae = VAETransformer(image_shape=(8, 8), max_iter=1, random_state=0).fit(X.reshape(300, 8, 8))
    assert vae.transform(X).shape == (300, 2)


class SmallEncoder(nn.Module):
    """A user's conv encoder: images in, 12 features out."""

    def __init__(self, width=12):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(256, width)
        )

    def forward(self, x):
        return self.net(x)


class SmallDecoder(nn.Module):
    """A user's decoder: codes of any width in, 8 x 8 images out."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.LazyLinear(32), nn.Tanh(), nn.Linear(32, 64))

    def forward(self, z):
        return self.net(z).reshape(-1, 1, 8, 8)


@pytest.mark.parametrize("cls", IMAGE_ESTIMATORS)
@pytest.mark.parametrize("as_class", [True, False])
def test_user_modules_work_with_every_estimator(images, cls, as_class):
    X, y = images
    encoder = functools.partial(SmallEncoder, width=12) if as_class else SmallEncoder(12)
    decoder = SmallDecoder if as_class else SmallDecoder()
    params = dict(encoder=encoder, decoder=decoder, image_shape=(8, 8), max_iter=3,
                  random_state=0)
    est = _fit(cls, X, y, **params)
    assert isinstance(est.module_.encoder.net, SmallEncoder)
    assert isinstance(est.module_.decoder.net, SmallDecoder)
    out = _outputs(est, X, y)
    assert np.all(np.isfinite(out["score_samples"]))
    # the parameters are copied, never trained: a clone refits to the same numbers
    if not as_class:
        assert all(p.grad is None for p in encoder.parameters())
    refit = clone(est)
    refit = refit.fit(X, y) if takes_y(cls) else refit.fit(X)
    for name, value in out.items():
        np.testing.assert_array_equal(value, _outputs(refit, X, y)[name], err_msg=name)


def test_conditional_decoder_gets_the_class_with_the_code(images):
    X, y = images
    seen = []

    class Recording(SmallDecoder):
        def forward(self, z):
            seen.append(z.shape[-1])
            return super().forward(z)

    ConditionalVAE(
        n_components=3, decoder=Recording, image_shape=(8, 8), max_iter=1, random_state=0
    ).fit(X, y)
    assert set(seen) == {3 + 10}


def test_a_user_module_that_breaks_the_contract_is_named_and_nothing_is_fitted(images):
    X, _ = images

    class Bad(nn.Module):
        def forward(self, x):
            return x[:, None]

    vae = VAETransformer(encoder=Bad, max_iter=1)
    with pytest.raises(ValueError, match=r"The encoder Bad returned shape \(2, 1, 64\)"):
        vae.fit(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(vae)


def test_grid_search_over_architecture_and_widths(images):
    X, _ = images
    search = GridSearchCV(
        VAETransformer(image_shape=(1, 8, 8), hidden_layer_sizes=(16,), max_iter=2,
                       random_state=0),
        {"architecture": ["mlp", "conv"], "conv_channels": [(4,), (4, 8)]},
        cv=2,
    ).fit(X)
    assert np.isfinite(search.best_score_)
    assert len(search.cv_results_["params"]) == 4


def test_conv_vae_learns_the_digits(images):
    """A conv VAE trained for 100 short epochs reconstructs held-out digits
    far better than their mean image does (a broken conv stack or a decoder
    whose pixels are shuffled cannot). Measured: 0.44 of the baseline's error
    (an MLP of the same widths: 0.45)."""
    X, _ = images
    X_train, X_test = X[:250], X[250:]
    vae = VAETransformer(
        n_components=8, architecture="conv", image_shape=(8, 8), conv_channels=(16, 32),
        hidden_layer_sizes=(64,), likelihood="bernoulli", max_iter=100, batch_size=32,
        random_state=0,
    ).fit(X_train)
    recon = vae.inverse_transform(vae.transform(X_test))
    mse = np.mean((recon - X_test) ** 2)
    baseline = np.mean((X_train.mean(axis=0) - X_test) ** 2)
    assert mse < 0.6 * baseline, (mse, baseline)


def test_inference_does_not_depend_on_the_batch(images):
    """Scores and codes of a row are the same whatever rows share its block
    (inference runs in float64 on the CPU)."""
    X, y = images
    for cls in ESTIMATORS:
        est = _fit(cls, X, y, hidden_layer_sizes=(16,), max_iter=2, batch_size=32,
                   random_state=0)
        full = _outputs(est, X, y)
        order = np.random.RandomState(0).permutation(300)[:77]
        part = _outputs(est, X[order], y[order])
        for name in ("score_samples", "transform", "predict"):
            if name in full:
                np.testing.assert_allclose(part[name], full[name][order], rtol=1e-12,
                                           atol=1e-12, err_msg=f"{cls.__name__}.{name}")


def test_user_modules_move_with_the_model(images):
    """The user's module is part of the trained module: its weights move
    with ``to`` (the path a CUDA model takes) and pickle with it."""
    X, _ = images
    vae = VAETransformer(encoder=SmallEncoder, image_shape=(8, 8), max_iter=1,
                         random_state=0).fit(X)
    names = [name for name, _ in vae.module_.named_parameters()]
    assert any(name.startswith("encoder.net.") for name in names)
    double = vae.module_.to(torch.float64)
    assert all(p.dtype == torch.float64 for p in double.encoder.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_conv_and_user_modules_on_cuda(images, cls, tmp_path):
    """On a GPU: conv and user modules train there, infer in float32 there,
    and a pickled model loads and scores on the CPU."""
    X, y = images
    est = _fit(cls, X, y, device="cuda", likelihood="bernoulli", encoder=SmallEncoder,
               **{**CONV, "image_shape": (8, 8)})
    assert next(est.module_.parameters()).is_cuda
    out = _outputs(est, X, y)
    assert np.all(np.isfinite(out["score_samples"]))
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(
        _outputs(loaded, X, y)["score_samples"], out["score_samples"], rtol=1e-4
    )


def test_a_user_module_failing_during_training_is_named(images):
    """BatchNorm cannot train on a batch of one row: 301 rows in batches of
    100 leave one. The error names the module and the batch."""
    X, _ = images
    X = np.vstack([X, X[:1]])

    class Normed(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(64, 16), nn.BatchNorm1d(16), nn.ReLU())

        def forward(self, x):
            return self.net(x)

    vae = VAETransformer(encoder=Normed, batch_size=100, max_iter=1, random_state=0)
    match = r"The encoder Normed failed on a batch of shape \(1, 64\)"
    with pytest.raises(ValueError, match=match):
        vae.fit(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(vae)
