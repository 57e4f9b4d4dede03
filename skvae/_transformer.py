"""VAETransformer: dimensionality reduction with a variational autoencoder."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseVAE
from ._docs import fill_doc
from ._learned_prior import LearnedPriorMixin
from ._priors import PRIORS, DiffusionPrior, prior_config
from ._registry import ModelTags
from ._terms import DenoisingMixin, NeighborTermMixin
from .models import ELBOLoss, VAEModule


class GaussianCodeTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseVAE):
    """What the transformers with a Gaussian posterior share: codes, bounds, scores.

    The base of :class:`~skvae.VAETransformer`,
    :class:`~skvae.HierarchicalVAETransformer`, and of a new family of the
    same kind (see the user guide's "Adding a model family"): ``transform``
    gives the posterior means, ``inverse_transform`` the decoder means,
    ``score_samples`` the ELBO or the importance-weighted bound, ``score``
    their mean, and ``sample`` decodes codes drawn from the prior. The loss is
    :class:`~skvae.models.ELBOLoss` unless the subclass names another; the
    subclass names its module (``_module_class``). Its module provides the
    inference methods of :mod:`skvae.models` (``encode_mean``, ``decode``,
    ``decode_mean``, ``latent_statistics``, ``log_weights``).
    """

    _criterion_class = ELBOLoss

    def transform(self, X):
        """Encode ``X`` as its posterior means ``E[z | x]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Latent codes, in the dtype of ``X`` (float32 or float64).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False, likelihood_support=False)
        return self._encode_mean(X)

    def inverse_transform(self, X):
        """Decode latent codes to the decoder means ``E[x | z]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, such as the output of :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Reconstructions in feature space.
        """
        check_is_fitted(self)
        Z = self._validate_codes(X)
        return self._decode_mean(Z)

    def score_samples(self, X, *, n_draws=10, importance_weighted=False):
        """Lower bound on ``log p(x)`` of each sample, in nats.

        The ELBO ``E_q[log p(x | z)] - KL(q(z | x) || p(z))``, its expectation
        estimated with ``n_draws`` posterior draws, moment-matched (mean 0,
        covariance I) so the estimate is exact where ``log p(x | z)`` is
        quadratic in ``z`` and steady elsewhere. With
        ``importance_weighted=True`` the tighter importance-weighted bound
        ``log mean_l p(x, z_l) / q(z_l | x)`` is returned instead, which
        approaches ``log p(x)`` as ``n_draws`` grows (try 100-1000).

        The draws are seeded from ``random_state`` and shared by every row, so
        a sample's score does not change from call to call nor with the other
        rows it is scored with.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        n_draws : int, default=10
            Monte-Carlo draws per sample.
        importance_weighted : bool, default=False
            Return the importance-weighted bound instead of the ELBO.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Log-likelihood bound of each sample (higher is more likely).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._score_samples(X, n_draws, importance_weighted)

    def score(self, X, y=None, *, n_draws=10, importance_weighted=False):
        """Average log-likelihood bound of ``X``, in nats per sample.

        Higher is better, so model selection tools such as
        :class:`~sklearn.model_selection.GridSearchCV` can use it directly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored; present for API consistency.
        n_draws : int, default=10
            Monte-Carlo draws per sample.
        importance_weighted : bool, default=False
            Use the importance-weighted bound instead of the ELBO.

        Returns
        -------
        score : float
            Mean of :meth:`score_samples`.
        """
        scores = self.score_samples(
            X, n_draws=n_draws, importance_weighted=importance_weighted
        )
        return float(np.mean(scores))

    def sample(self, n_samples=1, random_state=None, *, noise=True):
        """Draw new samples: codes from the prior, decoded.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; None uses the estimator's ``random_state``.
        noise : bool, default=True
            If True, draw from ``p(x | z)``; if False, return its mean.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples.
        """
        check_is_fitted(self)
        return self._sample(n_samples, random_state, noise)

    @property
    def _n_features_out(self):
        return self._fitted_param("n_components")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


@fill_doc
class VAETransformer(LearnedPriorMixin, NeighborTermMixin, DenoisingMixin, GaussianCodeTransformer):
    """Dimensionality reduction with a variational autoencoder (VAE).

    An encoder network maps each sample to a Gaussian posterior
    ``q(z | x)`` over ``n_components`` latent dimensions and a decoder maps
    codes back to a distribution over the features (Kingma & Welling 2014).
    Both are trained by maximising the evidence lower bound (ELBO) with
    mini-batch Adam through :mod:`skorch`.

    ``transform`` returns the posterior means (deterministic),
    ``inverse_transform`` the decoder means, ``sample`` draws new data, and
    ``score_samples`` is a lower bound on ``log p(x)`` in nats, with every
    constant included, so it can be compared with
    :meth:`sklearn.decomposition.PCA.score_samples` or
    :meth:`sklearn.mixture.GaussianMixture.score_samples` on the same data,
    and ``GridSearchCV`` needs no scorer.

    Scale the features first (``StandardScaler``): the Gaussian likelihood
    learns a variance per feature but the network trains best on
    unit-scale inputs.

    Parameters
    ----------
    n_components : int, default=2
        Size of the latent code: the number of output features.

    prior : {"gaussian", "diffusion"} or DiffusionPrior, default="gaussian"
        Where :meth:`sample` draws codes from. ``"gaussian"``: the model's
        prior ``N(0, I)``. ``"diffusion"`` (or a :class:`~skvae.DiffusionPrior`
        with settings of your own): after the VAE is fitted, a denoising
        diffusion model is trained on the posterior draws of the training
        rows, and samples follow the codes of the data instead of the whole
        of ``N(0, I)``. The ELBO, and so training and :meth:`score_samples`,
        keep ``N(0, I)``.

    neighbor_weight : float, default=0.0
        Weight of a neighbor-embedding term added to the training loss:
        UMAP's cross-entropy on the posterior means (McInnes et al. 2018, as
        parametric UMAP trains it), which pulls the code of each row towards
        the code of one of its ``n_neighbors`` nearest training rows (drawn
        anew each time; Euclidean on ``X`` as given, computed once per fit)
        and pushes it from the codes of a few other rows of the batch. It
        makes low-dimensional codes keep the data's neighborhoods, so
        classes separate in a 2-D picture as they do in UMAP's. The term is
        not part of the ELBO: :meth:`score_samples` stays a bound on
        ``log p(x)``, lower than without the term (the user guide gives
        the cost), and ``loss_curve_`` includes it. 0 (the default) turns it
        off and skips the neighbor search, which costs
        ``O(n_samples^2 n_features)`` on dense data and needs all the
        training rows in memory (a memory map or dask array is read whole).
        10 is a good value for visualisation.

    n_neighbors : int, default=10
        Number of nearest training rows among which a row's neighbor is
        drawn, when ``neighbor_weight > 0``.

    denoising : {"gaussian", "mask"} or None, default="gaussian"
        Corruption of the training inputs (a denoising VAE, Im et al.
        2017): in training the encoder sees each row with Gaussian noise of
        ``noise_level`` standard deviations of each feature added
        (``"gaussian"``; in a table of mixed columns, its real and count
        columns), or with each entry replaced by its feature's training
        mean (in a table, made missing) with probability ``noise_level``
        (``"mask"``), and the likelihood scores the clean row. The encoder
        learns to map nearby rows to nearby codes, so it overfits the
        training rows less: rows it has not seen are encoded more like the
        training rows around them, and their ELBO is usually higher, though
        the training rows' ELBO is a little lower. :meth:`transform` and
        :meth:`score_samples` see the rows as they are; the score stays a
        bound on ``log p(x)``. None trains on the rows as they are.

    noise_level : float, default=0.1
        With ``denoising="gaussian"``, the standard deviation of the noise in
        units of each feature's training standard deviation; with
        ``"mask"``, the probability of each entry being masked (below 1). Images
        read by a convolutional encoder use the pixels' pooled mean and
        standard deviation instead of each pixel's.
        Stronger corruption (0.5) helps 2-D pictures of images, with
        ``neighbor_weight``; on data that a small model fits exactly it
        lowers the ELBO.

    {shared_parameters}

    Attributes
    ----------
    {shared_attributes}

    prior_loss_curve_ : list of float or None
        With a learned prior, its training loss (the mean squared error of
        the predicted noise, summed over the latent dimensions) of each of
        its epochs; None with ``prior="gaussian"``.

    See Also
    --------
    sklearn.decomposition.PCA : Linear dimensionality reduction; with
        ``hidden_layer_sizes=()`` a VAE with a Gaussian likelihood fits the
        same probabilistic PCA family.

    References
    ----------
    .. [1] D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes",
       ICLR 2014.
    .. [2] Y. Burda, R. Grosse and R. Salakhutdinov, "Importance Weighted
       Autoencoders", ICLR 2016.
    .. [3] L. McInnes, J. Healy and J. Melville, "UMAP: Uniform Manifold
       Approximation and Projection for Dimension Reduction",
       arXiv:1802.03426, 2018.
    .. [4] T. Sainburg, L. McInnes and T. Q. Gentner, "Parametric UMAP
       Embeddings for Representation and Semisupervised Learning", Neural
       Computation 33(11), 2021.
    .. [5] D. J. Im, S. Ahn, R. Memisevic and Y. Bengio, "Denoising
       Criterion for Variational Auto-Encoding Framework", AAAI 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skvae import VAETransformer
    >>> X = StandardScaler().fit_transform(load_digits().data)
    >>> vae = VAETransformer(n_components=2, max_iter=5, random_state=0)
    >>> codes = vae.fit_transform(X)
    >>> codes.shape
    (1797, 2)
    >>> vae.inverse_transform(codes).shape
    (1797, 64)
    >>> bool(vae.score(X) < 0)   # average ELBO per sample, in nats
    True
    """

    _parameter_constraints = {
        **BaseVAE._parameter_constraints,
        "prior": [StrOptions(set(PRIORS)), DiffusionPrior],
        "neighbor_weight": [Interval(Real, 0, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        **DenoisingMixin._denoising_constraints,
    }
    _structural_params = BaseVAE._structural_params + ("prior",)
    _module_class = VAEModule

    def __skvae_tags__(self):
        return ModelTags(learned_prior=True, cli_name="vae")

    def __init__(
        self,
        n_components=2,
        *,
        prior="gaussian",
        neighbor_weight=0.0,
        n_neighbors=10,
        denoising="gaussian",
        noise_level=0.1,
        architecture="mlp",
        image_shape=None,
        conv_channels=(32, 64),
        encoder=None,
        decoder=None,
        hidden_layer_sizes=None,
        activation="gelu",
        beta=1.0,
        kl_warmup=0.25,
        likelihood="gaussian",
        variance="shared",
        max_iter=200,
        max_steps=2000,
        batch_size="auto",
        learning_rate_init=5e-3,
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
        self.prior = prior
        self.neighbor_weight = neighbor_weight
        self.n_neighbors = n_neighbors
        self.denoising = denoising
        self.noise_level = noise_level

    def _module_params(self, X):
        return {
            **super()._module_params(X),
            **self._corruption_params(),
            "prior": prior_config(self.prior),
        }

    def _criterion_params(self):
        return {"beta": self.beta, "neighbor_weight": self.neighbor_weight}

    def _fit_inputs(self, X, y, reset):
        return super()._fit_inputs(self._in_memory_for_neighbors(X), y, reset)

    def _fit(self, X, warm, inputs, random_state=None):
        return super()._fit(X, warm, self._with_neighbors(X, inputs), random_state)

    def sample(self, n_samples=1, random_state=None, *, noise=True):
        """Draw new samples from the fitted generative model.

        Codes are drawn from the prior, ``N(0, I)`` or the learned one of
        ``prior="diffusion"``, and decoded.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; None uses the estimator's ``random_state`` (so
            a seeded estimator gives the same samples each call, as
            :meth:`sklearn.mixture.GaussianMixture.sample` does).
        noise : bool, default=True
            If True, draw from ``p(x | z)``; if False, return its mean
            ``E[x | z]``, which is what is usually shown for images.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples.
        """
        check_is_fitted(self)
        return self._sample(n_samples, random_state, noise)
