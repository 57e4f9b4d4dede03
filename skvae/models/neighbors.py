"""Neighbor pairs: a UMAP-like term that keeps the neighbors of the data near in the codes.

:class:`NeighborPairs` gives each training batch a random neighbor of every
row (``x_pair``); a family's ``forward`` encodes it and its loss weighs
:func:`neighbor_embedding_loss` (the VAE's) or its own consistency term (the
GMVAE's).
"""

import torch

# Rows of the batch that push each row's code away in the neighbor term.
_NEGATIVE_SAMPLES = 5


class NeighborPairs:
    """Batch preparation: replace each batch's ``neighbors`` by ``x_pair``.

    ``neighbors`` (a per-row input, (n, k) indices into ``pool``, the training
    rows) becomes one of each row's neighbors, drawn at random from
    ``generator`` (the net's training noise) every time a batch is made.
    """

    def __init__(self, pool):
        self.pool = pool

    def __call__(self, batch, generator=None):
        batch = dict(batch)
        neighbors = batch.pop("neighbors")
        n = neighbors.shape[0]
        pick = torch.randint(
            neighbors.shape[1], (n,), device=neighbors.device, generator=generator
        )
        rows = neighbors[torch.arange(n, device=neighbors.device), pick]
        # the pool stays in host memory when the training data do (see
        # skvae._parallel.keeps_on_host): the pairs follow the batch to its device
        pairs = self.pool[rows.to(self.pool.device)]
        batch["x_pair"] = pairs.to(neighbors.device, non_blocking=True)
        return batch


def neighbor_embedding_loss(loc, loc_pair, n_negative=_NEGATIVE_SAMPLES, generator=None):
    """UMAP's cross-entropy on codes, per row (McInnes et al. 2018; Sainburg et al. 2021).

    With the Cauchy kernel ``w(d) = 1 / (1 + d^2)`` of UMAP's layout
    (``a = b = 1``), a row's code ``loc`` is pulled towards the code of its
    neighbor ``loc_pair`` (``-log w``) and pushed from the codes of
    ``n_negative`` other rows of the batch (``-log(1 - w)``, averaged), drawn
    from ``generator`` as cyclic shifts of the batch, so that no row is its
    own negative.
    """
    attract = torch.log1p(((loc - loc_pair) ** 2).sum(-1))
    n = loc.shape[0]
    if n < 2:
        return attract
    repel = 0.0
    shifts = torch.randint(1, n, (n_negative,), device=loc.device, generator=generator)
    for shift in shifts.tolist():
        d2 = ((loc - loc.roll(shift, dims=0)) ** 2).sum(-1)
        # -log(1 - w) = log(1 + 1 / d^2); coincident codes give a finite push
        repel = repel + torch.log1p(1.0 / d2.clamp(min=1e-4))
    return attract + repel / n_negative
