"""AutoencoderTransformer: a deterministic autoencoder, plain, sparse or denoising."""

import math
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseVAE
from ._data import covariance_moments
from ._deterministic import _DeterministicCodeTransformer
from ._docs import fill_doc
from ._learned_prior import LearnedPriorMixin
from ._priors import PRIORS, DiffusionPrior, prior_config
from ._registry import ModelTags
from ._terms import DenoisingMixin
from .models.autoencoder import AutoencoderLoss, AutoencoderModule

# Share of the epochs over which the sparsity penalty's weight rises from 0.
_SPARSITY_WARMUP = 0.25


@fill_doc
class AutoencoderTransformer(LearnedPriorMixin, DenoisingMixin, _DeterministicCodeTransformer):
    """Dimensionality reduction with a deterministic autoencoder.

    An encoder network maps each row to a code of ``n_components`` values,
    ``z = f(x)``, and a decoder maps codes back to the features. Both are
    trained by mini-batch Adam through :mod:`skorch` to maximise the
    likelihood of each row given its own code, ``log p(x | f(x))``: with the
    default Gaussian likelihood, one learned noise variance shared by all
    features, this is the squared reconstruction error, measured in nats. It
    is the nonlinear counterpart of PCA: beside the networks, a linear path
    runs from the standardised row to the code and from the code to the
    output, so the model contains PCA's solution and the networks add to it
    (with ``hidden_layer_sizes=()`` and a Gaussian likelihood it spans PCA's
    subspace).

    Two classic variants are options:

    * **sparse** (``sparsity > 0``): the codes are rectified (``relu``) and
      the loss adds ``sparsity`` times an L1 penalty on each row's code in
      which every unit is weighed by the norm of the decoder weights that
      read it. Without that norm an L1 penalty is lowered by shrinking the
      codes while the decoder grows; with it, only by switching units off,
      so most entries of a code are exactly 0. The penalty's weight rises
      from 0 over the first quarter of the epochs, so that the decoder
      learns to use the codes before they are pushed to 0.
    * **denoising** (``denoising="gaussian"`` or ``"mask"``): in training the
      encoder sees each row corrupted, by Gaussian noise of ``noise_level``
      standard deviations of each feature, or with each entry replaced by its
      feature's training mean with probability ``noise_level``, and the loss
      scores the reconstruction of the clean row. ``transform`` and the
      scores see the rows as they are.

    Unlike :class:`VAETransformer`, the model has no prior over the codes:
    :meth:`score_samples` is the reconstruction log-likelihood ``log p(x |
    f(x))``, in nats, not a bound on ``log p(x)`` (it is higher for more
    ``n_components`` and not comparable with a density's). :meth:`sample`
    decodes codes drawn from a Gaussian fitted to the training codes
    (``code_mean_``, ``code_covariance_``), or, with ``prior="diffusion"``,
    from a diffusion model trained on them.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code: the number of output features.

    sparsity : float, default=0.0
        Weight of the sparsity penalty, in nats per unit of the weighted L1
        norm of a code; 0 trains a plain autoencoder with linear codes, a
        positive value a sparse one with rectified codes.

    denoising : {"gaussian", "mask"} or None, default=None
        Corruption of the training inputs: None trains on the rows as they
        are.

    noise_level : float, default=0.2
        With ``denoising="gaussian"``, the standard deviation of the noise in
        units of each feature's training standard deviation; with
        ``"mask"``, the probability of each entry being masked. Images
        read by a convolutional encoder use the pixels' pooled mean and
        standard deviation instead of each pixel's.

    prior : {"gaussian", "diffusion"} or DiffusionPrior, default="gaussian"
        Where :meth:`sample` draws codes from: a Gaussian fitted to the
        training codes, or a denoising diffusion model trained on them after
        the autoencoder (see :class:`~skvae.DiffusionPrior`).

    {shared_parameters}

    Attributes
    ----------
    {shared_attributes}

    loss_curve_ : list of float
        Training loss of each epoch: the negative reconstruction
        log-likelihood (of the corrupted rows with ``denoising``) plus the
        sparsity penalty, in nats per sample of ``X``.

    code_mean_ : ndarray of shape (n_components,)
        Mean of the training codes.

    code_covariance_ : ndarray of shape (n_components, n_components)
        Covariance of the training codes (the Gaussian :meth:`sample` draws
        from with ``prior="gaussian"``).

    prior_loss_curve_ : list of float or None
        With ``prior="diffusion"``, the diffusion model's training loss of
        each of its epochs; None otherwise.

    See Also
    --------
    sklearn.decomposition.PCA : The linear baseline.
    VAETransformer : The variational autoencoder, whose scores are bounds on
        ``log p(x)``.

    References
    ----------
    .. [1] G. E. Hinton and R. R. Salakhutdinov, "Reducing the
       Dimensionality of Data with Neural Networks", Science 2006.
    .. [2] A. Ng, "Sparse autoencoder", CS294A lecture notes, 2011.
    .. [3] P. Vincent et al., "Extracting and Composing Robust Features with
       Denoising Autoencoders", ICML 2008.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skvae import AutoencoderTransformer
    >>> X = StandardScaler().fit_transform(load_digits().data)
    >>> ae = AutoencoderTransformer(n_components=8, max_iter=5, random_state=0)
    >>> ae.fit_transform(X).shape
    (1797, 8)
    >>> ae.inverse_transform(ae.transform(X)).shape
    (1797, 64)
    >>> ae.sample(3, noise=False).shape
    (3, 64)
    """

    _parameter_constraints = {
        **{
            k: v
            for k, v in BaseVAE._parameter_constraints.items()
            if k not in ("beta", "kl_warmup")
        },
        "sparsity": [Interval(Real, 0, None, closed="left")],
        **DenoisingMixin._denoising_constraints,
        "prior": [StrOptions(set(PRIORS)), DiffusionPrior],
    }
    _structural_params = BaseVAE._structural_params + ("sparsity", "prior")
    _module_class = AutoencoderModule
    _criterion_class = AutoencoderLoss

    def __skvae_tags__(self):
        return ModelTags(
            codes="deterministic", latent_statistics=False, learned_prior=True,
            cli_name="autoencoder",
        )

    def __init__(
        self,
        n_components=2,
        *,
        sparsity=0.0,
        denoising=None,
        noise_level=0.2,
        prior="gaussian",
        architecture="mlp",
        image_shape=None,
        conv_channels=(32, 64),
        encoder=None,
        decoder=None,
        hidden_layer_sizes=None,
        activation="gelu",
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
        # not BaseVAE.__init__: it sets beta and kl_warmup, which are not
        # hyperparameters of a deterministic autoencoder
        self.n_components = n_components
        self.sparsity = sparsity
        self.denoising = denoising
        self.noise_level = noise_level
        self.prior = prior
        self.architecture = architecture
        self.image_shape = image_shape
        self.conv_channels = conv_channels
        self.encoder = encoder
        self.decoder = decoder
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.likelihood = likelihood
        self.variance = variance
        self.max_iter = max_iter
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.buffer_size = buffer_size
        self.precision = precision
        self.compile = compile
        self.column_types = column_types
        self.handle_unknown = handle_unknown

    # ------------------------------------------------------------------ fitting

    def _module_params(self, X):
        return {
            **super()._module_params(X),
            **self._corruption_params(),
            "sparse": self.sparsity > 0,
            "prior": prior_config(self.prior),
        }

    def _criterion_params(self):
        return {"sparsity": self.sparsity}

    def _n_warmup_steps(self, n_steps):
        # the sparsity penalty's weight rises over the first quarter of the steps
        return math.ceil(_SPARSITY_WARMUP * n_steps) if self.sparsity > 0 else 0

    def _set_code_statistics(self, X):
        # block by block: memory does not grow with the rows
        codes = self._block_outputs(X, lambda module, xb: module.encode_mean(xb))
        _, self.code_mean_, self.code_covariance_ = covariance_moments(codes)

    def _fixed_prior_codes(self, n_samples, rng):
        # a square root of the covariance that a singular one (a code unit
        # that never varies) also has
        eigenvalues, eigenvectors = np.linalg.eigh(self.code_covariance_)
        root = eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))
        eps = rng.standard_normal((n_samples, len(self.code_mean_)))
        return self.code_mean_ + eps @ root.T

    # ---------------------------------------------------------------- inference

    def transform(self, X):
        """Encode ``X`` as its codes ``f(x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Codes, in the dtype of ``X`` (float32 or float64); non-negative
            with ``sparsity > 0``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False, likelihood_support=False)
        return self._encode_mean(X)

    def sample(self, n_samples=1, random_state=None, *, noise=True):
        """Decode codes drawn from the fitted prior over codes.

        The codes come from a Gaussian fitted to the training codes
        (``prior="gaussian"``) or from the diffusion model
        (``prior="diffusion"``).

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; None uses the estimator's ``random_state``.
        noise : bool, default=True
            If True, draw from ``p(x | z)``; if False, return its mean
            ``E[x | z]``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples.
        """
        check_is_fitted(self)
        return self._sample(n_samples, random_state, noise)

    def score_samples(self, X):
        """Reconstruction log-likelihood ``log p(x | f(x))`` of each row, in nats.

        The decoder's likelihood (with its learned noise variance) at the
        row's own code. It measures how well a row is reconstructed, in the
        units of a log-density of ``X``, but it is not a bound on ``log
        p(x)``: it grows with ``n_components``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher is better reconstructed.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        scores = self._map_blocks(
            X, lambda m, xb: m.reconstruction_log_prob(xb), dtype=np.float64
        )
        return scores + self._log_jacobian
