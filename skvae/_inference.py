"""Inference: the fitted module run over X in bounded blocks; scores and samples.

:class:`InferenceMixin` is the part of :class:`~skvae._base.BaseVAE` that
runs the trained module, in evaluation mode and in float64 on the CPU, over
blocks of ``batch_size`` rows (so memory stays bounded), and the Monte-Carlo
scores and the samples built on it. Per-row inputs of a family's module pass
through every helper as keyword arguments (``**rows``).
"""

import copy
import threading
import weakref

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._batches import AUTO_BATCH
from ._data import RowBlocks, column_moments
from ._random import child_seed, seeded_draws
from ._validation import check_count
from .models import elbo_from_draws, iw_bound_from_draws

# The float64 (or other) copies of fitted modules that inference runs, by
# module: built on first use, dropped with the module (a refit or a load
# makes a new one) and by every fit and partial_fit (forget_twins), rebuilt
# when a weight of the module has been changed in place since.
# Kept outside the estimator, so that pickles and model files never hold it.
_TWINS = weakref.WeakKeyDictionary()
_TWINS_LOCK = threading.Lock()


def _versions(module):
    # torch counts in-place changes of every tensor: a changed weight (an
    # optimiser step, load_state_dict) changes the tuple
    return tuple((id(t), t._version) for t in (*module.parameters(), *module.buffers()))


def forget_twins(module):
    """Drop the twins of ``module``: its weights were trained (an optimiser's
    in-place steps do not always count as changes of the tensors)."""
    with _TWINS_LOCK:
        _TWINS.pop(module, None)


def _twin(module, dtype):
    """A copy of ``module`` in ``dtype``, the same object while ``module`` is unchanged."""
    key = _versions(module)
    with _TWINS_LOCK:
        found = _TWINS.get(module, {}).get(dtype)
    if found is not None and found[0] == key:
        return found[1]
    twin = copy.deepcopy(module).to(dtype)
    with _TWINS_LOCK:
        _TWINS.setdefault(module, {})[dtype] = (key, twin)
    return twin


class InferenceMixin:
    """Running the fitted module; part of :class:`~skvae._base.BaseVAE`."""

    @property
    def module_(self):
        """The trained torch module (held by ``net_``)."""
        check_is_fitted(self, "net_")
        return self.net_.module_

    @property
    def _inference_dtype(self):
        """float64 on the CPU, so a row's outputs do not depend on its batch.

        BLAS picks float32 kernels by matrix shape, so in float32 a row scored
        in another batch can come out a few units in the last place apart;
        in float64 the same float32 weights give the same results to ~1e-15.
        Accelerators, slow at float64, keep float32.
        """
        return torch.float64 if torch.device(self.net_.device).type == "cpu" else torch.float32

    def _inference_module(self, dtype=None):
        """The trained module in eval mode in ``dtype`` (the inference dtype by default).

        The trained module itself in float32; else its twin in ``dtype``,
        built once and kept beside the module (see ``_twin``).
        """
        module = self.module_
        dtype = dtype or self._inference_dtype
        if dtype != torch.float32:
            module = _twin(module, dtype)
        return module.eval()

    def _block_size(self):
        """Rows per inference block: an int ``batch_size`` as set now; with
        ``"auto"``, the batch the fit chose, at least the smallest auto batch
        (a last ``partial_fit`` chunk of a few rows must not make inference
        run row by row)."""
        if self.batch_size == "auto":
            return max(self.net_.batch_size, AUTO_BATCH[0])
        return self.batch_size

    def _blocks(self, X, rows, dtype=None):
        """Yield ``X`` in blocks of ``_block_size()`` rows as tensors on the net's device.

        Each block comes with the same rows of every array in ``rows`` (per-row
        inputs of the module, as tensors). Memory stays bounded by the batch
        size (and by a block of the source when ``X`` is out of core). Each
        block is copied (torch takes neither negative strides nor read-only
        memmaps as they are).
        """
        device, dtype = self.net_.device, dtype or self._inference_dtype
        size = self._block_size()
        if isinstance(X, RowBlocks):  # read once per block of the source
            parts = X.blocks(size)
        else:
            parts = (
                (start, X[start : start + size]) for start in range(0, X.shape[0], size)
            )
        for start, values in parts:
            part = slice(start, start + len(values))
            block = torch.tensor(np.ascontiguousarray(values), dtype=dtype, device=device)
            yield block, {key: torch.as_tensor(v[part], device=device) for key, v in rows.items()}

    def _map_blocks(self, X, fn, dtype=None, *, in_float32=False, **rows):
        """``fn(module, block, **block_rows)`` for each block, under inference mode.

        ``rows`` are per-row inputs of the module (e.g. ``labels``), sliced
        like ``X``. The outputs are stacked as numpy, in ``dtype`` (``X``'s
        by default). ``in_float32`` runs the trained module in
        float32, as it trained, rather than in the inference dtype: for the
        fit's own summaries of the training data (means over rows), which
        need no row-exact reproducibility and would otherwise cost a float64
        pass (2 to 3 times slower on the CPU) at the end of every fit.
        """
        # Each block's output is copied into one array allocated at the first
        # block: a list of small per-block arrays, each living to the end,
        # fragments the heap so that the freed block buffers between them are
        # never given back (resident memory grew by ~700 bytes per row of a
        # memory map; benchmarks/bench_scale.py).
        dtype, out, start = dtype or X.dtype, None, 0
        for values in self._block_outputs(X, fn, in_float32=in_float32, **rows):
            if out is None:
                out = np.empty((X.shape[0],) + values.shape[1:], dtype=dtype)
            out[start : start + len(values)] = values
            start += len(values)
        return out if out is not None else np.empty((0,), dtype=dtype)

    def _block_outputs(self, X, fn, *, in_float32=False, **rows):
        """Yield ``fn(module, block, **block_rows)`` of each block as numpy (see ``_map_blocks``).

        For reductions over the rows (means, counts) whose memory must not
        grow with ``n_samples``.
        """
        compute = torch.float32 if in_float32 else None
        module = self._inference_module(compute)
        with torch.inference_mode():
            for block, block_rows in self._blocks(X, rows, compute):
                yield fn(module, block, **block_rows).cpu().numpy()

    def _encode_mean(self, X, **rows):
        """Posterior means ``E[z | x]``, shape (n_samples, n_components)."""
        return self._map_blocks(X, lambda m, xb, **r: m.encode_mean(xb, **r), **rows)

    def _decode_mean(self, Z, **rows):
        """Decoder means ``E[x | z]``, shape (n_samples, n_features)."""
        out = self._map_blocks(Z, lambda m, zb, **r: m.decode_mean(zb, **r), **rows)
        return self._to_user(self._from_model_units(out).astype(out.dtype, copy=False))

    def _latent_statistics(self, X, **rows):
        """Mean KL per latent dimension and the variance of the posterior means."""

        k = self._n_latent()
        kl_sum = np.zeros(k)

        def stats(module, xb, **r):
            return torch.cat(module.latent_statistics(xb, **r), dim=1).double()

        def means():
            # reduced block by block: memory does not grow with the rows
            for out in self._block_outputs(X, stats, in_float32=True, **rows):
                kl_sum[:] += out[:, :k].sum(axis=0)
                yield out[:, k:]

        n, _, var = column_moments(means())
        return kl_sum / n, var

    def _score_noise(self, n_draws, moment_matched):
        """Standard-normal draws shared by every row (see ``VAEModule.log_weights``).

        Seeded from ``random_state`` at fit time, so scores are deterministic.
        Because every row shares the draws, their sampling error does not
        average out over rows: 10 plain draws biased the mean ELBO on PPCA data
        by 0.2 nats. ``moment_matched`` centres and whitens the draws (when
        there are more draws than latent dimensions) so that their mean is 0
        and their covariance exactly I: the ELBO is then exact wherever
        ``log p(x | z)`` is quadratic in ``z`` and far less noisy elsewhere.
        The importance-weighted bound needs independent draws and gets them.
        """
        rng = np.random.RandomState(self._inference_seed)
        eps = rng.standard_normal((n_draws, self._n_latent()))
        if moment_matched and n_draws > self._n_latent():
            eps = moment_match(eps)
        return torch.as_tensor(eps, dtype=self._inference_dtype, device=self.net_.device)

    def _log_weight_draws(self, module, xb, eps, **rows):
        """``log_weights`` over draws in chunks, so memory stays near one block's."""
        chunk = max(1, 4096 // max(1, xb.shape[0]))
        log_px, log_ratio = [], []
        for start in range(0, eps.shape[0], chunk):
            lp, lr, kl = module.log_weights(xb, eps[start : start + chunk], **rows)
            log_px.append(lp)
            log_ratio.append(lr)
        return torch.cat(log_px), torch.cat(log_ratio), kl

    def _check_n_draws(self, n_draws):
        check_count(n_draws, "n_draws", "the number of Monte-Carlo draws per sample")

    def _score_samples(self, X, n_draws, importance_weighted, **rows):
        """Per-row ELBO or importance-weighted bound (given the per-row ``rows``)."""
        self._check_n_draws(n_draws)
        eps = self._score_noise(n_draws, moment_matched=not importance_weighted)

        def bound(module, xb, **r):
            log_px, log_ratio, kl = self._log_weight_draws(module, xb, eps, **r)
            if importance_weighted:
                return iw_bound_from_draws(log_px, log_ratio)
            return elbo_from_draws(log_px, kl)

        return self._map_blocks(X, bound, dtype=np.float64, **rows) + self._log_jacobian

    @staticmethod
    def _check_n_samples(n_samples):
        check_count(n_samples, "n_samples", "the number of samples to draw")

    def _sample(self, n_samples, random_state, noise):
        self._check_n_samples(n_samples)
        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        z = self._draw_codes(n_samples, rng)
        return self._decode_draws(z, rng, noise)

    def _decode_draws(self, z, rng, noise, **rows):
        """Decoder means at codes ``z``, or draws from ``p(x | z)`` when ``noise``.

        ``rows`` are per-row inputs of the module's ``decode`` (e.g. the class
        of each code). The draws come from the likelihood's own ``sample``,
        under a torch seed drawn from ``rng``.
        """
        if not noise:
            out = self._decode_mean(z, **rows)
            numbers = isinstance(out, np.ndarray) and out.dtype.kind == "f"
            return out.astype(np.float64) if numbers else out
        with seeded_draws(child_seed(rng), self.net_.device):
            draws = self._map_blocks(
                z, lambda m, zb, **r: m.decode(zb, **r).sample(), dtype=np.float64, **rows
            )
        return self._to_user(self._from_model_units(draws))

    def _draw_codes(self, n_samples, rng):
        """``n_samples`` codes from the model's prior, drawn from ``rng``."""
        return self._fixed_prior_codes(n_samples, rng)

    def _fixed_prior_codes(self, n_samples, rng):
        """Codes from the model's fixed prior, ``N(0, I)``."""
        return rng.standard_normal((n_samples, self._fitted_param("n_components")))


def moment_match(eps):
    """Draws ``eps`` (n, k) centred and whitened: mean exactly 0, covariance exactly I."""
    eps = eps - eps.mean(axis=0)
    chol = np.linalg.cholesky(eps.T @ eps / eps.shape[0])
    return np.linalg.solve(chol, eps.T).T
