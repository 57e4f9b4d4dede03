"""Proof by extension: a model family defined here, through the public route only.

An MMD-VAE (an InfoVAE, Zhao et al. 2019): the VAE's Gaussian posterior and
decoder, trained on the ELBO plus ``mmd_weight`` times the maximum mean
discrepancy between the batch's codes and draws of the prior ``N(0, I)``.
Nothing inside skvae/ names it: the registry, scikit-learn's checks, the
model files, the Displays, the hostile-input suite and GridSearchCV take it
as they take skvae's own families. The user guide's "Adding a model family"
walks through this file.
"""

import importlib.util
import io
from numbers import Real
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch
from sklearn.datasets import load_wine
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval
from sklearn.utils.estimator_checks import parametrize_with_checks

import skvae
from skvae import ModelTags
from skvae.base import BaseVAE, GaussianCodeTransformer, fill_doc
from skvae.models import ELBOLoss, VAEModule

# ----------------------------------------------------------- the torch side


class MMDOutput(NamedTuple):
    log_px: torch.Tensor  # (n,) log p(x | z) at one posterior draw
    kl: torch.Tensor  # (n,) KL(q(z | x) || N(0, I))
    z: torch.Tensor  # (n, k) the posterior draws
    z_prior: torch.Tensor  # (n, k) draws of the prior, from the module's generator


class MMDModule(VAEModule):
    """The VAE's module; ``forward`` also returns draws of the prior for the MMD."""

    def forward(self, x):
        out = super().forward(x)  # the ELBO's terms at one posterior draw
        return MMDOutput(out.log_px, out.kl, out.z, self.normal_like(out.z))


def mmd(a, b):
    """Squared maximum mean discrepancy with a Gaussian kernel of bandwidth ``k``."""
    k = a.shape[1]

    def kernel(u, v):
        return torch.exp(-torch.cdist(u, v) ** 2 / (2.0 * k))

    return kernel(a, a).mean() + kernel(b, b).mean() - 2 * kernel(a, b).mean()


class MMDLoss(ELBOLoss):
    """The negative ELBO (``beta`` and the KL warm-up as usual) plus the weighted MMD."""

    def __init__(self, beta=1.0, mmd_weight=10.0):
        super().__init__(beta)
        self.mmd_weight = mmd_weight

    def forward(self, output, x=None, training=False):
        return self.per_row(output, training).mean() + self.mmd_weight * mmd(
            output.z, output.z_prior
        )


# -------------------------------------------------------- the estimator


@fill_doc
class MMDVAETransformer(GaussianCodeTransformer):
    """Dimensionality reduction with an MMD-VAE (an InfoVAE).

    Parameters
    ----------
    n_components : int, default=2
        Size of the latent code.

    mmd_weight : float, default=10.0
        Weight of the maximum mean discrepancy between the codes and the prior.

    {shared_parameters}

    Attributes
    ----------
    {shared_attributes}
    """

    _parameter_constraints = {
        **BaseVAE._parameter_constraints,
        "mmd_weight": [Interval(Real, 0, None, closed="left")],
    }
    _module_class = MMDModule
    _criterion_class = MMDLoss

    def __skvae_tags__(self):
        return ModelTags()

    def __init__(
        self,
        n_components=2,
        *,
        mmd_weight=10.0,
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
        )
        self.mmd_weight = mmd_weight

    def _criterion_params(self):
        return {"beta": self.beta, "mmd_weight": self.mmd_weight}


# ---------------------------------------------------------------- the proof

SMALL = dict(max_iter=3, hidden_layer_sizes=(8,), batch_size=32, random_state=0, device="cpu")
KEY = f"{MMDVAETransformer.__module__}.{MMDVAETransformer.__qualname__}"


@pytest.fixture(scope="module")
def wine():
    X, _ = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X)


def test_the_family_is_registered_as_an_external_one():
    assert dict(skvae.all_estimators(include_external=True))[KEY] is MMDVAETransformer
    assert KEY not in dict(skvae.all_estimators())
    # its documented defaults are its own
    assert "mmd_weight : float, default=10.0" in MMDVAETransformer.__doc__
    assert "max_iter : int, default=200" in MMDVAETransformer.__doc__


@parametrize_with_checks([MMDVAETransformer(**SMALL)], xfail_strict=True)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_the_mmd_term_is_trained(wine):
    # the criterion the net trains with is the family's, with its weight; a
    # stronger weight brings the codes' spread nearer the prior's
    weak = MMDVAETransformer(mmd_weight=0.0, beta=0.01, max_iter=40, **_no_iter(SMALL)).fit(wine)
    strong = MMDVAETransformer(mmd_weight=50.0, beta=0.01, max_iter=40, **_no_iter(SMALL)).fit(wine)
    assert isinstance(strong.net_.criterion_, MMDLoss)
    assert strong.net_.criterion_.mmd_weight == 50.0

    def distance_to_prior(est):
        z = torch.as_tensor(est.transform(wine), dtype=torch.float32)
        prior = torch.randn(z.shape, generator=torch.Generator().manual_seed(0))
        return float(mmd(z, prior))

    assert distance_to_prior(strong) < distance_to_prior(weak)


def _no_iter(params):
    return {k: v for k, v in params.items() if k != "max_iter"}


def test_model_file_round_trip_and_pipeline(wine, tmp_path):
    est = MMDVAETransformer(**SMALL).fit(wine)
    skvae.save(est, tmp_path / "mmd.safetensors")
    loaded = skvae.load(tmp_path / "mmd.safetensors")
    assert type(loaded) is MMDVAETransformer and loaded.mmd_weight == 10.0
    np.testing.assert_array_equal(loaded.transform(wine), est.transform(wine))
    np.testing.assert_array_equal(loaded.score_samples(wine), est.score_samples(wine))
    pipe = make_pipeline(StandardScaler(), MMDVAETransformer(**SMALL)).fit(wine)
    skvae.save(pipe, tmp_path / "pipe.safetensors")
    np.testing.assert_array_equal(
        skvae.load(tmp_path / "pipe.safetensors").transform(wine), pipe.transform(wine)
    )


def test_every_display_that_applies(wine):
    plotting = pytest.importorskip("skvae.plotting")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pipe = make_pipeline(StandardScaler(), MMDVAETransformer(**SMALL))
    for est in (MMDVAETransformer(**SMALL), pipe):
        est.fit(wine)
        drawn = [
            plotting.TrainingDisplay.from_estimator(est),
            plotting.LatentSpaceDisplay.from_estimator(est, wine),
            plotting.ManifoldDisplay.from_estimator(est, n_points=3),
            plotting.InterpolationDisplay.from_estimator(est, wine, n_steps=3),
            plotting.ReconstructionDisplay.from_estimator(est, wine, n_rows=2),
            plotting.SampleGridDisplay.from_estimator(est, n_samples=2),
        ]
        for display in drawn:
            assert display.figure_.get_axes()
        kl = drawn[0].kl_per_dim
        assert kl is not None and len(kl) == 2
        plt.close("all")


def test_the_hostile_suite_finds_no_unclear_error_and_no_silent_result():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "hostile_inputs.py"
    spec = importlib.util.spec_from_file_location("hostile_inputs_ext", script)
    hostile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hostile)
    report = io.StringIO()
    counts, failures = hostile.run(out=report, estimators=[MMDVAETransformer])
    assert not failures, report.getvalue()
    assert counts[hostile.CLEAR] > 100 and counts[hostile.CORRECT] > 30, report.getvalue()


def test_grid_search_without_a_scorer(wine):
    # score is the mean ELBO: GridSearchCV needs no scorer
    search = GridSearchCV(
        MMDVAETransformer(**SMALL), {"mmd_weight": [0.0, 10.0]}, cv=2, error_score="raise"
    ).fit(wine)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_["mmd_weight"] in (0.0, 10.0)
