"""Fit and inference on data that are not in memory: np.memmap and dask arrays."""

import tracemalloc

import numpy as np
import pytest
from helpers import cheap, tags
from sklearn.base import clone

import skvae._data as data_module
import skvae._training as training_module
from skvae import ConditionalVAE, GMVAEClusterer, VAETransformer, all_estimators
from skvae._data import StreamedData, column_moments, covariance_moments, take_rows

da = pytest.importorskip("dask.array")

INFERENCE = ("transform", "score_samples", "predict", "predict_proba", "decision_function")


def _memmap(tmp_path, X, name="X.dat"):
    path = tmp_path / name
    out = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
    out[:] = X
    out.flush()
    return np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)


def _data(n=240, d=6, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 2)) @ rng.normal(size=(2, d)) + 0.3 * rng.normal(size=(n, d))
    return (X + 5.0).astype(np.float32), np.arange(n) % 3


def _estimator(cls):
    params = {"max_iter": 2, "random_state": 0, "device": "cpu", **cheap(cls)}
    if tags(cls).labels == "clusters":
        params.update(n_clusters=3, neighbor_weight=0.0)
    return cls(**params)


def _fit(est, X, y):
    return est.fit(X, y) if isinstance(est, ConditionalVAE) else est.fit(X)


@pytest.mark.parametrize("name, cls", all_estimators())
def test_memmap_fit_and_inference_match_the_in_memory_ones(name, cls, tmp_path):
    # One block (8192 rows) holds all 240: the memmap fit draws the same
    # batches as the in-memory one, and the statistics gathered block by
    # block agree with numpy's to float rounding.
    X, y = _data()
    mm = _memmap(tmp_path, X)
    in_memory = _fit(_estimator(cls), X, y)
    streamed = _fit(_estimator(cls), mm, y)
    assert not isinstance(getattr(streamed, "_fit_X", None), np.ndarray)
    np.testing.assert_allclose(streamed.x_offset_, in_memory.x_offset_, rtol=1e-6)
    np.testing.assert_allclose(streamed.loss_curve_, in_memory.loss_curve_, rtol=1e-4)
    for method in INFERENCE:
        if not hasattr(in_memory, method):
            continue
        # the same fitted model gives the same outputs on the memmap
        expected = getattr(in_memory, method)(X)
        np.testing.assert_allclose(getattr(in_memory, method)(mm), expected, rtol=1e-12)
        np.testing.assert_allclose(
            getattr(streamed, method)(mm), expected, rtol=1e-3, atol=1e-3
        )


def test_many_blocks_each_row_once_per_epoch(monkeypatch, tmp_path):
    # 1000 rows in blocks of 64, through a buffer of 150: every row comes
    # exactly once per epoch, in full batches but the last, in an order that
    # mixes blocks and changes between epochs
    monkeypatch.setattr(data_module, "_MEMMAP_BLOCK_ROWS", 64)
    X = np.arange(1000, dtype=np.float32)[:, None] * np.ones((1, 3), dtype=np.float32)
    mm = _memmap(tmp_path, X)
    est = VAETransformer(max_iter=1).fit(mm)  # for its RowBlocks in model units
    blocks = est._validate_X(mm, reset=False)
    streamed = StreamedData(blocks, {"labels": np.arange(1000)}, buffer_size=150)
    epochs = []
    for _ in range(2):
        batches = list(streamed.batches(32, shuffle=True, device="cpu"))
        sizes = [len(b["x"]) for b in batches]
        assert sizes[:-1] == [32] * (len(sizes) - 1) and sum(sizes) == 1000
        labels = np.concatenate([b["labels"].numpy() for b in batches])
        assert sorted(labels) == list(range(1000))
        # each row keeps its own label
        rows = np.concatenate([b["x"][:, 0].numpy() for b in batches])
        np.testing.assert_allclose(rows, blocks.read(0, 1000)[labels, 0], rtol=1e-6)
        epochs.append(labels)
    assert not np.array_equal(epochs[0], epochs[1])
    # the first 32 rows come from several blocks, not one
    assert len(set(epochs[0][:32] // 64)) > 1


def test_validation_split_of_streamed_data_is_a_partition(monkeypatch, tmp_path):
    monkeypatch.setattr(data_module, "_MEMMAP_BLOCK_ROWS", 50)
    X, _ = _data(n=400)
    mm = _memmap(tmp_path, X)
    est = VAETransformer(max_iter=1).fit(mm)
    streamed = StreamedData(est._validate_X(mm, reset=False), {"i": np.arange(400)}, None, 128)
    train, valid = streamed.split(40)
    assert (len(train), len(valid)) == (360, 40)
    seen = [
        np.concatenate([b["i"].numpy() for b in part.batches(16, False, "cpu")])
        for part in (train, valid)
    ]
    assert sorted(np.concatenate(seen)) == list(range(400))


def test_streamed_fit_with_early_stopping(monkeypatch, tmp_path):
    monkeypatch.setattr(data_module, "_MEMMAP_BLOCK_ROWS", 64)
    X, _ = _data(n=600)
    est = VAETransformer(max_iter=4, early_stopping=True, buffer_size=128, random_state=0)
    est.fit(_memmap(tmp_path, X))
    assert len(est.validation_loss_curve_) == est.n_iter_
    assert np.all(np.isfinite(est.validation_loss_curve_))


def test_dask_fit_matches_memmap_with_the_same_blocks(monkeypatch, tmp_path):
    # the same blocks read in the same order: a dask array chunked like the
    # memory map's blocks trains the same model
    monkeypatch.setattr(data_module, "_MEMMAP_BLOCK_ROWS", 100)
    X, _ = _data(n=500)
    est = VAETransformer(max_iter=2, buffer_size=200, random_state=0)
    from_memmap = clone(est).fit(_memmap(tmp_path, X))
    from_dask = clone(est).fit(da.from_array(X, chunks=(100, 6)))
    np.testing.assert_allclose(from_dask.loss_curve_, from_memmap.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(
        from_dask.transform(da.from_array(X, chunks=(70, 3))), from_memmap.transform(X),
        rtol=1e-6, atol=1e-7,
    )


def test_fit_on_a_memmap_does_not_copy_it(monkeypatch, tmp_path):
    # 100,000 x 100 float32 is 40 MB (80 MB as float64): numpy allocations
    # during the fit stay far below one copy of X (what remains is of size
    # n_samples x a few columns: the codes' statistics)
    X = np.random.RandomState(0).normal(size=(100_000, 100)).astype(np.float32)
    mm = _memmap(tmp_path, X)
    X_nbytes = X.nbytes
    del X
    est = VAETransformer(max_iter=1, hidden_layer_sizes=(8,), batch_size=512, buffer_size=8192)
    clone(est).fit(mm[:1000])  # the modules that torch imports at the first fit
    tracemalloc.start()
    try:
        est.fit(mm)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # what is left is a few blocks of 8192 rows in float64 (6.5 MB each)
    assert peak < X_nbytes / 2, f"peak numpy allocation {peak / 1e6:.1f} MB"


def test_non_finite_values_are_named_and_the_previous_fit_kept(tmp_path):
    X, _ = _data()
    est = VAETransformer(max_iter=1, random_state=0).fit(X)
    before = est.transform(X)
    X_bad = X.copy()
    X_bad[17, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity .first in row 17"):
        est.fit(_memmap(tmp_path, X_bad))
    np.testing.assert_array_equal(est.transform(X), before)
    with pytest.raises(ValueError, match="first in row 17"):
        est.transform(_memmap(tmp_path, X_bad, "bad2.dat"))


def test_bad_out_of_core_inputs_get_clear_errors(tmp_path):
    X, _ = _data()
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        VAETransformer().fit(da.from_array(X, chunks=50)[da.from_array(X[:, 0] > 0)])
    with pytest.raises(ValueError, match="3-D input is read as images only"):
        VAETransformer().fit(_memmap(tmp_path, X.reshape(-1, 3, 2)))
    with pytest.raises(ValueError, match="likelihood='bernoulli' needs every value in"):
        VAETransformer(likelihood="bernoulli").fit(_memmap(tmp_path, X, "b.dat"))
    est = VAETransformer(max_iter=1).fit(X)
    with pytest.raises(ValueError, match="features"):
        est.transform(_memmap(tmp_path, X[:, :4].copy(), "d.dat"))


def test_take_rows_reads_the_rows_of_a_memmap_and_of_a_dask_array(monkeypatch, tmp_path):
    monkeypatch.setattr(data_module, "_MEMMAP_BLOCK_ROWS", 64)
    X, _ = _data(n=500)
    est = VAETransformer(max_iter=1).fit(X)
    expected = est._validate_X(X, reset=False)
    index = np.array([0, 3, 63, 64, 65, 200, 499])
    for source in (_memmap(tmp_path, X), da.from_array(X, chunks=(70, 6))):
        blocks = est._validate_X(source, reset=False)
        np.testing.assert_array_equal(take_rows(blocks, index), expected[index])
    np.testing.assert_array_equal(take_rows(expected, index[:0]), expected[:0])


def test_code_diagnostics_on_a_sample_of_many_rows(monkeypatch, tmp_path):
    # beyond _STATISTICS_ROWS rows, kl_per_dim_ and n_active_units_ come from
    # a seeded random sample: the same rows in memory and from a memmap, and
    # near the statistics of every row
    monkeypatch.setattr(training_module, "_STATISTICS_ROWS", 300)
    X, _ = _data(n=1200)
    est = VAETransformer(max_iter=3, random_state=0).fit(X)
    assert est.kl_per_dim_.shape == (est.n_components,)
    kl_all, activity_all = est._latent_statistics(est._validate_X(X, reset=False))
    assert not np.allclose(est.kl_per_dim_, kl_all, rtol=1e-9)  # a sample, not all rows
    np.testing.assert_allclose(est.kl_per_dim_, kl_all, rtol=0.15, atol=0.02)
    assert est.n_active_units_ == int(np.sum(activity_all > 1e-2))
    kl_sample = est.kl_per_dim_.copy()
    est._set_code_statistics(est._validate_X(_memmap(tmp_path, X), reset=False))
    np.testing.assert_allclose(est.kl_per_dim_, kl_sample, rtol=1e-6)
    again = VAETransformer(max_iter=3, random_state=0).fit(X)
    np.testing.assert_array_equal(again.kl_per_dim_, kl_sample)


def test_column_moments_merge_blocks_exactly():
    rng = np.random.RandomState(0)
    X = rng.normal(loc=1e4, size=(1001, 3))
    n, mean, var = column_moments(X[i : i + 97] for i in range(0, 1001, 97))
    assert n == 1001
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(var, X.var(axis=0), rtol=1e-10)


def test_covariance_moments_merge_blocks_exactly():
    rng = np.random.RandomState(0)
    X = rng.normal(loc=1e3, size=(1001, 4)) @ rng.normal(size=(4, 4))
    n, mean, cov = covariance_moments(X[i : i + 97] for i in range(0, 1001, 97))
    assert n == 1001
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(cov, np.cov(X, rowvar=False, bias=True), rtol=1e-9)


def test_images_from_a_memmap(tmp_path):
    rng = np.random.RandomState(0)
    images = rng.uniform(size=(64, 8, 8)).astype(np.float32)
    est = VAETransformer(architecture="conv", conv_channels=(4,), max_iter=1, random_state=0)
    codes = est.fit(_memmap(tmp_path, images)).transform(images)
    assert est.image_shape_ == (1, 8, 8) and codes.shape == (64, 2)


@pytest.mark.parametrize("cls", [VAETransformer, GMVAEClusterer])
def test_neighbor_terms_read_a_memmap_whole_and_train_as_in_memory(cls, tmp_path):
    # the pairs are drawn from every training row, so the neighbor search
    # needs them all: a memory map is read into memory for it, and the fit
    # is then the in-memory one
    X, _ = _data()
    params = {"max_iter": 2, "random_state": 0, "device": "cpu", **cheap(cls)}
    params["neighbor_weight"] = 1.0
    if tags(cls).labels == "clusters":
        params["n_clusters"] = 3
    in_memory = cls(**params).fit(X)
    streamed = cls(**params).fit(_memmap(tmp_path, X))
    np.testing.assert_allclose(streamed.loss_curve_, in_memory.loss_curve_, rtol=1e-5)
