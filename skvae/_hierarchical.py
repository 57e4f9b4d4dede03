"""HierarchicalVAETransformer: a VAE of several stochastic layers."""

from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._base import BaseVAE
from ._docs import fill_doc
from ._registry import ModelTags
from ._transformer import GaussianCodeTransformer
from ._units import _positive_ints
from .models.hierarchical import HierarchicalVAEModule


@fill_doc
class HierarchicalVAETransformer(GaussianCodeTransformer):
    """Dimensionality reduction with a hierarchical VAE of several stochastic layers.

    The latent code has layers ``z_1`` (the bottom, read by the decoder) to
    ``z_L`` (the top) of ``n_components = (k_1, ..., k_L)`` dimensions. The
    generative model is ``p(z_L) p(z_{L-1} | z_L) ... p(z_1 | z_2) p(x |
    z_1)``, with ``p(z_L) = N(0, I)``, and inference is bottom up, ``q(z_1 |
    x) q(z_2 | z_1) ... q(z_L | z_{L-1})``, as in the stacked models of
    Burda et al. (2016): the layers above the bottom one are a learned prior
    of its codes, richer than one Gaussian. Every conditional is a diagonal
    Gaussian from a small MLP (one hidden layer as wide as the encoder's
    features). Training maximises the ELBO; the top layer's KL term is in
    closed form given the layer below, the lower layers' are estimated at
    the draws. Compare ``score`` with a one-layer :class:`VAETransformer` of
    the same total size on your data (the user guide has measured figures).

    :meth:`transform` returns the top layer's posterior means (``k_L``
    columns), each layer's computed from the means below;
    :meth:`transform_layers` every layer's;
    :meth:`inverse_transform` decodes top-layer codes through the
    conditional means of the layers below; :meth:`sample` draws every layer
    from the generative model; :meth:`score_samples` is the ELBO or the
    importance-weighted bound on ``log p(x)`` in nats, over the draws of all
    layers.

    Parameters
    ----------
    n_components : tuple of int, default=(32, 8)
        Sizes of the stochastic layers, bottom to top. An int is one layer:
        a plain VAE with these conditionals.

    {shared_parameters}

    Attributes
    ----------
    {shared_attributes}

    See Also
    --------
    VAETransformer : One stochastic layer.

    References
    ----------
    .. [1] Y. Burda, R. Grosse and R. Salakhutdinov, "Importance Weighted
       Autoencoders", ICLR 2016.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import HierarchicalVAETransformer
    >>> X = load_digits().data / 16
    >>> hvae = HierarchicalVAETransformer(n_components=(16, 4), max_iter=5,
    ...                                   random_state=0).fit(X)
    >>> hvae.transform(X).shape
    (1797, 4)
    >>> [z.shape[1] for z in hvae.transform_layers(X)]
    [16, 4]
    """

    _parameter_constraints = {
        **BaseVAE._parameter_constraints,
        "n_components": ["array-like", Interval(Integral, 1, None, closed="left")],
    }
    _structural_params = BaseVAE._structural_params
    _module_class = HierarchicalVAEModule

    def __skvae_tags__(self):
        return ModelTags()

    def __init__(
        self,
        n_components=(32, 8),
        *,
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

    def _layer_sizes(self):
        sizes = _positive_ints(
            self._fitted_param("n_components"),
            "n_components",
            "the sizes of the stochastic layers, bottom to top",
        )
        if not sizes:
            raise ValueError("n_components must give at least one layer size, got ().")
        return sizes

    def _module_params(self, X):
        return {**super()._module_params(X), "layer_sizes": self._layer_sizes()}

    def _n_latent(self):
        return sum(self._layer_sizes())

    @property
    def _n_features_out(self):
        return self._layer_sizes()[-1]

    def _code_width(self):
        return self._layer_sizes()[-1]

    def _fixed_prior_codes(self, n_samples, rng):
        # every layer drawn from the generative model: the bottom layer's codes
        eps = rng.standard_normal((n_samples, self._n_latent()))
        return self._map_blocks(eps, lambda m, e: m.ancestral(e), dtype=np.float64)

    def transform_layers(self, X):
        """Posterior means of every layer, bottom first.

        The bottom layer's are ``E[z_1 | x]``; each layer above's are its
        posterior means given the means of the layer below; the top layer's
        are those of :meth:`transform`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        codes : list of ndarray
            One array of shape (n_samples, k_l) per layer, bottom first.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False, likelihood_support=False)
        both = self._map_blocks(X, lambda m, xb: torch.cat(m.encode_layers(xb), dim=1))
        return np.split(both, np.cumsum(self._layer_sizes())[:-1], axis=1)

    def inverse_transform(self, X):
        """Decode top-layer codes through the conditional means of the layers below.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components[-1])
            Top-layer codes, such as the output of :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The decoder means at the bottom-layer codes they give.
        """
        check_is_fitted(self)
        Z = self._validate_codes(X)
        bottom = self._map_blocks(Z, lambda m, zb: m.top_down_mean(zb))
        return self._decode_mean(bottom)

    def sample(self, n_samples=1, random_state=None, *, noise=True):
        """Draw new samples: every layer from the generative model, top down.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; None uses the estimator's ``random_state``.
        noise : bool, default=True
            If True, draw from ``p(x | z_1)``; if False, return its mean.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples.
        """
        check_is_fitted(self)
        return self._sample(n_samples, random_state, noise)
