"""The torch modules and losses of each model family, tested on their own.

Each test compares a module's maths with a closed form, or with Monte Carlo
through :mod:`torch.distributions` on another code path.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.distributions import Categorical, Normal, kl_divergence

from skvae._inference import moment_match
from skvae.models import (
    FAST,
    ELBOLoss,
    GaussianLikelihood,
    Networks,
    StudentTLikelihood,
    TrimmedELBOLoss,
    VAEModule,
    VAEOutput,
    elbo_from_draws,
    iw_bound_from_draws,
)
from skvae.models.conditional import ConditionalVAEModule
from skvae.models.mixture import GMVAEModule

torch.set_default_dtype(torch.float32)


def _linear_gaussian_vae(W, b, noise_var):
    """A VAE whose decoder is ``N(W z + b, noise_var I)`` and whose encoder is
    the exact posterior, possible when ``W`` has orthogonal columns (the
    posterior covariance ``(I + W^T W / s2)^-1`` is then diagonal)."""
    D, k = W.shape
    networks = Networks(D, hidden_layer_sizes=(), activation="identity")
    module = VAEModule(
        networks,
        k,
        "gaussian",
        feature_mean=torch.zeros(D),
        feature_var=torch.ones(D),
        var_floor=1e-6,
    ).double()
    with torch.no_grad():
        out = module.decoder[-1]
        out.weight.copy_(torch.as_tensor(W))
        out.bias.copy_(torch.as_tensor(b))
        # variance = floor + exp(FAST * scaled_log_var)
        module.likelihood.scaled_log_var.fill_(
            math.log(noise_var - 1e-6) / 30.0
        )
        post_var = 1.0 / (1.0 + (W**2).sum(0) / noise_var)
        A = post_var[:, None] * W.T / noise_var
        raw_scale = np.log(np.expm1(np.sqrt(post_var) - 1e-4))  # softplus inverse
        module.z_params.weight.zero_()
        module.z_params.weight[:k].copy_(torch.as_tensor(A))
        module.z_params.bias.zero_()
        module.z_params.bias[:k].copy_(torch.as_tensor(-A @ b))
        module.z_params.bias[k:].copy_(torch.as_tensor(raw_scale))
    return module.eval()


@pytest.fixture
def linear_model():
    rng = np.random.RandomState(0)
    Q, _ = np.linalg.qr(rng.normal(size=(5, 2)))
    W = Q * np.array([2.0, 0.7])  # orthogonal columns of different lengths
    b = rng.normal(size=5)
    noise_var = 0.3
    x = rng.normal(size=(4, 5)) * 2 + b
    exact = torch.distributions.MultivariateNormal(
        torch.as_tensor(b), torch.as_tensor(W @ W.T + noise_var * np.eye(5))
    ).log_prob(torch.as_tensor(x))
    return _linear_gaussian_vae(W, b, noise_var), torch.as_tensor(x), exact


def test_bounds_equal_log_px_when_the_posterior_is_exact(linear_model):
    """With the exact posterior, log p(x, z) - log q(z | x) = log p(x) at every z:
    both bounds equal the closed-form marginal log-density of linear-Gaussian
    data. A wrong constant, KL or ratio term breaks the equality."""
    module, x, exact = linear_model
    eps = torch.randn(7, 2, dtype=torch.float64)
    with torch.no_grad():
        log_px, log_ratio, kl = module.log_weights(x, eps)
    torch.testing.assert_close(log_px + log_ratio, exact.expand(7, -1), rtol=0, atol=1e-9)
    torch.testing.assert_close(iw_bound_from_draws(log_px, log_ratio), exact, rtol=0, atol=1e-9)
    # the ELBO is exact only in expectation over z: exact for moment-matched draws,
    # because log p(x | z) is quadratic in z
    eps_mm = torch.as_tensor(moment_match(np.random.RandomState(1).normal(size=(20, 2))))
    with torch.no_grad():
        log_px, _, kl = module.log_weights(x, eps_mm)
    torch.testing.assert_close(elbo_from_draws(log_px, kl), exact, rtol=0, atol=1e-9)


def test_moment_matched_draws_have_mean_zero_and_identity_covariance():
    eps = moment_match(np.random.RandomState(0).normal(size=(30, 4)) * 3 + 1)
    np.testing.assert_allclose(eps.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(eps.T @ eps / 30, np.eye(4), atol=1e-12)


def test_forward_kl_is_the_closed_form_of_diagonal_gaussians():
    torch.manual_seed(0)
    module = VAEModule(
        Networks(6, hidden_layer_sizes=(8,)), 3, "gaussian",
        feature_mean=torch.zeros(6), feature_var=torch.ones(6), var_floor=1e-2,
    )
    x = torch.randn(10, 6)
    out = module(x)
    m, s = out.loc, out.scale
    closed = 0.5 * (s**2 + m**2 - 1 - torch.log(s**2)).sum(-1)
    torch.testing.assert_close(out.kl, closed, rtol=1e-5, atol=1e-6)
    # and what torch.distributions gives for the posterior against N(0, I)
    qz = module.encode(x)
    torch.testing.assert_close(out.kl, kl_divergence(qz, module.prior(qz.mean)))
    torch.testing.assert_close(out.loc, qz.mean)


@pytest.mark.parametrize(
    "likelihood, variance",
    [
        ("gaussian", "shared"), ("gaussian", "feature"), ("bernoulli", "shared"),
        ("student_t", "shared"), ("student_t", "feature"),
    ],
)
def test_training_log_px_is_the_likelihood_distributions_log_prob(likelihood, variance):
    # the training step's closed form (no distribution object) against the
    # distribution that inference uses, for one draw per row and for draws
    # with a leading axis
    torch.manual_seed(0)
    module = VAEModule(
        Networks(6, hidden_layer_sizes=(8,)), 3, likelihood, variance=variance,
        feature_mean=torch.rand(6) * 0.8 + 0.1, feature_var=torch.rand(6) + 0.5, var_floor=1e-2,
    )
    if likelihood != "bernoulli":
        with torch.no_grad():  # variances off their start, unequal across features
            log_var = module.likelihood.scaled_log_var
            log_var.add_(torch.linspace(-0.05, 0.05, log_var.numel()))
    x = torch.rand(10, 6)
    for z in (torch.randn(10, 3), torch.randn(4, 10, 3)):
        torch.testing.assert_close(module.log_px(z, x), module.px(z).log_prob(x))
    out = module(x)
    torch.testing.assert_close(out.log_px, module.px(out.z).log_prob(x))


def test_elbo_loss_weights_the_kl_only_while_training():
    out = VAEOutput(torch.tensor([-1.0]), torch.tensor([2.0]), None, None, None)
    loss = ELBOLoss(beta=1.0)
    loss.kl_factor = 0.5
    assert loss(out, training=True).item() == pytest.approx(2.0)
    assert loss(out, training=False).item() == pytest.approx(3.0)


def test_trimmed_loss_leaves_the_worst_rows_out():
    """After the warm-up, the trim share of a batch's highest-loss rows does
    not count; before it, and for validation, every row does."""
    output = VAEOutput(-torch.arange(1.0, 11.0), torch.zeros(10), None, None, None)  # losses 1..10
    loss = TrimmedELBOLoss(trim=0.2)
    assert loss(output, training=True).item() == pytest.approx(4.5)  # mean of 1..8
    assert loss(output, training=False).item() == pytest.approx(5.5)
    loss.kl_factor = 0.5  # still warming up
    assert loss(output, training=True).item() == pytest.approx(5.5)


def test_class_mismatch_is_the_kl_of_each_class_moment_gaussian():
    torch.manual_seed(0)
    module = ConditionalVAEModule(
        Networks(4, hidden_layer_sizes=(8,)), 2, "gaussian",
        feature_mean=torch.zeros(4), feature_var=torch.ones(4), var_floor=1e-2,
        n_classes=3,
    )
    z = torch.randn(12, 2) * torch.tensor([2.0, 0.5]) + 1.0
    labels = torch.tensor([0] * 5 + [1] * 6 + [2])  # class 2 has one row: left out
    expected = 0.0
    for k, count in ((0, 5), (1, 6)):
        zk = z[labels == k]
        q = Normal(zk.mean(0), zk.var(0, unbiased=True).sqrt())
        expected += count * kl_divergence(q, Normal(0.0, 1.0)).sum()
    torch.testing.assert_close(module.class_mismatch(z, labels), expected / 12)


def _mixture(n_clusters, n_features=4, k=2):
    torch.manual_seed(0)
    return GMVAEModule(
        Networks(n_features, hidden_layer_sizes=(8,)), k, "gaussian",
        feature_mean=torch.zeros(n_features), feature_var=torch.ones(n_features),
        var_floor=1e-2, n_clusters=n_clusters,
    ).eval()


def test_categorical_kl_matches_torch_distributions():
    module = _mixture(5)
    logits = torch.randn(6, 5)
    uniform = Categorical(logits=torch.zeros(5))
    torch.testing.assert_close(
        module._categorical_kl(logits), kl_divergence(Categorical(logits=logits), uniform)
    )


def test_mixture_elbo_matches_monte_carlo_of_its_definition():
    """``elbo`` (closed-form Gaussian KL, y summed out) against a plain Monte
    Carlo estimate of sum_y q(y|x) E_q(z|x,y)[log p(x|z) + log p(z|y) - log
    q(z|x,y)] - KL(q(y|x) || uniform), with independent draws."""
    module = _mixture(3)
    with torch.no_grad():  # a peaked q(y | x), so that its KL term counts
        module.y_logits.weight.mul_(20.0)
    x = torch.randn(5, 4)
    eps = torch.as_tensor(moment_match(np.random.RandomState(0).normal(size=(4000, 2))))
    with torch.no_grad():
        elbo = module.elbo(x, eps.float())
        probs, qz = module.posteriors(x)  # (n, K), batch (K, n)
        z = qz.sample((20000,))  # (S, K, n, k)
        pz = module.cluster_prior(module._one_hots(x))
        per_y = (module.decode(z).log_prob(x) + pz.log_prob(z) - qz.log_prob(z)).mean(0)
        logits = module.cluster_logits(x)
        cat = kl_divergence(Categorical(logits=logits), Categorical(logits=torch.zeros(3)))
        mc = (probs.T * per_y).sum(0) - cat
    assert cat.min() > 0.2
    torch.testing.assert_close(elbo, mc, rtol=0, atol=0.05)


@pytest.mark.parametrize(
    "shape, channels", [((1, 28, 28), (4, 8)), ((1, 8, 8), (4, 8, 8)), ((3, 7, 9), (4, 8)),
                        ((2, 5, 5), (3,)), ((1, 6, 6), ())]
)
def test_conv_networks_give_back_the_image_shape(shape, channels):
    n_features = int(np.prod(shape))
    networks = Networks(
        n_features, architecture="conv", hidden_layer_sizes=(16,), image_shape=shape,
        conv_channels=channels,
    )
    encoder, decoder = networks.build_encoder(), networks.build_decoder(3)
    h = encoder(torch.randn(5, n_features))
    assert h.shape == (5, 16)
    assert decoder(torch.randn(5, 3)).shape == (5, *shape)


def test_conv_networks_refuse_images_too_small_for_their_layers():
    networks = Networks(16, architecture="conv", image_shape=(1, 4, 4), conv_channels=(4, 4, 4))
    with pytest.raises(ValueError, match="too small for 3 stride-2 convolutions"):
        networks.build_encoder()


class _ThreeD(nn.Module):
    def forward(self, x):
        return x.reshape(x.shape[0], 1, -1)


class _Fails(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(3, 4)

    def forward(self, x):
        return self.layer(x)


class _WrongWidth(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.LazyLinear(7)

    def forward(self, z):
        return self.layer(z)


@pytest.mark.parametrize(
    "role, spec, match",
    [
        ("encoder", _ThreeD(), r"encoder _ThreeD returned shape \(2, 1, 6\).*\(2, n_outputs\)"),
        ("encoder", _Fails, r"encoder _Fails failed on a batch of shape \(2, 6\): RuntimeError"),
        ("encoder", 3, "must be a torch.nn.Module instance, or a class"),
        ("encoder", lambda: "not a module", "not a torch.nn.Module"),
        ("decoder", _WrongWidth, r"decoder _WrongWidth returned shape \(2, 7\).*\(2, 6\)"),
    ],
)
def test_user_modules_that_break_the_contract_are_named(role, spec, match):
    networks = Networks(6, **{role: spec})
    build = networks.build_encoder if role == "encoder" else lambda: networks.build_decoder(2)
    with pytest.raises(ValueError, match=match):
        build()


def test_user_modules_are_copied_not_trained():
    encoder = nn.Sequential(nn.Linear(6, 5), nn.Tanh())
    before = [p.detach().clone() for p in encoder.parameters()]
    body = Networks(6, encoder=encoder).build_encoder()
    assert body.n_outputs == 5 and not body.takes_context
    with torch.no_grad():
        for p in body.parameters():
            p.add_(1.0)
    for p, q in zip(encoder.parameters(), before, strict=True):
        torch.testing.assert_close(p, q)


@pytest.mark.parametrize("latent_prior", ["standard", "class"])
def test_conditional_forward_terms_are_the_distributions(latent_prior):
    torch.manual_seed(0)
    module = ConditionalVAEModule(
        Networks(5, hidden_layer_sizes=(8,)), 2, "gaussian",
        feature_mean=torch.zeros(5), feature_var=torch.ones(5), var_floor=1e-2,
        n_classes=3, latent_prior=latent_prior,
    )
    if latent_prior == "class":
        with torch.no_grad():  # class priors away from N(0, I)
            module.scaled_prior_loc.normal_(0, 0.05)
            module.scaled_prior_log_var.normal_(0, 0.05)
    x, labels = torch.randn(12, 5), torch.arange(12) % 3
    out = module(x, labels)
    qz = module.encode(x, labels)
    torch.testing.assert_close(out.loc, qz.mean)
    torch.testing.assert_close(out.kl, kl_divergence(qz, module.class_prior_of(labels)(qz.mean)))
    torch.testing.assert_close(out.log_px, module.decode(out.z, labels).log_prob(x))


def test_student_t_log_prob_is_the_closed_form_and_tends_to_the_gaussian():
    torch.manual_seed(0)
    mean, var = torch.rand(5), torch.rand(5) + 0.5
    t_head = StudentTLikelihood(mean, var, var_floor=1e-2, shared=False, df_init=3.0)
    with torch.no_grad():  # unequal tails across features
        t_head.scaled_log_df.add_(torch.linspace(-0.03, 0.03, 5))
    raw, x = torch.randn(7, 5), 3 * torch.randn(7, 5)
    df, loc, scale = t_head.df, t_head.mean(raw), t_head.variance.sqrt()
    u = (x - loc) / scale
    closed = (
        torch.lgamma((df + 1) / 2) - torch.lgamma(df / 2) - 0.5 * torch.log(df * math.pi)
        - torch.log(scale) - (df + 1) / 2 * torch.log1p(u**2 / df)
    ).sum(-1)
    torch.testing.assert_close(t_head.log_prob(raw, x), closed)
    with pytest.raises(ValueError, match="df_init must be above 1"):
        StudentTLikelihood(mean, var, var_floor=1e-2, df_init=1.0)
    # with very many degrees of freedom it is the Gaussian with the same
    # variance (in float64: lgamma of 1e8 leaves float32 no digits)
    gauss = GaussianLikelihood(mean, var, var_floor=1e-2, shared=False).double()
    t_head = t_head.double()
    with torch.no_grad():
        t_head.scaled_log_df.fill_(math.log(1e8) / FAST)
    raw, x = raw.double(), x.double()
    torch.testing.assert_close(
        t_head.log_prob(raw, x), gauss.log_prob(raw, x), rtol=1e-5, atol=1e-4
    )
