"""Tables of mixed columns and missing entries: likelihoods, masking, dtypes, hostile input."""

import math
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import fit_estimator, tags, takes_y
from scipy import stats
from sklearn.compose import make_column_selector
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import skvae
from skvae import VAEImputer, VAEOutlierDetector, VAETransformer
from skvae.models import ColumnLayout, TableInput, TableLikelihood, table_statistics

SMALL = dict(max_iter=3, hidden_layer_sizes=(16,), random_state=0, device="cpu")
ESTIMATORS = [cls for _, cls in skvae.all_estimators()]


def mixed_frame(n=120, seed=0, missing=0.1):
    """A table of every column type, with missing entries in each column."""
    rng = np.random.default_rng(seed)
    size = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "size": size * 3 + 10,
            "weight": size + rng.normal(scale=0.3, size=n),
            "colour": np.where(size > 0, "red", np.where(rng.random(n) < 0.5, "blue", "green")),
            "flag": size + rng.normal(scale=0.5, size=n) > 0,
            "visits": rng.negative_binomial(2, 0.3, size=n).astype(np.int64),
            "grade": pd.Categorical(
                rng.choice(["low", "mid", "high"], n), categories=["low", "mid", "high"],
                ordered=True,
            ),
        }
    )
    frame["colour"] = frame["colour"].astype(object)
    if missing:
        frame["flag"] = frame["flag"].astype("boolean")
        for column in frame.columns:
            frame.loc[rng.random(n) < missing, column] = None
    return frame


# ---------------------------------------------------------------- likelihoods


def _one_column(kind, k=0):
    layout = ColumnLayout([kind], [k])
    return layout


@pytest.mark.parametrize("real", ["gaussian", "student_t"])
def test_real_log_prob_is_the_closed_form(real):
    layout = _one_column("real")
    x = torch.tensor([[0.5], [-2.0], [3.0]], dtype=torch.float64)
    lik = TableLikelihood(layout, table_statistics(x, layout), real=real).double()
    raw = torch.tensor([[0.1], [-0.4], [1.2]], dtype=torch.float64)
    loc = (lik.real_shift + lik.real_scale * raw[:, 0]).numpy()
    scale = float(lik.real_sd[0].detach())
    got = lik.log_prob(raw, x).detach().numpy()
    if real == "gaussian":
        want = stats.norm.logpdf(x[:, 0].numpy(), loc, scale)
    else:
        want = stats.t.logpdf(x[:, 0].numpy(), float(lik.df[0].detach()), loc, scale)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_binary_and_nominal_log_probs_are_the_closed_forms():
    layout = ColumnLayout(["binary", "nominal"], [2, 3])
    x = torch.tensor([[1.0, 2.0], [0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    lik = TableLikelihood(layout, table_statistics(x, layout)).double()
    raw = torch.tensor([[0.3, 0.1, -1.0, 2.0], [-1.0, 0.0, 0.5, 0.5], [2.0, 1.0, 1.0, -3.0]],
                       dtype=torch.float64)
    columns = lik.column_log_prob(raw, x).detach().numpy()
    p = torch.sigmoid(raw[:, 0] + lik.binary_offset[0]).numpy()
    np.testing.assert_allclose(columns[:, 0], stats.bernoulli.logpmf(x[:, 0].numpy(), p))
    logits = (raw[:, 1:] + lik.nominal_offset[0]).numpy()
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    codes = x[:, 1].long().numpy()
    np.testing.assert_allclose(columns[:, 1], np.log(probs[np.arange(3), codes]), rtol=1e-10)


def test_ordinal_log_prob_is_the_cumulative_logit():
    layout = ColumnLayout(["ordinal"], [4])
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0], [1.0]], dtype=torch.float64)
    lik = TableLikelihood(layout, table_statistics(x, layout)).double()
    raw = torch.tensor([[0.0], [1.5], [-2.0], [0.7], [40.0]], dtype=torch.float64)
    theta = lik.thresholds()[0].detach().numpy()
    cuts = np.concatenate([[-np.inf], theta, [np.inf]])
    eta = raw[:, 0].clamp(-30, 30).numpy()
    codes = x[:, 0].long().numpy()
    want = np.log(
        stats.logistic.cdf(cuts[codes + 1] - eta) - stats.logistic.cdf(cuts[codes] - eta)
    )
    got = lik.log_prob(raw, x).detach().numpy()
    np.testing.assert_allclose(got[:4], want[:4], rtol=1e-9)
    assert np.isfinite(got).all()  # far in the tail: no log(0)
    probs = torch.exp(lik.ordinal_log_probs(raw)).detach()[:, 0, :]
    np.testing.assert_allclose(probs.sum(-1).numpy(), 1.0, rtol=1e-9)


def test_count_log_prob_is_the_negative_binomial():
    layout = _one_column("count")
    x = torch.tensor([[0.0], [3.0], [17.0], [1.0]], dtype=torch.float64)
    lik = TableLikelihood(layout, table_statistics(x, layout)).double()
    raw = torch.tensor([[0.0], [0.5], [-1.0], [2.0]], dtype=torch.float64)
    mu = torch.exp(raw[:, 0] + lik.count_offset[0]).numpy()
    r = float(lik.dispersion[0])
    want = stats.nbinom.logpmf(x[:, 0].numpy(), r, r / (r + mu))
    np.testing.assert_allclose(lik.log_prob(raw, x).detach().numpy(), want, rtol=1e-9)


# ------------------------------------------------------------------- masking


def _layout_and_rows():
    layout = ColumnLayout(["real", "binary", "nominal", "ordinal", "count"], [0, 2, 3, 4, 0])
    x = torch.tensor(
        [[0.5, 1, 2, 3, 4], [-1.0, 0, 0, 0, 0], [1.0, 1, 1, 2, 10]], dtype=torch.float64
    )
    return layout, x


@pytest.mark.parametrize("column", range(5))
def test_a_missing_entry_changes_neither_the_gradient_nor_the_other_scores(column):
    layout, x = _layout_and_rows()
    lik = TableLikelihood(layout, table_statistics(x, layout)).double()
    raw = torch.randn(3, layout.n_raw, dtype=torch.float64, requires_grad=True)
    holed = x.clone()
    holed[0, column] = float("nan")
    full = lik.column_log_prob(raw, x)
    part = lik.column_log_prob(raw, holed)
    assert part[0, column] == 0
    others = [j for j in range(5) if j != column]
    torch.testing.assert_close(part[0, others], full[0, others])
    torch.testing.assert_close(lik.log_prob(raw, holed)[0], full[0, others].sum())
    # the row's loss gradient: that of its observed columns alone
    (grad,) = torch.autograd.grad(lik.log_prob(raw, holed)[0], raw)
    (want,) = torch.autograd.grad(full[0, others].sum(), raw)
    torch.testing.assert_close(grad, want)
    assert torch.isfinite(grad).all()


def test_the_encoder_is_told_which_entries_are_missing():
    layout, x = _layout_and_rows()
    holed = x.clone()
    holed[1, 2] = float("nan")
    seen = TableInput(layout, table_statistics(x, layout), 1e4)(holed)
    assert seen.shape == (3, layout.n_inputs)
    mask = seen[:, -5:]
    assert mask[1, 2] == 1 and mask.sum() == 1
    # the nominal column's one-hot of the missing entry is all zeros
    assert seen[1, 3:6].abs().sum() == 0 and seen[0, 3:6].sum() == 1


def test_every_missing_marker_gives_the_same_model():
    # NaN, None and pd.NA are one missing entry: the same fit, the same codes
    frame = mixed_frame(missing=0.0).astype({"size": object, "colour": object})
    fits = []
    for marker in (np.nan, None, pd.NA):
        holed = frame.copy()
        holed.loc[[3, 9], "size"] = marker
        holed.loc[[4, 9], "colour"] = marker
        est = VAETransformer(**SMALL).fit(holed)
        fits.append(est.transform(holed))
    np.testing.assert_array_equal(fits[0], fits[1])
    np.testing.assert_array_equal(fits[0], fits[2])
    assert not np.array_equal(fits[0], VAETransformer(**SMALL).fit(frame).transform(frame))


# --------------------------------------------------------------- estimators


def _fit(cls, X, **params):
    extra = {"n_clusters": 2} if tags(cls).labels == "clusters" else {}
    est = cls(**{**SMALL, **extra, **params})
    if tags(cls).codes == "discrete":
        est.set_params(prior=skvae.AutoregressivePrior(hidden_layer_sizes=(8,), max_steps=5),
                       n_slots=2)
    y = np.arange(len(X)) % 2
    return fit_estimator(est, X, y), y


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_estimator_fits_a_mixed_table_with_missing_entries(cls):
    frame = mixed_frame()
    est, y = _fit(cls, frame)
    assert list(est.column_types_) == ["real", "real", "nominal", "binary", "count", "ordinal"]
    args = (frame, y) if takes_y(cls) else (frame,)
    scores = est.score_samples(*args)
    assert scores.shape == (len(frame),) and np.isfinite(scores).all()
    if tags(cls).codes is not None:
        codes = est.transform(*args)
        assert np.isfinite(codes).all()
    if tags(cls).samples is not None:
        drawn = est.sample(5, random_state=0)
        drawn = drawn[0] if tags(cls).samples == "X_y" else drawn
        _check_valid_rows(drawn, frame)


def _check_valid_rows(drawn, frame):
    assert isinstance(drawn, pd.DataFrame) and list(drawn.columns) == list(frame.columns)
    assert not drawn.isna().any().any()
    assert set(drawn["colour"]) <= {"red", "blue", "green"}
    assert drawn["flag"].dtype == frame["flag"].dtype
    assert (drawn["visits"] >= 0).all() and (drawn["visits"] % 1 == 0).all()
    assert drawn["grade"].dtype == frame["grade"].dtype


def test_outputs_keep_the_table_s_dtypes():
    frame = mixed_frame(missing=0.0)
    frame["share"] = np.linspace(0, 1, len(frame)).astype(np.float32)
    frame["label"] = frame["colour"].astype("string")
    frame["nullable"] = pd.array(frame["visits"], dtype="Int64")
    frame["maybe"] = pd.array(frame["flag"], dtype="boolean")
    est = VAETransformer(**SMALL).fit(frame)
    for out in (est.inverse_transform(est.transform(frame)), est.sample(7, random_state=1)):
        assert dict(out.dtypes) == dict(frame.dtypes)
        assert list(out["grade"].cat.categories) == ["low", "mid", "high"]
        assert out["grade"].cat.ordered


def test_an_object_array_round_trips_as_objects():
    X = mixed_frame(missing=0.0)[["size", "colour"]].to_numpy(dtype=object)
    est = VAETransformer(**SMALL).fit(X)
    assert list(est.column_types_) == ["real", "nominal"]
    out = est.sample(4, random_state=0)
    assert out.dtype == object and set(out[:, 1]) <= {"red", "blue", "green"}


def test_column_types_accepts_names_indices_masks_and_selectors():
    frame = mixed_frame(missing=0.0)
    for spec in (
        {"ordinal": ["visits"]},
        {"ordinal": [4]},
        {"ordinal": [c == "visits" for c in frame.columns]},
        {"ordinal": make_column_selector(pattern="^visits$")},
    ):
        est = VAETransformer(**SMALL, column_types=spec).fit(frame)
        assert est.column_types_[4] == "ordinal"
        assert list(est.categories_[4]) == sorted(set(frame["visits"]))
    est = VAETransformer(**SMALL, column_types={}).fit(frame[["size", "weight"]])
    assert list(est.column_types_) == ["real", "real"]
    assert est._table_ is not None  # modelled column by column: takes NaN later
    holed = frame[["size", "weight"]].copy()
    holed.iloc[0, 0] = np.nan
    assert np.isfinite(est.score_samples(holed)).all()


def test_scores_are_in_nats_of_each_column():
    # a real column scaled by 10 costs log(10) nats per observed entry
    frame = mixed_frame(missing=0.2)
    est = VAETransformer(**SMALL).fit(frame)
    scaled = frame.assign(size=frame["size"] * 10)
    again = VAETransformer(**SMALL).fit(scaled)
    observed = frame["size"].notna().to_numpy()
    diff = est.score_samples(frame) - again.score_samples(scaled)
    np.testing.assert_allclose(diff[observed], math.log(10), atol=0.05)
    np.testing.assert_allclose(diff[~observed], 0.0, atol=0.05)


def test_an_incomplete_row_scores_its_observed_entries():
    frame = mixed_frame(missing=0.0)
    holed = frame.copy()
    holed.loc[:, "size"] = np.nan
    # fewer observed entries: a bound on a marginal likelihood, higher
    vae = VAETransformer(**SMALL).fit(frame)
    assert (vae.score_samples(holed) > vae.score_samples(frame)).mean() > 0.9
    # the detector counts a hole as its column's typical entry: neither more
    # nor less normal on the whole
    est = VAEOutlierDetector(**SMALL).fit(mixed_frame(missing=0.1))
    full, part = est.score_samples(frame), est.score_samples(holed)
    assert abs(np.mean(part - full)) < 0.25 * np.std(full)
    assert np.isnan(est.score_features(holed)[:, 0]).all()
    assert np.isfinite(est.score_features(holed)[:, 1:]).all()
    every = frame.copy().astype(object)
    every.loc[0, :] = None
    assert np.isfinite(est.score_samples(every)).all()
    assert est.predict(every).shape == (len(frame),)


def test_a_model_fitted_on_complete_numbers_explains_missing_entries():
    X = np.random.default_rng(0).normal(size=(50, 3))
    est = VAETransformer(**SMALL).fit(X)
    holed = X.copy()
    holed[0, 0] = np.nan
    with pytest.raises(ValueError, match="column_types"):
        est.transform(holed)


@pytest.mark.parametrize("cls", [VAETransformer, VAEOutlierDetector])
def test_denoising_a_table_masks_entries_or_moves_numbers_only(cls):
    frame = mixed_frame(60, missing=0)
    x = torch.as_tensor(cls(**SMALL).fit(frame)._table_matrix(frame, reset=False)[0])
    numbers = [0, 1, 4]  # size, weight, visits: the real and count columns
    noisy = cls(**SMALL).fit(frame).module_.train().corrupt(x)
    moved = (noisy != x).any(dim=0)
    assert moved[numbers].all() and not moved[[2, 3, 5]].any()
    masked = cls(denoising="mask", noise_level=0.3, **SMALL).fit(frame).module_.train()
    holes = torch.isnan(masked.corrupt(x))
    assert 0.2 < holes.float().mean() < 0.4 and holes.any(dim=0).all()
    with pytest.raises(ValueError, match="below 1"):
        cls(denoising="mask", noise_level=1.0, **SMALL).fit(frame)


def test_partial_fit_takes_chunks_of_a_table():
    frame = mixed_frame()
    est = VAETransformer(**SMALL)
    est.partial_fit(frame.iloc[:60]).partial_fit(frame.iloc[60:])
    assert np.isfinite(est.score_samples(frame)).all()
    new = frame.iloc[:5].copy()
    new["colour"] = "purple"
    with pytest.warns(UserWarning, match="not seen during fit.*purple"):
        est.partial_fit(new)  # a chunk's new category is read as missing
    with pytest.raises(ValueError, match="not seen during fit.*purple"):
        est.set_params(handle_unknown="error").partial_fit(new)


@pytest.mark.parametrize("column, value", [("colour", "purple"), ("flag", "maybe")])
def test_handle_unknown_missing_reads_a_new_category_as_a_missing_entry(column, value):
    # "flag" holds booleans: the exact (slow) path of the category lookup
    frame = mixed_frame(missing=0)
    est = VAETransformer(**SMALL).fit(frame)
    new, holes = frame.iloc[:6].copy(), frame.iloc[:6].copy()
    new[column] = new[column].astype(object)
    new.loc[new.index[:3], column] = value
    holes[column] = holes[column].astype(object)
    holes.loc[holes.index[:3], column] = None
    # the default reads it as missing and says so, naming the column and value
    with pytest.warns(UserWarning, match=f"{column}.*{value}.*read as missing entries"):
        codes = est.transform(new)
    np.testing.assert_array_equal(codes, est.transform(holes))
    est.set_params(handle_unknown="missing")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(est.score_samples(new), est.score_samples(holes))
    with pytest.raises(ValueError, match=f"{column}.*{value}.*handle_unknown='missing'"):
        est.set_params(handle_unknown="error").transform(new)


def test_handle_unknown_missing_lets_cross_validation_meet_a_rare_category():
    from sklearn.model_selection import KFold, cross_val_score

    frame = mixed_frame(90, missing=0)
    frame.loc[4, "colour"] = "purple"  # one row: absent from one training fold
    folds = KFold(3)
    with pytest.warns(UserWarning, match="purple"):
        refused = cross_val_score(VAETransformer(**SMALL, handle_unknown="error"), frame,
                                  cv=folds)
    assert np.isnan(refused).sum() == 1
    with pytest.warns(UserWarning, match="purple.*read as missing"):
        scores = cross_val_score(VAETransformer(**SMALL), frame, cv=folds)
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("dtype", ["object", "category"])
def test_the_imputer_returns_an_unknown_category_as_given(dtype):
    frame = mixed_frame(missing=0.1)
    frame["colour"] = frame["colour"].astype(dtype)
    imputer = VAEImputer(**SMALL, add_indicator=True, handle_unknown="missing")
    imputer.set_output(transform="pandas").fit(frame)
    new = frame.iloc[:8].copy()
    if dtype == "category":
        new["colour"] = new["colour"].cat.add_categories(["purple"])
    new.loc[new.index[0], "colour"] = "purple"
    new.loc[new.index[0], "size"] = np.nan
    filled = imputer.transform(new)
    # observed entries untouched, the unknown one included; the hole filled
    assert filled["colour"].iloc[0] == "purple"
    assert not bool(filled["missingindicator_colour"].iloc[0])
    assert np.isfinite(filled["size"].iloc[0])
    seen = new["colour"].notna().to_numpy()
    assert (filled["colour"][seen].astype(str) == new["colour"][seen].astype(str)).all()
    # an array in, an array out
    with pytest.warns(UserWarning, match="feature names"):
        as_array = imputer.set_output(transform="default").transform(new.to_numpy(dtype=object))
    assert as_array[0, 2] == "purple"


def test_the_imputer_keeps_an_integer_column_integer_around_an_unknown_value():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "bi": rng.integers(0, 2, 60)})
    frame.loc[3, "a"] = np.nan
    imputer = VAEImputer(**SMALL, handle_unknown="missing").set_output(transform="pandas")
    new = imputer.fit(frame).transform(frame.head(3).assign(bi=[1, 2, 0]))
    assert new["bi"].dtype == np.int64 and new["bi"].tolist() == [1, 2, 0]


def test_handle_unknown_is_kept_by_model_files_and_defaults_for_older_ones(tmp_path):
    est = VAETransformer(**SMALL, handle_unknown="missing").fit(mixed_frame())
    skvae.save(est, tmp_path / "m.safetensors")
    assert skvae.load(tmp_path / "m.safetensors").handle_unknown == "missing"
    # a pickle from before the parameter existed reads the old behaviour
    state = est.__getstate__()
    del state["handle_unknown"]
    old = VAETransformer.__new__(VAETransformer)
    old.__setstate__(state)
    assert old.handle_unknown == "error"


def test_a_model_of_numbers_says_how_to_model_a_later_table():
    frame = mixed_frame(missing=0)
    est = VAETransformer(**SMALL).partial_fit(frame[["size", "weight"]])
    said = r"weight \(object\).*fitted on numbers only.*column_types=\{\}"
    with pytest.raises(ValueError, match=said):
        est.partial_fit(frame[["size", "colour"]].rename(columns={"colour": "weight"}))


@pytest.mark.parametrize(
    "values, order",
    [
        ([1, "a", 2.5, "b"], [1, 2.5, "a", "b"]),
        (["10", "x", "2", "9"], ["2", "9", "10", "x"]),
        (["b", None, "a"], ["a", "b"]),
    ],
)
def test_categories_are_sorted_numbers_first_by_value(values, order):
    column = pd.Series(values * 4, dtype=object)
    frame = pd.DataFrame({"c": column, "n": np.arange(len(column), dtype=float)})
    est = VAETransformer(**SMALL).fit(frame)
    assert list(est.categories_[0]) == order


def test_a_warm_fit_refuses_new_column_types():
    frame = mixed_frame()
    est = VAETransformer(**SMALL, warm_start=True).fit(frame)
    est.set_params(column_types={"ordinal": ["visits"]})
    with pytest.raises(ValueError, match="column_types"):
        est.fit(frame)


def test_a_table_model_round_trips_through_a_model_file(tmp_path):
    frame = mixed_frame()
    est = VAETransformer(**SMALL).fit(frame)
    path = tmp_path / "table.safetensors"
    skvae.save(est, path)
    loaded = skvae.load(path)
    np.testing.assert_array_equal(loaded.transform(frame), est.transform(frame))
    pd.testing.assert_frame_equal(loaded.sample(5, random_state=0), est.sample(5, random_state=0))


# -------------------------------------------------------------- hostile input


@pytest.mark.parametrize("offset", [0.0, 1e32])
def test_huge_floats_with_holes_are_real_and_too_huge_ones_refused(offset):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "h": rng.normal(size=60) * 1e30 + offset})
    frame.loc[0, "h"] = np.nan
    # every float beyond 2**53 is whole: that does not make the column integers
    est = VAETransformer(**SMALL).fit(frame)
    assert list(est.column_types_) == ["real", "real"]
    assert np.isfinite(est.score_samples(frame)).all()
    frame["h"] *= 1e270
    with pytest.raises(ValueError, match="Column 'h' .* Divide the column by a power of ten"):
        VAETransformer(**SMALL).fit(frame)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda f: f.assign(colour=["purple"] * len(f)), "not seen during fit"),
        (lambda f: f.assign(visits=-1), "count but holds -1"),
        (lambda f: f.assign(size="big"), "not a number"),
        (lambda f: f.assign(size=np.inf), "infinity"),
        (lambda f: f.iloc[:, :3], "features"),
    ],
)
def test_bad_tables_after_fit_get_clear_errors(change, match):
    frame = mixed_frame()
    est = VAETransformer(**SMALL, handle_unknown="error").fit(frame)
    with pytest.raises(ValueError, match=match):
        est.transform(change(frame))


@pytest.mark.parametrize(
    "params, change, match",
    [
        ({}, lambda f: f.assign(size=np.nan), "no observed value"),
        ({"column_types": {"binary": ["colour"]}}, None, "binary but holds 3"),
        ({"column_types": {"count": ["size"]}}, None, "count but holds"),
        ({"column_types": {"cont": ["size"]}}, None, "column types are"),
        ({"column_types": {"real": ["nope"]}}, None, "does not have"),
        ({"column_types": {"real": [0], "count": [0]}}, None, "both"),
        ({"column_types": {"real": [9]}}, None, "has 6 columns"),
        ({"column_types": ["real"]}, None, "column_types"),
        ({"likelihood": "bernoulli"}, None, "binary"),
        ({"architecture": "conv", "image_shape": (1, 2, 3)}, None, "images"),
    ],
)
def test_bad_tables_at_fit_get_clear_errors(params, change, match):
    frame = mixed_frame()
    if change is not None:
        frame = change(frame)
    with pytest.raises((ValueError, TypeError), match=match):
        VAETransformer(**{**SMALL, **params}).fit(frame)


def test_too_many_categories_are_refused():
    frame = pd.DataFrame({"id": [f"row{i}" for i in range(1500)], "x": np.arange(1500.0)})
    with pytest.raises(ValueError, match="identifier"):
        VAETransformer(**SMALL).fit(frame)


def test_rows_with_nothing_observed_and_a_category_seen_once():
    frame = mixed_frame()
    frame = frame.astype({"colour": object})
    frame.loc[0, "colour"] = "violet"  # seen once
    frame.loc[1, :] = None  # nothing observed
    est = VAETransformer(**SMALL).fit(frame)
    assert "violet" in list(est.categories_[2])
    scores = est.score_samples(frame)
    assert np.isfinite(scores).all()
    assert scores[1] <= 1e-9  # log p(nothing) is 0; its bound is at most 0
    assert np.isfinite(est.transform(frame.iloc[[0]])).all()


# ------------------------------------------------------------------ imputer


def test_the_imputer_keeps_observed_entries_and_fills_valid_values():
    frame = mixed_frame(missing=0.2)
    imputer = VAEImputer(**SMALL).set_output(transform="pandas")
    out = imputer.fit_transform(frame)
    assert not out.isna().any().any()
    observed = frame.notna()
    for column in frame.columns:
        kept = observed[column]
        np.testing.assert_array_equal(
            out.loc[kept, column].to_numpy(), frame.loc[kept, column].to_numpy()
        )
    _check_valid_rows(out, frame)
    plain = VAEImputer(**SMALL).fit_transform(frame)
    assert isinstance(plain, np.ndarray) and plain.dtype == object


def test_the_imputer_beats_the_mean_on_correlated_columns():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 2))
    X = z @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(400, 6))
    holes = rng.random(X.shape) < 0.2
    holed = np.where(holes, np.nan, X)
    filled = VAEImputer(random_state=0, max_iter=100).fit_transform(holed)
    error = np.sqrt(np.mean((filled[holes] - X[holes]) ** 2))
    mean_error = np.sqrt(np.mean((np.nanmean(holed, 0)[np.nonzero(holes)[1]] - X[holes]) ** 2))
    assert error < 0.5 * mean_error


def test_the_imputer_s_indicators_and_multiple_imputations():
    frame = mixed_frame(missing=0.2)
    frame["complete"] = np.arange(len(frame), dtype=float)
    imputer = VAEImputer(**SMALL, add_indicator=True, sample_posterior=True).fit(frame)
    names = imputer.get_feature_names_out()
    assert "missingindicator_size" in names and "missingindicator_complete" not in names
    out = imputer.transform(frame)
    assert out.shape == (len(frame), len(names))
    first = imputer.set_params(random_state=1).transform(frame)
    again = imputer.transform(frame)
    other = imputer.set_params(random_state=2).transform(frame)
    np.testing.assert_array_equal(first, again)
    assert (first != other).any()


def test_the_imputer_in_a_pipeline_and_a_search():
    from sklearn.model_selection import GridSearchCV, cross_val_score

    frame = mixed_frame(missing=0.2)
    y = (frame["weight"].fillna(0) > 0).to_numpy()
    numbers = frame[["size", "visits"]]
    pipe = make_pipeline(VAEImputer(**SMALL), LogisticRegression())
    assert cross_val_score(pipe, numbers, y, cv=3).mean() > 0.4
    search = GridSearchCV(VAEImputer(**SMALL), {"n_components": [1, 2]}, cv=2).fit(frame)
    assert search.best_params_["n_components"] in (1, 2)


def test_the_imputer_on_two_threads_gives_the_serial_answer():
    frame = mixed_frame(missing=0.2)
    imputer = VAEImputer(**SMALL, sample_posterior=True).fit(frame)
    serial = imputer.transform(frame)
    results = [None, None]

    def run(i):
        results[i] = imputer.transform(frame)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in results:
        np.testing.assert_array_equal(got, serial)


def test_a_column_selector_is_saved_as_the_columns_it_selected(tmp_path):
    frame = mixed_frame()
    spec = {"ordinal": make_column_selector(pattern="^visits$")}
    est = VAETransformer(**SMALL, column_types=spec).fit(frame)
    path = tmp_path / "selected.safetensors"
    with pytest.warns(UserWarning, match="columns it selected"):
        skvae.save(est, path)
    loaded = skvae.load(path)
    assert loaded.column_types == {"ordinal": ["visits"]}
    assert list(loaded.column_types_) == list(est.column_types_)
    np.testing.assert_array_equal(loaded.transform(frame), est.transform(frame))
    with pytest.raises(TypeError, match="holds no code"):
        skvae.save(VAETransformer(column_types=spec), tmp_path / "unfitted.safetensors")


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.update(types=["real"] * 6),  # the weights no longer fit
        lambda t: t["categories"][2].append("red"),  # a category twice
        lambda t: t.update(dtypes=["nonsense"] * 6),
        lambda t: t.update(frame="yes"),
        lambda t: t.update(declared=["count"] * 6),
        lambda t: t.pop("names"),
    ],
)
def test_an_edited_table_description_is_refused(tmp_path, edit):
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    est = VAETransformer(**SMALL).fit(mixed_frame())
    path = tmp_path / "table.safetensors"
    skvae.save(est, path)
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    description = json.loads(metadata["skvae"])
    edit(description["model"]["state"]["_table_"]["__dict__"])
    bad = tmp_path / "edited.safetensors"
    save_file(tensors, str(bad), metadata={**metadata, "skvae": json.dumps(description)})
    with pytest.raises(ValueError, match="edited.safetensors"):
        skvae.load(bad)


def test_pictures_of_rows_draw_a_table_s_numeric_columns():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skvae.plotting import ReconstructionDisplay, SampleGridDisplay

    frame = mixed_frame()
    est = VAETransformer(**SMALL).fit(frame)
    shown = ReconstructionDisplay.from_estimator(est, frame)
    assert shown.reconstructions.shape[1] == 3  # size, weight, visits
    drawn = SampleGridDisplay.from_estimator(est, n_samples=4)
    assert drawn.samples.shape[-1] == 3 and np.isfinite(drawn.samples).all()
    words = VAETransformer(**SMALL).fit(frame[["colour", "grade"]])
    with pytest.raises(TypeError, match="without a numeric column"):
        SampleGridDisplay.from_estimator(words)


def test_the_imputer_keeps_rows_of_a_frame_with_any_index():
    # a filtered frame (a CV fold): its rows keep their own values
    frame = mixed_frame(missing=0.2).iloc[::-2]
    out = VAEImputer(**SMALL).set_output(transform="pandas").fit_transform(frame)
    assert list(out.index) == list(frame.index)
    for column in ("colour", "grade", "size"):
        kept = frame[column].notna()
        assert (out.loc[kept, column] == frame.loc[kept, column]).all()


@pytest.mark.parametrize("scale", [1e-5, 1e20])
def test_a_real_column_of_any_scale_trains(scale):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(0, scale, 300), "b": rng.normal(0, 1, 300)})
    est = VAETransformer(max_iter=10, random_state=0, column_types={}).fit(frame)
    # two independent unit Gaussians, one in units of 1/scale: about 2.84 + log(scale)
    assert est.loss_curve_[-1] == pytest.approx(2.84 + math.log(scale), abs=0.3)


def test_an_ordinal_column_s_order_is_given_or_numeric():
    frame = pd.DataFrame({
        "level": ["low", "high", "medium"] * 20,
        "code": ["1", "10", "2"] * 20,
        "x": np.arange(60.0),
    })
    spec = {"ordinal": {"level": ["low", "medium", "high"], "code": None}}
    est = VAETransformer(**SMALL, column_types=spec).fit(frame)
    assert list(est.categories_[0]) == ["low", "medium", "high"]
    assert list(est.categories_[1]) == ["1", "2", "10"]
    with pytest.raises(ValueError, match="does not list"):
        VAETransformer(**SMALL, column_types={"ordinal": {"level": ["low"]}}).fit(frame)


def test_zero_one_numbers_are_binary_and_whole_numbers_come_back_whole():
    frame = pd.DataFrame({
        "flag": [0.0, 1.0, 1.0, np.nan] * 20,
        "year": [2007.0, 2008.0, np.nan, 2009.0] * 20,
        "x": np.linspace(0, 1, 80),
    })
    imputer = VAEImputer(**SMALL).set_output(transform="pandas")
    out = imputer.fit_transform(frame)
    assert list(imputer.column_types_) == ["binary", "real", "real"]
    assert set(out["flag"]) <= {0.0, 1.0} and (out["year"] % 1 == 0).all()
    filled = VAEImputer(**SMALL).fit_transform(frame.to_numpy())
    assert filled.dtype == np.float64  # numbers in, numbers out


def test_integer_column_labels_come_back_as_they_were(tmp_path):
    frame = mixed_frame(missing=0.0)
    frame.columns = range(frame.shape[1])
    est = VAETransformer(**SMALL).fit(frame)
    assert list(est.sample(3, random_state=0).columns) == list(range(6))
    path = tmp_path / "labels.safetensors"
    skvae.save(est, path)
    assert list(skvae.load(path).sample(3, random_state=0).columns) == list(range(6))
