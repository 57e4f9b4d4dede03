"""Fit throughput of VAETransformer against a hand-written PyTorch loop.

Both train the same network (the same torch module class and parameter count)
with Adam, the same batch size and the same number of epochs, on the same
data, in the same run. The hand-written loop is the floor: plain tensor
slicing, no callbacks, no history. Target: the loop is at most 1.1x faster.

    python benchmarks/bench_fit.py                 # n=20000, d=100, 5 epochs
    python benchmarks/bench_fit.py --epochs 10 --repeats 3
"""

import argparse
import time

import numpy as np
import torch

from skvae import VAETransformer
from skvae.models import ELBOLoss, VAEModule


def hand_written_fit(X, module_params, epochs, batch_size, lr, seed):
    torch.manual_seed(seed)
    module = VAEModule(**module_params)
    criterion = ELBOLoss()
    optimizer = torch.optim.Adam(module.parameters(), lr=lr)
    X_t = torch.tensor(X, dtype=torch.float32)
    module.train()
    for _ in range(epochs):
        order = torch.randperm(len(X_t))
        for start in range(0, len(X_t), batch_size):
            xb = X_t[order[start : start + batch_size]]
            optimizer.zero_grad()
            loss = criterion(module(xb), xb)
            loss.backward()
            optimizer.step()
            loss.item()  # the same per-batch sync skorch's history does
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.RandomState(0)
    n, d = args.n_samples, args.n_features
    X = rng.normal(size=(n, 8)) @ rng.normal(size=(8, d)) + rng.normal(size=(n, d))
    params = dict(
        n_components=8,
        hidden_layer_sizes=(256, 128),
        max_iter=args.epochs,
        batch_size=args.batch_size,
        learning_rate="constant",
        device="cpu",
        random_state=0,
    )
    # warm up both paths once (thread pools, allocator); the fitted warm-up
    # estimator gives the module's arguments for the whole data
    warm = VAETransformer(**{**params, "max_iter": 1}).fit(X[:2000])
    module_params = warm._module_params(X)
    hand_written_fit(X[:2000], warm._module_params(X[:2000]), 1, args.batch_size, 1e-3, 0)

    t_skvae, t_hand = [], []
    for r in range(args.repeats):  # interleaved, so drifts in machine load hit both
        t0 = time.perf_counter()
        fitted = VAETransformer(**{**params, "random_state": r}).fit(X)
        t_skvae.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        module = hand_written_fit(X, module_params, args.epochs, args.batch_size, 1e-3, r)
        t_hand.append(time.perf_counter() - t0)

    n_params = sum(p.numel() for p in module.parameters())
    assert n_params == sum(p.numel() for p in fitted.module_.parameters())
    best_s, best_h = min(t_skvae), min(t_hand)
    rows = n * args.epochs
    print(
        f"n={n} d={d} batch={args.batch_size} hidden=(256, 128) latents=8 "
        f"epochs={args.epochs} params={n_params} torch threads={torch.get_num_threads()}"
    )
    print(f"{'':24}{'best s':>10}{'median s':>10}{'rows/s':>12}")
    for name, times in (("VAETransformer (skorch)", t_skvae), ("hand-written loop", t_hand)):
        print(
            f"{name:24}{min(times):10.2f}{np.median(times):10.2f}{rows / min(times):12.0f}"
        )
    print(f"ratio skvae / hand-written (best of {args.repeats}): {best_s / best_h:.3f}"
          f"  (target <= 1.10)")


if __name__ == "__main__":
    main()
