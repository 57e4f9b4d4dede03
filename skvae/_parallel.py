"""Memory placement and agreement between the processes of a data-parallel fit."""

import torch


def keeps_on_host(nbytes, device):
    """Whether training data of ``nbytes`` stay in host memory rather than on ``device``.

    Data that fit in half of a CUDA device's free memory are moved there once;
    larger data stay in (pinned) host memory and are copied per batch. On the
    CPU (and MPS) the data are where they are trained.
    """
    device = torch.device(device)
    if device.type != "cuda":
        return False
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes > free / 2


def process_group():
    """``(rank, world_size)`` of a running ``torch.distributed`` group of 2+ processes, or None."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return dist.get_rank(), dist.get_world_size()
    return None


def agree_across_processes(values, device, what):
    """Check that every process of a group holds rank 0's ``values`` (numbers).

    ``what`` names the values in the error. Every process takes part, so
    that all of them raise together rather than leave the others waiting.
    """
    if process_group() is None:
        return values
    dist = torch.distributed
    device = device if torch.device(device).type == "cuda" else "cpu"
    local = torch.tensor(values, dtype=torch.float64, device=device)
    first = local.clone()
    dist.broadcast(first, src=0)
    differs = torch.tensor([float(not torch.equal(local, first))], device=device)
    dist.all_reduce(differs, op=dist.ReduceOp.MAX)
    if differs.item():
        raise ValueError(
            f"In a data-parallel fit every process must pass the same data, but the "
            f"processes disagree on {what}. Load the same X (and y) in every process, "
            "for example the same memory map; each process trains on its share of "
            "every mini-batch."
        )
    return values


def shared_seeds(seeds, device):
    """Rank 0's seeds in every process of a group (``random_state=None`` differs)."""
    if process_group() is None:
        return seeds
    device = device if torch.device(device).type == "cuda" else "cpu"
    t = torch.tensor(seeds, dtype=torch.int64, device=device)
    torch.distributed.broadcast(t, src=0)
    return tuple(int(v) for v in t.tolist())
