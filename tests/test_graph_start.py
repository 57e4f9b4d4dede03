"""GMVAEClusterer(init="graph"): clusters found on the codes' neighbor graph."""

import numpy as np
import pytest
import torch
from scipy import sparse
from sklearn.datasets import make_blobs, make_moons
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from skvae import GMVAEClusterer
from skvae._graph import fuzzy_neighbor_graph, graph_clusters, merge_clusters

SMALL = dict(hidden_layer_sizes=(32,), n_components=2, max_iter=80, init="graph")


def test_the_graph_step_follows_curved_clusters_that_a_mixture_cuts():
    X, y = make_moons(400, noise=0.05, random_state=0)
    labels = graph_clusters(X, 2, random_state=0)
    mixture = GaussianMixture(2, random_state=0).fit(X).predict(X)
    assert adjusted_rand_score(y, labels) > 0.95
    assert adjusted_rand_score(y, mixture) < 0.6  # the same data, without the graph


def test_merging_joins_the_pieces_of_each_dense_block():
    # two blocks of 20 rows, densely linked inside, one weak link between;
    # each block cut in two, and the cuts interleaved in the labels
    blocks = np.repeat([0, 1], 20)
    weights = np.where(blocks[:, None] == blocks[None, :], 1.0, 0.0)
    np.fill_diagonal(weights, 0.0)
    weights[0, 20] = weights[20, 0] = 1.0
    graph = sparse.coo_matrix(weights)
    pieces = blocks * 2 + np.arange(40) % 2
    for criterion in ("modularity", "association"):
        merged = merge_clusters(pieces, graph, 2, criterion)
        assert adjusted_rand_score(blocks, merged) == 1.0
        assert len(np.unique(merge_clusters(pieces, graph, 3, criterion))) == 3


def test_the_fuzzy_graph_is_symmetric_with_weights_in_0_1():
    X, _ = make_blobs(60, centers=2, random_state=0)
    X = np.vstack([X, X[:10]])  # exact duplicates: still no row is its own neighbor
    graph, neighbors = fuzzy_neighbor_graph(X, 5)
    dense = graph.toarray()
    np.testing.assert_allclose(dense, dense.T)
    assert dense.max() <= 1 and dense.min() >= 0 and np.all(np.diag(dense) == 0)
    assert neighbors.shape == (70, 5) and not np.any(neighbors == np.arange(70)[:, None])


def test_graph_start_recovers_planted_clusters_and_keeps_the_model():
    X, y = make_blobs(300, n_features=6, centers=4, cluster_std=1.0, random_state=1)
    est = GMVAEClusterer(4, random_state=0, **SMALL).fit(X)
    assert adjusted_rand_score(y, est.labels_) > 0.95
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    # every cluster is its own place in the prior, and sampling one draws from it
    assert np.min(np.ptp(est.cluster_means_, axis=0)) > 0
    X_new, y_new = est.sample(40, cluster=2, random_state=0)
    assert np.all(y_new == 2)
    assert np.mean(est.predict(X_new) == 2) > 0.9
    assert np.all(np.isfinite(est.score_samples(X)))


def test_graph_start_is_reproducible():
    X, _ = make_blobs(200, n_features=4, centers=3, random_state=2)
    first = GMVAEClusterer(3, random_state=5, **SMALL).fit(X)
    second = GMVAEClusterer(3, random_state=5, **SMALL).fit(X)
    np.testing.assert_array_equal(first.labels_, second.labels_)
    np.testing.assert_allclose(first.cluster_means_, second.cluster_means_)


def test_partial_labels_name_the_graph_clusters():
    X, y = make_blobs(300, n_features=6, centers=3, cluster_std=1.0, random_state=3)
    # anchor each class to a cluster index that a free start would hardly pick
    wanted = np.array([2, 0, 1])[y]
    partial = np.full(300, -1)
    partial[::10] = wanted[::10]
    est = GMVAEClusterer(3, random_state=0, **SMALL).fit(X, partial)
    assert np.mean(est.labels_ == wanted) > 0.95


def test_start_mixture_copies_one_cluster_to_all():
    est = GMVAEClusterer(3, max_iter=2, hidden_layer_sizes=(8,), n_components=2, random_state=0)
    est.fit(make_blobs(60, n_features=3, random_state=0)[0])
    module = est.module_
    locs = np.arange(6.0).reshape(3, 2)
    module.start_mixture(locs, np.full((3, 2), 0.5))
    x = torch.randn(5, 3)
    codes = [module.codes_of_cluster(x, k) for k in range(3)]
    for k in (1, 2):
        torch.testing.assert_close(codes[k], codes[0])
    torch.testing.assert_close(module.prior_loc, torch.as_tensor(locs, dtype=torch.float32))
    torch.testing.assert_close(
        module.prior_log_var.exp(), torch.full((3, 2), 0.5), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("warm_start", [False, True])
def test_warm_starts_train_on_without_a_second_graph_step(warm_start):
    X, y = make_blobs(200, n_features=4, centers=3, random_state=4)
    est = GMVAEClusterer(3, random_state=0, warm_start=warm_start, **SMALL).fit(X)
    first = est.n_iter_
    est.fit(X)
    # a warm start trains max_iter more epochs, from the fitted clusters
    assert est.n_iter_ == (first + 80 if warm_start else first)
    assert adjusted_rand_score(y, est.labels_) > 0.95


def test_graph_start_does_not_depend_on_the_units_of_x():
    X, _ = make_blobs(200, n_features=4, centers=3, random_state=5)
    est = GMVAEClusterer(3, random_state=0, **SMALL).fit(X)
    scaled = GMVAEClusterer(3, random_state=0, **SMALL).fit(X * 1e-20)
    np.testing.assert_array_equal(scaled.labels_, est.labels_)
    np.testing.assert_allclose(scaled.transform(X * 1e-20), est.transform(X), atol=1e-4)


def test_ctrl_c_after_the_graph_step_keeps_the_previous_model():
    from skorch.callbacks import Callback

    class Interrupt(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 82:  # in the second stage: after the graph step
                raise KeyboardInterrupt

    X, _ = make_blobs(200, n_features=4, centers=3, random_state=6)
    est = GMVAEClusterer(3, random_state=0, **SMALL).fit(X)
    before, net = est.score_samples(X), est.net_
    est.set_params(callbacks=[("stop", Interrupt())], random_state=1)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X)
    assert est.net_ is net and not hasattr(est, "_stage_share")
    np.testing.assert_array_equal(est.score_samples(X), before)
