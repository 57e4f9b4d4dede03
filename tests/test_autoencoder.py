"""AutoencoderTransformer: plain, sparse and denoising autoencoders."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skvae import AutoencoderTransformer
from skvae.models.autoencoder import AutoencoderModule

SMALL = dict(hidden_layer_sizes=(32,), batch_size=64, random_state=0, device="cpu")


def _held_out_mse(model, X_test):
    return float(np.mean((model.inverse_transform(model.transform(X_test)) - X_test) ** 2))


def test_reconstructs_held_out_digits_better_than_pca(digits):
    """The nonlinear autoencoder beats PCA's held-out error at the same size."""
    digits = digits[0]
    X_train, X_test = train_test_split(digits, test_size=0.3, random_state=0)
    params = {**SMALL, "hidden_layer_sizes": (128,)}
    ae = AutoencoderTransformer(n_components=8, max_iter=40, **params)
    ae.fit(X_train)
    pca = PCA(n_components=8).fit(X_train)
    assert _held_out_mse(ae, X_test) < 0.95 * _held_out_mse(pca, X_test)


def test_linear_autoencoder_matches_pca(digits):
    """With no hidden layer the codes span PCA's subspace: the same error."""
    digits = digits[0][:600]
    params = {**SMALL, "hidden_layer_sizes": ()}
    ae = AutoencoderTransformer(n_components=4, max_iter=60, **params)
    ae.fit(digits)
    pca = PCA(n_components=4).fit(digits)
    assert _held_out_mse(ae, digits) == pytest.approx(_held_out_mse(pca, digits), rel=0.03)


def test_score_samples_is_the_gaussian_log_likelihood_of_the_reconstruction(wine):
    """In nats of X: the learned variance in X's units, every constant included."""
    X = wine[0] * 3.0 + 5.0
    ae = AutoencoderTransformer(n_components=3, max_iter=20, **SMALL).fit(X)
    reconstruction = ae.inverse_transform(ae.transform(X))
    var = ae.module_.likelihood.variance.detach().double().numpy() * ae.x_unit_**2
    expected = -0.5 * np.sum(
        np.log(2 * np.pi * var) + (X - reconstruction) ** 2 / var, axis=1
    )
    np.testing.assert_allclose(ae.score_samples(X), expected, rtol=1e-6)
    assert ae.score(X) == pytest.approx(expected.mean(), rel=1e-6)


def test_sparsity_switches_most_code_units_off(digits):
    digits = digits[0][:600]
    plain = AutoencoderTransformer(n_components=16, max_iter=30, **SMALL).fit(digits)
    sparse = AutoencoderTransformer(n_components=16, sparsity=3.0, max_iter=30, **SMALL)
    codes = sparse.fit(digits).transform(digits)
    assert codes.min() >= 0
    # exact zeros, not small values: the penalty cannot be lowered by scale
    assert np.mean(codes == 0) > 0.5
    assert np.mean(np.abs(plain.transform(digits)) < 1e-2) < 0.05
    # every row still has a code: the units take turns
    assert np.all((codes > 0).sum(axis=1) >= 1)


def test_sparsity_penalty_is_blind_to_the_scale_of_the_codes(wine):
    """Codes times c and the decoder's code weights divided by c: the same penalty."""
    ae = AutoencoderTransformer(n_components=3, sparsity=1.0, max_iter=3, **SMALL)
    module = ae.fit(wine[0]).module_
    z = torch.rand(10, 3)
    before = module.sparsity_penalty(z)
    first = next(m for m in module.decoder.modules() if isinstance(m, torch.nn.Linear))
    with torch.no_grad():
        first.weight /= 7.0
        module.linear_decoder.weight /= 7.0
    assert module.sparsity_penalty(7.0 * z).item() == pytest.approx(before.item(), rel=1e-5)


@pytest.mark.parametrize("corruption, level", [("gaussian", 0.5), ("mask", 0.3)])
def test_corruption_of_training_inputs(corruption, level):
    """Gaussian noise of level feature sds, or a share of entries set to the mean."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((20000, 4)) * [1.0, 2.0, 3.0, 4.0] + 1.0
    ae = AutoencoderTransformer(
        n_components=2, denoising=corruption, noise_level=level, max_iter=1, **SMALL
    ).fit(X)
    module = ae.module_
    x = torch.as_tensor(ae._to_model_units(X), dtype=torch.float32)
    torch.manual_seed(0)
    assert torch.equal(module.eval().corrupt(x), x)  # evaluation sees the rows as they are
    corrupted = module.train().corrupt(x)
    module.eval()
    if corruption == "gaussian":
        noise = (corrupted - x).numpy()
        sd = x.numpy().std(axis=0)
        np.testing.assert_allclose(noise.std(axis=0), level * sd, rtol=0.03)
        assert np.abs(noise.mean(axis=0)).max() < 0.05 * sd.max()
    else:
        masked = corrupted != x
        assert masked.float().mean().item() == pytest.approx(level, abs=0.01)
        np.testing.assert_allclose(
            corrupted[masked].numpy(), module.x_shift.expand_as(x)[masked].numpy()
        )
    assert isinstance(module, AutoencoderModule)


def test_denoising_corrupts_in_training_only(wine):
    """transform and the scores see the rows as they are."""
    wine = wine[0]
    ae = AutoencoderTransformer(
        n_components=3, denoising="gaussian", noise_level=1.0, max_iter=5, **SMALL
    ).fit(wine)
    np.testing.assert_array_equal(ae.transform(wine), ae.transform(wine))
    np.testing.assert_array_equal(ae.score_samples(wine), ae.score_samples(wine))


def test_gaussian_prior_samples_follow_the_training_codes(wine):
    wine = wine[0]
    ae = AutoencoderTransformer(n_components=3, max_iter=10, **SMALL).fit(wine)
    codes = ae.transform(wine)
    np.testing.assert_allclose(ae.code_mean_, codes.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(ae.code_covariance_, np.cov(codes.T, bias=True), atol=1e-10)
    n = 50_000
    drawn = ae._draw_codes(n, np.random.RandomState(0))
    scale = np.sqrt(np.diag(ae.code_covariance_))
    # within 4 standard errors of the sample mean and covariance of n draws
    # (the covariance's: sqrt((s_ij^2 + s_ii s_jj) / n) for a Gaussian)
    np.testing.assert_allclose(drawn.mean(axis=0), ae.code_mean_, atol=4 * scale.max() / n**0.5)
    se = np.sqrt((ae.code_covariance_**2 + np.outer(scale**2, scale**2)) / n)
    assert np.all(np.abs(np.cov(drawn.T) - ae.code_covariance_) < 4 * se)
    samples = ae.sample(4, random_state=1)
    assert samples.shape == (4, wine.shape[1])
    np.testing.assert_array_equal(samples, ae.sample(4, random_state=1))


def test_same_seed_same_model(wine):
    wine = wine[0]
    params = dict(n_components=2, denoising="mask", noise_level=0.2, max_iter=5, **SMALL)
    a = AutoencoderTransformer(**params).fit(wine)
    b = AutoencoderTransformer(**params).fit(wine)
    np.testing.assert_array_equal(a.transform(wine), b.transform(wine))
    np.testing.assert_array_equal(a.sample(3), b.sample(3))


def test_clear_errors(wine):
    wine = wine[0]
    with pytest.raises(ValueError, match="noise_level"):
        AutoencoderTransformer(denoising="mask", noise_level=1.0, max_iter=1, **SMALL).fit(wine)
    with pytest.raises(ValueError, match="sparsity"):
        AutoencoderTransformer(sparsity=-1.0, max_iter=1, **SMALL).fit(wine)
    ae = AutoencoderTransformer(max_iter=2, warm_start=True, **SMALL).fit(wine)
    with pytest.raises(ValueError, match="sparsity"):
        ae.set_params(sparsity=1.0).fit(wine)


def test_docstring_has_no_vae_only_parameters():
    doc = AutoencoderTransformer.__doc__
    assert "beta :" not in doc and "kl_warmup :" not in doc
    assert "kl_per_dim_" not in doc
    assert doc.count("\n    loss_curve_ :") == 1
    assert "noise_level :" in doc and "learning_rate_init :" in doc
