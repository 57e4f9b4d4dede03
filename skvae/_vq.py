"""VQVAETransformer: a vector-quantised VAE with a learned prior over its codes."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseVAE
from ._deterministic import _DeterministicCodeTransformer
from ._docs import fill_doc
from ._learned_prior import LearnedPriorMixin
from ._priors import VQ_PRIORS, AutoregressivePrior, prior_config
from ._random import child_seed, seeded_draws
from ._registry import ModelTags
from .models.vq import VQLoss, VQVAEModule, perplexity_of_counts


@fill_doc
class VQVAETransformer(LearnedPriorMixin, _DeterministicCodeTransformer):
    """Discrete codes with a vector-quantised VAE (VQ-VAE).

    The encoder's output of ``n_components`` values is split into
    ``n_slots`` slots, and each slot is replaced by the nearest of
    ``n_codes`` codebook vectors shared by all slots (van den Oord et al.
    2017): a row is encoded as ``n_slots`` code indices, and the decoder
    sees their codebook vectors. Training maximises ``log p(x | z_q)`` under
    the likelihood (a Gaussian with a learned noise variance, or a
    Bernoulli); the gradient passes the quantisation by the straight-through
    estimator, a commitment loss (weight ``commitment``) keeps the encoder's
    outputs near their codes, and the codebook follows the outputs assigned
    to each code by exponential moving averages (decay ``codebook_decay``).
    A code chosen less than once per mini-batch on average is restarted at
    an encoder output of the batch, so the codebook stays in use
    (``perplexity_``).

    After the VQ-VAE, a learned prior over the code indices is trained on the
    training rows' codes (``prior="autoregressive"``: slot by slot, see
    :class:`~skvae.AutoregressivePrior`); :meth:`sample` draws indices from
    it and decodes them. :meth:`score_samples` is the ELBO of the one-hot
    posterior, ``log p(x | z_q(x)) + log p(k(x))``, a lower bound on
    ``log p(x)`` of the model with that prior, in nats.

    Parameters
    ----------
    n_components : int, default=32
        Size of the code: the number of output features of
        :meth:`transform`, ``n_slots`` slots of ``n_components / n_slots``
        values (it must be a multiple of ``n_slots``).

    n_slots : int or "auto", default="auto"
        Number of slots a code is split into, each quantised on its own.
        ``"auto"``: the largest divisor of ``n_components`` up to 8 (8 for
        the default ``n_components=32``, 1 for a one-dimensional code).

    n_codes : int, default=64
        Number of codebook vectors.

    commitment : float, default=0.25
        Weight of the commitment loss ``||z_e - sg(z_q)||^2``.

    codebook_decay : float in (0, 1), default=0.99
        Decay of the codebook's moving averages.

    prior : {"autoregressive", "uniform"} or AutoregressivePrior, \
default="autoregressive"
        The prior over code indices that :meth:`sample` draws from and
        :meth:`score_samples` scores with: learned after the VQ-VAE
        (``"autoregressive"`` or an :class:`~skvae.AutoregressivePrior` with
        settings of your own), or uniform, as during training.

    {shared_parameters}

    Attributes
    ----------
    {shared_attributes}

    loss_curve_ : list of float
        Training loss of each epoch: the negative reconstruction
        log-likelihood plus the commitment loss, in nats per sample of ``X``.

    codebook_ : ndarray of shape (n_codes, n_components / n_slots)
        The codebook vectors (in the model's units of the codes).

    codebook_usage_ : ndarray of shape (n_codes,)
        Share of the training rows' slots that use each code.

    perplexity_ : float
        ``exp`` of the entropy of ``codebook_usage_``: the number of codes in
        effective use, from 1 to ``n_codes``.

    prior_loss_curve_ : list of float or None
        The learned prior's training loss (negative log-probability of a
        row's code indices, in nats) of each of its epochs; None with
        ``prior="uniform"``.

    See Also
    --------
    VAETransformer : Continuous Gaussian codes.
    AutoencoderTransformer : Deterministic continuous codes.

    References
    ----------
    .. [1] A. van den Oord, O. Vinyals and K. Kavukcuoglu, "Neural Discrete
       Representation Learning", NeurIPS 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import AutoregressivePrior, VQVAETransformer
    >>> X = load_digits().data / 16
    >>> vq = VQVAETransformer(n_components=16, n_slots=4, n_codes=32, max_iter=5,
    ...                       prior=AutoregressivePrior(max_steps=100),
    ...                       random_state=0).fit(X)
    >>> vq.transform(X).shape, vq.code_indices(X).shape
    ((1797, 16), (1797, 4))
    >>> vq.sample(2, noise=False).shape
    (2, 64)
    """

    _parameter_constraints = {
        **{
            k: v
            for k, v in BaseVAE._parameter_constraints.items()
            if k not in ("beta", "kl_warmup")
        },
        "n_slots": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "n_codes": [Interval(Integral, 1, None, closed="left")],
        "commitment": [Interval(Real, 0, None, closed="left")],
        "codebook_decay": [Interval(Real, 0, 1, closed="neither")],
        "prior": [StrOptions(set(VQ_PRIORS)), AutoregressivePrior],
    }
    _structural_params = BaseVAE._structural_params + ("n_slots", "n_codes", "prior")
    _module_class = VQVAEModule
    _criterion_class = VQLoss

    def __skvae_tags__(self):
        return ModelTags(
            codes="discrete", latent_statistics=False, learned_prior=True, cli_name="vqvae"
        )

    def __init__(
        self,
        n_components=32,
        *,
        n_slots="auto",
        n_codes=64,
        commitment=0.25,
        codebook_decay=0.99,
        prior="autoregressive",
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
        learning_rate_init=2e-3,
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
        # not BaseVAE.__init__: it sets beta and kl_warmup, which a VQ-VAE
        # does not have (its KL term is a constant)
        self.n_components = n_components
        self.n_slots = n_slots
        self.n_codes = n_codes
        self.commitment = commitment
        self.codebook_decay = codebook_decay
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
        n_slots = _slots(self.n_components, self.n_slots)
        if self.n_components % n_slots:
            nearest = self.n_slots * max(1, self.n_components // self.n_slots)
            raise ValueError(
                f"n_components={self.n_components} must be a multiple of "
                f"n_slots={self.n_slots}: each slot holds n_components / n_slots values. "
                f"Use for example n_components={nearest}."
            )
        return {
            **super()._module_params(X),
            "n_slots": n_slots,
            "n_codes": self.n_codes,
            "decay": self.codebook_decay,
            "prior": prior_config(self.prior),
        }

    def _criterion_params(self):
        return {"commitment": self.commitment}

    def _n_warmup_steps(self, n_steps):
        return 0

    def _set_code_statistics(self, X):
        # counted block by block: memory does not grow with the rows
        n_codes = self._fitted_param("n_codes")
        counts = np.zeros(n_codes, dtype=np.int64)
        for indices in self._block_outputs(X, lambda module, xb: module.encode_indices(xb)):
            counts += np.bincount(indices.reshape(-1), minlength=n_codes)
        self.codebook_usage_ = counts / counts.sum()
        self.perplexity_ = perplexity_of_counts(torch.as_tensor(counts))

    def _prior_data(self, X, rows, prior):
        return {"x": torch.as_tensor(self._indices(X), device=self.net_.device)}

    # ---------------------------------------------------------------- inference

    @property
    def codebook_(self):
        """The codebook vectors, (n_codes, n_components / n_slots), float64."""
        return self.module_.quantizer.codebook.detach().cpu().numpy().astype(np.float64)

    def _indices(self, X):
        return self._map_blocks(X, lambda m, xb: m.encode_indices(xb), dtype=np.int64)

    def transform(self, X):
        """Encode ``X`` as its quantised codes: the codebook vector of each slot.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            The codebook vectors of the slots, one after the other, in the
            dtype of ``X``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False, likelihood_support=False)
        return self._encode_mean(X)

    def code_indices(self, X):
        """The code index of each slot of each row.

        ``codebook_[code_indices(X)].reshape(len(X), -1)`` is
        ``transform(X)``, and :meth:`inverse_transform` of it decodes them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        indices : ndarray of shape (n_samples, n_slots), dtype int64
            Indices into ``codebook_``, from 0 to ``n_codes - 1``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False, likelihood_support=False)
        return self._indices(X)

    def sample(self, n_samples=1, random_state=None, *, noise=True):
        """Decode code indices drawn from the prior.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; None uses the estimator's ``random_state``.
        noise : bool, default=True
            If True, draw from ``p(x | z_q)``; if False, return its mean.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples.
        """
        check_is_fitted(self)
        return self._sample(n_samples, random_state, noise)

    def _draw_codes(self, n_samples, rng, context=None):
        prior = self.module_.code_prior
        n_slots = _slots(self._fitted_param("n_components"), self._fitted_param("n_slots"))
        if prior is None:
            indices = rng.randint(0, self._fitted_param("n_codes"), (n_samples, n_slots))
        else:
            with seeded_draws(child_seed(rng), self.net_.device), torch.inference_mode():
                indices = np.concatenate(
                    [
                        prior.sample(min(self._prior_block, n_samples - start)).cpu().numpy()
                        for start in range(0, n_samples, self._prior_block)
                    ]
                )
        return self.codebook_[indices].reshape(n_samples, -1)

    def score_samples(self, X):
        """Lower bound on ``log p(x)`` of each sample, in nats.

        The ELBO of the VQ-VAE's one-hot posterior: ``log p(x | z_q(x)) +
        log p(k(x))``, the likelihood of the row at its quantised code plus
        the prior's log-probability of its code indices (``-n_slots *
        log(n_codes)`` with ``prior="uniform"``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher is more likely.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        scores = self._map_blocks(X, lambda m, xb: m.log_bound(xb), dtype=np.float64)
        return scores + self._log_jacobian


def _slots(n_components, n_slots):
    """``n_slots`` with "auto" resolved: the largest divisor of ``n_components`` up to 8."""
    if isinstance(n_slots, str):
        return max(d for d in range(1, min(8, n_components) + 1) if n_components % d == 0)
    return n_slots
