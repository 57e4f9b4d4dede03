"""VAEMap: a 2-D map of rows, drawn from a VAE's codes and their neighbor graph."""

from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import _num_samples, check_is_fitted

from ._graph import fuzzy_neighbor_graph, graph_layout

# the default estimator's codes: their dimension, and the weight of the
# neighbor term that keeps their neighborhoods (VAETransformer's neighbor_weight)
_DEFAULT_CODES, _DEFAULT_NEIGHBOR_WEIGHT = 10, 10.0


class VAEMap(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A map of the rows in a few dimensions: a VAE's codes laid out on their neighbor graph.

    A VAE with two-dimensional codes must squeeze every row into the plane
    through its encoder, and on rows it has not seen its map is as good as
    the encoder generalises. ``VAEMap`` keeps the VAE's codes in more
    dimensions, where the encoder generalises well, and draws the map from
    them as N2D does (McConville et al. 2020): the training rows' codes
    are joined to their ``n_neighbors`` nearest codes in UMAP's fuzzy graph,
    and the graph is laid out in ``n_components`` dimensions by UMAP's
    objective (McInnes et al. 2018). A new row takes the map position of
    the training row whose code is nearest to its own.

    Parameters
    ----------
    estimator : estimator with ``fit`` and ``transform``, or None, default=None
        What gives the codes; a clone of it is fitted on ``X``. None:
        ``VAETransformer(n_components=10, neighbor_weight=10)``, seeded
        from ``random_state``: the neighbor term makes its codes keep the
        rows' neighborhoods, which the map is drawn from. For images, a
        ``VAETransformer`` with ``architecture="conv"`` and their
        ``image_shape`` gives codes whose neighbors are more often of the
        same kind. An estimator given keeps its own ``random_state``; one
        left at None (its steps', in a ``Pipeline``) is seeded from
        ``random_state`` when that is set, as scikit-learn's ensembles do.
    n_components : int, default=2
        Dimensions of the map.
    n_neighbors : int, default=15
        Nearest training codes that join a row in the graph (at most the
        training rows less one).
    random_state : int, RandomState instance or None, default=None
        Seeds the layout, and the estimator where it is not seeded. An int
        gives the same map on the same machine; the layout is as sensitive
        to rounding as UMAP's, so another machine or thread count may give
        another map of the same quality.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator`` (or the default).
    embedding_ : ndarray of shape (n_samples, n_components)
        The map of the training rows, what ``fit_transform`` returns.
    training_codes_ : ndarray of shape (n_samples, n_codes)
        The training rows' codes (float32), among which ``transform``
        finds a new row's nearest.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features seen during ``fit``, when ``X`` has string
        column names.

    See Also
    --------
    VAETransformer : the codes themselves, with a decoder and a likelihood.
    GMVAEClusterer : clusters; its ``init="graph"`` cuts the same kind of
        graph of codes.

    Notes
    -----
    ``y`` is ignored: the map is unsupervised, also when the estimator is a
    step of a ``Pipeline`` that passes ``y`` to every step. The map has no
    ``inverse_transform``; ``estimator_.inverse_transform`` decodes codes.
    ``fit_transform`` returns the layout of the training rows, which
    ``transform`` gives them too (a training row whose code equals
    another's may take the other's position).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import VAEMap, VAETransformer
    >>> X = load_digits().data[:300]
    >>> vae = VAETransformer(n_components=10, max_iter=5, random_state=0)
    >>> mapper = VAEMap(vae, random_state=0)
    >>> mapper.fit_transform(X).shape
    (300, 2)
    >>> mapper.transform(X[:5]).shape
    (5, 2)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "transform"]), None],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "n_neighbors": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, n_components=2, n_neighbors=15, random_state=None):
        self.estimator = estimator
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the estimator on ``X``, and lay out its codes' neighbor graph.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows, as the estimator takes them.
        y : None
            Ignored.

        Returns
        -------
        self : VAEMap
        """
        n = _num_samples(X)
        if n < self.n_components + 2:
            raise ValueError(
                f"VAEMap needs at least n_components + 2 = {self.n_components + 2} rows "
                f"to lay out a graph in {self.n_components} dimensions, got n_samples={n}."
            )
        rng = check_random_state(self.random_state)
        seed = rng.randint(2**31 - 1)
        if self.estimator is None:
            from ._transformer import VAETransformer

            estimator = VAETransformer(
                n_components=_DEFAULT_CODES,
                neighbor_weight=_DEFAULT_NEIGHBOR_WEIGHT,
                random_state=seed,
            )
        else:
            estimator = clone(self.estimator)
            if self.random_state is not None:
                # as scikit-learn's ensembles seed their estimators: the map's
                # seed covers an estimator (or a Pipeline's steps) left unseeded
                unseeded = {
                    name: seed
                    for name, value in estimator.get_params().items()
                    if (name == "random_state" or name.endswith("__random_state"))
                    and value is None
                }
                estimator.set_params(**unseeded)
        codes = np.asarray(estimator.fit(X).transform(X), dtype=np.float32)
        if not np.isfinite(codes).all():
            raise ValueError(
                f"{type(estimator).__name__} gave codes that are not finite; VAEMap "
                "lays out finite codes only. Check the estimator's fit on X."
            )
        graph, _ = fuzzy_neighbor_graph(codes, self.n_neighbors)
        embedding = graph_layout(graph, self.n_components, random_state=rng)
        # set together, after everything succeeded: a failed fit keeps the previous state
        self.estimator_ = estimator
        self.training_codes_ = codes
        self.embedding_ = embedding
        self._build_index()
        self._n_features_out = self.n_components
        self.n_features_in_ = estimator.n_features_in_
        if hasattr(estimator, "feature_names_in_"):
            self.feature_names_in_ = estimator.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def fit_transform(self, X, y=None):
        """Fit, and return the map of the training rows (``embedding_``).

        What ``fit(X).transform(X)`` gives, without encoding ``X`` twice.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
        """
        return self.fit(X).embedding_.copy()

    def _build_index(self):
        """The search for a row's nearest training code (skvae.save leaves it
        out of a model file; skvae.load rebuilds it)."""
        self._index = NearestNeighbors().fit(self.training_codes_)

    def transform(self, X):
        """Place rows in the map where their nearest training codes lie.

        A row takes the map position of the training row whose code is
        nearest to its own (Euclidean), so the training rows themselves get
        ``embedding_``. (A mean over several nearest codes, weighted as
        UMAP's ``transform`` starts a new row, drew unseen digits towards
        the borders between clusters: its 5-nearest-neighbor accuracy was
        lower on digits and MNIST.)

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows, as the estimator takes them.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self, "embedding_")
        codes = np.asarray(self.estimator_.transform(X), dtype=np.float32)
        if not np.isfinite(codes).all():
            raise ValueError(
                f"{type(self.estimator_).__name__} gave codes that are not finite for "
                "some rows of X; VAEMap places finite codes only."
            )
        nearest = self._index.kneighbors(codes, n_neighbors=1, return_distance=False)
        return self.embedding_[nearest[:, 0]]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # what the codes' estimator takes, the map takes (missing entries, say)
        if self.estimator is None:
            from ._transformer import VAETransformer

            inner = get_tags(VAETransformer())
        else:
            inner = get_tags(self.estimator)
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.transformer_tags.preserves_dtype = ["float64"]
        tags.non_deterministic = False
        return tags
