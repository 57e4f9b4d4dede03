"""GMVAEClusterer: clustering with a Gaussian-mixture VAE."""

import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import BaseVAE
from ._docs import fill_doc
from ._graph import GraphStartMixin, _cluster_proba
from ._registry import ModelTags
from ._terms import NeighborTermMixin
from .models.mixture import GMVAELoss, GMVAEModule, TemperatureAnnealing


@fill_doc
class GMVAEClusterer(
    GraphStartMixin,
    NeighborTermMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    ClusterMixin,
    BaseVAE,
):
    """Clustering with a Gaussian-mixture variational autoencoder (GMVAE).

    A VAE whose prior over the ``n_components``-dimensional code is a
    mixture of ``n_clusters`` Gaussians with learned means and diagonal
    variances (Dilokthanakul et al. 2016; Shu 2016). A categorical cluster
    variable ``y`` has the posterior ``q(y | x)`` (an encoder head: this is
    what :meth:`predict_proba` returns) and the code ``z`` the Gaussian
    posterior ``q(z | x, y)``. The ELBO has three parts, each with its
    weight: the reconstruction ``log p(x | z)``, the Gaussian term
    ``KL(q(z | x, y) || p(z | y))`` (weight ``beta``) and the categorical
    term ``KL(q(y | x) || uniform)`` (weight ``categorical_weight``). Adam is
    invariant to the scale of the loss, so these two weights, relative to
    the reconstruction's, are all the freedom there is.

    Beyond the plain GMVAE, the defaults add a neighbor-consistency term
    and a batch-level categorical term, which make clusters follow the
    data's manifold and keep every cluster in use; they were chosen with
    ``benchmarks/bench_cluster.py`` (the user guide has the figures). With
    ``init="random"`` the clusterer keeps the ReLU activation, which trained
    more steadily than GELU across seeds. ``init="graph"`` starts the
    clusters from the codes' neighbor graph (the VaDE and N2D recipes); with
    ``activation="gelu", likelihood="gaussian"`` it found steadier and more
    accurate clusters on images and on most tables (see the user guide).

    The mixing prior is uniform during training, which keeps every cluster
    in use; ``weights_`` are the shares of the training data that the
    clusters hold, and :meth:`sample` draws clusters from them.

    ``fit(X, y)`` takes partial labels, scikit-learn's semi-supervised
    convention: ``y[i]`` is a cluster index in ``[0, n_clusters)`` for a
    labelled row and ``-1`` for an unlabelled one. A labelled row's cluster
    is observed rather than inferred, and its cross-entropy trains
    ``q(y | x)``, so labelled rows anchor their clusters' indices. A ``y``
    without any ``-1`` is ignored with a warning, as ``KMeans`` ignores
    ``y``: that is what ``cross_val_score`` or ``GridSearchCV`` pass when they
    score a clustering against known classes, and training on it would leak
    the answer.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of mixture components (clusters).

    n_components : int, default=10
        Size of the latent code ``z``: the number of output features of
        :meth:`transform`.

    inference : {"gumbel", "marginal"}, default="gumbel"
        How training handles the discrete ``y``: a Gumbel-softmax draw per row
        (Jang et al. 2017; one decoder pass per batch) or an exact sum over
        the clusters (``n_clusters`` decoder passes). Scores and predictions
        always sum exactly.

    temperature_init, temperature_min : float, default=1.0 and 0.5
        The Gumbel-softmax temperature falls geometrically, step by step,
        from ``temperature_init`` to ``temperature_min`` over the fit's
        planned optimiser steps (see ``max_steps``).

    hard : bool, default=False
        With ``inference="gumbel"``, use straight-through one-hot draws
        (the forward pass sees one cluster, gradients are the relaxed ones).

    categorical_weight : float, default=125.0
        Weight of the categorical term (and of labelled rows'
        cross-entropy). It keeps every cluster in use: with a low weight,
        clusters merge.

    categorical_term : {"aggregate", "elbo"}, default="aggregate"
        The categorical term for unlabelled rows. ``"elbo"`` is the ELBO's
        own ``KL(q(y | x) || uniform)`` of each row. ``"aggregate"`` is the
        KL of the batch's average ``q(y | x)`` from uniform: the data average
        of the ELBO's term equals it plus the mutual information between a
        row and its cluster (Hoffman & Johnson 2016), which the ELBO's form
        penalises and this one does not. It balances the clusters without
        pushing each row's assignment towards uniform. Scores are the true
        ELBO either way.

    neighbor_weight : float, default=75.0
        Weight of a neighbor-consistency term: ``-log sum_y q(y | x)
        q(y | x')`` for a neighbor ``x'`` of ``x``, drawn at random each
        time among its ``n_neighbors`` nearest training rows (Euclidean on
        ``X`` as given, computed once per fit). It asks rows that
        are close in the data to share a cluster, as graph-based methods
        (UMAP, spectral clustering, SCAN) do, and makes clusters follow the
        data's manifold rather than only the Gaussian blobs of the latent
        space. 0 turns it off (and skips the neighbor search, which costs
        ``O(n_samples^2 n_features)`` on dense data). The search needs all
        the training rows in memory: a memory map or dask array is read
        whole when this is above 0 (see ``buffer_size``).

    n_neighbors : int, default=10
        Number of nearest training rows among which a row's neighbor is
        drawn.

    n_init : int, default=2
        Number of trainings from different seeds, of the planned epochs
        each (with ``init="graph"``, each with its graph step), of which one
        is kept: with the neighbor term (``neighbor_weight > 0``), the one
        whose clusters have the highest modularity on the graph of each
        training row's ``n_neighbors`` nearest rows (the most neighbor pairs
        within a cluster, beyond what the cluster sizes give by chance);
        without it, the one with the lowest training loss over its last
        epochs (as ``KMeans`` keeps the lowest inertia). Costs ``n_init``
        fits. Not used by warm starts.

    init : {"random", "graph"}, default="random"
        How the clusters start. ``"random"``: the mixture's means are drawn
        at random and training finds the clusters. ``"graph"``: the planned
        epochs train with every row in one cluster (a VAE with a learned
        Gaussian prior); the graph of each row's 15 nearest rows in that
        code space (of at most 20,000 rows) is laid out by UMAP's objective
        in ``n_clusters`` dimensions, cut there into small clusters that are
        merged on the graph to ``n_clusters`` (the N2D recipe, McConville et
        al. 2020, with the merge of Clauset et al. 2004); each cluster's
        prior and ``q(y | x)`` start on its rows (the VaDE recipe, Jiang et
        al. 2017) and 15% more epochs train with those clusters as the rows'
        labels (partial labels given to :meth:`fit` win over them; they
        enter only then, so they shape the clusters less than with
        ``"random"``). Warm starts and :meth:`partial_fit` run no graph step. Like
        UMAP's, the layout is chaotic: data a float rounding apart (in other
        units, read from a memory map, on another number of threads) can
        give other clusters where the data's clusters are not clear-cut.

    {shared_parameters}

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training row (:meth:`predict` on the training data).

    weights_ : ndarray of shape (n_clusters,)
        Share of the training data each cluster holds (the mean of
        ``q(y | x)``).

    cluster_means_ : ndarray of shape (n_clusters, n_components)
        Mean of each cluster's Gaussian in latent space.

    cluster_variances_ : ndarray of shape (n_clusters, n_components)
        Diagonal variances of each cluster's Gaussian in latent space.

    {shared_attributes}

    See Also
    --------
    sklearn.mixture.GaussianMixture : The same mixture, on the data itself.
    sklearn.cluster.KMeans : Hard clustering by distance to centroids.
    VAETransformer : The VAE with a single Gaussian prior.

    References
    ----------
    .. [1] N. Dilokthanakul et al., "Deep Unsupervised Clustering with
       Gaussian Mixture Variational Autoencoders", arXiv:1611.02648, 2016.
    .. [2] E. Jang, S. Gu and B. Poole, "Categorical Reparameterization with
       Gumbel-Softmax", ICLR 2017.
    .. [3] R. Shu, "Gaussian Mixture VAE: Lessons in Variational Inference,
       Generative Models, and Deep Nets", blog post, 2016.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skvae import GMVAEClusterer
    >>> X = StandardScaler().fit_transform(load_wine().data)
    >>> gmvae = GMVAEClusterer(n_clusters=3, max_iter=5, random_state=0).fit(X)
    >>> gmvae.predict_proba(X).shape
    (178, 3)
    >>> gmvae.cluster_means_.shape
    (3, 10)
    >>> X_new, y_new = gmvae.sample(4)
    >>> X_new.shape, y_new.shape
    ((4, 13), (4,))
    """

    _parameter_constraints = {
        **BaseVAE._parameter_constraints,
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "inference": [StrOptions({"gumbel", "marginal"})],
        "temperature_init": [Interval(Real, 0, None, closed="neither")],
        "temperature_min": [Interval(Real, 0, None, closed="neither")],
        "hard": ["boolean"],
        "categorical_weight": [Interval(Real, 0, None, closed="left")],
        "categorical_term": [StrOptions({"elbo", "aggregate"})],
        "neighbor_weight": [Interval(Real, 0, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"random", "graph"})],
    }
    _module_class = GMVAEModule
    _criterion_class = GMVAELoss
    _structural_params = BaseVAE._structural_params + ("n_clusters",)

    def __skvae_tags__(self):
        return ModelTags(decodes=False, samples="X_y", labels="clusters")

    def __init__(
        self,
        n_clusters=8,
        *,
        n_components=10,
        inference="gumbel",
        temperature_init=1.0,
        temperature_min=0.5,
        hard=False,
        categorical_weight=125.0,
        categorical_term="aggregate",
        neighbor_weight=75.0,
        n_neighbors=10,
        n_init=2,
        init="random",
        architecture="mlp",
        image_shape=None,
        conv_channels=(32, 64),
        encoder=None,
        decoder=None,
        hidden_layer_sizes=None,
        activation="relu",
        beta=1.0,
        kl_warmup=0.25,
        likelihood="student_t",
        variance="shared",
        max_iter=200,
        max_steps=2000,
        batch_size="auto",
        learning_rate_init=3e-3,
        learning_rate="cosine",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        buffer_size=65536,
        precision="float32",
        compile=False,
        column_types=None,
        handle_unknown="warn",
    ):
        super().__init__(
            n_components=n_components,
            architecture=architecture,
            image_shape=image_shape,
            conv_channels=conv_channels,
            encoder=encoder,
            decoder=decoder,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            beta=beta,
            kl_warmup=kl_warmup,
            likelihood=likelihood,
            variance=variance,
            max_iter=max_iter,
            max_steps=max_steps,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            learning_rate=learning_rate,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            device=device,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            warm_start=warm_start,
            buffer_size=buffer_size,
            precision=precision,
            compile=compile,
            column_types=column_types,
            handle_unknown=handle_unknown,
        )
        self.n_clusters = n_clusters
        self.inference = inference
        self.temperature_init = temperature_init
        self.temperature_min = temperature_min
        self.hard = hard
        self.categorical_weight = categorical_weight
        self.categorical_term = categorical_term
        self.neighbor_weight = neighbor_weight
        self.n_neighbors = n_neighbors
        self.n_init = n_init
        self.init = init

    # ------------------------------------------------------------------ fitting

    def _module_params(self, X):
        return {
            **super()._module_params(X),
            "n_clusters": self.n_clusters,
            "inference": self.inference,
            "hard": self.hard,
        }

    def _criterion_params(self):
        return {
            "beta": self.beta,
            "categorical_weight": self.categorical_weight,
            "categorical_term": self.categorical_term,
            "neighbor_weight": self.neighbor_weight,
        }

    def _extra_callbacks(self, plan):
        if self.inference != "gumbel":
            return []
        if self.temperature_min > self.temperature_init:
            raise ValueError(
                f"temperature_min={self.temperature_min} is above temperature_init="
                f"{self.temperature_init}; the temperature only falls during "
                "training. Set temperature_min <= temperature_init."
            )
        annealing = TemperatureAnnealing(
            self.temperature_init, self.temperature_min, plan.n_steps
        )
        return [("temperature", annealing)]

    def _fit_inputs(self, X, y, reset):
        X = self._validate_X(self._in_memory_for_neighbors(X), reset=reset)
        if reset and X.shape[0] < self.n_clusters:  # as GaussianMixture and KMeans
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
        if y is None:
            return X, {}
        y = column_or_1d(y, warn=True)
        if not np.any(np.asarray(y, dtype=object) == -1):
            # Not the semi-supervised convention: most likely true classes, passed on by
            # cross_val_score or GridSearchCV to score the clustering. Training on them
            # would leak them; ignore them as KMeans does, and say so.
            warnings.warn(
                "y has no -1 entries, so GMVAEClusterer does not read it as partial "
                "labels and ignores it (as KMeans does). To anchor clusters with "
                "known labels, mark the unlabelled rows with -1.",
                UserWarning,
                stacklevel=3,
            )
            return X, {}
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"y has {y.shape[0]} entries but X has {X.shape[0]} rows; y must "
                "give each row a cluster index or -1 (unlabelled)."
            )
        try:
            values = np.asarray(y, dtype=object).astype(np.float64)
        except (TypeError, ValueError):
            values = None
        if values is None or not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise ValueError(
                "y must hold integer cluster indices in [0, n_clusters) for "
                "labelled rows and -1 for unlabelled rows (scikit-learn's "
                f"semi-supervised convention); got values such as {y[:5].tolist()}. "
                "Encode class names with LabelEncoder first."
            )
        labels = values.astype(np.int64)
        bad = (labels < -1) | (labels >= self.n_clusters)
        if bad.any():
            raise ValueError(
                f"y holds {labels[bad][0]}, but labels must be -1 (unlabelled) or "
                f"a cluster index in [0, {self.n_clusters}) for n_clusters="
                f"{self.n_clusters}."
            )
        if np.all(labels == -1):
            return X, {}
        return X, {"labels": labels}

    def fit(self, X, y=None):
        """Fit the GMVAE to ``X``, optionally anchored by partial labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), default=None
            Optional partial labels: a cluster index in ``[0, n_clusters)``
            for a labelled row, ``-1`` for an unlabelled one. Without any
            ``-1`` it is ignored (with a warning).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return super().fit(X, y)

    @available_if(BaseVAE._has_partial_fit)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, continuing from the previous calls.

        As :meth:`VAETransformer.partial_fit`. The neighbor term pairs rows
        within each chunk; ``labels_`` and ``weights_`` describe the last
        chunk, as ``MiniBatchKMeans.partial_fit`` leaves its ``labels_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,), default=None
            Optional partial labels of the chunk, as in :meth:`fit`.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        return self._fit_or_restore(X, y, partial=True)

    def _fit(self, X, warm, inputs):
        inputs = self._with_neighbors(X, inputs)
        if self.init == "graph":
            run = partial(self._fit_from_graph, X, inputs, super()._fit)
        else:
            run = partial(super()._fit, X, False, inputs)
        if warm:  # on from the fitted clusters, whatever init
            super()._fit(X, warm, inputs)
        elif self.n_init == 1:
            run()
        else:
            # The first run is the n_init=1 fit, so more runs never end worse
            # by the criterion that picks among them.
            seeds = check_random_state(self.random_state).randint(
                np.iinfo(np.int32).max, size=self.n_init
            )
            neighbors = inputs.get("neighbors")
            best, best_quality = None, -np.inf
            for i, seed in enumerate(seeds):
                run(random_state=None if i == 0 else int(seed))
                quality = self._run_quality(X, neighbors)
                if quality > best_quality:
                    best, best_quality = self._fitted_state(), quality
            self.__dict__.update(best)
        module = self.module_
        with torch.no_grad():
            self.cluster_means_ = module.prior_loc.cpu().numpy().astype(np.float64)
            variances = torch.exp(module.prior_log_var).cpu().numpy()
        self.cluster_variances_ = variances.astype(np.float64)
        # block by block, so that no (n_samples, n_clusters) array is held
        total, start = 0.0, 0
        self.labels_ = np.empty(X.shape[0], dtype=np.int64)
        for proba in self._block_outputs(X, _cluster_proba):
            total = total + proba.sum(axis=0)
            self.labels_[start : start + len(proba)] = proba.argmax(axis=1)
            start += len(proba)
        self.weights_ = total / X.shape[0]
        return self

    # ---------------------------------------------------------------- inference

    def _predict_proba(self, X):
        return self._map_blocks(X, _cluster_proba, dtype=np.float64)

    def predict_proba(self, X):
        """Posterior cluster probabilities ``q(y | x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to cluster.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Each row sums to 1.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False, likelihood_support=False)
        return self._predict_proba(X)

    def predict(self, X):
        """The most probable cluster of each sample (argmax of ``q(y | x)``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to cluster.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster indices in ``[0, n_clusters)``.
        """
        return self.predict_proba(X).argmax(axis=1)

    def transform(self, X):
        """Encode ``X`` as its posterior means ``E[z | x]`` (over clusters too).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Latent codes, in the dtype of ``X``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False, likelihood_support=False)
        return self._encode_mean(X)

    def score_samples(self, X, *, n_draws=10):
        """Lower bound on ``log p(x)`` of each sample (the ELBO), in nats.

        The cluster variable is summed out exactly; the code's expectation
        uses ``n_draws`` moment-matched draws seeded from ``random_state``
        (see :meth:`VAETransformer.score_samples`), so scores are
        deterministic. Comparable with
        :meth:`sklearn.mixture.GaussianMixture.score_samples` on the same data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        n_draws : int, default=10
            Monte-Carlo draws of the code per sample and cluster.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        self._check_n_draws(n_draws)
        eps = self._score_noise(n_draws, moment_matched=True)

        def elbo(module, xb):
            chunk = max(1, 4096 // max(1, self._fitted_param("n_clusters") * xb.shape[0]))
            return module.elbo(xb, eps, chunk=chunk)

        return self._map_blocks(X, elbo, dtype=np.float64) + self._log_jacobian

    def score(self, X, y=None, *, n_draws=10):
        """Average ELBO of ``X`` in nats per sample (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored; present for API consistency.
        n_draws : int, default=10
            Monte-Carlo draws of the code per sample and cluster.

        Returns
        -------
        score : float
        """
        return float(np.mean(self.score_samples(X, n_draws=n_draws)))

    def sample(self, n_samples=1, random_state=None, *, cluster=None, noise=True):
        """Draw samples from the fitted model, with their clusters.

        Clusters are drawn from ``weights_`` (or fixed to ``cluster``), codes
        from the cluster's Gaussian, and data from the decoder.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; None uses the estimator's ``random_state``.
        cluster : int, default=None
            Draw every sample from this cluster.
        noise : bool, default=True
            Draw from ``p(x | z)`` (True) or return its mean (False).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples.
        y : ndarray of shape (n_samples,)
            The cluster each sample was drawn from.
        """
        check_is_fitted(self)
        self._check_n_samples(n_samples)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        if cluster is None:
            y = rng.choice(self._fitted_param("n_clusters"), size=n_samples, p=self.weights_)
        else:
            valid = isinstance(cluster, Integral) and not isinstance(cluster, bool)
            if not valid or not 0 <= cluster < self._fitted_param("n_clusters"):
                raise ValueError(
                    f"cluster must be an integer in [0, {self._fitted_param('n_clusters')}), got "
                    f"{cluster!r}."
                )
            y = np.full(n_samples, int(cluster))
        z = self.cluster_means_[y] + np.sqrt(self.cluster_variances_[y]) * rng.standard_normal(
            (n_samples, self._fitted_param("n_components"))
        )
        return self._decode_draws(z, rng, noise), y

    @property
    def _n_features_out(self):
        return self._fitted_param("n_components")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
