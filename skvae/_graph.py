"""Clusters of a nearest-neighbor graph: ``GMVAEClusterer``'s start and choice of runs.

The codes of a trained encoder keep the data's neighborhoods better than its
Euclidean geometry: a Gaussian mixture fitted on the codes themselves cuts
curved clusters apart. As in N2D (McConville et al. 2020), the codes' graph
of nearest neighbors is laid out in a few dimensions by UMAP's objective
(McInnes et al. 2018); a Gaussian mixture cuts the layout finely and the
pieces are merged on the graph. The layout is a small NumPy rendering of
UMAP's: the same fuzzy graph, spectral start, attraction along edges and
repulsion from random rows, with the expected whole-epoch step instead of
UMAP's sampled row-by-row ones (no numba).
"""

import warnings

import numpy as np
import torch
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from sklearn.exceptions import ConvergenceWarning
from sklearn.manifold import spectral_embedding
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state

from ._data import take_rows
from ._terms import nearest_other_rows

# Epochs at the end of training over which n_init compares the runs' losses.
_SETTLED_EPOCHS = 5
# UMAP's curve 1 / (1 + a d^(2b)) for its default min_dist=0.1, spread=1
_A, _B = 1.577, 0.895
# the layout's gradient clip, negative samples per edge and starting scale (UMAP's)
_CLIP, _NEGATIVES, _SCALE = 4.0, 5, 10.0
# share of the edges whose pushes each epoch of the layout computes
_PUSHED = 0.25
# mean spread of the starting q(y | x) logits, at most
_HEAD_NATS = 5.0


def graph_modularity(labels, neighbors):
    """Modularity of a clustering on a directed nearest-neighbor graph.

    Leicht and Newman's (2008) modularity of the graph with an edge from
    each row ``i`` to each of ``neighbors[i]``: the share of edges within a
    cluster minus the share expected from the clusters' out- and in-degrees
    alone. 0 for labels unrelated to the graph, at most 1.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Cluster of each row, integers from 0.
    neighbors : ndarray of shape (n_samples, k)
        Indices of each row's neighbors.
    """
    n_edges = neighbors.size
    heads = labels[neighbors]
    within = np.count_nonzero(heads == labels[:, None]) / n_edges
    n_clusters = int(labels.max()) + 1
    out_degree = np.bincount(labels, minlength=n_clusters) * neighbors.shape[1]
    in_degree = np.bincount(heads.ravel(), minlength=n_clusters)
    return float(within - np.dot(out_degree, in_degree) / n_edges**2)


def fuzzy_neighbor_graph(Z, n_neighbors):
    """UMAP's fuzzy graph of ``Z``'s rows, and each row's nearest rows.

    Each row's ``n_neighbors`` nearest rows (Euclidean) get the weights
    ``exp(-(d - rho) / sigma)``, ``rho`` the distance to the nearest and
    ``sigma`` set so the weights sum to ``log2(n_neighbors)``; the directed
    weights ``w`` are made symmetric by the fuzzy union ``w + w' - w w'``.

    Returns
    -------
    graph : scipy.sparse.coo_matrix of shape (n_samples, n_samples)
    neighbors : ndarray of shape (n_samples, k)
        Indices of each row's nearest rows, itself excluded.
    """
    n = Z.shape[0]
    k = min(n_neighbors, n - 1)
    distances, neighbors = nearest_other_rows(Z, k)
    excess = np.maximum(distances - distances[:, :1], 0.0)
    target = np.log2(max(k, 2))
    low, high, sigma = np.zeros(n), np.full(n, np.inf), np.ones(n)
    for _ in range(64):  # bisection for each row's sigma
        total = np.exp(-excess / sigma[:, None]).sum(axis=1)
        above = total > target
        high = np.where(above, sigma, high)
        low = np.where(above, low, sigma)
        sigma = np.where(np.isinf(high), 2.0 * sigma, (low + high) / 2.0)
    weights = np.exp(-excess / np.maximum(sigma, 1e-12)[:, None])
    rows = np.repeat(np.arange(n), k)
    directed = sparse.csr_matrix((weights.ravel(), (rows, neighbors.ravel())), shape=(n, n))
    graph = directed + directed.T - directed.multiply(directed.T)
    return graph.tocoo(), neighbors


def graph_layout(graph, n_components, random_state=None, n_epochs=None):
    """Coordinates of the graph's rows that keep its edges short (UMAP's objective).

    Starts from the graph's spectral embedding scaled to ``[-10, 10]``; each
    epoch pulls the two rows of every edge together and pushes the first
    from five random rows, with UMAP's gradients clipped at 4, weighted by
    ``weight / max weight`` (UMAP samples each edge with that probability),
    and a step falling linearly to 0.
    ``n_epochs`` defaults to UMAP's: 500 up to 10,000 rows, else 200.
    """
    rng = check_random_state(random_state)
    n = graph.shape[0]
    if n_epochs is None:
        n_epochs = 500 if n <= 10_000 else 200
    with warnings.catch_warnings():
        # a graph in several pieces still has a usable embedding
        warnings.simplefilter("ignore", UserWarning)
        start = spectral_embedding(
            graph, n_components=n_components, random_state=rng.randint(2**31 - 1)
        )
    coords = _SCALE * start / max(np.abs(start).max(), 1e-12)
    generator = np.random.default_rng(rng.randint(2**31 - 1))
    heads, tails, weights = graph.row, graph.col, graph.data
    chance = weights / weights.max()
    n_edges = len(weights)
    for epoch in range(n_epochs):
        step = 1.0 - epoch / n_epochs
        # every edge, weighted by its chance of being sampled in UMAP: the
        # expected step, which a rounding change of the weights moves as little
        diff = coords[heads] - coords[tails]
        d2 = np.einsum("ij,ij->i", diff, diff)
        with np.errstate(divide="ignore", invalid="ignore"):
            pull = np.where(d2 > 0, -2 * _A * _B * d2 ** (_B - 1) / (1 + _A * d2**_B), 0.0)
        grad = np.clip(pull[:, None] * diff, -_CLIP, _CLIP) * (step * chance)[:, None]
        update = _scatter(heads, grad, n) - _scatter(tails, grad, n)
        # the pushes of a share of the edges, drawn whatever their weights
        # and weighted by them: the expected push, at a share of its cost
        drawn = np.repeat(np.flatnonzero(generator.random(n_edges) < _PUSHED), _NEGATIVES)
        i = heads[drawn]
        others = generator.integers(0, n, len(drawn))
        diff = coords[i] - coords[others]
        d2 = np.einsum("ij,ij->i", diff, diff)
        push = np.where(i != others, 2 * _B / ((0.001 + d2) * (1 + _A * d2**_B)), 0.0)
        push *= chance[drawn] / _PUSHED
        update += _scatter(i, np.clip(push[:, None] * diff, -_CLIP, _CLIP) * step, n)
        coords += update
    return coords


def _scatter(index, values, n):
    """Sums of ``values``' rows by ``index``: shape (n, values.shape[1])."""
    return np.stack([np.bincount(index, column, n) for column in values.T], axis=1)


def merge_clusters(labels, graph, n_clusters, criterion="modularity"):
    """Merge clusters, two at a time, until ``n_clusters`` remain.

    Each step merges the pair with the most weight between them on the
    graph, relative to what their degrees give: ``e_ij - a_i a_j`` with
    ``criterion="modularity"`` (Clauset, Newman and Moore's 2004 greedy
    step: the merge that raises Newman's modularity most), ``e_ij / (a_i
    a_j)`` with ``"association"`` (average linkage on the graph's weights),
    where ``e_ij`` is the share of the graph's weight between clusters ``i``
    and ``j`` and ``a_i`` the share at ``i``. The first favours merging
    small clusters; the second follows thin chains of clusters.
    """
    labels = np.unique(labels, return_inverse=True)[1]
    m = int(labels.max()) + 1
    between = np.zeros((m, m))
    np.add.at(between, (labels[graph.row], labels[graph.col]), graph.data)
    between /= between.sum()
    degree = between.sum(axis=1)
    alive = np.ones(m, dtype=bool)
    for _ in range(m - n_clusters):
        expected = np.outer(degree, degree)
        if criterion == "modularity":
            gain = between - expected
        else:
            gain = between / np.maximum(expected, 1e-300)
        gain[~alive] = -np.inf
        gain[:, ~alive] = -np.inf
        np.fill_diagonal(gain, -np.inf)
        i, j = np.unravel_index(np.argmax(gain), gain.shape)
        between[i] += between[j]
        between[:, i] += between[:, j]
        between[j], between[:, j] = 0.0, 0.0
        degree[i] += degree[j]
        alive[j] = False
        labels[labels == j] = i
    return np.unique(labels, return_inverse=True)[1]


def graph_clusters(Z, n_clusters, *, n_neighbors=15, n_init=3, random_state=None):
    """Clusters of ``Z``'s rows found on their neighbor graph.

    The fuzzy graph of :func:`fuzzy_neighbor_graph` is laid out in
    ``n_clusters`` dimensions (:func:`graph_layout`); a Gaussian mixture of
    three times as many components (full covariances) cuts the layout into
    small clusters, which :func:`merge_clusters` merges on the graph to
    ``n_clusters`` by either criterion. Of the ``2 * n_init`` results
    (``n_init`` cuts), the one whose clusters have the highest
    :func:`graph_modularity` on the graph of each row's 10 nearest rows is
    kept. Cutting finely and merging on the graph keeps two touching
    clusters apart where a mixture of ``n_clusters`` components often
    merges them and splits a third.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        Clusters numbered in the order of their first rows.
    """
    rng = check_random_state(random_state)
    Z = np.asarray(Z, dtype=np.float64)
    if n_clusters == 1:
        return np.zeros(Z.shape[0], dtype=np.int64)
    graph, neighbors = fuzzy_neighbor_graph(Z, n_neighbors)
    if Z.shape[0] <= n_clusters + 1:  # too few rows to lay out: merge the rows themselves
        return merge_clusters(np.arange(Z.shape[0]), graph, n_clusters)
    coords = graph_layout(graph, n_clusters, random_state=rng)
    n_fine = min(3 * n_clusters, Z.shape[0])
    best, best_quality = None, -np.inf
    for seed in rng.randint(2**31 - 1, size=n_init):
        mixture = GaussianMixture(n_fine, random_state=seed, reg_covar=1e-4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fine = mixture.fit(coords).predict(coords)
        for criterion in ("modularity", "association"):
            labels = merge_clusters(fine, graph, n_clusters, criterion)
            quality = graph_modularity(labels, neighbors[:, :10])
            if quality > best_quality:
                best, best_quality = labels, quality
    return _in_order_of_appearance(best)


def _in_order_of_appearance(labels):
    """The clusters renamed 0, 1, ... in the order of their first rows: a
    partition has one naming, whatever path (or rounding) found it."""
    _, first = np.unique(labels, return_index=True)
    names = np.empty(len(first), dtype=np.int64)
    names[np.argsort(first)] = np.arange(len(first))
    return names[np.unique(labels, return_inverse=True)[1]]


class GraphStartMixin:
    """How ``GMVAEClusterer`` starts its clusters and ranks its ``n_init`` runs.

    ``init="graph"``: the VaDE recipe (Jiang et al. 2017: train the
    autoencoder, fit a mixture on its codes, start the mixture prior there)
    with N2D's manifold step in the middle. :meth:`_fit_from_graph` trains
    :data:`FIRST_STAGE` of the planned epochs with every row in cluster 0
    (a VAE with a learned Gaussian prior, whose codes are not yet pulled
    into clusters); :func:`graph_clusters` on those codes labels the rows,
    :meth:`GMVAEModule.start_mixture` places each cluster's prior on its
    rows' codes, and :data:`SECOND_STAGE` of the planned epochs more train
    with those labels as the rows' observed clusters (the user's partial
    labels, where given, win). :meth:`_run_quality` ranks finished runs.
    The estimator provides ``n_clusters``, ``n_init`` and ``_fit``.
    """

    #: Shares of the planned epochs trained before and after the graph step.
    FIRST_STAGE, SECOND_STAGE = 1.0, 0.15
    #: Most rows the graph step reads (a random sample of larger data).
    GRAPH_ROWS = 20_000

    def _plan(self, n_rows, incremental=False):
        plan = super()._plan(n_rows, incremental)
        share = getattr(self, "_stage_share", None)
        if share is None or incremental:
            return plan
        per_epoch = plan.n_steps // plan.n_epochs
        n_epochs = max(1, round(plan.n_epochs * share))
        return plan._replace(n_epochs=n_epochs, n_steps=n_epochs * per_epoch)

    def _fit_from_graph(self, X, inputs, train, random_state=None):
        """Fit in two stages; ``train(X, warm, inputs, seed)`` runs one stage."""
        rng = check_random_state(self.random_state if random_state is None else random_state)
        first_seed, graph_seed, second_seed = rng.randint(2**31 - 1, size=3)
        n = X.shape[0]
        # the graph of at most GRAPH_ROWS rows; the others are left to the model
        sample = np.arange(n)
        if n > self.GRAPH_ROWS:
            sample = np.sort(rng.choice(n, self.GRAPH_ROWS, replace=False))
        try:
            self._stage_share = self.FIRST_STAGE
            train(X, False, {"labels": np.zeros(n, dtype=np.int64)}, int(first_seed))
            rows = X if len(sample) == n else take_rows(X, sample)
            # in float32, on the rows as training read them: the layout is chaotic
            # (as UMAP's is), so rows a rounding apart (in other units, or read
            # from a memory map) must give the same codes
            codes = self._map_blocks(
                rows, lambda module, xb: module.codes_of_cluster(xb), in_float32=True
            )
            codes, variances = np.split(codes, 2, axis=1)
            labels = np.full(n, -1, dtype=np.int64)
            labels[sample] = graph_clusters(codes, self.n_clusters, random_state=graph_seed)
            given = inputs.get("labels")
            if given is not None:
                labels = _matched(labels, given, self.n_clusters)
            found = labels[sample]
            features = self._map_blocks(
                rows, lambda module, xb: module.features(xb), in_float32=True
            )
            self.module_.start_mixture(
                *_cluster_moments(codes, variances, found, self.n_clusters),
                head=_classifier(features, found, self.n_clusters),
            )
            self._stage_share = self.SECOND_STAGE
            train(X, True, {**inputs, "labels": labels}, int(second_seed))
        finally:
            del self._stage_share

    def _run_quality(self, X, neighbors):
        """How ``n_init`` ranks a finished run (higher is better).

        Without the neighbor term, minus the training loss over the last
        epochs, where the cosine schedule has settled it: the lowest loss
        wins, as ``KMeans`` keeps the lowest inertia. With it, the
        modularity of the run's clusters on the graph of nearest training
        rows that the term was trained on: on digits and MNIST the loss did
        not tell runs that cut one digit in two (and merged two others)
        from the right ones, while the modularity ranked them as their
        accuracy does.
        """
        if neighbors is None:
            return -float(np.mean(self.loss_curve_[-_SETTLED_EPOCHS:]))
        labels = np.concatenate(
            [proba.argmax(axis=1) for proba in self._block_outputs(X, _cluster_proba)]
        )
        return graph_modularity(labels, neighbors)


def _cluster_proba(module, xb):
    """``q(y | x)`` of a block, in float64."""
    return torch.softmax(module.cluster_logits(xb).double(), dim=1)


def _matched(labels, given, n_clusters):
    """``labels`` renamed to agree most with the ``given`` ones, which win where given."""
    both = (given >= 0) & (labels >= 0)
    overlap = np.zeros((n_clusters, n_clusters))
    np.add.at(overlap, (labels[both], given[both]), 1)
    rows, cols = linear_sum_assignment(-overlap)
    renamed = np.empty(n_clusters, dtype=np.int64)
    renamed[rows] = cols
    return np.where(given >= 0, given, np.where(labels >= 0, renamed[labels], -1))


def _classifier(features, labels, n_clusters):
    """Weights and biases of the nearest-centroid classifier of ``labels`` on
    ``features``, one row per cluster (a cluster without rows never wins).

    The Bayes classifier of Gaussian clusters with a shared isotropic
    variance ``s2`` (pooled within the clusters, at least a tenth of the
    features' variance): ``log p(k | h) = (h . mu_k -
    |mu_k|^2 / 2) / s2 + log pi_k`` up to a constant; in closed form, so a
    tiny change of the features changes it as little.
    """
    weight = np.zeros((n_clusters, features.shape[1]))
    bias = np.full(n_clusters, -30.0)
    present = np.unique(labels)
    means = np.stack([features[labels == k].mean(axis=0) for k in present])
    within = float(np.mean((features - means[np.searchsorted(present, labels)]) ** 2))
    # at least a tenth of the features' variance: clusters of one row have none
    spread = max(within, 0.1 * float(np.mean(features.var(axis=0))), 1e-12)
    shares = np.bincount(labels, minlength=n_clusters)[present] / len(labels)
    weight[present] = means / spread
    bias[present] = -0.5 * np.sum(means**2, axis=1) / spread + np.log(shares)
    # a sure start, not a certain one: at most 5 nats between a row's clusters on average
    logits = features @ weight[present].T + bias[present]
    width = float(np.mean(np.abs(logits - logits.mean(axis=1, keepdims=True))))
    if width > _HEAD_NATS:
        weight[present] *= _HEAD_NATS / width
        bias[present] *= _HEAD_NATS / width
    return weight, bias


def _cluster_moments(codes, variances, labels, n_clusters):
    """Mean and variance of each cluster's share of the codes' distribution.

    The mixture of the rows' ``q(z | x)`` (``codes`` their means,
    ``variances`` their variances) over a cluster's rows: the moments that
    ``KL(q || p(z | y))`` would fit ``p(z | y)`` to. An empty cluster gets
    those of all the rows.
    """
    def moments(rows):
        return codes[rows].mean(axis=0), codes[rows].var(axis=0) + variances[rows].mean(axis=0)

    everything = moments(np.ones(len(labels), dtype=bool))
    found = [moments(labels == k) if np.any(labels == k) else everything for k in range(n_clusters)]
    locs, spreads = (np.stack(column) for column in zip(*found, strict=True))
    return locs, np.maximum(spreads, 1e-4)
