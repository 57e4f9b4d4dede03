"""Learned priors over codes: the latent diffusion model and ``prior="diffusion"``."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import skvae
from skvae import AutoencoderTransformer, ConditionalVAE, DiffusionPrior, VAETransformer
from skvae.models.diffusion import LatentDiffusion, MeanLoss

SMALL = dict(max_iter=3, hidden_layer_sizes=(16,), random_state=0, device="cpu")
# a prior that trains in a fraction of a second: the tests check the plumbing
TINY = DiffusionPrior(n_timesteps=20, hidden_layer_sizes=(16,), max_steps=30, batch_size=64)


def _train(model, data, steps, lr=1e-2):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = MeanLoss()
    for _ in range(steps):
        rows = torch.randint(0, len(data["x"]), (128,))
        loss = loss_fn(model(**{k: v[rows] for k, v in data.items()}))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_ddpm_learns_a_bimodal_distribution():
    """Codes from two separated modes: the reverse process finds both, not the middle."""
    torch.manual_seed(0)
    n = 4000
    side = torch.randint(0, 2, (n,)).float() * 2 - 1
    codes = torch.stack([3.0 * side + 0.3 * torch.randn(n), 0.5 * torch.randn(n)], dim=1)
    model = LatentDiffusion(
        2, n_timesteps=100, beta_start=1e-3, beta_end=0.2, hidden_layer_sizes=(32, 32)
    )
    model.set_code_statistics(codes, torch.zeros_like(codes))
    _train(model, {"x": codes}, 1000)
    with torch.no_grad():
        drawn = model.sample(2000)
    first = drawn[:, 0]
    assert abs((first > 0).float().mean().item() - 0.5) < 0.08
    # few draws between the modes, where a Gaussian fitted to the codes puts most
    assert (first.abs() < 1.5).float().mean().item() < 0.1
    assert first[first > 0].mean().item() == pytest.approx(3.0, abs=0.4)
    assert drawn[:, 1].std().item() == pytest.approx(0.5, rel=0.3)


def test_conditional_ddpm_draws_each_class_from_its_own_codes():
    torch.manual_seed(0)
    n = 3000
    labels = torch.randint(0, 3, (n,))
    centres = torch.tensor([[-4.0], [0.0], [4.0]])
    codes = centres[labels] + 0.3 * torch.randn(n, 1)
    c = torch.nn.functional.one_hot(labels, 3).float()
    model = LatentDiffusion(
        1, n_timesteps=100, beta_start=1e-3, beta_end=0.2, hidden_layer_sizes=(32, 32),
        n_conditions=3,
    )
    model.set_code_statistics(codes, torch.zeros_like(codes))
    _train(model, {"x": codes, "c": c}, 1000)
    for k in range(3):
        with torch.no_grad():
            drawn = model.sample(500, torch.nn.functional.one_hot(torch.full((500,), k), 3).float())
        assert drawn.mean().item() == pytest.approx(centres[k].item(), abs=0.5)


def test_code_statistics_cover_the_posterior_spread():
    model = LatentDiffusion(2, 10, 1e-4, 0.02, (8,))
    loc = torch.tensor([[0.0, 1.0], [2.0, 1.0]])
    scale = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    model.set_code_statistics(loc, scale)
    np.testing.assert_allclose(model.code_loc.numpy(), [1.0, 1.0])
    # variance of the means (1) plus the mean posterior variance (1)
    np.testing.assert_allclose(model.code_scale[0].item(), np.sqrt(2.0), rtol=1e-6)


@pytest.mark.parametrize("cls", [VAETransformer, AutoencoderTransformer])
def test_diffusion_prior_trains_after_the_autoencoder(cls, wine):
    X = wine[0]
    plain = cls(**SMALL).fit(X)
    est = cls(prior=TINY, **SMALL).fit(X)
    # the autoencoder is the same: the prior trains afterwards, on its codes
    np.testing.assert_array_equal(est.transform(X), plain.transform(X))
    assert plain.prior_loss_curve_ is None
    # 30 steps in epochs of 3 batches of 64 codes (178 rows)
    assert len(est.prior_loss_curve_) == 10
    # the untrained predictor (zero output) loses n_components = 2 per code
    assert np.isfinite(est.prior_loss_curve_).all() and est.prior_loss_curve_[-1] < 2.5
    samples = est.sample(5, random_state=3, noise=False)
    assert samples.shape == (5, X.shape[1]) and np.isfinite(samples).all()
    np.testing.assert_array_equal(samples, est.sample(5, random_state=3, noise=False))
    assert not np.array_equal(samples, plain.sample(5, random_state=3, noise=False))


def test_the_progress_bar_counts_the_prior_too(wine, capsys):
    X = wine[0]  # 178 rows: 2 batches of 128 for the model, 3 of 64 for the prior
    prior = clone(TINY).set_params(max_steps=10)  # 4 epochs: 12 steps
    est = VAETransformer(prior=prior, **{**SMALL, "verbose": 1}).fit(X)
    err = capsys.readouterr().err
    total = est.n_iter_ * 2 + 12
    assert len(est.prior_loss_curve_) == 4
    assert f"{total}/{total}" in err and "prior=4/4" in err
    assert "prior loss=" in err


def test_prior_epochs_cover_max_steps(wine):
    X = wine[0]  # 178 rows: 3 batches of 64 per epoch
    prior = clone(TINY).set_params(max_steps=10)
    est = VAETransformer(prior=prior, **SMALL).fit(X)
    assert len(est.prior_loss_curve_) == 4  # ceil(10 / 3) epochs
    assert len(est.prior_loss_curve_) * 3 >= 10


def test_conditional_vae_diffusion_prior_samples_the_asked_classes(wine):
    X, y = wine
    cvae = ConditionalVAE(prior=TINY, **SMALL).fit(X, y)
    samples, labels = cvae.sample(y=[0, 1, 2, 2], random_state=0)
    assert samples.shape == (4, X.shape[1])
    assert labels.tolist() == [0, 1, 2, 2]
    assert cvae.module_.code_prior.n_conditions == 3


def test_diffusion_shorthand_and_nested_parameters(wine):
    X = wine[0]
    est = VAETransformer(prior="diffusion", **SMALL)
    assert est.get_params()["prior"] == "diffusion"
    est.set_params(prior=DiffusionPrior(), prior__n_timesteps=7)
    assert est.prior.n_timesteps == 7
    copy = clone(est)
    assert copy.prior is not est.prior and copy.prior.n_timesteps == 7
    search = GridSearchCV(
        VAETransformer(prior=TINY, **SMALL),
        {"prior__hidden_layer_sizes": [(8,), (16,)]},
        cv=2,
    ).fit(X)
    assert search.best_estimator_.module_.code_prior is not None


def test_changing_the_prior_after_fit_does_not_change_the_fitted_model(wine):
    X = wine[0]
    prior = clone(TINY)
    est = VAETransformer(prior=prior, **SMALL).fit(X)
    before = est.sample(3, random_state=0)
    prior.set_params(n_timesteps=50)  # the user's object, after the fit
    np.testing.assert_array_equal(est.sample(3, random_state=0), before)
    assert est._fitted_structure_["prior"].n_timesteps == 20
    est.set_params(warm_start=True)
    with pytest.raises(ValueError, match="prior"):
        est.fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(n_timesteps=0), "n_timesteps must be a positive integer"),
        (dict(beta_end=1.0), "beta_end"),
        (dict(beta_start=0.1, beta_end=0.01), "beta_start <= beta_end"),
        (dict(hidden_layer_sizes=(8, 0)), "hidden_layer_sizes"),
        (dict(learning_rate_init=float("nan")), "learning_rate_init"),
        (dict(max_steps=2.5), "max_steps"),
        (dict(max_steps="fast"), "max_steps must be a positive integer"),
    ],
)
def test_bad_prior_settings_are_clear_errors(params, match, wine):
    est = VAETransformer(prior=DiffusionPrior(**params), **SMALL)
    with pytest.raises(ValueError, match=match):
        est.fit(wine[0])
    assert not hasattr(est, "net_")


@pytest.mark.parametrize("cls", [VAETransformer, AutoencoderTransformer])
def test_saved_model_samples_the_same(cls, wine, tmp_path):
    est = cls(prior=TINY, **SMALL).fit(wine[0])
    path = tmp_path / "model.safetensors"
    skvae.save(est, path)
    loaded = skvae.load(path)
    assert isinstance(loaded.prior, DiffusionPrior)
    np.testing.assert_array_equal(loaded.sample(4, random_state=2), est.sample(4, random_state=2))
    assert loaded.prior_loss_curve_ == est.prior_loss_curve_


def test_diffusion_prior_is_not_an_estimator_to_check():
    names = [name for name, _ in skvae.all_estimators()]
    assert "DiffusionPrior" not in names and "AutoencoderTransformer" in names
