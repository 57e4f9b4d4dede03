"""HierarchicalVAETransformer: stochastic layers with top-down inference."""

import numpy as np
import pytest
import torch

from skvae import HierarchicalVAETransformer

SMALL = dict(n_components=(6, 3), hidden_layer_sizes=(32,), random_state=0, device="cpu")


@pytest.fixture(scope="module")
def fitted(request):
    X = np.random.RandomState(0).standard_normal((200, 8)) @ np.random.RandomState(1).rand(8, 8)
    return HierarchicalVAETransformer(max_iter=10, **SMALL).fit(X), X


def test_shapes_of_every_output(fitted):
    hvae, X = fitted
    assert hvae.transform(X).shape == (200, 3)
    bottom, top = hvae.transform_layers(X)
    assert bottom.shape == (200, 6)
    np.testing.assert_array_equal(top, hvae.transform(X))
    assert hvae.inverse_transform(top).shape == (200, 8)
    assert hvae.sample(4, random_state=0).shape == (4, 8)
    assert hvae.kl_per_dim_.shape == (9,)
    names = [f"hierarchicalvaetransformer{i}" for i in range(3)]
    assert list(hvae.get_feature_names_out()) == names


def test_elbo_terms_agree_with_the_monte_carlo_log_weights(fitted):
    """Closed-form KL terms of the ELBO and the mean of log p(x, z) - log q(z | x) agree."""
    hvae, X = fitted
    module = hvae._inference_module()
    x = torch.as_tensor(hvae._to_model_units(X[:20]))
    eps = torch.as_tensor(np.random.RandomState(0).standard_normal((20000, 9)))
    with torch.no_grad():
        log_px, log_ratio, kl = module.log_weights(x, eps)
    elbo_closed = (log_px.mean(0) - kl).numpy()
    elbo_sampled = (log_px + log_ratio).mean(0).numpy()
    np.testing.assert_allclose(elbo_sampled, elbo_closed, atol=0.05 * 8)


def test_importance_weighted_bound_is_tighter_than_the_elbo(fitted):
    hvae, X = fitted
    elbo = hvae.score_samples(X, n_draws=100)
    iw = hvae.score_samples(X, n_draws=100, importance_weighted=True)
    assert np.mean(iw) > np.mean(elbo)
    assert np.isfinite(iw).all()


def test_inverse_transform_goes_through_the_conditional_means(fitted):
    hvae, X = fitted
    # the generative model run with no noise below the top layer (its
    # ancestral sampler, another path through the layers) gives the same rows
    top = hvae.transform(X[:5])
    eps = np.hstack([np.zeros((5, 6)), top])  # bottom layer first
    bottom = hvae._map_blocks(eps, lambda m, e: m.ancestral(e))
    np.testing.assert_allclose(hvae.inverse_transform(top), hvae._decode_mean(bottom), rtol=1e-9)
    # and they depend on the top code
    assert not np.allclose(hvae.inverse_transform(top + 1.0), hvae.inverse_transform(top))


def test_samples_draw_every_layer(fitted):
    """Different top-layer noise and different lower-layer noise both change samples."""
    hvae, _ = fitted
    a = hvae.sample(3, random_state=0, noise=False)
    np.testing.assert_array_equal(a, hvae.sample(3, random_state=0, noise=False))
    assert not np.allclose(a, hvae.sample(3, random_state=1, noise=False))


@pytest.mark.parametrize("sizes", [(8, 0), (), (4, 2.5), "abc"])
def test_bad_layer_sizes_are_clear_errors(sizes):
    X = np.random.RandomState(0).rand(20, 4)
    with pytest.raises(ValueError, match="n_components"):
        HierarchicalVAETransformer(**{**SMALL, "n_components": sizes}, max_iter=1).fit(X)
