"""Randomness without global state: every draw comes from a generator of the call's own.

The same seed gives the same numbers whether a call runs alone or beside
others in threads, and no public method reads, reseeds or moves torch's
global generator (the caller's stream).
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from helpers import cheap, fit_estimator, takes_y
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skvae import DiffusionPrior, VAETransformer, all_estimators

CHEAP = dict(max_iter=4, hidden_layer_sizes=(16,), batch_size=32, random_state=0)
N_THREADS = 8


def _data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4)) @ rng.normal(size=(4, 10)) + 0.1 * rng.normal(size=(120, 10))
    return X, np.arange(120) % 3


def _model(cls, **params):
    return cls(**{**CHEAP, **cheap(cls), **params})


def _in_threads(fn, n=N_THREADS):
    """``fn()`` in ``n`` threads at once.

    Each thread runs torch at the caller's intra-op thread count: float
    reductions split over another number of threads round differently (by an
    ulp), whatever the random draws, so bit-identical numbers need the same
    count (a new thread starts at torch's default, not at the caller's).
    """
    threads = torch.get_num_threads()

    def run(_):
        torch.set_num_threads(threads)
        return fn()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def _weights(est):
    return torch.cat([p.detach().flatten() for p in est.module_.state_dict().values()
                      if p.is_floating_point()])


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    return {name: fit_estimator(_model(cls), X, y) for name, cls in all_estimators()}


@pytest.mark.parametrize(
    "name", [name for name, cls in all_estimators() if hasattr(cls, "sample")]
)
def test_sample_in_threads_matches_the_serial_call(fitted, name):
    est = fitted[name]
    serial = est.sample(50, random_state=0)
    parts = serial if isinstance(serial, tuple) else (serial,)  # (X, y) of the generative ones
    for out in _in_threads(lambda: est.sample(50, random_state=0)):
        out = out if isinstance(out, tuple) else (out,)
        for a, b in zip(parts, out, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["GMVAEClusterer", "VAETransformer", "HierarchicalVAETransformer"])
def test_scores_with_draws_in_threads_match_the_serial_call(fitted, name):
    X, _ = _data()
    est = fitted[name]
    kwargs = {"n_draws": 7} if name == "GMVAEClusterer" else {}
    serial = est.score_samples(X, **kwargs)
    for out in _in_threads(lambda: est.score_samples(X, **kwargs)):
        np.testing.assert_array_equal(serial, out)


@pytest.mark.parametrize("name, cls", all_estimators())
def test_fits_in_threads_match_the_serial_fit(name, cls):
    X, y = _data()
    serial = _weights(fit_estimator(_model(cls), X, y))
    for est in _in_threads(lambda: fit_estimator(_model(cls), X, y), n=4):
        torch.testing.assert_close(_weights(est), serial, rtol=0, atol=0)


def test_a_learned_prior_in_threads_matches_the_serial_fit():
    X, _ = _data()
    prior = DiffusionPrior(n_timesteps=10, hidden_layer_sizes=(16,), max_steps=30)

    def fit_and_sample():
        est = _model(VAETransformer, prior=prior).fit(X)
        return est.prior_loss_curve_, est.sample(20, random_state=1)

    curve, samples = fit_and_sample()
    for other_curve, other in _in_threads(fit_and_sample, n=4):
        assert other_curve == curve
        np.testing.assert_array_equal(other, samples)


def test_grid_search_with_threads_scores_as_one_job():
    X, _ = _data()
    grid = {"n_components": [1, 2], "beta": [0.5, 1.0]}
    serial = GridSearchCV(_model(VAETransformer), grid, cv=2).fit(X)
    from joblib import parallel_backend

    with parallel_backend("threading", n_jobs=4):
        threaded = GridSearchCV(_model(VAETransformer), grid, cv=2, n_jobs=4).fit(X)
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], threaded.cv_results_["mean_test_score"]
    )


@pytest.mark.parametrize("name, cls", all_estimators())
def test_public_methods_leave_the_callers_torch_stream_alone(name, cls):
    X, y = _data()
    torch.manual_seed(1234)
    before = torch.random.get_rng_state()
    est = fit_estimator(_model(cls), X, y)
    args = (X, y) if takes_y(est) else (X,)
    if hasattr(est, "partial_fit"):  # not with a learned prior
        est.partial_fit(*args)
    if hasattr(est, "sample"):
        est.sample(5, random_state=0)
        est.sample(5)
    est.score_samples(*args)
    fit_estimator(clone(est).set_params(random_state=None), X, y)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_another_threads_draws_do_not_move_with_a_fit():
    """The caller's stream gives the same numbers while another thread fits."""
    X, _ = _data()
    torch.manual_seed(7)
    expected = torch.rand(2000)
    torch.manual_seed(7)
    with ThreadPoolExecutor(1) as pool:
        job = pool.submit(lambda: _model(VAETransformer, max_iter=20).fit(X))
        drawn = torch.cat([torch.rand(1) for _ in range(2000)])
        job.result()
    torch.testing.assert_close(drawn, expected, rtol=0, atol=0)


def test_a_user_module_with_dropout_is_seeded_by_random_state():
    """Weights and dropout masks of a user's encoder follow random_state alone."""

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(
                torch.nn.Linear(10, 16), torch.nn.Dropout(0.3), torch.nn.ReLU()
            )

        def forward(self, x):
            return self.body(x)

    X, _ = _data()
    torch.manual_seed(0)
    a = _model(VAETransformer, encoder=Encoder).fit(X)
    torch.manual_seed(99)
    b = _model(VAETransformer, encoder=Encoder).fit(X)
    torch.testing.assert_close(_weights(a), _weights(b), rtol=0, atol=0)
