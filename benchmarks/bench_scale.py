"""Fit and transform time per row, and peak anonymous memory, as the data grow.

For each estimator and each number of rows ``n`` (d = 100 float32 features,
rank-8 signal plus noise), one process fits one epoch and transforms (or
scores) every row, and reports:

- ``epoch s/Mrow``: the epoch's time (skorch's ``dur``) per million rows;
- ``fit s``: the whole ``fit`` (checks, statistics passes, the epoch);
- ``infer s/Mrow``: ``transform`` (``score_samples`` for the outlier
  detector, ``transform(X, y)`` for the conditional VAE) per million rows;
- ``peak RssAnon MB``: the largest anonymous resident memory of the process
  (sampled every 20 ms from ``/proc/self/status``), which counts the
  process's own copies of the data and not the pages of a memory map; and
  the same before the data were made or opened.

In-memory rows are a numpy array; ``--memmap-rows`` adds a float32 memory map
of that many rows (written in blocks first: 10^7 rows are 4 GB on disk).

On the memory map the run also times the reference for streamed inference:
the same encoder written as a plain ``nn.Sequential`` (weights copied from
the fitted VAETransformer, the same float64 arithmetic that inference uses
on the CPU) applied to in-memory blocks of ``batch_size`` rows, on the first
10^6 rows read into memory. Targets (issue 13): epoch time per row within
20% from 10^5 to 10^7 rows; a one-epoch fit on a 10^7 x 100 memory map with
peak RssAnon under 1 GB; transform on the memory map at >= 50% of the
reference's speed.

    python benchmarks/bench_scale.py                          # 10^4, 10^5 rows, every estimator
    python benchmarks/bench_scale.py --sizes 100000 1000000 --estimators VAETransformer \\
        --memmap-rows 10000000
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

D, RANK = 100, 8


def _registered_names():
    """Every estimator of skvae's registry (a new one is measured without an edit here)."""
    from skvae import all_estimators

    return [name for name, _ in all_estimators()]


def rss_anon_mb():
    status = open("/proc/self/status").read()
    return int(re.search(r"RssAnon:\s+(\d+)", status).group(1)) / 1024


class PeakMemory:
    """Samples RssAnon in a thread; ``peak`` is the largest value seen."""

    def __init__(self, every=0.02):
        self.every, self.peak, self._stop = every, rss_anon_mb(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_anon_mb())
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_anon_mb())


def make_rows(n, seed=0, start=0):
    """Rows ``start:start+n`` of the benchmark data (the same rows whatever the blocks)."""
    rng = np.random.RandomState(seed)
    mixing = rng.normal(size=(RANK, D)).astype(np.float32)
    out = np.empty((n, D), dtype=np.float32)
    block = 100_000
    for a in range(0, n, block):
        b = min(a + block, n)
        r = np.random.RandomState([seed, (start + a) // block])
        z = r.normal(size=(b - a, RANK)).astype(np.float32)
        out[a:b] = z @ mixing + r.normal(size=(b - a, D)).astype(np.float32)
    return out


def write_memmap(path, n):
    out = np.memmap(path, dtype=np.float32, mode="w+", shape=(n, D))
    for a in range(0, n, 1_000_000):
        b = min(a + 1_000_000, n)
        out[a:b] = make_rows(b - a, start=a)
    out.flush()
    del out


def estimator(name, **params):
    """``name``'s estimator with 8 components, at scale (also used by bench_gpu.py)."""
    import skvae

    params = {"max_iter": 1, "random_state": 0, "device": "cpu", **params}
    if name == "VQVAETransformer":
        params.update(prior="uniform", n_components=8, n_slots=8)
    elif name == "GMVAEClusterer":
        # the neighbor term searches all rows (quadratic): off at scale
        params.update(neighbor_weight=0.0)
    else:
        params.update(n_components=8)
    return getattr(skvae, name)(**params)


def plain_encoder(est):
    """The fitted VAETransformer's encoder as an nn.Sequential, in float64."""
    import torch
    from torch import nn

    module = est.module_
    layers = []
    linears = [m for m in module.encoder.modules() if isinstance(m, nn.Linear)]
    for lin in linears:
        layers += [nn.Linear(lin.in_features, lin.out_features), nn.GELU()]
        layers[-2].load_state_dict(lin.state_dict())
    head = nn.Linear(module.z_params.in_features, module.z_params.out_features)
    head.load_state_dict(module.z_params.state_dict())
    net = nn.Sequential(*layers, head).double().eval()
    shift = module.x_shift.double()
    scale = module.x_scale.double()
    offset = torch.as_tensor(est.x_offset_, dtype=torch.float64)
    unit, k = est.x_unit_, est.n_components

    def encode(block):
        x = (torch.from_numpy(block).double() - offset) / unit
        return net((x - shift) / scale)[:, :k]

    return encode


def child(name, n, path):
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    from sklearn.base import clone

    est = estimator(name)
    warm = clone(est)  # imports and first-call costs
    warm.fit(make_rows(1000), np.arange(1000) % 3) if name == "ConditionalVAE" else warm.fit(
        make_rows(1000)
    )
    before = rss_anon_mb()
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(n, D)) if path else make_rows(n)
    y = np.arange(n) % 3
    with PeakMemory() as memory:
        t0 = time.perf_counter()
        est.fit(X, y) if name == "ConditionalVAE" else est.fit(X)
        fit_s = time.perf_counter() - t0
        epoch_s = float(est.net_.history[-1, "dur"])
        t0 = time.perf_counter()
        if name == "VAEOutlierDetector":
            est.score_samples(X)
        elif name == "ConditionalVAE":
            # the codes given the classes; without them, transform weighs
            # every class by predict_proba (a bound per class and row)
            est.transform(X, y)
        else:
            est.transform(X)
        infer_s = time.perf_counter() - t0
    out = dict(
        name=name, n=n, source="memmap" if path else "memory", fit_s=fit_s,
        epoch_s=epoch_s, infer_s=infer_s, peak_mb=memory.peak, before_mb=before,
    )
    if path and name == "VAETransformer":
        m = min(n, 1_000_000)
        rows = np.array(X[:m])
        encode = plain_encoder(est)
        with torch.inference_mode():
            t0 = time.perf_counter()
            for a in range(0, m, est.batch_size):
                encode(rows[a : a + est.batch_size]).numpy()
            reference_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            est.transform(X[:m])
            streamed_s = time.perf_counter() - t0
        out.update(reference_per_mrow=reference_s / m * 1e6, streamed_per_mrow=streamed_s / m * 1e6)
    print(json.dumps(out))


def run_child(name, n, path, threads):
    env = dict(os.environ, BENCH_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--child", name, str(n), path or ""]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--memmap-rows", type=int, default=0)
    parser.add_argument("--estimators", default=",".join(_registered_names()))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, n, path = args.child
        return child(name, int(n), path or None)

    names = args.estimators.split(",")
    runs = [(name, n, None) for name in names for n in args.sizes]
    tmp = None
    if args.memmap_rows:
        tmp = tempfile.NamedTemporaryFile(suffix=".f32", delete=False)
        t0 = time.perf_counter()
        write_memmap(tmp.name, args.memmap_rows)
        took = time.perf_counter() - t0
        print(f"wrote a {args.memmap_rows} x {D} float32 memmap in {took:.0f} s")
        runs += [(name, args.memmap_rows, tmp.name) for name in names]
    print(f"d={D}, one epoch, batch 128, torch threads={args.threads}")
    header = (
        f"{'estimator':28}{'rows':>10}{'source':>8}{'epoch s/Mrow':>14}{'fit s':>8}"
        f"{'infer s/Mrow':>14}{'peak RssAnon MB':>17}{'before MB':>11}"
    )
    print(header)
    results = []
    try:
        for name, n, path in runs:
            r = run_child(name, n, path, args.threads)
            if r is None:
                print(f"{name:28}{n:>10} failed")
                continue
            results.append(r)
            print(
                f"{name:28}{n:>10}{r['source']:>8}{r['epoch_s'] / n * 1e6:14.1f}"
                f"{r['fit_s']:8.1f}{r['infer_s'] / n * 1e6:14.1f}{r['peak_mb']:17.0f}"
                f"{r['before_mb']:11.0f}",
                flush=True,
            )
    finally:
        if tmp is not None:
            os.unlink(tmp.name)
    for name in names:
        mine = sorted((r for r in results if r["name"] == name), key=lambda r: r["n"])
        big = [r for r in mine if r["n"] >= 100_000]
        if len(big) >= 2:
            per_row = [r["epoch_s"] / r["n"] for r in big]
            print(
                f"{name}: epoch time per row from 10^5 rows up, most / least: "
                f"{max(per_row) / min(per_row):.2f} (target <= 1.2)"
            )
        for r in mine:
            if "reference_per_mrow" in r:
                print(
                    f"{name}: transform on the memmap {r['streamed_per_mrow']:.1f} s/Mrow, "
                    f"plain encoder on in-memory blocks {r['reference_per_mrow']:.1f} s/Mrow: "
                    f"speed ratio {r['reference_per_mrow'] / r['streamed_per_mrow']:.2f} "
                    "(target >= 0.5)"
                )
            if r["source"] == "memmap" and r["n"] >= 10_000_000:
                print(
                    f"{name}: one-epoch fit on the {r['n']}-row memmap, peak RssAnon "
                    f"{r['peak_mb']:.0f} MB (target < 1024)"
                )


if __name__ == "__main__":
    main()
