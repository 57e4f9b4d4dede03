"""What every model family builds on: input scaling, encoder body, decoder, likelihood.

:class:`Autoencoder` is the shared part of every family's torch module; a
family (:mod:`skvae.models.vae` and the others) adds its posterior, its prior
and ``forward``. The methods that the estimators' inference calls, and that
each family provides in its own way, take the family's per-row inputs as
keyword arguments (``**inputs``; a conditional VAE's ``labels``), so the
estimators' shared core never names them:

* ``encode_mean(x, **inputs)``: posterior means, (n, n_components);
* ``decode(z, **inputs)`` / ``decode_mean(z, **inputs)``: ``p(x | z)`` and its
  mean, for codes with any leading axes;
* ``latent_statistics(x, **inputs)``: per-dimension KL and posterior means;
* ``log_weights(x, eps, **inputs)``: the per-draw terms of the bounds;
* ``code_distribution(x, **inputs)``: the posterior (loc, scale) of each row
  (for a learned prior over the codes).
"""

import torch
from torch import nn

from ._columns import CATEGORICAL_TYPES, TableInput, TableLikelihood
from ._distributions import full_precision, make_likelihood
from ._noise import DrawsNoise

# The encoder and decoder see their inputs clipped to this many standard
# deviations (codes: prior units). Training data never come near it; a finite
# but absurd row (1e25 in one feature) is then encoded like a very extreme row
# instead of overflowing into NaN, and its likelihood still scores the true
# value (-inf if it overflows). Clipping what the encoder sees changes q only,
# so every bound stays a bound.
INPUT_BOUND = 1e4


def join(a, c):
    """``a`` with the side input ``c`` (n, n_context) appended to its last axis.

    ``c`` is broadcast over ``a``'s leading axes (draws, clusters); None leaves
    ``a`` as it is.
    """
    if c is None:
        return a
    return torch.cat([a, c.expand(a.shape[:-1] + c.shape[-1:])], dim=-1)


class Autoencoder(DrawsNoise, nn.Module):
    """Input scaling, encoder body, decoder and likelihood: what every family shares.

    A family subclass adds its posterior heads on :meth:`features` (of width
    ``self.width``), its prior, and ``forward`` (the terms its loss weighs).

    Parameters
    ----------
    networks : skvae.models.Networks
        Builds the encoder body and the decoder.
    n_components : int
        Size of the latent code ``z``.
    likelihood : {"gaussian", "student_t", "bernoulli"}
        Family of ``p(x | z)``.
    feature_mean, feature_var : Tensor of shape (n_features,)
        Training statistics that start the likelihood.
    var_floor : float
        Smallest variance (squared scale) of a Gaussian or Student-t likelihood.
    variance : {"shared", "feature"}, default="shared"
        Whether a Gaussian or Student-t likelihood learns one variance (and
        degrees of freedom) or one per feature.
    input_mean, input_var : Tensor of shape (n_features,), default=None
        What the encoder's input is standardised with (``feature_mean`` and
        ``feature_var`` when None; images pass one value for every pixel).
    n_context : int, default=0
        Width of a side input ``c`` (a family's, e.g. a one-hot class) that
        both the encoder and the decoder see with the row and the code; 0 for
        none.
    table : skvae.models.ColumnLayout or None, default=None
        The column types of a table of mixed columns (with
        ``table_stats``, from :func:`~skvae.models.table_statistics`): the
        encoder reads it through :class:`~skvae.models.TableInput` and
        ``p(x | z)`` is a :class:`~skvae.models.TableLikelihood` (``likelihood``
        names the distribution of its real columns). None: every feature is
        real and ``likelihood`` is ``p(x | z)``.
    table_stats : dict of Tensor or None, default=None
    """

    def __init__(
        self,
        networks,
        n_components,
        likelihood,
        feature_mean,
        feature_var,
        var_floor,
        variance="shared",
        input_mean=None,
        input_var=None,
        n_context=0,
        table=None,
        table_stats=None,
    ):
        super().__init__()
        self.n_components = n_components
        self.n_context = n_context
        input_mean = feature_mean if input_mean is None else input_mean
        input_var = feature_var if input_var is None else input_var
        self.register_buffer("x_shift", input_mean.clone())
        self.register_buffer("x_scale", torch.sqrt(torch.clamp(input_var, min=var_floor)))
        self.encoder = networks.build_encoder(n_context)
        self.width = self.encoder.n_outputs + (0 if self.encoder.takes_context else n_context)
        self.decoder = networks.build_decoder(n_components + n_context)
        self.n_raw = networks.n_outputs
        self.table_input = None
        if table is None:
            self.likelihood = make_likelihood(
                likelihood, feature_mean, feature_var, var_floor, variance
            )
        else:
            self.table_input = TableInput(table, table_stats, INPUT_BOUND)
            # denoising's Gaussian noise in each number's own spread (no
            # absolute floor: a column of 1e-5 or 1e20 is fine), never on a
            # category's index
            numbers = [kind not in CATEGORICAL_TYPES for kind in table.types]
            std = table_stats["std"].to(self.x_scale)
            spread = torch.where(std > 0, std, torch.ones_like(std))
            self.x_scale.copy_(spread * torch.tensor(numbers, device=self.x_scale.device))
            self.likelihood = TableLikelihood(table, table_stats, real=likelihood)
            _silence_missing_indicators(self.encoder, table)

    def __setstate__(self, state):
        # a module pickled before tables had columns of their own
        super().__setstate__(state)
        if "table_input" not in self._modules and "table_input" not in self.__dict__:
            self.table_input = None
        if "n_raw" not in self.__dict__:
            self.n_raw = self.x_shift.shape[0]

    def standardise(self, x):
        """``x`` as the encoder sees it: standardised, clipped to ``INPUT_BOUND``.

        A table's rows go through :class:`~skvae.models.TableInput` (missing
        entries as zeros, and the indicators of which are missing).
        """
        if self.table_input is not None:
            return self.table_input(x)
        return ((x - self.x_shift) / self.x_scale).clamp(-INPUT_BOUND, INPUT_BOUND)

    def missing_fill(self):
        """What a masked entry becomes in training (denoising): a table's is NaN,
        a missing entry; otherwise the encoder's input mean."""
        if self.table_input is not None:
            return torch.full_like(self.x_shift, float("nan"))
        return self.x_shift

    def features(self, x, c=None):
        """Encoder features of ``x`` (and the side input ``c``), shape (n, width)."""
        return self.features_of_standardised(self.standardise(x), c)

    def features_of_standardised(self, x, c=None):
        """Encoder features of rows already through :meth:`standardise`."""
        if self.encoder.takes_context:
            return self.encoder(join(x, c))
        return join(self.encoder(x), c)

    def raw(self, z, c=None):
        """Decoder output, one raw value per feature, for codes with any leading axes."""
        z = join(z.clamp(-INPUT_BOUND, INPUT_BOUND), c)
        lead = z.shape[:-1]
        out = self.decoder(z.reshape(-1, z.shape[-1]))
        return full_precision(out).reshape(lead + (self.n_raw,))

    def px(self, z, c=None):
        """The likelihood ``p(x | z)`` (``p(x | z, c)`` with a side input)."""
        return self.likelihood(self.raw(z, c))

    def log_px(self, z, x, c=None):
        """``log p(x | z)`` (``log p(x | z, c)``) per row, summed over features.

        The same as ``self.px(z, c).log_prob(x)``, in closed form: the
        training step's likelihood term.
        """
        return self.likelihood.log_prob(self.raw(z, c), x)

    def px_mean(self, z, c=None):
        """``E[x | z]`` (``E[x | z, c]``)."""
        return self.likelihood.mean(self.raw(z, c))

    def decode(self, z):
        """The likelihood ``p(x | z)``; a family with per-row inputs takes them here."""
        return self.px(z)

    def decode_mean(self, z):
        """``E[x | z]``: the reconstruction a user sees."""
        return self.px_mean(z)


def _silence_missing_indicators(encoder, table):
    """Start a built-in encoder's weights on the missing-entry indicators at 0.

    Trained on complete rows the indicators are always 0 and their weights
    never move: at 0, a row with missing entries is then encoded as if each
    were at its column's training mean (a value of 0, a category of none)
    rather than through random weights. A user's encoder is left as it is.
    """
    first = next((m for m in encoder.modules() if isinstance(m, nn.Linear)), None)
    if first is None or first.in_features < table.n_inputs:
        return
    start = table.n_inputs - table.n_columns
    with torch.no_grad():
        first.weight[:, start : table.n_inputs] = 0.0
