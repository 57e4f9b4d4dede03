"""Training batches without a DataLoader: slices of in-memory tensors, or streamed.

:class:`TensorBatches` shuffles an in-memory dict of per-row tensors and
yields its batches (gathered a few megabytes at a time, moved to the
training device per batch when the data stay in host memory);
``_Streamed`` does the same over a shuffle buffer of an out-of-core array;
``_RankShare`` gives each process of a data-parallel group its share.
"""

import math

import torch

from ._data import StreamedData

# The smallest and largest batch of batch_size="auto" (see TrainingMixin._plan);
# inference with "auto" runs in blocks of at least the smallest.
AUTO_BATCH = (128, 1024)


def _n_rows(data):
    return len(data) if isinstance(data, StreamedData) else len(data["x"])


def _n_features(data):
    return data.n_features if isinstance(data, StreamedData) else data["x"].shape[1]


def _take(data, index):
    """Rows ``index`` of every per-row tensor of ``data``."""
    return {key: value[index] for key, value in data.items()}


# Bytes of the training rows gathered at once into shuffled batches (see
# TensorBatches).
_GATHER_BYTES = 4 * 2**20

def moves_batches(home, device):
    """Whether batches of data held on ``home`` are copied to ``device`` one by one.

    Only data kept in host memory for an accelerator do; data already on the
    training device (``"cuda"`` and ``"cuda:0"`` alike) are sliced in place.
    """
    return device is not None and home.type == "cpu" and torch.device(device).type != "cpu"


class TensorBatches:
    """Mini-batches sliced from in-memory tensors, reshuffled every epoch.

    ``data`` is a dict of tensors with the same number of rows: ``"x"`` and
    any extra per-row inputs of the module (passed to its ``forward`` as
    keyword arguments, the skorch convention). ``prepare``, when given, turns
    each batch dict into the module's keyword arguments (an estimator's hook,
    e.g. drawing a neighbor of every row), drawing from ``noise``. The rows
    are shuffled with ``generator``.
    """

    def __init__(
        self, data, batch_size, shuffle, prepare=None, device=None, generator=None, noise=None
    ):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.prepare = prepare
        self.device = device
        self.generator = generator
        self.noise = noise

    def __len__(self):
        return math.ceil(_n_rows(self.data) / self.batch_size)

    def __iter__(self):
        data, bs, n = self.data, self.batch_size, _n_rows(self.data)
        home = data["x"].device
        order = torch.randperm(n, generator=self.generator).to(home) if self.shuffle else None
        # Data kept in host memory (see keeps_on_host) go over per batch, as a
        # DataLoader with pin_memory=True sends them: each gathered batch is
        # pinned, so that its copy to the GPU overlaps the GPU's work.
        move = moves_batches(home, self.device)
        pin = move and torch.device(self.device).type == "cuda"
        # Shuffled rows are gathered a chunk of batches at a time: one gather
        # of scattered rows, while they are out of cache anyway, costs less
        # than one per batch interleaved with the steps; the batches are the same.
        row_bytes = sum(v[:1].nelement() * v.element_size() for v in data.values())
        chunk = bs * max(1, _GATHER_BYTES // max(1, bs * row_bytes))
        for first in range(0, n, chunk):
            rows = slice(first, first + chunk)
            part = _take(data, rows if order is None else order[rows])
            for start in range(0, _n_rows(part), bs):
                batch = _take(part, slice(start, start + bs))
                if move:
                    batch = {
                        key: (value.pin_memory() if pin else value).to(
                            self.device, non_blocking=pin
                        )
                        for key, value in batch.items()
                    }
                yield (self.prepare(batch, self.noise) if self.prepare else batch), None


class _Streamed:
    """Mini-batches of :class:`~skvae._data.StreamedData`, as skorch iterates them."""

    def __init__(
        self, data, batch_size, shuffle, device, prepare=None, generator=None, noise=None
    ):
        self.data, self.batch_size, self.shuffle = data, batch_size, shuffle
        self.device, self.prepare, self.generator = device, prepare, generator
        self.noise = noise

    def __len__(self):
        return math.ceil(len(self.data) / self.batch_size)

    def __iter__(self):
        batches = self.data.batches(self.batch_size, self.shuffle, self.device, self.generator)
        for batch in batches:
            yield (self.prepare(batch, self.noise) if self.prepare else batch), None


class _RankShare:
    """The part of each global mini-batch that one process of a data-parallel fit trains on.

    Every process iterates the same global batches (the same shuffle) and
    keeps a contiguous share of each, as even as the rows allow. The net's
    loss is then weighted by ``rows * world / global rows`` (``net.share_``),
    so that DDP's mean of the processes' gradients is the gradient of the
    global batch's mean loss, as in one process. A process left without a row
    (a last batch smaller than the number of processes) takes part with one
    row at weight 0, so that every process joins the gradient all-reduce.
    """

    def __init__(self, batches, net, rank, world):
        self.batches, self.net, self.rank, self.world = batches, net, rank, world

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        for batch, y in self.batches:
            n = len(batch["x"])
            start = n * self.rank // self.world
            stop = n * (self.rank + 1) // self.world
            if stop > start:
                self.net.share_ = (stop - start) * self.world / n
            else:
                start, stop, self.net.share_ = 0, 1, 0.0
            yield {key: value[start:stop] for key, value in batch.items()}, y
