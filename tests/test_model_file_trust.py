"""skvae.load trusts nothing it reads: edited model files are refused, clearly, before any build."""

import copy
import json
import os
import pickle
import threading

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.torch import save_file

import skvae
from skvae import VAETransformer

X = np.random.RandomState(0).normal(size=(60, 5))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "vae.safetensors"
    est = VAETransformer(max_iter=2, hidden_layer_sizes=(8,), random_state=0).fit(X)
    skvae.save(est, path)
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    return est, path, json.loads(metadata["skvae"]), tensors, metadata


def _write(path, description, tensors, metadata, raw=None):
    meta = dict(metadata)
    meta["skvae"] = raw if raw is not None else json.dumps(description)
    save_file(tensors, str(path), metadata=meta)
    return path


def _edited(saved, tmp_path, edit=None, raw=None, tensors=None):
    _, _, description, original, metadata = saved
    description = copy.deepcopy(description)
    if edit is not None:
        edit(description)
    return _write(tmp_path / "edited.safetensors", description, tensors or original, metadata, raw)


def _state(d):
    return d["model"]["state"]


CASES = {
    "a JSON list": dict(raw="[1, 2]"),
    "null": dict(raw="null"),
    "5,000 levels of nesting": dict(raw="[" * 5000 + "]" * 5000),
    "a 5,001-digit integer": dict(raw='{"format_version": 1, "model": ' + "9" * 5001 + "}"),
    "a state that is a list": dict(edit=lambda d: d["model"].__setitem__("state", [1])),
    "weights that are a string": dict(edit=lambda d: d["model"].__setitem__("weights", "w")),
    "no n_features_in_": dict(edit=lambda d: _state(d).pop("n_features_in_")),
    "n_features_in_ of -3": dict(edit=lambda d: _state(d).__setitem__("n_features_in_", -3)),
    "n_features_in_ of 10**12": dict(
        edit=lambda d: _state(d).__setitem__("n_features_in_", 10**12)
    ),
    "batch_size of -1": dict(edit=lambda d: _state(d).__setitem__("batch_size", -1)),
    "batch_size of 0": dict(edit=lambda d: _state(d).__setitem__("batch_size", 0)),
    "an attribute named transform": dict(edit=lambda d: _state(d).__setitem__("transform", 1)),
    "x_unit_ a string": dict(edit=lambda d: _state(d).__setitem__("x_unit_", "a")),
    "a huge integer": dict(edit=lambda d: _state(d).__setitem__("max_iter", 10**30)),
    "a string array declaring a huge width": dict(
        edit=lambda d: _state(d).__setitem__(
            "feature_names_in_",
            {"__strings__": ["a"] * 5, "dtype": "<U50000000", "shape": [5]},
        )
    ),
    "a history of numbers": dict(edit=lambda d: d["model"].__setitem__("history", [1, 2])),
    "a history of lists": dict(edit=lambda d: d["model"].__setitem__("history", [[1]])),
    "a training loss that is a string": dict(
        edit=lambda d: d["model"]["history"][0].__setitem__("train_loss", "low")
    ),
    "a batch record that is a number": dict(
        edit=lambda d: d["model"]["history"][0].__setitem__("batches", [3])
    ),
    "wide hidden layers declared": dict(
        edit=lambda d: _state(d)["_fitted_structure_"]["__dict__"].__setitem__(
            "hidden_layer_sizes", {"__tuple__": [100000, 100000]}
        )
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_edited_file_is_refused_with_a_message_naming_it(saved, tmp_path, case):
    path = _edited(saved, tmp_path, **CASES[case])
    with pytest.raises(ValueError, match="edited.safetensors"):
        skvae.load(path)


def test_an_offset_of_the_wrong_length_and_nan_weights_are_refused(saved, tmp_path):
    _, _, description, tensors, metadata = saved
    key = next(k for k in tensors if "x_offset_" in k)
    short = dict(tensors, **{key: tensors[key][:2].clone()})
    path = _write(tmp_path / "short.safetensors", description, short, metadata)
    with pytest.raises(ValueError, match="x_offset_"):
        skvae.load(path)
    weight = next(k for k in tensors if k.endswith("weight"))
    bad = tensors[weight].clone()
    bad[0, 0] = float("nan")
    path = _write(tmp_path / "nan.safetensors", description, dict(tensors, **{weight: bad}),
                  metadata)
    with pytest.raises(ValueError, match="not finite"):
        skvae.load(path)


def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.fifo"
    os.mkfifo(fifo)
    outcome = []

    def attempt():
        try:
            skvae.load(fifo)
        except ValueError as exc:
            outcome.append(str(exc))

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert outcome and "not a regular file" in outcome[0]


def test_an_unknown_device_is_refused_as_fit_refuses_it(saved):
    _, path, *_ = saved
    with pytest.raises(ValueError, match="nonsense"):
        skvae.load(path, device="nonsense")


# Mutations of every key of the description: each load is refused with a
# ValueError that names the file, or gives a model that answers with finite
# numbers. Nothing else (no AttributeError, no NaN, no numpy error).


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            yield from _paths(v, prefix + (i,))


MUTATIONS = {
    "remove": None,
    "null": lambda v: None,
    "string": lambda v: "x",
    "list": lambda v: [v],
    "negative": lambda v: -1,
    "huge": lambda v: 2**62,
    "float": lambda v: 0.5,
    "deep": lambda v: [[[[[[v]]]]]],
    "mapping": lambda v: {"__dict__": {"a": v}},
}


@settings(
    max_examples=int(os.environ.get("SKVAE_HYPOTHESIS_EXAMPLES", 60)),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_mutation_of_the_description_is_refused_or_harmless(saved, tmp_path, data):
    est, _, description, tensors, metadata = saved
    paths = [p for p in _paths(description["model"]) if p]
    where = data.draw(st.sampled_from(paths))
    how = data.draw(st.sampled_from(sorted(MUTATIONS)))
    mutated = copy.deepcopy(description)
    parent = mutated["model"]
    for key in where[:-1]:
        parent = parent[key]
    if how == "remove":
        if isinstance(parent, dict):
            parent.pop(where[-1])
        else:
            parent.pop(where[-1])
    else:
        parent[where[-1]] = MUTATIONS[how](parent[where[-1]])
    path = _write(tmp_path / "mutated.safetensors", mutated, tensors, metadata)
    try:
        loaded = skvae.load(path)
    except ValueError as exc:
        assert "mutated.safetensors" in str(exc), exc
        return
    # a harmless mutation (verbose, a curve, a name): the model still answers
    codes = loaded.transform(X)
    assert codes.shape == (len(X), est.n_components) and np.isfinite(codes).all()
    assert np.isfinite(loaded.score_samples(X)).all()
    assert torch.get_default_dtype() == torch.float32


@pytest.mark.parametrize("chunks", [1, 3])
def test_partial_fit_after_load_continues_as_the_unsaved_model(tmp_path, chunks):
    # the optimiser's state is in the file: save, load and the next
    # partial_fit give what pickle (and the unsaved model) give
    import pickle

    est = VAETransformer(hidden_layer_sizes=(8,), random_state=0)
    for _ in range(chunks):
        est.partial_fit(X)
    skvae.save(est, tmp_path / "m.safetensors")
    loaded = skvae.load(tmp_path / "m.safetensors")
    pickled = pickle.loads(pickle.dumps(est))
    for model in (est, loaded, pickled):
        model.partial_fit(X[:30])
        model.partial_fit(X[30:])
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))
    np.testing.assert_array_equal(pickled.transform(X), est.transform(X))


def test_a_damaged_optimiser_state_is_refused(tmp_path):
    est = VAETransformer(hidden_layer_sizes=(8,), random_state=0).partial_fit(X)
    skvae.save(est, tmp_path / "m.safetensors")
    with safe_open(str(tmp_path / "m.safetensors"), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    description = json.loads(metadata["skvae"])
    key = next(k for k in tensors if k.endswith("exp_avg") and tensors[k].ndim == 2)
    wrong = dict(tensors, **{key: torch.zeros(3, 3)})
    path = _write(tmp_path / "wrong.safetensors", description, wrong, metadata)
    with pytest.raises(ValueError, match="wrong.safetensors.*optimiser"):
        skvae.load(path)


def _edit_file(est, tmp_path, edit, name="edited.safetensors"):
    """Save ``est``, apply ``edit(description, tensors)``, write the file back."""
    original = tmp_path / "original.safetensors"
    skvae.save(est, original)
    with safe_open(str(original), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    description = json.loads(metadata["skvae"])
    edit(description, tensors)
    return _write(tmp_path / name, description, tensors, metadata)


def _load_within(path, seconds=60):
    """skvae.load(path) and a probe, in a thread: a hang fails instead of blocking."""
    outcome = []

    def run():
        try:
            model = skvae.load(path)
            outcome.append(("loaded", model))
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(("error", exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert outcome, "skvae.load did not return"
    return outcome[0]


SMALL = dict(max_iter=2, hidden_layer_sizes=(8,), random_state=0)


def _step_edit(name, change):
    def edit(description, tensors):
        pipeline_or_model = description["model"]
        change(pipeline_or_model["state"], tensors)

    return edit


EDITS = {
    "a Student-t likelihood with infinite degrees of freedom": (
        lambda: skvae.GMVAEClusterer(n_clusters=2, likelihood="student_t", **SMALL),
        lambda d, t: [v.fill_(30.0) for k, v in t.items() if k.endswith("scaled_log_df")],
    ),
    "float8 weights": (
        lambda: VAETransformer(**SMALL),
        lambda d, t: t.update(
            {k: v.to(torch.float8_e4m3fn) for k, v in t.items() if k.endswith("z_params.weight")}
        ),
    ),
    "a scalar that overflows its type": (
        lambda: VAETransformer(**SMALL),
        lambda d, t: d["model"]["state"].__setitem__(
            "n_active_units_", {"__scalar__": "<i1", "value": 1000}
        ),
    ),
    "a device that does not exist": (
        lambda: VAETransformer(**SMALL),
        lambda d, t: d["model"]["state"].__setitem__("device", {"__device__": "garbage"}),
    ),
    "the parameter constraints replaced": (
        lambda: VAETransformer(**SMALL),
        lambda d, t: d["model"]["state"].update(
            _parameter_constraints={"__dict__": {}}, batch_size=-3
        ),
    ),
    "partial_fit hidden by a string": (
        lambda: VAETransformer(**SMALL),
        lambda d, t: d["model"]["state"].__setitem__("partial_fit", "x"),
    ),
    "a NaN threshold": (
        lambda: skvae.VAEOutlierDetector(**SMALL),
        lambda d, t: [v.fill_(float("nan")) for k, v in t.items() if k.endswith("offset_")]
        or d["model"]["state"].__setitem__("offset_", float("nan")),
    ),
    "a broken random state": (
        lambda: VAETransformer(**SMALL),
        lambda d, t: d["model"]["state"].__setitem__(
            "random_state", {"__random_state__": ["MT19937"]}
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_edits_that_would_hang_or_give_nan_are_refused(tmp_path, case):
    make, edit = EDITS[case]
    est = make()
    est.fit(X, np.arange(len(X)) % 2) if "Conditional" in type(est).__name__ else est.fit(X)
    path = _edit_file(est, tmp_path, edit)
    kind, value = _load_within(path)
    assert kind == "error", f"loaded: {value!r}"
    assert isinstance(value, ValueError) and "edited.safetensors" in str(value), repr(value)


def test_pipelines_with_edited_steps_are_refused(tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), VAETransformer(**SMALL)).fit(X)
    for name, change in {
        "no steps": lambda s: s.__setitem__("steps", []),
        "a cache directory": lambda s: s.__setitem__("memory", "/tmp/somewhere"),
        "a step that is a string": lambda s: s["steps"].__setitem__(0, {"__tuple__": ["p", "x"]}),
    }.items():
        path = _edit_file(pipe, tmp_path, lambda d, t, change=change: change(d["model"]["state"]),
                          name=f"{name.replace(' ', '-')}.safetensors")
        with pytest.raises(ValueError, match="Pipeline|steps|not"):
            skvae.load(path)


def test_an_optimiser_state_out_of_range_is_refused(tmp_path):
    est = VAETransformer(hidden_layer_sizes=(8,), random_state=0).partial_fit(X)
    edits = {
        "betas": lambda d, t: d["model"]["optimizer"]["param_groups"][0].__setitem__(
            "betas", [2, 2]
        ),
        "amsgrad": lambda d, t: d["model"]["optimizer"]["param_groups"][0].__setitem__(
            "amsgrad", True
        ),
        "negative steps": lambda d, t: [v.fill_(-1) for k, v in t.items() if k.endswith(".step")],
        "a 0-d moment": lambda d, t: [
            t.__setitem__(k, torch.tensor(0.0)) for k in list(t) if k.endswith(".exp_avg")
        ],
    }
    for name, edit in edits.items():
        path = _edit_file(est, tmp_path, edit, name=f"{name.replace(' ', '-')}.safetensors")
        with pytest.raises(ValueError, match="optimiser"):
            skvae.load(path)


def test_a_fit_that_leaves_non_finite_weights_is_a_divergence():
    with pytest.raises(ValueError, match="diverged.*non-finite"):
        VAETransformer(max_iter=1, hidden_layer_sizes=(8,), learning_rate_init=1e300).fit(X)


def test_a_name_as_long_as_names_go_is_written(tmp_path):
    est = VAETransformer(**SMALL).fit(X)
    path = tmp_path / ("m" * 240 + ".safetensors")
    skvae.save(est, path)
    skvae.save(est, path)  # and replaced
    np.testing.assert_array_equal(skvae.load(path).transform(X), est.transform(X))


def test_a_file_from_before_max_steps_loads_as_it_was_fitted(tmp_path):
    """A file written before the training budget has no max_steps: it loads with
    max_steps=None (every max_iter epoch, as it was trained), and keeps the
    batch its fit took for inference."""
    rows = np.random.RandomState(1).normal(size=(5000, 4))
    est = VAETransformer(max_iter=2, hidden_layer_sizes=(8,), random_state=0).fit(rows)
    assert est.net_.batch_size == 312

    def drop(description, tensors):
        _state(description).pop("max_steps")

    loaded = skvae.load(_edit_file(est, tmp_path, drop))
    assert loaded.max_steps is None and loaded.get_params()["max_steps"] is None
    assert loaded.net_.batch_size == 312

    def no_batches(description, tensors):
        for row in description["model"]["history"]:
            row.pop("batches")

    # without the batches on record, inference keeps blocks of at least 128 rows
    bare = skvae.load(_edit_file(est, tmp_path, no_batches, name="bare.safetensors"))
    assert bare._block_size() >= 128
    np.testing.assert_allclose(bare.transform(rows[:50]), est.transform(rows[:50]))
    np.testing.assert_array_equal(loaded.transform(rows[:50]), est.transform(rows[:50]))
    old = pickle.loads(pickle.dumps(est))
    del old.__dict__["max_steps"]
    assert pickle.loads(pickle.dumps(old)).max_steps is None
