"""Data-parallel training of one VAE by several processes (torch.distributed).

Launch one process per CPU core group or GPU with torchrun; each process
loads the same rows (here a memory map written by process 0), and each fit
trains on its share of every mini-batch while DDP averages the gradients:

    torchrun --nproc_per_node 2 examples/distributed_fit.py            # CPUs (gloo)
    torchrun --nproc_per_node 4 examples/distributed_fit.py --device cuda   # GPUs (nccl)

Across machines, run the same command on each with torchrun's ``--nnodes``,
``--node_rank`` and ``--rdzv_endpoint``. Process 0 saves the fitted model, a
normal skvae estimator that loads and runs in one process.
"""

import argparse
import os

import numpy as np
import torch
import torch.distributed as dist

import skvae


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", default="distributed_vae.skvae")
    args = parser.parse_args()

    cuda = args.device == "cuda"
    dist.init_process_group("nccl" if cuda else "gloo")
    rank = dist.get_rank()
    device = args.device
    if cuda:  # one GPU per process
        local = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    else:  # share the cores between the processes
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // dist.get_world_size()))

    path = "distributed_rows.f32"
    shape = (args.rows, 50)
    if rank == 0 and not os.path.exists(path):
        rng = np.random.RandomState(0)
        rows = np.memmap(path, dtype=np.float32, mode="w+", shape=shape)
        rows[:] = rng.normal(size=(args.rows, 5)) @ rng.normal(size=(5, 50))
        rows.flush()
    dist.barrier()
    X = np.memmap(path, dtype=np.float32, mode="r", shape=shape)

    vae = skvae.VAETransformer(
        n_components=5, max_iter=args.epochs, batch_size=256, device=device, random_state=0
    ).fit(X)
    if rank == 0:
        skvae.save(vae, args.out)
        print(f"{dist.get_world_size()} processes, loss by epoch: "
              f"{np.round(vae.loss_curve_, 2).tolist()}; saved {args.out}")
    dist.barrier()  # the others wait for process 0's file before the group goes
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
