"""A learned prior over the codes, fitted after the autoencoder: a family feature.

An estimator with a ``prior`` hyperparameter (a diffusion prior over a VAE's
codes, an autoregressive prior over a VQ-VAE's code indices) mixes in
:class:`LearnedPriorMixin`; its torch module keeps the prior as its
``code_prior`` submodule (None for the fixed prior). The mixin fits it on the
codes of the training data once the autoencoder is fitted, draws codes from
it in ``sample``, and takes ``partial_fit`` away while it is set.
"""

import math

import numpy as np
import torch
from skorch.callbacks import LRScheduler

from ._callbacks import ContinuedProgress, FitProgress
from ._net import VAENet, adam_options
from ._priors import prior_config, prior_steps
from ._random import child_seed, seeded_draws
from .models.diffusion import MeanLoss


class LearnedPriorMixin:
    """Fit and draw from the module's ``code_prior``; see the module docstring.

    Hooks for the family: ``_prior_data`` (what the prior is trained on: by
    default the posterior (loc, scale) of every training row's code) and
    ``_prior_inputs`` (extra training inputs of the prior, e.g. a class).
    Sets ``prior_loss_curve_`` (None for the fixed prior).
    """

    # Rows of codes a prior draws at once (memory ~ rows x width).
    _prior_block = 4096

    def _check_partial_fit(self):
        if prior_config(getattr(self, "prior", None)) is not None:
            raise AttributeError(
                f"partial_fit is not available with a learned prior (prior={self.prior!r}): "
                "the prior is fitted on the codes of all the training data after the "
                "autoencoder. Use fit, or a fixed prior with partial_fit."
            )
        super()._check_partial_fit()

    def _steps_after_fit(self, n_rows):
        config = prior_config(getattr(self, "prior", None))
        steps = 0 if config is None else prior_steps(config, n_rows)
        return super()._steps_after_fit(n_rows) + steps

    def _after_fit(self, X, rows, seed):
        """Train the module's ``code_prior`` on the training codes (by a net of its own)."""
        super()._after_fit(X, rows, seed)
        prior = getattr(self.net_.module_, "code_prior", None)
        self.prior_loss_curve_ = None
        if prior is None:
            return
        config = prior_config(self._fitted_param("prior"))
        device = self.net_.device
        data = self._prior_data(X, rows, prior)
        n_batches = math.ceil(len(data["x"]) / config["batch_size"])
        n_epochs = prior_steps(config, len(data["x"])) // n_batches
        schedule = LRScheduler(
            policy=torch.optim.lr_scheduler.CosineAnnealingLR, T_max=n_epochs, last_epoch=-1
        )
        callbacks = [("lr_schedule", schedule)]
        bar = FitProgress.open_bar(self.net_)  # the fit's bar goes on through the prior
        if bar is not None:
            callbacks.append(("progress", ContinuedProgress(bar, "prior")))
        net = VAENet(
            module=prior,
            seed=seed,
            criterion=MeanLoss,
            optimizer=torch.optim.Adam,
            **{f"optimizer__{k}": v for k, v in adam_options(device).items()},
            lr=config["learning_rate_init"],
            max_epochs=n_epochs,
            batch_size=config["batch_size"],
            callbacks=callbacks,
            device=device,
            verbose=0,
        )
        net.partial_fit(data)
        self.prior_loss_curve_ = [float(v) for v in net.history[:, "train_loss"]]

    def _prior_data(self, X, rows, prior):
        """The training data of a learned prior over continuous codes, as tensors.

        The codes of ``X`` as (loc, scale) pairs (posterior draws of a VAE are
        drawn from them at every step), with ``_prior_inputs``; the prior is
        told the codes' statistics.
        """
        device = self.net_.device

        def code(module, xb, **r):
            return torch.cat(module.code_distribution(xb, **r), dim=1)

        codes = self._map_blocks(X, code, dtype=np.float32, in_float32=True, **rows)
        k = codes.shape[1] // 2
        data = {
            "x": torch.as_tensor(codes[:, :k], device=device),
            "scale": torch.as_tensor(codes[:, k:], device=device),
            **self._prior_inputs(rows, prior, device),
        }
        prior.set_code_statistics(data["x"], data["scale"])
        return data

    def _prior_inputs(self, rows, prior, device):
        """Extra training inputs of the prior (tensors by name), from the per-row ``rows``."""
        return {}

    def _draw_codes(self, n_samples, rng, context=None):
        """``n_samples`` codes from the learned ``code_prior``, or the fixed prior.

        ``context`` (an array of one row per code, or None) is what the prior
        is conditioned on, e.g. a conditional model's one-hot class.
        """
        if getattr(self.module_, "code_prior", None) is None:
            return super()._draw_codes(n_samples, rng)
        k = self._fitted_param("n_components")
        module = self._inference_module()
        device, dtype = self.net_.device, self._inference_dtype
        out = []
        with seeded_draws(child_seed(rng), device), torch.inference_mode():
            for start in range(0, n_samples, self._prior_block):
                m = min(self._prior_block, n_samples - start)
                cb = None
                if context is not None:
                    cb = torch.as_tensor(context[start : start + m], dtype=dtype, device=device)
                out.append(module.code_prior.sample(m, cb).cpu().numpy())
        return np.concatenate(out).astype(np.float64).reshape(n_samples, k)
