"""Held-out ELBO of VAETransformer by denoising noise level, beside PCA.

The default ``denoising="gaussian"`` corrupts the encoder's training inputs
so that it overfits the training rows less. This script measures what that
does to the density on rows the model has not seen: for each data set and
``noise_level`` (0 is ``denoising=None``), the mean held-out ELBO (nats per
row, 3-fold, a scaler fitted on each training fold), the training rows' ELBO,
and the 5-nearest-neighbor accuracy of the codes where the data have
classes. The reference is PCA's exact probabilistic-PCA log-likelihood at the
same ``n_components``, on the same folds.

Data: wine and breast cancer (StandardScaler, 2 components), digits (pixels
to [0, 1], 8 components), and, from the development collection of outlier
data sets (``../shared/data/adbench``, labels unused), cardio (4 components)
and 5,000 rows of satellite (8 components).

    python benchmarks/bench_denoising.py
    python benchmarks/bench_denoising.py --data digits --noise-levels 0 0.1 0.3
"""

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skvae import VAETransformer

ADBENCH = Path(__file__).resolve().parents[2] / "shared" / "data" / "adbench"
# data set -> (n_components, scaler)
DATA = {
    "wine": (2, StandardScaler),
    "cancer": (2, StandardScaler),
    "digits": (8, MinMaxScaler),
    "cardio": (4, StandardScaler),
    "satellite": (8, StandardScaler),
}
MAX_ROWS = 5000


def load(name):
    """``X, y`` (``y`` None where the data have no classes to check codes on)."""
    if name == "wine":
        return load_wine(return_X_y=True)
    if name == "cancer":
        return load_breast_cancer(return_X_y=True)
    if name == "digits":
        return load_digits(return_X_y=True)
    stem = {"cardio": "6_cardio", "satellite": "30_satellite"}[name]
    X = np.load(ADBENCH / f"{stem}.npz")["X"].astype(np.float64)
    if X.shape[0] > MAX_ROWS:
        X = X[np.random.RandomState(0).permutation(X.shape[0])[:MAX_ROWS]]
    return X, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=list(DATA))
    parser.add_argument("--noise-levels", nargs="+", type=float, default=[0, 0.1, 0.2, 0.5])
    args = parser.parse_args()

    print(f"{'data':10}{'k':>3}{'model':>14}{'held-out':>10}{'train':>9}{'kNN acc':>9}"
          f"{'fit s':>7}")
    for name in args.data:
        try:
            X, y = load(name)
        except FileNotFoundError:
            print(f"{name:10} skipped: {ADBENCH} not found")
            continue
        k, scaler = DATA[name]
        splitter = KFold(3, shuffle=True, random_state=0)
        if y is not None:
            splitter = StratifiedKFold(3, shuffle=True, random_state=0)
        folds = []
        for train, test in splitter.split(X, y):
            scale = scaler().fit(X[train])
            folds.append((scale.transform(X[train]), scale.transform(X[test]), train, test))
        pca = np.mean([PCA(k).fit(A).score(B) for A, B, _, _ in folds])
        print(f"{name:10}{k:3d}{'PCA':>14}{pca:10.2f}")
        for level in args.noise_levels:
            held, trained, acc, secs = [], [], [], 0.0
            for i, (A, B, train, test) in enumerate(folds):
                settings = {"denoising": None} if level == 0 else {"noise_level": level}
                t0 = time.perf_counter()
                vae = VAETransformer(k, random_state=i, **settings).fit(A)
                secs += time.perf_counter() - t0
                held.append(vae.score(B))
                trained.append(vae.score(A))
                if y is not None:
                    knn = KNeighborsClassifier().fit(vae.transform(A), y[train])
                    acc.append(knn.score(vae.transform(B), y[test]))
            label = "VAE, none" if level == 0 else f"VAE, {level:g}"
            knn_text = f"{np.mean(acc):9.3f}" if acc else f"{'':9}"
            print(f"{name:10}{k:3d}{label:>14}{np.mean(held):10.2f}{np.mean(trained):9.2f}"
                  f"{knn_text}{secs / len(folds):7.1f}", flush=True)


if __name__ == "__main__":
    main()
