"""Data-parallel training over processes (torch.distributed with gloo, on the CPU)."""

import pickle

import numpy as np
import pytest
import torch
from helpers import data_parallel_rows, data_parallel_worker
from sklearn.base import clone

import skvae
from skvae import AutoencoderTransformer, VAETransformer

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="torch built without distributed"
)


def _two_processes(tmp_path, est):
    """Fit ``est`` in two gloo processes; the estimator of rank 0, unpickled."""
    out = tmp_path / "rank0.pkl"
    torch.multiprocessing.spawn(
        data_parallel_worker,
        args=(2, str(tmp_path / "init"), str(out), type(est).__name__, est.get_params()),
        nprocs=2,
        join=True,
    )
    with open(out, "rb") as f:
        return pickle.load(f)


def _one_process(est):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        X, _ = data_parallel_rows()
        return clone(est).fit(X)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_two_processes_train_the_one_process_model(tmp_path):
    # An autoencoder has no sampling noise: two processes, each on half of
    # every batch of 64 rows with DDP averaging the gradients, take the same
    # steps as one process on the whole batches, up to float rounding. 500
    # rows leave a last batch of 52 rows: 26 each.
    est = AutoencoderTransformer(
        3, max_iter=4, batch_size=64, hidden_layer_sizes=(16,), random_state=0, device="cpu"
    )
    parallel = _two_processes(tmp_path, est)
    alone = _one_process(est)
    np.testing.assert_allclose(parallel.loss_curve_, alone.loss_curve_, rtol=1e-4)
    X, _ = data_parallel_rows()
    np.testing.assert_allclose(parallel.transform(X), alone.transform(X), rtol=1e-3, atol=1e-4)
    # rank 0 holds a normal estimator: the module is not wrapped, it pickles,
    # saves and goes on training in one process
    assert type(parallel.net_.module_) is type(alone.net_.module_)
    path = tmp_path / "model.skvae"
    skvae.save(parallel, path)
    np.testing.assert_array_equal(skvae.load(path).transform(X), parallel.transform(X))
    parallel.set_params(warm_start=True, max_iter=1).fit(X)
    assert parallel.n_iter_ == 5


@pytest.mark.slow
def test_two_processes_train_a_vae_as_well_as_one(tmp_path):
    # Each process draws its own noise for its rows, so the runs differ by
    # Monte-Carlo noise (up to 4% in mid-training): the last epoch's losses
    # agree within 2%, and the bound of the final model within 0.5 nat per row
    est = VAETransformer(
        3, max_iter=10, batch_size=64, hidden_layer_sizes=(16,), random_state=0, device="cpu"
    )
    parallel = _two_processes(tmp_path, est)
    alone = _one_process(est)
    np.testing.assert_allclose(parallel.loss_curve_[-1], alone.loss_curve_[-1], rtol=0.02)
    X, _ = data_parallel_rows()
    assert abs(parallel.score(X) - alone.score(X)) < 0.5


@pytest.mark.slow
def test_the_torchrun_example_runs_on_two_cpu_processes(tmp_path):
    # examples/distributed_fit.py as the user guide launches it
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[1] / "examples" / "distributed_fit.py"
    out = tmp_path / "model.skvae"
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
         str(script), "--rows", "3000", "--epochs", "2", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 processes, loss by epoch" in done.stdout
    model = skvae.load(out)
    assert model.n_iter_ == 2 and model.transform(np.zeros((3, 50))).shape == (3, 5)
