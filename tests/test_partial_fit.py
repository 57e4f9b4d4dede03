"""partial_fit: one epoch per chunk, continuing the model (scikit-learn's incremental API)."""

import numpy as np
import pytest
import torch
from helpers import cheap, tags

from skvae import (
    AutoregressivePrior,
    ConditionalVAE,
    VAETransformer,
    VQVAETransformer,
    all_estimators,
)


def _data(n=600, d=6, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 2)) @ rng.normal(size=(2, d)) + 0.3 * rng.normal(size=(n, d))
    return X + 3.0, np.arange(n) % 3


def _weights(est):
    return torch.cat([p.detach().flatten() for p in est.module_.parameters()])


def _partial_fit(est, X, y):
    if isinstance(est, ConditionalVAE):
        return est.partial_fit(X, y, classes=[0, 1, 2])
    return est.partial_fit(X)


def _estimator(cls, **params):
    extra = cheap(cls)
    if tags(cls).codes == "discrete":
        extra["prior"] = "uniform"  # a learned prior is fitted by fit only
    return cls(random_state=0, hidden_layer_sizes=(16,), **{**extra, **params})


@pytest.mark.parametrize("name, cls", all_estimators())
def test_each_call_is_one_epoch_and_the_same_seed_gives_the_same_model(name, cls):
    X, y = _data()
    runs = []
    for _ in range(2):
        est = _estimator(cls)
        for chunk in range(3):
            rows = slice(200 * chunk, 200 * (chunk + 1))
            _partial_fit(est, X[rows], y[rows])
        runs.append(est)
    a, b = runs
    assert a.n_iter_ == 3 and len(a.loss_curve_) == 3
    assert np.all(np.isfinite(a.loss_curve_))
    assert a.loss_curve_ == b.loss_curve_
    # Adam's state carries over: its step counts every batch of every call
    steps = {int(s["step"]) for s in a.net_.optimizer_.state.values()}
    assert steps == {3 * 2}  # 200 rows in batches of 128, three times


def test_chunks_train_the_model_like_epochs():
    # 40 calls over four chunks of 150 rows: the held-out bound rises far
    # above that of one call, and the preprocessing stays the first chunk's
    X, _ = _data(n=800)
    est = VAETransformer(random_state=0, learning_rate_init=2e-3)
    est.partial_fit(X[:150])
    offset, after_one = est.x_offset_.copy(), est.score(X[600:])
    for i in range(39):
        chunk = (i + 1) % 4
        est.partial_fit(X[150 * chunk : 150 * (chunk + 1)])
    np.testing.assert_array_equal(est.x_offset_, offset)
    assert est.score(X[600:]) > after_one + 2.0
    # within 1.5 nats of fit's 40 epochs with its schedule and warm-up
    fitted = VAETransformer(random_state=0, max_iter=40).fit(X[:600])
    assert est.score(X[600:]) > fitted.score(X[600:]) - 1.5


def test_partial_fit_after_fit_continues_the_fitted_weights():
    X, _ = _data()
    est = VAETransformer(max_iter=5, random_state=0).fit(X)
    fitted, weights = est.score(X), _weights(est)
    # a small step size: the epoch starts where fit left the weights. Adam
    # moves a weight by at most about the step size per step (5 steps here),
    # while a new network starts about 0.1 away from them; a new network after
    # one such epoch scores far lower (by 1.8 to 3.3 nats over seeds 0 to 4)
    est.set_params(learning_rate_init=1e-4).partial_fit(X)
    assert est.n_iter_ == 6 and len(est.loss_curve_) == 6
    assert (_weights(est) - weights).abs().max() < 1e-3
    assert abs(est.score(X) - fitted) < 0.5
    new = VAETransformer(learning_rate_init=1e-4, random_state=0).partial_fit(X)
    assert (_weights(new) - weights).abs().max() > 0.1
    assert new.score(X) < fitted - 1.5
    # and fit starts over
    est.fit(X)
    assert est.n_iter_ == 5


def test_a_failed_call_keeps_the_previous_model():
    X, _ = _data()
    est = VAETransformer(random_state=0).partial_fit(X)
    before = est.transform(X)
    weights = {k: v.clone() for k, v in est.module_.state_dict().items()}
    X_bad = X.copy()
    X_bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(X_bad)
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X[:, :4])
    assert est.n_iter_ == 1
    np.testing.assert_array_equal(est.transform(X), before)
    for key, value in est.module_.state_dict().items():
        assert value.equal(weights[key])
    est.partial_fit(X)
    assert est.n_iter_ == 2


def test_a_learned_prior_is_refused_with_a_reason():
    X, _ = _data()
    est = VQVAETransformer(n_slots=1, prior=AutoregressivePrior(max_steps=10))
    # hidden, as scikit-learn hides a method that does not apply, with a reason
    assert not hasattr(est, "partial_fit")
    for refused in (est, VAETransformer(prior="diffusion")):
        with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as info:
            refused.partial_fit(X)
        # the reason comes as the cause, as scikit-learn's available_if gives it
        assert "not available with a learned prior" in str(info.value.__cause__)
    assert hasattr(VAETransformer(), "partial_fit")


def test_conditional_classes_and_class_prior_over_calls():
    X, y = _data()
    est = ConditionalVAE(random_state=0)
    # the first chunk lacks class 2
    first = y < 2
    est.partial_fit(X[first][:100], y[first][:100], classes=[0, 1, 2])
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    est.partial_fit(X[:300], y[:300])
    counts = np.bincount(y[first][:100], minlength=3) + np.bincount(y[:300], minlength=3)
    np.testing.assert_allclose(est.class_prior_, counts / counts.sum())
    with pytest.raises(ValueError, match="not a class seen during fit"):
        est.partial_fit(X[:10], np.full(10, 7))
    with pytest.raises(ValueError, match="differs from the classes"):
        est.partial_fit(X[:10], y[:10], classes=[0, 1])
    with pytest.raises(ValueError, match="pass every class in classes"):
        ConditionalVAE().partial_fit(X[:10], np.zeros(10))


def test_dask_ml_incremental_trains_one_epoch_per_block():
    dask_ml = pytest.importorskip("dask_ml.wrappers")
    da = pytest.importorskip("dask.array")
    X, _ = _data(n=900)
    blocks = da.from_array(X, chunks=(300, 6))
    wrapper = dask_ml.Incremental(VAETransformer(random_state=0), scoring=None)
    wrapper.fit(blocks)
    est = wrapper.estimator_
    assert est.n_iter_ == 3
    np.testing.assert_allclose(
        np.asarray(wrapper.transform(blocks)), est.transform(X), rtol=1e-12
    )


def test_a_chunk_from_a_memory_map_trains_as_the_array(tmp_path):
    # out-of-core chunks go through the same block reader as fit: one block
    # holds these 300 rows, so the epochs are the array's
    X, _ = _data(n=300)
    X = X.astype(np.float32)
    path = tmp_path / "chunk.dat"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    mm = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    a = VAETransformer(random_state=0).partial_fit(X).partial_fit(X)
    b = VAETransformer(random_state=0).partial_fit(mm).partial_fit(mm)
    np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-4)


def test_gmvae_partial_labels_in_partial_fit():
    from skvae import GMVAEClusterer

    X, y = _data()
    labels = np.where(np.arange(len(y)) % 10 == 0, y, -1)
    est = GMVAEClusterer(n_clusters=3, random_state=0, hidden_layer_sizes=(16,))
    est.partial_fit(X[:300], labels[:300]).partial_fit(X[300:], labels[300:])
    assert est.n_iter_ == 2 and est.labels_.shape == (300,)
