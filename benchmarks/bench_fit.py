"""Fit throughput of VAETransformer beside a hand-written PyTorch loop and PyOD's VAE.

All three train a VAE with the same layers (encoder ``d -> 256 -> 128 -> 2k``,
decoder ``k -> 128 -> 256 -> d``, k = 8 latents) for the same epochs and
batch size on the same data, in the same run:

- ``VAETransformer`` at its defaults otherwise (GELU, a Gaussian likelihood
  with one learned noise variance, Adam with a cosine schedule, KL warm-up),
  and with ``activation="relu"``.
- A hand-written loop written without skvae's modules: ``nn.Sequential``
  encoder and decoder of the same widths and activation, the same maths
  (standardised rows, softplus posterior scales, a learned shared variance,
  the closed-form KL with the same warm-up, Adam with the same cosine
  schedule), a ``torch.randperm`` shuffle of an in-memory tensor each epoch,
  and the mean loss of each epoch read once per batch (``loss.item()``) as
  any loop that prints it does. It is the floor of what a training step
  costs in PyTorch.
- PyOD's ``VAE`` (``pyod.models.vae``) with the same layers, epochs and
  batch size, at its other defaults (ReLU, dropout 0.2), with its
  ``preprocessing`` (standardisation) on; ``verbose=0``.

Rounds are interleaved (one fit of each per round), so drifts in the
machine's load hit them alike; the figures are medians over rounds, the
ratios medians of the per-round ratios. Targets (issue 13): skvae's
throughput at least 1.0x the hand-written loop's (ratio of times <= 1.0)
for GELU and ReLU, and skvae at its defaults faster than PyOD's VAE.

    python benchmarks/bench_fit.py                  # n=20000, d=100, 3 epochs, 5 rounds
    python benchmarks/bench_fit.py --rounds 9 --threads 2
"""

import argparse
import itertools
import math
import time

import numpy as np
import torch
from torch import nn

from skvae import VAETransformer

HIDDEN = (256, 128)
N_LATENT = 8
LEARNING_RATE = 5e-3  # VAETransformer's learning_rate_init default
WARMUP = 0.25  # VAETransformer's kl_warmup default


def hand_written_fit(X, activation, epochs, batch_size, seed):
    """A VAE trained by a plain PyTorch loop; returns the mean loss of the last epoch."""
    torch.manual_seed(seed)
    act = {"gelu": nn.GELU, "relu": nn.ReLU}[activation]
    d = X.shape[1]

    def stack(widths):
        layers = []
        for a, b in itertools.pairwise(widths):
            layers += [nn.Linear(a, b), act()]
        return layers

    encoder = nn.Sequential(*stack((d,) + HIDDEN), nn.Linear(HIDDEN[-1], 2 * N_LATENT))
    decoder = nn.Sequential(*stack((N_LATENT,) + HIDDEN[::-1]), nn.Linear(HIDDEN[0], d))
    log_var = nn.Parameter(torch.zeros(()))
    params = [*encoder.parameters(), *decoder.parameters(), log_var]
    optimizer = torch.optim.Adam(params, lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    x_all = torch.as_tensor(X, dtype=torch.float32)
    x_all = (x_all - x_all.mean(0)) / x_all.std(0)
    n, warmup = len(x_all), math.ceil(WARMUP * epochs)
    log_2pi = math.log(2 * math.pi)
    for epoch in range(epochs):
        kl_weight = min(1.0, (epoch + 1) / warmup)
        total = 0.0
        for rows in torch.randperm(n).split(batch_size):
            xb = x_all[rows]
            loc, raw = encoder(xb).chunk(2, dim=1)
            scale = nn.functional.softplus(raw) + 1e-4
            z = loc + scale * torch.randn_like(scale)
            nll = 0.5 * (((xb - decoder(z)) ** 2) * torch.exp(-log_var) + log_var + log_2pi)
            kl = 0.5 * (loc**2 + scale**2 - 1.0) - torch.log(scale)
            loss = (nll.sum(1) + kl_weight * kl.sum(1)).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        schedule.step()
    return total / n


def pyod_fit(X, epochs, batch_size, seed):
    from pyod.models.vae import VAE

    VAE(
        encoder_neuron_list=list(HIDDEN),
        decoder_neuron_list=list(HIDDEN[::-1]),
        latent_dim=N_LATENT,
        epoch_num=epochs,
        batch_size=batch_size,
        device="cpu",
        random_state=seed,
        verbose=0,
    ).fit(X)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-pyod", action="store_true", help="leave PyOD's VAE out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rng = np.random.RandomState(0)
    n, d = args.n_samples, args.n_features
    X = (rng.normal(size=(n, 8)) @ rng.normal(size=(8, d)) + rng.normal(size=(n, d))).astype(
        np.float32
    )
    common = dict(
        n_components=N_LATENT,
        hidden_layer_sizes=HIDDEN,
        max_iter=args.epochs,
        max_steps=None,  # every epoch, as the loop runs them (no step budget)
        batch_size=args.batch_size,
        device="cpu",
    )
    fits = {
        "VAETransformer (gelu, defaults)": lambda r: VAETransformer(
            **common, random_state=r
        ).fit(X),
        "hand-written loop (gelu)": lambda r: hand_written_fit(
            X, "gelu", args.epochs, args.batch_size, r
        ),
        "VAETransformer (relu)": lambda r: VAETransformer(
            **common, activation="relu", random_state=r
        ).fit(X),
        "hand-written loop (relu)": lambda r: hand_written_fit(
            X, "relu", args.epochs, args.batch_size, r
        ),
    }
    if not args.no_pyod:
        fits["PyOD VAE (relu, its defaults)"] = lambda r: pyod_fit(
            X, args.epochs, args.batch_size, r
        )
    # one short fit of each first: thread pools, allocator, imports
    small = X[:2000]
    VAETransformer(**{**common, "max_iter": 1}).fit(small)
    hand_written_fit(small, "gelu", 1, args.batch_size, 0)
    if not args.no_pyod:
        pyod_fit(small, 1, args.batch_size, 0)

    times = {name: [] for name in fits}
    for r in range(args.rounds):
        for name, fit in fits.items():
            t0 = time.perf_counter()
            fit(r)
            times[name].append(time.perf_counter() - t0)

    rows = n * args.epochs
    print(
        f"n={n} d={d} batch={args.batch_size} hidden={HIDDEN} latents={N_LATENT} "
        f"epochs={args.epochs} rounds={args.rounds} torch threads={torch.get_num_threads()}"
    )
    print(f"{'':34}{'median s':>10}{'rows/s':>12}")
    for name, values in times.items():
        print(f"{name:34}{np.median(values):10.2f}{rows / np.median(values):12.0f}")

    def ratio(a, b):
        return float(np.median(np.divide(times[a], times[b])))

    print("Time ratios (median of per-round ratios; below 1 means skvae is faster):")
    for act in ("gelu", "relu"):
        name = "VAETransformer (gelu, defaults)" if act == "gelu" else "VAETransformer (relu)"
        print(
            f"  skvae / hand-written loop ({act}): "
            f"{ratio(name, f'hand-written loop ({act})'):.3f}  (target <= 1.0)"
        )
    if not args.no_pyod:
        print(
            "  skvae (defaults) / PyOD VAE: "
            f"{ratio('VAETransformer (gelu, defaults)', 'PyOD VAE (relu, its defaults)'):.3f}"
            "  (target < 1.0)"
        )


if __name__ == "__main__":
    main()
