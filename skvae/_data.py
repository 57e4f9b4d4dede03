"""Data that are not read into memory: ``np.memmap`` and dask arrays, in row blocks.

An estimator that is given such an array never copies it whole. It reads it
in contiguous blocks of rows: once to check it and compute the training
statistics, then on every epoch in a shuffled order, through a bounded
buffer of rows (:class:`StreamedData`), and again for inference, block by
block. Everything else (the codes, the scores, the labels) is in memory, of
size ``n_samples`` times a few columns.
"""

import numpy as np
import torch

# Rows per block read from a memory map: a multiple of any power-of-two batch
# size up to it, and a few MB of float32 for a hundred features.
_MEMMAP_BLOCK_ROWS = 8192


def is_dask_array(X):
    """Whether ``X`` is a dask array (without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "chunks")


def is_out_of_core(X):
    """Whether ``X`` is read in blocks rather than copied into memory."""
    return isinstance(X, np.memmap) or is_dask_array(X)


def block_ranges(X, block_rows=None):
    """The ``(start, stop)`` rows of the blocks that ``X`` is read in.

    A dask array's row chunks (each computed once per read), or fixed blocks
    of ``block_rows`` rows of a memory map.
    """
    n, block_rows = X.shape[0], block_rows or _MEMMAP_BLOCK_ROWS
    if is_dask_array(X):
        stops = np.cumsum(X.chunks[0]).tolist()
        return list(zip([0] + stops[:-1], stops, strict=True))
    return [(start, min(start + block_rows, n)) for start in range(0, n, block_rows)]


class RowBlocks:
    """A 2-D array read in row blocks, each converted by ``convert`` as it is read.

    Stands in for a validated array wherever the estimators read their data in
    blocks (:meth:`skvae._base.BaseVAE._blocks`, :class:`StreamedData`).

    Parameters
    ----------
    source : np.memmap or dask array of shape (n_samples, n_features)
    convert : callable
        Maps a block read from ``source`` (a numpy array) to the block the
        model sees; it also checks the block (finite values, support).
    dtype : numpy dtype
        The dtype that ``convert`` returns.
    """

    ndim = 2
    # per-feature (mean, variance) of the converted rows, set by the pass that
    # validates the training data (the module starts from them)
    moments = None

    def __init__(self, source, convert, dtype):
        self.source = source
        self.convert = convert
        self.dtype = np.dtype(dtype)
        self.shape = tuple(int(s) for s in source.shape)
        self.ranges = block_ranges(source)

    def __len__(self):
        return self.shape[0]

    def read(self, start, stop):
        """Rows ``start:stop``, converted."""
        block = self.source[start:stop]
        if is_dask_array(block):
            block = block.compute()
        return self.convert(np.asarray(block), start)

    def blocks(self, size):
        """Yield ``(start, block)`` for consecutive blocks of at most ``size`` rows."""
        for start, stop in self.ranges:
            block = self.read(start, stop)
            for offset in range(0, stop - start, size):
                yield start + offset, block[offset : offset + size]


def take_rows(X, index):
    """Rows ``index`` (sorted, unique) of an in-memory array or a :class:`RowBlocks`.

    A :class:`RowBlocks` is read block by block, and only the blocks that
    hold some of the rows are read; the result is in memory, ``len(index)``
    rows.
    """
    if not isinstance(X, RowBlocks):
        return X[index]
    out = np.empty((len(index), X.shape[1]), dtype=X.dtype)
    for start, stop in X.ranges:
        a, b = np.searchsorted(index, [start, stop])
        if a < b:
            out[a:b] = X.read(start, stop)[index[a:b] - start]
    return out


def column_moments(blocks):
    """Count, per-column mean and per-column variance (ddof 0) of row blocks.

    ``blocks`` yields 2-D float arrays; the moments of each block are merged
    in float64 (Chan et al.'s pairwise update), so that no sum over all rows
    loses precision.
    """
    return _merged_moments(blocks, covariance=False)


def covariance_moments(blocks):
    """Count, column means and covariance matrix (ddof 0) of row blocks.

    As :func:`column_moments`, with the pairwise update of the matrix of
    centred cross-products: memory is one block and a (d, d) matrix.
    """
    return _merged_moments(blocks, covariance=True)


def _merged_moments(blocks, covariance):
    n, mean, m2 = 0, None, None
    for block in blocks:
        block = np.asarray(block, dtype=np.float64)
        m = block.shape[0]
        if m == 0:
            continue
        b_mean = block.mean(axis=0)
        deviations = block - b_mean
        if covariance:
            b_m2 = deviations.T @ deviations
        else:
            b_m2 = np.square(deviations, out=deviations).sum(axis=0)
        del block, deviations  # before the next block is read
        if mean is None:
            n, mean, m2 = m, b_mean, b_m2
            continue
        delta = b_mean - mean
        total = n + m
        mean = mean + delta * (m / total)
        cross = np.outer(delta, delta) if covariance else delta**2
        m2 = m2 + b_m2 + cross * (n * m / total)
        n = total
    return n, mean, m2 / n


class StreamedData:
    """The training rows of an out-of-core ``X``, in shuffled mini-batches.

    ``x`` (a :class:`RowBlocks` in the model's units) is read block by block,
    in a random order of its blocks every epoch. Blocks fill a buffer of
    ``buffer_size`` rows (at least one block), whose rows are shuffled
    together and cut into batches; rows left over from one buffer start the
    next. Memory is bounded by the buffer, not by the number of rows. The
    shuffle is therefore local: two rows far apart in ``X`` share a batch
    only when their blocks share a buffer. ``rows`` are per-row inputs of the
    module held in memory (e.g. class labels), ``keep`` a boolean mask of the
    rows in this set (a training / validation split) or None for all.
    """

    def __init__(self, x, rows=None, keep=None, buffer_size=65536):
        self.x = x
        self.rows = dict(rows or {})
        self.keep = keep
        self.buffer_size = buffer_size

    def __len__(self):
        return self.x.shape[0] if self.keep is None else int(self.keep.sum())

    @property
    def n_features(self):
        return self.x.shape[1]

    def __contains__(self, key):
        return key == "x" or key in self.rows

    def split(self, n_valid, generator=None):
        """A random ``(train, valid)`` split with ``n_valid`` validation rows."""
        order = torch.randperm(self.x.shape[0], generator=generator).numpy()
        valid = np.zeros(self.x.shape[0], dtype=bool)
        valid[order[:n_valid]] = True
        return (
            StreamedData(self.x, self.rows, ~valid, self.buffer_size),
            StreamedData(self.x, self.rows, valid, self.buffer_size),
        )

    def _pieces(self, shuffle, generator=None):
        """Yield the kept rows of each block as numpy dicts, blocks in random order."""
        ranges = self.x.ranges
        order = range(len(ranges))
        if shuffle and len(ranges) > 1:
            order = torch.randperm(len(ranges), generator=generator).tolist()
        for i in order:
            start, stop = ranges[i]
            piece = {"x": self.x.read(start, stop)}
            piece.update({key: value[start:stop] for key, value in self.rows.items()})
            if self.keep is not None:
                mask = self.keep[start:stop]
                piece = {key: value[mask] for key, value in piece.items()}
            yield piece

    def batches(self, batch_size, shuffle, device, generator=None):
        """Yield mini-batches as dicts of tensors on ``device``.

        ``generator`` (a ``torch.Generator``, or None for the global one)
        draws the shuffles.
        """
        pin = torch.device(device).type == "cuda"
        buffered, n_buffered = [], 0
        pieces = self._pieces(shuffle, generator)
        done = False
        while not done:
            for piece in pieces:
                buffered.append(piece)
                n_buffered += len(piece["x"])
                if n_buffered >= self.buffer_size:
                    break
            else:
                done = True
            if not n_buffered:
                return
            data = {
                key: torch.from_numpy(np.concatenate([p[key] for p in buffered]))
                for key in buffered[0]
            }
            data["x"] = data["x"].float()
            if pin:
                data = {key: value.pin_memory() for key, value in data.items()}
            data = {key: value.to(device, non_blocking=pin) for key, value in data.items()}
            n = n_buffered
            order = torch.randperm(n, generator=generator).to(device) if shuffle else None
            # a last partial batch waits for the next buffer, except at the end
            n_full = n if done else n - n % batch_size
            for start in range(0, n_full, batch_size):
                stop = start + batch_size
                rows = slice(start, stop) if order is None else order[start:stop]
                yield {key: value[rows] for key, value in data.items()}
            if n_full < n:
                rest = slice(n_full, n) if order is None else order[n_full:]
                rest = {key: value[rest].cpu().numpy() for key, value in data.items()}
                buffered, n_buffered = [rest], n - n_full
            else:
                buffered, n_buffered = [], 0
