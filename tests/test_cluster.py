"""Behaviour of GMVAEClusterer that users rely on."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_is_fitted

from skvae import GMVAEClusterer
from skvae._graph import graph_modularity

FAST = dict(max_iter=5, hidden_layer_sizes=(16,), n_components=2, n_init=1, random_state=0)


@pytest.fixture(scope="module")
def blobs():
    """Three well-separated clusters in 6 dimensions."""
    X, y = make_blobs(
        n_samples=300, n_features=6, centers=3, cluster_std=1.0, random_state=0
    )
    return X, y


@pytest.fixture(scope="module")
def fitted(blobs):
    X, _ = blobs
    params = dict(hidden_layer_sizes=(32,), n_components=2, max_iter=100, random_state=0)
    return GMVAEClusterer(3, **params).fit(X)


def test_recovers_well_separated_clusters(blobs, fitted):
    X, y = blobs
    assert adjusted_rand_score(y, fitted.labels_) > 0.95
    # every cluster is used, in about the true proportions
    assert np.allclose(np.sort(fitted.weights_), 1 / 3, atol=0.05)


def test_score_is_a_bound_comparable_with_gaussian_mixture(blobs, fitted):
    """The ELBO is in nats with all constants, like GaussianMixture.score:
    on data that a Gaussian mixture fits exactly it lands below the mixture's
    log-likelihood (-9.44 nats per row here) and within a nat of it.

    Measured: -9.87 after 100 epochs of these 300 rows. A dropped
    ``log(2 pi)`` constant (5.5 nats here) would put it above the mixture's.
    """
    X, _ = blobs
    exact = GaussianMixture(3, covariance_type="diag", random_state=0).fit(X).score(X)
    elbo = fitted.score(X)
    assert exact - 1.0 < elbo < exact + 0.1, (elbo, exact)


def test_outputs_and_fitted_attributes(blobs, fitted):
    X, _ = blobs
    proba = fitted.predict_proba(X)
    assert proba.shape == (300, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fitted.predict(X), proba.argmax(axis=1))
    np.testing.assert_array_equal(fitted.labels_, fitted.predict(X))
    assert fitted.transform(X).shape == (300, 2)
    assert fitted.cluster_means_.shape == (3, 2)
    assert fitted.cluster_variances_.shape == (3, 2)
    # each component sits where its rows' codes are, and is at least as wide
    # as their spread (the rest is the posteriors' own variance); measured:
    # means within 0.05 sd, spread 0.01 to 0.4 of the variance, seeds 0 and 1
    Z, labels = fitted.transform(X), fitted.predict(X)
    for k in range(3):
        sd = np.sqrt(fitted.cluster_variances_[k])
        assert np.all(np.abs(Z[labels == k].mean(axis=0) - fitted.cluster_means_[k]) < 0.25 * sd)
        assert np.all(Z[labels == k].var(axis=0) < 1.1 * fitted.cluster_variances_[k])
    # the mixture weights are the shares of the rows in each cluster
    assert fitted.weights_.shape == (3,)
    np.testing.assert_allclose(fitted.weights_, np.bincount(labels, minlength=3) / 300, atol=0.02)
    assert fitted.score_samples(X).shape == (300,)
    assert list(fitted.get_feature_names_out()) == ["gmvaeclusterer0", "gmvaeclusterer1"]


def test_fit_predict_finds_the_clusters_and_predict_agrees_on_new_rows(blobs, fitted):
    X, y = blobs
    labels = clone(fitted).fit_predict(X)
    assert adjusted_rand_score(y, labels) > 0.95
    # rows drawn anew from the same blobs get the clusters of their blob
    X_new, y_new = make_blobs(
        n_samples=90, n_features=6, centers=3, cluster_std=1.0, random_state=0,
        shuffle=False,
    )
    assert adjusted_rand_score(y_new, fitted.predict(X_new + 0.1)) > 0.95


def test_sample_from_chosen_cluster(blobs, fitted):
    X_new, y_new = fitted.sample(50, random_state=1)
    assert X_new.shape == (50, 6) and y_new.shape == (50,)
    assert set(y_new) <= {0, 1, 2}
    X_one, y_one = fitted.sample(40, cluster=2, noise=False)
    assert np.all(y_one == 2)
    # what is drawn from cluster 2 is recognised as cluster 2
    assert np.mean(fitted.predict(X_one) == 2) > 0.9
    # seeded by the estimator when random_state is None
    np.testing.assert_array_equal(fitted.sample(5)[0], fitted.sample(5)[0])
    with pytest.raises(ValueError, match="cluster must be an integer in"):
        fitted.sample(3, cluster=3)
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        fitted.sample(0)


def test_same_seed_same_result_and_pickle(blobs):
    X, _ = blobs
    a = GMVAEClusterer(3, **FAST).fit(X)
    b = clone(a).fit(X)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.predict_proba(X), c.predict_proba(X))
    np.testing.assert_array_equal(a.score_samples(X), c.score_samples(X))


def _partial_labels(y):
    partial = np.full_like(y, -1)
    rng = np.random.RandomState(0)
    for c in range(3):
        partial[rng.choice(np.flatnonzero(y == c), 5, replace=False)] = (c + 1) % 3
    return partial


@pytest.mark.parametrize("seed", [0, 1])
def test_partial_labels_anchor_cluster_indices(blobs, seed):
    """With a few labelled rows per class, each cluster index is the label's:
    accuracy holds without any matching of clusters to classes (without the
    neighbor term: measured above 0.99 for seeds 0 to 5)."""
    X, y = blobs
    params = dict(hidden_layer_sizes=(32,), n_components=2, max_iter=60, random_state=seed)
    gmvae = GMVAEClusterer(3, neighbor_weight=0.0, **params).fit(X, _partial_labels(y))
    assert np.mean(gmvae.labels_ == (y + 1) % 3) > 0.95


@pytest.mark.xfail(
    strict=True,
    reason="with the default neighbor term (neighbor_weight=75) the clusters form "
    "without the labels' names: 2 of 6 seeds anchor them (3 of 6 before the "
    "generators of issue 27); test_partial_labels_anchor_cluster_indices checks "
    "anchoring without the term, and the next test with init='graph'",
)
def test_partial_labels_anchor_cluster_indices_with_the_neighbor_term(blobs):
    X, y = blobs
    params = dict(hidden_layer_sizes=(32,), n_components=2, max_iter=60, random_state=0)
    gmvae = GMVAEClusterer(3, **params).fit(X, _partial_labels(y))
    assert np.mean(gmvae.labels_ == (y + 1) % 3) > 0.95


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_partial_labels_name_the_clusters_of_the_graph_start(blobs, seed):
    # the graph start renames its clusters after the labels (6 of 6 seeds)
    X, y = blobs
    params = dict(hidden_layer_sizes=(32,), n_components=2, max_iter=60, random_state=seed)
    gmvae = GMVAEClusterer(3, init="graph", **params).fit(X, _partial_labels(y))
    assert np.mean(gmvae.labels_ == (y + 1) % 3) > 0.95


def _partial(values, n=300):
    y = np.full(n, -1, dtype=object)
    y[: len(values)] = values
    return y


@pytest.mark.parametrize(
    "y, match",
    [
        (_partial(["a", "b", "c"]), "integer cluster indices"),
        (_partial([3]).astype(int), r"cluster index in \[0, 3\)"),
        (_partial([-2]).astype(int), r"-1 \(unlabelled\)"),
        (np.full(299, -1), "y has 299 entries but X has 300 rows"),
        (_partial([0.5]).astype(float), "integer cluster indices"),
    ],
)
def test_bad_partial_labels(blobs, y, match):
    X, _ = blobs
    gmvae = GMVAEClusterer(3, **FAST)
    with pytest.raises(ValueError, match=match):
        gmvae.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(gmvae)


def test_true_classes_are_ignored_not_learned(blobs):
    """cross_val_score and GridSearchCV pass the true classes to fit when they
    score a clustering against them: a y without -1 must not be trained on."""
    X, y = blobs
    unsupervised = GMVAEClusterer(3, **FAST).fit(X)
    with pytest.warns(UserWarning, match="no -1 entries"):
        given_y = GMVAEClusterer(3, **FAST).fit(X, y)
    np.testing.assert_array_equal(unsupervised.predict_proba(X), given_y.predict_proba(X))


def test_all_unlabelled_is_unsupervised(blobs):
    X, _ = blobs
    a = GMVAEClusterer(3, **FAST).fit(X)
    b = GMVAEClusterer(3, **FAST).fit(X, np.full(300, -1))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_temperature_schedule(blobs):
    X, _ = blobs
    seen = []

    from skorch.callbacks import Callback

    class Record(Callback):
        def on_epoch_end(self, net, **kwargs):
            seen.append(net.module_.temperature)

    params = {**FAST, "max_iter": 4, "init": "random"}  # one training, one schedule
    gmvae = GMVAEClusterer(
        3, temperature_init=2.0, temperature_min=0.5, callbacks=[Record()], **params
    ).fit(X)
    # geometric, step by step: 2.0 at the first step, 0.5 at the last
    per_epoch = len(gmvae.net_.history[0, "batches"])
    last = 4 * per_epoch - 1
    expected = [2.0 * 0.25 ** ((k * per_epoch - 1) / last) for k in (1, 2, 3, 4)]
    np.testing.assert_allclose(seen, expected)
    assert seen[-1] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="temperature_min=3.0 is above"):
        GMVAEClusterer(3, temperature_min=3.0, **FAST).fit(X)


@pytest.mark.parametrize("options", [dict(inference="marginal"), dict(hard=True)])
def test_training_variants_fit_and_score(blobs, options):
    X, _ = blobs
    gmvae = GMVAEClusterer(3, **FAST, **options).fit(X)
    assert np.all(np.isfinite(gmvae.score_samples(X)))
    assert gmvae.predict(X).shape == (300,)


def test_pandas_output(blobs):
    X, _ = blobs
    gmvae = GMVAEClusterer(3, **FAST).set_output(transform="pandas").fit(X)
    codes = gmvae.transform(pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]))
    assert isinstance(codes, pd.DataFrame)
    assert list(codes.columns) == ["gmvaeclusterer0", "gmvaeclusterer1"]


def test_n_init_keeps_the_run_with_the_lowest_loss(blobs):
    """Without the neighbor term the loss picks the run."""
    from skorch.callbacks import Callback

    X, _ = blobs
    finals = []

    class Record(Callback):
        def on_train_end(self, net, **kwargs):
            finals.append(np.mean(net.history[-5:, "train_loss"]))

    params = {**FAST, "neighbor_weight": 0.0, "init": "random"}  # one training a run
    several = GMVAEClusterer(3, callbacks=[Record()], **{**params, "n_init": 3}).fit(X)
    assert len(finals) == 3 and len(set(finals)) == 3  # three different runs
    assert np.mean(several.net_.history[-5:, "train_loss"]) == pytest.approx(min(finals))
    # the first run is the n_init=1 fit, so more runs never end worse
    single = GMVAEClusterer(3, **params).fit(X)
    assert np.mean(single.net_.history[-5:, "train_loss"]) == pytest.approx(finals[0])
    # the kept run's attributes belong together
    np.testing.assert_array_equal(several.labels_, several.predict(X))
    again = GMVAEClusterer(3, **{**params, "n_init": 3}).fit(X)
    np.testing.assert_array_equal(several.predict_proba(X), again.predict_proba(X))


def test_graph_modularity_known_values():
    # two pairs of rows, each row's neighbor the other of its pair
    neighbors = np.array([[1], [0], [3], [2]])
    assert graph_modularity(np.array([0, 0, 1, 1]), neighbors) == pytest.approx(0.5)
    assert graph_modularity(np.array([0, 1, 0, 1]), neighbors) == pytest.approx(-0.5)
    assert graph_modularity(np.zeros(4, dtype=int), neighbors) == pytest.approx(0.0)


def test_n_init_with_the_neighbor_term_keeps_the_most_modular_run(blobs, monkeypatch):
    """With the neighbor term, the run whose clusters cut the fewest
    neighbor pairs (the highest modularity) is kept, whatever its loss."""
    X, _ = blobs
    seen = []
    measure = GMVAEClusterer._run_quality

    def record(self, X, neighbors):
        seen.append(measure(self, X, neighbors))
        return seen[-1]

    monkeypatch.setattr(GMVAEClusterer, "_run_quality", record)
    params = {**FAST, "max_iter": 3, "neighbor_weight": 50.0, "n_neighbors": 5, "n_init": 4}
    several = GMVAEClusterer(3, init="random", **params).fit(X)  # runs that differ more
    assert len(seen) == 4 and len(set(seen)) == 4  # runs that differ
    assert np.argmax(seen) != 0  # not the first run, so the choice shows
    nearest = NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X, return_distance=False)
    assert graph_modularity(several.labels_, nearest[:, 1:]) == pytest.approx(max(seen))


def test_fewer_rows_than_clusters_are_refused_as_gaussian_mixture_does():
    X = np.random.default_rng(0).normal(size=(3, 4))
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=8"):
        GMVAEClusterer(max_iter=2).fit(X)
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=4"):
        GMVAEClusterer(n_clusters=4, max_iter=2).partial_fit(X)
    GMVAEClusterer(n_clusters=3, max_iter=2, random_state=0).fit(X)
