"""The training budget (batch, step size and epochs that follow the rows) and the stopping rule."""

import math

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from skvae import GMVAEClusterer, VAEOutlierDetector, VAETransformer
from skvae._registry import registered_classes

SMALL = dict(n_components=2, hidden_layer_sizes=(8,), random_state=0)


def _rows(n, seed=0):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, 3)) @ rng.normal(size=(3, 6)) + 0.3 * rng.normal(size=(n, 6))


def _optimizer_steps(estimator):
    """Adam's step count: the optimiser steps the fit took."""
    state = estimator.net_.optimizer_.state
    return int(next(iter(state.values()))["step"])


@pytest.mark.parametrize("cls", [cls for _, cls in registered_classes()])
def test_every_estimator_defaults_to_the_budget(cls):
    params = cls().get_params()
    assert params["batch_size"] == "auto"
    assert isinstance(params["max_steps"], int) and params["max_iter"] >= 1


@pytest.mark.parametrize(
    "n, batch", [(60, 60), (1797, 128), (2048, 128), (7000, 437), (20_000, 1024), (10**6, 1024)]
)
def test_auto_batch_and_step_size_follow_the_rows(n, batch):
    vae = VAETransformer()
    plan = vae._plan(n)
    assert plan.batch_size == batch
    # the square-root rule, from a step size meant for 128 rows (never lower)
    expected = vae.learning_rate_init * math.sqrt(max(batch, 128) / 128)
    assert plan.learning_rate == pytest.approx(expected)
    per_epoch = math.ceil(n / batch)
    assert plan.n_epochs == max(1, min(vae.max_iter, vae.max_steps // per_epoch))
    assert plan.n_steps == plan.n_epochs * per_epoch


def test_steps_are_bounded_and_epochs_fall_on_large_data():
    vae = VAETransformer()
    steps, epochs = [], []
    for n in np.unique(np.geomspace(10, 10**7, 80).astype(int)):
        plan = vae._plan(int(n))
        per_epoch = math.ceil(n / plan.batch_size)
        steps.append(plan.n_epochs * per_epoch)
        epochs.append(plan.n_epochs)
        # never more than max_steps unless one epoch is longer, and not an
        # epoch's worth short of it unless max_iter epochs come first
        assert steps[-1] <= max(vae.max_steps, per_epoch)
        assert steps[-1] > min(vae.max_steps - per_epoch, vae.max_iter * per_epoch - 1)
    # small data: max_iter epochs; data of more than max_steps batches: one epoch
    assert epochs[0] == vae.max_iter and epochs[-1] == 1


def test_a_fit_takes_the_planned_steps_batch_and_step_size():
    X = _rows(2000)
    vae = VAETransformer(**SMALL, max_steps=40).fit(X)
    # 2000 // 16 = 125 rows per batch, raised to 128: 16 steps an epoch, the
    # 2 whole epochs within 40 steps
    assert vae.net_.batch_size == 128 and vae.n_iter_ == 2
    assert _optimizer_steps(vae) == 32
    big = VAETransformer(**SMALL, max_steps=32, learning_rate="constant").fit(_rows(8000))
    assert big.net_.batch_size == 500 and big.n_iter_ == 2  # 16 steps an epoch
    rate = big.net_.optimizer_.param_groups[0]["lr"]
    assert rate == pytest.approx(big.learning_rate_init * math.sqrt(500 / 128))
    # an int batch size keeps learning_rate_init; max_steps=None runs max_iter epochs
    fixed = VAETransformer(
        **SMALL, batch_size=64, max_steps=None, max_iter=4, learning_rate="constant"
    ).fit(X)
    assert fixed.n_iter_ == 4 and _optimizer_steps(fixed) == 4 * math.ceil(2000 / 64)
    assert fixed.net_.optimizer_.param_groups[0]["lr"] == fixed.learning_rate_init


def test_the_budget_scales_the_schedules():
    """The KL warm-up and the cosine schedule run over the planned epochs, not max_iter."""
    seen = []

    class Watch(Callback):
        def on_epoch_end(self, net, **kwargs):
            seen.append((net.criterion_.kl_factor, net.optimizer_.param_groups[0]["lr"]))

    vae = VAETransformer(**SMALL, max_steps=16 * 8, callbacks=[Watch()]).fit(_rows(2000))
    assert vae.n_iter_ == 8
    factors, rates = zip(*seen, strict=True)
    # warm-up over ceil(0.25 * 8) = 2 epochs; the step size decays to zero over 8
    assert factors[:3] == (0.5, 1.0, 1.0)
    assert rates[-1] == pytest.approx(0.0, abs=1e-12) and rates[3] > 0.3 * vae.learning_rate_init


def test_short_plans_still_warm_up_step_by_step():
    """A plan of a few long epochs (large data) warms the KL term up within them."""
    factors = []

    class Watch(Callback):
        def on_batch_end(self, net, training=False, **kwargs):
            if training:
                factors.append(net.criterion_.kl_factor)

    vae = VAETransformer(**SMALL, max_steps=64, callbacks=[Watch()]).fit(_rows(4000))
    assert vae.n_iter_ == 4 and len(factors) == 64  # 4 epochs of 16 steps
    # ceil(0.25 * 64) = 16 steps of warm-up: 1/16, 2/16, ... then the full weight
    np.testing.assert_allclose(factors[:16], np.arange(1, 17) / 16)
    assert factors[16:] == [1.0] * 48
    temperatures = []

    class Temperature(Callback):
        def on_batch_end(self, net, training=False, **kwargs):
            if training:
                temperatures.append(net.module_.temperature)

    GMVAEClusterer(n_clusters=2, n_init=1, init="random", hidden_layer_sizes=(8,), max_steps=32,
                   neighbor_weight=0.0, random_state=0,
                   callbacks=[Temperature()]).fit(_rows(4000))
    # a plan of two epochs of 16 steps: from temperature_init to temperature_min
    assert temperatures[0] == pytest.approx(1.0) and temperatures[-1] == pytest.approx(0.5)
    assert np.all(np.diff(temperatures) < 0)


def test_partial_fit_takes_an_auto_batch_from_its_chunk():
    vae = VAETransformer(**SMALL)
    vae.partial_fit(_rows(4000))
    assert vae.net_.batch_size == 250 and vae.n_iter_ == 1
    assert _optimizer_steps(vae) == 16
    assert vae.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(
        vae.learning_rate_init * math.sqrt(250 / 128)
    )
    vae.partial_fit(_rows(500, seed=1))  # a smaller chunk: a smaller batch
    assert vae.net_.batch_size == 128 and _optimizer_steps(vae) == 16 + 4


class _Snapshots(Callback):
    """The weights at the end of every epoch."""

    def __init__(self):
        self.weights = []

    def on_epoch_end(self, net, **kwargs):
        self.weights.append({k: v.clone() for k, v in net.module_.state_dict().items()})


def _snapshots(estimator):
    """The weights that the fit's copy of the _Snapshots callback saw."""
    (found,) = [cb for _, cb in estimator.net_.callbacks_ if isinstance(cb, _Snapshots)]
    return found.weights


def _same_weights(module, weights):
    return all(torch.equal(v, weights[k]) for k, v in module.state_dict().items())


def test_the_rule_stops_on_a_plateau_of_the_training_loss():
    X = _rows(600)
    # a step size too small to move the weights: the loss is flat from the start
    flat = VAETransformer(
        **SMALL, learning_rate_init=1e-12, max_iter=100, max_steps=None, kl_warmup=0.0,
        n_iter_no_change=5, learning_rate="constant",
    ).fit(X)
    # first checked after a quarter of the plan (25 epochs) and two windows of 5
    assert 35 <= flat.n_iter_ < 100
    # a loss that falls is not stopped
    learning = VAETransformer(
        **SMALL, max_iter=40, max_steps=None, learning_rate="constant"
    ).fit(X)
    assert learning.n_iter_ == 40


@pytest.mark.parametrize("kl_warmup, first", [(0.0, 25), (0.5, 50)])
def test_the_rule_never_stops_before_the_warmup_and_a_quarter_of_the_plan(kl_warmup, first):
    # an improvement of 1000 nats never comes: the rule stops as soon as it may
    vae = VAETransformer(
        **SMALL, max_iter=100, max_steps=None, kl_warmup=kl_warmup, n_iter_no_change=3,
        tol=1e3, learning_rate="constant",
    ).fit(_rows(300))
    assert vae.n_iter_ == first + 2 * 3
    assert len(vae.loss_curve_) == vae.n_iter_
    # with the budget: a quarter of the planned epochs, not of max_iter
    planned = VAETransformer(**SMALL, max_steps=40 * 3, kl_warmup=0.0, n_iter_no_change=2,
                             tol=1e3, learning_rate="constant").fit(_rows(300))
    assert planned.n_iter_ == 10 + 2 * 2  # 3 steps an epoch: 40 epochs planned


def test_the_cosine_schedule_runs_to_its_end():
    # the default schedule: the training loss is not watched, whatever tol says
    vae = VAETransformer(**SMALL, max_iter=30, max_steps=None, n_iter_no_change=2,
                         tol=1e3).fit(_rows(300))
    assert vae.n_iter_ == 30


def test_the_training_rule_restores_nothing(capsys):
    vae = VAETransformer(
        **SMALL, max_iter=40, max_steps=None, kl_warmup=0.0, n_iter_no_change=2, tol=1e3,
        learning_rate="constant", callbacks=[_Snapshots()], verbose=1,
    ).fit(_rows(300))
    snapshots = _snapshots(vae)
    assert vae.n_iter_ == 14 == len(snapshots)  # every callback saw the last epoch
    assert _same_weights(vae.module_, snapshots[-1])
    message = capsys.readouterr().err
    assert "Stopped after epoch 14: train_loss stopped improving by tol=1000" in message
    assert "kept" not in message


def test_the_validation_rule_keeps_its_best_epoch_and_says_so(capsys):
    vae = VAETransformer(
        **SMALL, max_iter=60, max_steps=None, kl_warmup=0.0, early_stopping=True,
        n_iter_no_change=3, learning_rate="constant", learning_rate_init=0.05,
        callbacks=[_Snapshots()], verbose=1,
    ).fit(_rows(300))
    watched = vae.validation_loss_curve_[15:]  # a quarter of 60 epochs unwatched
    best = 15 + int(np.argmin(watched))
    if vae.n_iter_ == 60:
        pytest.fail("the validation loss never stalled: the test needs a noisier setting")
    assert vae.n_iter_ == best + 1 + 3
    assert _same_weights(vae.module_, _snapshots(vae)[best])
    message = capsys.readouterr().err
    assert f"the weights of epoch {best + 1} (the lowest valid_loss from epoch 16 on)" in message


def test_the_validation_rule_keeps_its_best_epoch_when_the_plan_ends_first(capsys):
    # n_iter_no_change longer than the plan: the rule never stops the fit
    vae = VAETransformer(
        **SMALL, max_iter=40, max_steps=None, kl_warmup=0.0, early_stopping=True,
        n_iter_no_change=100, learning_rate="constant", learning_rate_init=0.05,
        callbacks=[_Snapshots()], verbose=1,
    ).fit(_rows(300))
    assert vae.n_iter_ == 40
    best = 10 + int(np.argmin(vae.validation_loss_curve_[10:]))
    assert best != 39, "the last epoch was the best: the test needs a noisier setting"
    assert _same_weights(vae.module_, _snapshots(vae)[best])
    message = capsys.readouterr().err
    assert "Stopped" not in message and f"The weights of epoch {best + 1} (the" in message


def test_a_nan_validation_loss_never_counts_as_the_best():
    from skorch.history import History

    from skvae._callbacks import Plateau

    class Net:
        history, module_, process_group_ = History(), torch.nn.Linear(1, 1), None

    rule = Plateau("valid_loss", patience=2, first_epoch=1, load_best=True)
    net = Net()
    rule.on_train_begin(net)
    with pytest.raises(KeyboardInterrupt):
        for _ in range(5):
            net.history.new_epoch()
            net.history.record("valid_loss", math.nan)
            rule.on_epoch_end(net)
    assert rule.stopped_ and len(net.history) == 3 and rule.best_epoch_ is None


def test_skvae_callback_names_are_refused_for_a_users_callback():
    for settings in ({}, {"learning_rate": "constant"}):
        with pytest.raises(ValueError, match="'stopping_rule', a name skvae gives its own"):
            VAETransformer(**SMALL, **settings,
                           callbacks=[("stopping_rule", _Snapshots())]).fit(_rows(100))


def test_the_stopping_rule_ends_a_fit_inside_a_pipeline_and_clusterer():
    # the paths users take: a Pipeline, and the families with their own schedules
    X = _rows(300)
    pipe = make_pipeline(
        StandardScaler(),
        VAEOutlierDetector(**SMALL, max_iter=40, max_steps=None, n_iter_no_change=2,
                           tol=1e3, kl_warmup=0.0, learning_rate="constant"),
    ).fit(X)
    assert pipe[-1].n_iter_ == 10 + 4
    gm = GMVAEClusterer(n_clusters=2, n_init=1, hidden_layer_sizes=(8,), max_iter=40,
                        max_steps=None, n_iter_no_change=2, tol=1e3, kl_warmup=0.0,
                        learning_rate="constant", random_state=0).fit(X)
    assert gm.n_iter_ == 10 + 4 and np.isfinite(gm.predict_proba(X)).all()


def test_a_small_last_chunk_does_not_make_inference_row_by_row():
    vae = VAETransformer(**SMALL).partial_fit(_rows(3000)).partial_fit(_rows(1, seed=2))
    assert vae.net_.batch_size == 1  # the last chunk's one-row batch
    assert vae._block_size() == 128
