"""VQVAETransformer: quantised codes, the codebook and the learned prior over indices."""

import math

import numpy as np
import pytest
import torch
from sklearn.base import clone

import skvae
from skvae import AutoregressivePrior, VQVAETransformer
from skvae.models.vq import SlotPrior, VectorQuantizer, perplexity

TINY_PRIOR = AutoregressivePrior(hidden_layer_sizes=(32,), max_steps=40, batch_size=64)
SMALL = dict(
    n_components=8, n_slots=4, n_codes=16, max_iter=5, hidden_layer_sizes=(32,),
    prior=TINY_PRIOR, random_state=0, device="cpu",
)


@pytest.fixture(scope="module")
def fitted(request):
    X = np.random.RandomState(0).rand(300, 12)
    return VQVAETransformer(**SMALL).fit(X), X


def test_transform_is_the_codebook_vectors_of_the_indices(fitted):
    vq, X = fitted
    indices = vq.code_indices(X)
    assert indices.shape == (300, 4) and indices.dtype == np.int64
    assert indices.min() >= 0 and indices.max() < 16
    np.testing.assert_array_equal(vq.transform(X), vq.codebook_[indices].reshape(300, -1))
    np.testing.assert_allclose(
        vq.inverse_transform(vq.transform(X)),
        vq.inverse_transform(vq.codebook_[indices].reshape(300, -1)),
    )


def test_codes_are_the_nearest_codebook_vectors(fitted):
    vq, X = fitted
    module = vq._inference_module()
    with torch.no_grad():
        z_e = module.encode_continuous(torch.as_tensor(vq._to_model_units(X))).numpy()
    distance = ((z_e[:, :, None, :] - vq.codebook_[None, None]) ** 2).sum(-1)
    np.testing.assert_array_equal(vq.code_indices(X), distance.argmin(-1))


def test_usage_and_perplexity(fitted):
    vq, X = fitted
    counts = np.bincount(vq.code_indices(X).ravel(), minlength=16)
    np.testing.assert_allclose(vq.codebook_usage_, counts / counts.sum())
    p = counts[counts > 0] / counts.sum()
    assert vq.perplexity_ == pytest.approx(math.exp(-(p * np.log(p)).sum()))


def test_score_is_reconstruction_plus_log_prior(fitted):
    """The ELBO of a one-hot posterior; the uniform prior costs n_slots log n_codes."""
    vq, X = fitted
    module = vq._inference_module()
    x = torch.as_tensor(vq._to_model_units(X))
    with torch.no_grad():
        indices = module.encode_indices(x)
        log_px = module.decode_indices(indices).log_prob(x).numpy() + vq._log_jacobian
        log_prior = module.code_prior.log_prob(indices).numpy()
    np.testing.assert_allclose(vq.score_samples(X), log_px + log_prior, rtol=1e-10)
    uniform = clone(vq).set_params(prior="uniform").fit(X)
    assert uniform.prior_loss_curve_ is None and uniform.module_.code_prior is None
    np.testing.assert_allclose(
        uniform.score_samples(X), log_px - 4 * math.log(16), rtol=1e-10
    )
    # the same VQ-VAE: the prior trains afterwards, under a forked RNG
    np.testing.assert_array_equal(uniform.transform(X), vq.transform(X))


def test_ema_codebook_moves_to_the_mean_of_its_vectors():
    torch.manual_seed(0)
    quantizer = VectorQuantizer(n_codes=2, code_dim=1, decay=0.5)
    z = torch.cat([torch.full((50, 1), -3.0), torch.full((50, 1), 5.0)])
    for _ in range(30):
        quantizer.update(z, quantizer.nearest(z))
    assert sorted(quantizer.codebook.ravel().tolist()) == pytest.approx([-3.0, 5.0], abs=1e-3)


def test_dead_codes_are_restarted_at_encoder_outputs():
    torch.manual_seed(0)
    quantizer = VectorQuantizer(n_codes=4, code_dim=2, decay=0.9)
    z = torch.randn(64, 2)
    quantizer.update(z, quantizer.nearest(z))
    quantizer.codebook[3] = 1e6  # a code nothing is near
    quantizer.ema_sum[3] = 1e6
    for _ in range(40):
        quantizer.update(z, quantizer.nearest(z))
    assert quantizer.codebook.abs().max() < 10
    assert (quantizer.ema_count > 0.5).all()


def test_slot_prior_is_autoregressive_and_learns_a_dependency():
    """Slot 1 copies slot 0: the prior must learn p(k_1 | k_0), and slot 0 sees nothing."""
    torch.manual_seed(0)
    prior = SlotPrior(n_slots=3, n_codes=5, hidden_layer_sizes=(32,))
    first = torch.randint(0, 5, (2000,))
    data = torch.stack([first, first, torch.randint(0, 5, (2000,))], dim=1)
    # masks: slot s's logits do not change with the codes of slots >= s
    a, b = data[:4].clone(), data[:4].clone()
    b[:, 2] = (b[:, 2] + 1) % 5
    torch.testing.assert_close(prior.logits(a)[:, :3], prior.logits(b)[:, :3])
    b[:, 0] = (b[:, 0] + 1) % 5
    torch.testing.assert_close(prior.logits(a)[:, 0], prior.logits(b)[:, 0])
    optimizer = torch.optim.Adam(prior.parameters(), lr=1e-2)
    for _ in range(300):
        loss = prior(data).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    # entropy of the data: log 5 for slot 0 and slot 2, 0 for slot 1
    assert loss.item() == pytest.approx(2 * math.log(5), abs=0.1)
    drawn = prior.sample(500)
    assert (drawn[:, 0] == drawn[:, 1]).float().mean() > 0.95


def test_perplexity_of_uniform_and_single_use():
    assert perplexity(torch.arange(8), 8) == pytest.approx(8.0)
    assert perplexity(torch.zeros(10, dtype=torch.long), 8) == pytest.approx(1.0)


def test_samples_are_decoded_codebook_vectors(fitted):
    vq, _ = fitted
    samples = vq.sample(6, random_state=1, noise=False)
    assert samples.shape == (6, 12)
    np.testing.assert_array_equal(samples, vq.sample(6, random_state=1, noise=False))
    # decoder means of codebook vectors: transform gives codes back on the codebook
    rng = np.random.RandomState(1)
    drawn = vq._draw_codes(6, rng)
    rows = drawn.reshape(6, 4, 2)
    assert all(any(np.allclose(v, c) for c in vq.codebook_) for v in rows.reshape(-1, 2))


def test_clear_errors():
    X = np.random.RandomState(0).rand(50, 6)
    with pytest.raises(ValueError, match="multiple of n_slots"):
        VQVAETransformer(n_components=10, n_slots=4, max_iter=1).fit(X)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        VQVAETransformer(**{**SMALL, "prior": AutoregressivePrior(hidden_layer_sizes=(0,))}).fit(X)


def test_round_trip_through_a_model_file(fitted, tmp_path):
    vq, X = fitted
    path = tmp_path / "vq.safetensors"
    skvae.save(vq, path)
    loaded = skvae.load(path)
    np.testing.assert_array_equal(loaded.code_indices(X), vq.code_indices(X))
    np.testing.assert_array_equal(loaded.score_samples(X), vq.score_samples(X))
    np.testing.assert_array_equal(loaded.sample(3, random_state=0), vq.sample(3, random_state=0))
