"""VAEMap: a map drawn from a VAE's codes and their neighbor graph."""

import pickle
import threading

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skvae import GMVAEClusterer, VAEMap, VAETransformer

CHEAP = dict(n_components=3, max_iter=3, hidden_layer_sizes=(8,), batch_size=32, random_state=0)


@parametrize_with_checks([VAEMap(VAETransformer(**CHEAP), n_neighbors=5, random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def blobs():
    # five blobs in 20 dimensions, well apart: every map should keep them apart
    X, y = make_blobs(600, n_features=20, centers=5, cluster_std=1.0, random_state=3)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def _vae(seed=0):
    return VAETransformer(n_components=5, max_iter=30, random_state=seed)


@pytest.fixture(scope="module")
def fitted(blobs):
    X_train = blobs[0]
    mapper = VAEMap(_vae(), random_state=0)
    return mapper, mapper.fit_transform(X_train)


def test_map_keeps_planted_clusters_for_unseen_rows(blobs, fitted):
    X_train, X_test, y_train, y_test = blobs
    mapper, train_map = fitted
    assert train_map.shape == (len(X_train), 2)
    knn = KNeighborsClassifier(5).fit(train_map, y_train)
    # the training layout separates the blobs, and unseen rows land in their own
    assert knn.score(train_map, y_train) > 0.97
    assert knn.score(mapper.transform(X_test), y_test) > 0.95


def test_transform_gives_training_rows_their_layout(blobs, fitted):
    mapper, train_map = fitted
    np.testing.assert_array_equal(mapper.transform(blobs[0]), train_map)


def test_same_seed_same_map_and_pipeline(blobs):
    X_train, X_test, y_train, y_test = blobs
    a = VAEMap(_vae(1), random_state=1).fit(X_train)
    b = VAEMap(_vae(1), random_state=1).fit(X_train)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    np.testing.assert_array_equal(a.transform(X_test), b.transform(X_test))
    # in a Pipeline that passes y to every step, the map stays unsupervised
    pipe = make_pipeline(StandardScaler(), VAEMap(_vae(1), random_state=1))
    pipe.fit(X_train, y_train)
    c = VAEMap(_vae(1), random_state=1).fit(StandardScaler().fit_transform(X_train))
    np.testing.assert_array_equal(pipe[-1].embedding_, c.embedding_)


def test_map_seed_covers_an_unseeded_estimator(blobs):
    X_train = blobs[0][:200]
    vae = make_pipeline(StandardScaler(), VAETransformer(n_components=4, max_iter=5))
    a = VAEMap(vae, random_state=3).fit(X_train)
    b = VAEMap(vae, random_state=3).fit(X_train)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    assert vae[-1].random_state is None  # the parameter untouched
    # an estimator's own seed is kept
    own = VAEMap(VAETransformer(n_components=4, max_iter=5, random_state=7), random_state=3)
    assert own.fit(X_train).estimator_.random_state == 7


def test_default_estimator_and_features_out(blobs):
    mapper = VAEMap(n_neighbors=10, random_state=0).fit(blobs[0][:150])
    assert isinstance(mapper.estimator_, VAETransformer)
    assert mapper.estimator_.n_components == 10
    assert mapper.estimator_.neighbor_weight == 10
    assert mapper.estimator is None  # the parameter untouched
    assert list(mapper.get_feature_names_out()) == ["vaemap0", "vaemap1"]
    assert mapper.n_features_in_ == 20


def test_other_estimators_give_the_codes(blobs):
    X_train = blobs[0][:200]
    gm = VAEMap(GMVAEClusterer(5, max_iter=5, random_state=0), n_components=3, random_state=0)
    assert gm.fit_transform(X_train).shape == (200, 3)
    assert gm.transform(blobs[1][:7]).shape == (7, 3)


def test_bad_inputs_get_clear_errors(blobs, fitted):
    X_train = blobs[0]
    with pytest.raises(ValueError, match="at least n_components \\+ 2 = 4 rows"):
        VAEMap(_vae(), random_state=0).fit(X_train[:3])
    # before the codes' estimator trains (whose own check would name n_clusters)
    with pytest.raises(ValueError, match="at least n_components \\+ 2 = 4 rows"):
        VAEMap(GMVAEClusterer(5), random_state=0).fit(X_train[:3])
    with pytest.raises(ValueError, match="n_neighbors"):
        VAEMap(n_neighbors=1).fit(X_train)
    with pytest.raises(ValueError, match="estimator"):
        VAEMap(estimator="vae").fit(X_train)
    mapper, _ = fitted
    with pytest.raises(ValueError, match="features"):
        mapper.transform(X_train[:, :5])


def test_failed_fit_keeps_the_previous_map(blobs):
    X_train = blobs[0]
    mapper = VAEMap(_vae(), random_state=0).fit(X_train)
    before = mapper.embedding_.copy()
    with pytest.raises(ValueError):
        mapper.fit(X_train[:3])
    np.testing.assert_array_equal(mapper.embedding_, before)
    assert mapper.training_codes_.shape[0] == len(X_train)


def test_duplicate_rows_and_few_rows(blobs):
    # every row the same: the codes coincide, the map still comes out finite
    X = np.repeat(blobs[0][:1], 30, axis=0)
    out = VAEMap(_vae(), random_state=0).fit_transform(X)
    assert np.isfinite(out).all()
    # fewer rows than n_neighbors
    few = VAEMap(_vae(), random_state=0).fit(blobs[0][:8])
    assert np.isfinite(few.transform(blobs[1][:4])).all()


def test_two_threads_pickle_and_clone(blobs, fitted):
    mapper, _ = fitted
    X_test = blobs[1]
    expected = mapper.transform(X_test)
    results = [None, None]

    def run(i):
        results[i] = mapper.transform(X_test)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, expected)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(mapper)).transform(X_test), expected)
    assert not hasattr(clone(mapper), "embedding_")


def test_model_file_round_trip_and_edited_file(blobs, fitted, tmp_path):
    import json

    from safetensors.torch import load_file, save_file

    import skvae

    mapper, _ = fitted
    X_train, X_test = blobs[0], blobs[1]
    path = tmp_path / "map.safetensors"
    path.write_bytes(b"an older file")  # written over
    skvae.save(mapper, path)
    again = skvae.load(path)
    np.testing.assert_array_equal(again.transform(X_test), mapper.transform(X_test))
    np.testing.assert_array_equal(again.embedding_, mapper.embedding_)
    # in a Pipeline
    pipe = make_pipeline(StandardScaler(), VAEMap(_vae(), random_state=0)).fit(X_train)
    skvae.save(pipe, path)
    np.testing.assert_array_equal(skvae.load(path).transform(X_test), pipe.transform(X_test))
    # codes of a Pipeline
    inner = make_pipeline(StandardScaler(), _vae())
    piped = VAEMap(inner, random_state=0).fit(X_train)
    skvae.save(piped, path)
    np.testing.assert_array_equal(skvae.load(path).transform(X_test), piped.transform(X_test))
    # codes a model file cannot hold: refused when saving, not when loading
    nested = VAEMap(VAEMap(_vae(), n_components=3), random_state=0).fit(X_train)
    with pytest.raises(TypeError, match="VAEMap whose codes come from a VAEMap"):
        skvae.save(nested, tmp_path / "nested.safetensors")
    assert not (tmp_path / "nested.safetensors").exists()
    # an unfitted map, with the default estimator
    skvae.save(VAEMap(n_components=3), path)
    assert skvae.load(path).get_params()["n_components"] == 3

    # an edited file: the map's layout cut to fewer rows than its codes
    skvae.save(mapper, path)
    tensors = load_file(path)
    with open(path, "rb") as handle:
        header_size = int.from_bytes(handle.read(8), "little")
        metadata = json.loads(handle.read(header_size))["__metadata__"]
    key = next(k for k in tensors if k.endswith("embedding_"))
    save_file({**tensors, key: tensors[key][:-1]}, path, metadata=metadata)
    with pytest.raises(ValueError, match="do not agree"):
        skvae.load(path)
    # the training codes cut to fewer columns than the estimator's codes
    key = next(k for k in tensors if k.endswith("training_codes_"))
    save_file({**tensors, key: tensors[key][:, :2].contiguous()}, path, metadata=metadata)
    with pytest.raises(ValueError, match="width of its estimator's codes"):
        skvae.load(path)


def test_latent_space_display_draws_the_map(blobs, fitted):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skvae.plotting import LatentSpaceDisplay

    X_train, X_test, y_train, y_test = blobs
    mapper, _ = fitted
    display = LatentSpaceDisplay.from_estimator(mapper, X_test, y_test)
    np.testing.assert_array_equal(display.codes, mapper.transform(X_test))
    pipe = make_pipeline(StandardScaler(), VAEMap(_vae(), random_state=0)).fit(X_train)
    drawn = LatentSpaceDisplay.from_estimator(pipe, X_test)
    np.testing.assert_array_equal(drawn.codes, pipe.transform(X_test))
    with pytest.raises(ValueError, match="not fitted|fitted"):
        LatentSpaceDisplay.from_estimator(VAEMap(), X_test)
