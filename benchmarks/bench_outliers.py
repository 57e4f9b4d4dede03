"""Outlier detection quality of VAEOutlierDetector beside IsolationForest and PyOD.

ADBench's unsupervised protocol (Han et al. 2022) on the data sets in
``../shared/data/adbench/`` (or ``--data-dir``): for each data set and seed,
a stratified 70/30 split, each detector fitted without labels on the 70%,
ROC-AUC and average precision of its outlier scores on the 30%. As that
folder's README says, a set of more than 10,000 rows is first subsampled to
10,000, stratified (a new subsample for each seed). Detectors,
each behind a StandardScaler, all with their defaults (no tuning per data set):

- VAEOutlierDetector (``--vae NAME=VALUE`` overrides the defaults);
- scikit-learn's IsolationForest;
- PyOD's VAE and AutoEncoder, when PyOD is installed
  (``bash scripts/install.sh benchmarks``), with their default epochs (30
  and 10), as a user would run them.

Printed: a table of mean ROC-AUC per data set and detector, the mean over data
sets, the same for average precision, the mean fit time per detector and its
mean on the data sets with the most training rows (7,000 after subsampling).
Targets: VAEOutlierDetector's mean ROC-AUC >= IsolationForest's + 0.03, its
mean average precision >= IsolationForest's, no data set more than 0.10 below
IsolationForest, and a fit of at most 10 s on 7,000 rows on one core (run with
``OMP_NUM_THREADS=1``).

    python benchmarks/bench_outliers.py                        # 3 seeds
    python benchmarks/bench_outliers.py --seeds 0 1 2 3 4 --only vae iforest
    python benchmarks/bench_outliers.py --vae score_method=elbo
"""

import argparse
import contextlib
import io
import time
from pathlib import Path

import numpy as np
from bench_reduce import parse_params
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skvae import VAEOutlierDetector

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "adbench"
# ADBench's cap on a data set's rows (see the data folder's README)
MAX_ROWS = 10_000


class _PyOD:
    """A PyOD detector behind the scikit-learn scoring convention (higher = normal)."""

    def __init__(self, make):
        self.make = make

    def fit(self, X):
        self.scaler_ = StandardScaler().fit(X)
        self.model_ = self.make()
        with contextlib.redirect_stdout(io.StringIO()):
            self.model_.fit(self.scaler_.transform(X))
        return self

    def score_samples(self, X):
        with contextlib.redirect_stdout(io.StringIO()):
            return -self.model_.decision_function(self.scaler_.transform(X))


def split(X, y, seed):
    """ADBench's split of one data set for ``seed``: ``(X_train, X_test, y_test)``.

    A set over ``MAX_ROWS`` rows is first subsampled to it, stratified.
    """
    if len(X) > MAX_ROWS:
        X, _, y, _ = train_test_split(X, y, train_size=MAX_ROWS, random_state=seed, stratify=y)
    X_tr, X_te, _, y_te = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    return X_tr, X_te, y_te


def detectors(seed, vae_params):
    found = {
        "VAEOutlierDetector": lambda: make_pipeline(
            StandardScaler(), VAEOutlierDetector(random_state=seed, **vae_params)
        ),
        "IsolationForest": lambda: make_pipeline(
            StandardScaler(), IsolationForest(random_state=seed)
        ),
    }
    try:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.vae import VAE
    except ImportError:
        print("PyOD is not installed: its detectors are left out")
        return found
    found["PyOD VAE"] = lambda: _PyOD(
        lambda: VAE(random_state=seed, verbose=0, device="cpu")
    )
    found["PyOD AutoEncoder"] = lambda: _PyOD(
        lambda: AutoEncoder(random_state=seed, verbose=0, device="cpu")
    )
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--data", nargs="+", default=None, help="file stems, e.g. 6_cardio")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", default=None, help="vae, iforest, pyod")
    parser.add_argument("--vae", nargs="*", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    vae_params = parse_params(args.vae)
    print(f"VAEOutlierDetector overrides: {vae_params or 'none (defaults)'}")
    files = sorted(args.data_dir.glob("*.npz"))
    if args.data:
        files = [f for f in files if f.stem in args.data]
    aliases = {"vae": "VAEOutlierDetector", "iforest": "IsolationForest", "pyod": "PyOD"}
    auc, ap, secs, n_train = {}, {}, {}, {}
    for path in files:
        data = np.load(path)
        X_all, y_all = data["X"].astype(np.float64), data["y"].astype(int)
        for seed in args.seeds:
            X_tr, X_te, y_te = split(X_all, y_all, seed)
            n_train[path.stem] = len(X_tr)
            for name, make in detectors(seed, vae_params).items():
                if args.only and not any(aliases.get(o, o) in name for o in args.only):
                    continue
                t0 = time.perf_counter()
                model = make().fit(X_tr)
                secs.setdefault(name, {}).setdefault(path.stem, []).append(
                    time.perf_counter() - t0
                )
                outlier_score = -model.score_samples(X_te)
                auc.setdefault(name, {}).setdefault(path.stem, []).append(
                    roc_auc_score(y_te, outlier_score)
                )
                ap.setdefault(name, {}).setdefault(path.stem, []).append(
                    average_precision_score(y_te, outlier_score)
                )
        print(f"done {path.stem}", flush=True)
    names = list(auc)
    stems = [f.stem for f in files]
    for title, table in (("ROC-AUC", auc), ("average precision", ap)):
        print(f"\n{title} (mean over seeds {args.seeds})")
        print(f"{'data set':<16}" + "".join(f"{n:>20}" for n in names))
        for stem in stems:
            print(f"{stem:<16}" + "".join(f"{np.mean(table[n][stem]):20.3f}" for n in names))
        means = [np.mean([np.mean(table[n][s]) for s in stems]) for n in names]
        print(f"{'mean':<16}" + "".join(f"{m:20.3f}" for m in means))
    every = {n: [t for times in secs[n].values() for t in times] for n in names}
    print(f"\n{'mean fit s':<16}" + "".join(f"{np.mean(every[n]):20.2f}" for n in names))
    most = max(n_train.values())
    largest = [s for s in stems if n_train[s] == most]
    print(
        f"{f'fit s, {most} rows':<16}"
        + "".join(f"{np.mean([secs[n][s] for s in largest]):20.2f}" for n in names)
    )
    flagged = [
        s for s in stems
        if "IsolationForest" in auc and "VAEOutlierDetector" in auc
        and np.mean(auc["VAEOutlierDetector"][s]) < np.mean(auc["IsolationForest"][s]) - 0.10
    ]
    if flagged:
        print("more than 0.10 ROC-AUC below IsolationForest: " + ", ".join(flagged))


if __name__ == "__main__":
    main()
