"""Training and inference throughput (rows per second) per estimator, device and precision.

Each estimator fits ``--epochs`` epochs (2 by default) on ``n`` rows of
d = 100 float32 features at each precision (``float32``, ``bfloat16``,
``float16``) on the CPU and, when torch sees one, on the GPU; the training
rate is read from the last epoch's time (skorch's ``dur``, after the first
epoch has warmed up kernels and allocators), the inference rate from
``transform`` (``score_samples`` for the outlier detector) on all rows. Data
that fit are moved to the GPU once (see the user guide, "Scaling up").

    python benchmarks/bench_gpu.py                         # CPU, 5,000 rows
    python benchmarks/bench_gpu.py --n-samples 200000 --devices cuda --batch-size 1024
"""

import argparse
import time

import numpy as np
import torch
from bench_scale import _registered_names, estimator

PRECISIONS = ("float32", "bfloat16", "float16")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--devices", nargs="+", default=None)
    parser.add_argument("--estimators", default=",".join(_registered_names()))
    parser.add_argument("--precisions", default=",".join(PRECISIONS))
    args = parser.parse_args()

    devices = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rng = np.random.RandomState(0)
    n = args.n_samples
    X = (rng.normal(size=(n, 8)) @ rng.normal(size=(8, 100)) + rng.normal(size=(n, 100)))
    X = X.astype(np.float32)
    y = np.arange(n) % 3
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "none"
    print(
        f"n={n} d=100 batch={args.batch_size} epochs={args.epochs} "
        f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, GPU: {gpu}"
    )
    print(f"{'estimator':28}{'device':>7}{'precision':>10}{'train rows/s':>14}{'infer rows/s':>14}")
    for device in devices:
        for name in args.estimators.split(","):
            for precision in args.precisions.split(","):
                est = estimator(
                    name, max_iter=args.epochs, max_steps=None, batch_size=args.batch_size,
                    device=device,
                    precision=precision, random_state=0,
                )
                try:
                    est.fit(X, y) if name == "ConditionalVAE" else est.fit(X)
                except (ValueError, RuntimeError) as exc:
                    print(f"{name:28}{device:>7}{precision:>10}  failed: {exc}")
                    continue
                train = n / float(est.net_.history[-1, "dur"])
                method = est.score_samples if name == "VAEOutlierDetector" else est.transform
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                method(X)
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                infer = n / (time.perf_counter() - t0)
                print(f"{name:28}{device:>7}{precision:>10}{train:14.0f}{infer:14.0f}", flush=True)


if __name__ == "__main__":
    main()
