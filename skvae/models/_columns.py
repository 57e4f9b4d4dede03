"""Tables of mixed column types: one likelihood per column, missing entries skipped.

A table's row reaches the module as one value per column, in the model's
units (see :class:`skvae._tables.Table`): a real column centred, a count as
the count, a binary, nominal or ordinal column as the index of its category,
and NaN where the entry is missing. :class:`ColumnLayout` names each
column's type; :class:`TableInput` turns a row into what the encoder reads
(standardised numbers, one-hot categories, cumulative indicators for ordered
ones, and which entries are missing); :class:`TableLikelihood` is ``p(x |
z)``, a product of one distribution per column (HI-VAE, Nazabal et al. 2020),
over the observed entries only: a missing entry adds nothing to the
log-probability and no gradient.

The column types and their distributions:

* ``"real"``: Gaussian (or Student-t) with a learned variance per column;
* ``"binary"``: Bernoulli;
* ``"nominal"``: categorical (softmax over the categories);
* ``"ordinal"``: cumulative logit (ordered logistic): ``P(x <= k) =
  sigmoid(theta_k - eta)``, thresholds ``theta`` learned per column;
* ``"count"``: negative binomial with a learned dispersion per column.
"""

import math

import torch
from torch import nn
from torch.distributions import Bernoulli, Categorical, NegativeBinomial, Normal, StudentT

from ._distributions import FAST

COLUMN_TYPES = ("real", "binary", "nominal", "ordinal", "count")
CATEGORICAL_TYPES = ("binary", "nominal", "ordinal")
_LOG_2PI = math.log(2 * math.pi)
# How much faster than the network's weights a real column's log variance
# share moves. Not FAST (30): it starts at 1 (the column's variance), near
# enough; at 30 times the step a batch holding a far outlier kicked it up by
# Adam's whole step, and on diamonds (three rows with y = 58.9 or x = 0
# among 12,000) the shares of carat, x, y and z ended at 2.6 to 7.4 times
# their columns' variances (loss 24.4 nats against 13.1, samples 2.5 times
# too spread). At 5 they end at 0.01 to 0.1; imputation on six other tables
# did not change (benchmarks/bench_tables.py, 2026-12-06).
_VAR_SPEED = 5.0
_LOG_2 = math.log(2.0)
# A count's log-mean and a category's logits stay inside this range, so that
# an extreme code cannot overflow exp into inf (and the log-probability of an
# observed count into NaN).
_LOGIT_BOUND = 30.0


class ColumnLayout:
    """The column types of a table and the sizes that follow: plain, picklable data.

    Parameters
    ----------
    types : sequence of str
        One of :data:`COLUMN_TYPES` per column.
    n_categories : sequence of int
        Categories of each binary (2), nominal or ordinal column; 0 for the others.
    """

    def __init__(self, types, n_categories):
        self.types = tuple(types)
        self.n_categories = tuple(int(k) for k in n_categories)
        for kind, k in zip(self.types, self.n_categories, strict=True):
            if kind not in COLUMN_TYPES:
                raise ValueError(f"unknown column type {kind!r}; known: {COLUMN_TYPES}")
            if kind in CATEGORICAL_TYPES and k < 1:
                raise ValueError(f"a {kind} column needs at least one category, got {k}")

    def __eq__(self, other):
        return isinstance(other, ColumnLayout) and (self.types, self.n_categories) == (
            other.types,
            other.n_categories,
        )

    def __hash__(self):
        return hash((self.types, self.n_categories))

    def __repr__(self):
        return f"ColumnLayout({self.types!r}, {self.n_categories!r})"

    @property
    def n_columns(self):
        return len(self.types)

    def columns(self, *kinds):
        """Indices of the columns of the given types, in order."""
        return [j for j, kind in enumerate(self.types) if kind in kinds]

    @property
    def max_categories(self):
        """The most categories of a binary (2), nominal or ordinal column (1 if there is none)."""
        ks = [self.n_categories[j] for j in self.columns(*CATEGORICAL_TYPES)]
        return max(ks, default=1)

    def raw_widths(self):
        """Decoder outputs per column: the categories of a nominal column, else 1."""
        return [
            self.n_categories[j] if kind == "nominal" else 1 for j, kind in enumerate(self.types)
        ]

    @property
    def n_raw(self):
        """Width of the decoder's output."""
        return sum(self.raw_widths())

    def raw_positions(self):
        """Where each column's decoder outputs start."""
        widths, out, at = self.raw_widths(), [], 0
        for w in widths:
            out.append(at)
            at += w
        return out

    @property
    def n_inputs(self):
        """Width of what the encoder reads (see :class:`TableInput`)."""
        width = 0
        for kind, k in zip(self.types, self.n_categories, strict=True):
            width += {"nominal": k, "ordinal": k - 1}.get(kind, 1)
        return width + self.n_columns  # and one missing-entry indicator per column


def _index(values):
    return torch.as_tensor(list(values), dtype=torch.long)


def _padded_categories(layout, columns, fill):
    """(len(columns), max K) index of each column's categories, ``fill`` past its own."""
    width = layout.max_categories
    rows = []
    for j in columns:
        k = layout.n_categories[j]
        rows.append([c if c < k else fill for c in range(width)])
    return rows


def table_statistics(x, layout):
    """Training statistics of a table in the model's units, for the modules' buffers.

    ``x`` is a float tensor (n, n_columns) with NaN for missing entries.
    Returns a dict of float32 tensors: ``mean`` and ``std`` of each column's
    observed values (a count's of ``log1p``: ``log_mean``, ``log_std``), the
    count's ``count_mean`` and ``count_var``, and ``freq`` (n_columns, max
    K), the share of each category (smoothed, so none is 0). A column
    without an observed entry (a placeholder when a model file is read)
    gets neutral values.
    """
    with torch.device("cpu"):  # also where a network is built on the meta device
        return _statistics(torch.as_tensor(x, dtype=torch.float64, device="cpu"), layout)


def _statistics(x, layout):
    observed = ~torch.isnan(x)
    n_obs = observed.sum(0).clamp(min=1)
    filled = torch.where(observed, x, torch.zeros_like(x))
    mean = filled.sum(0) / n_obs
    var = torch.where(observed, (x - mean).square(), torch.zeros_like(x)).sum(0) / n_obs
    logs = torch.log1p(filled.clamp(min=0))
    log_mean = (logs * observed).sum(0) / n_obs
    log_var = ((logs - log_mean).square() * observed).sum(0) / n_obs
    width = layout.max_categories
    freq = torch.zeros(layout.n_columns, width, dtype=torch.float64)
    for j in layout.columns(*CATEGORICAL_TYPES):
        k = layout.n_categories[j]
        codes = x[observed[:, j], j].long().clamp(0, k - 1)
        counts = torch.bincount(codes, minlength=k)[:k].double()
        freq[j, :k] = (counts + 0.5) / (counts.sum() + 0.5 * k)
    return {
        "mean": mean.float(),
        "std": var.sqrt().float(),
        "log_mean": log_mean.float(),
        "log_std": log_var.sqrt().float(),
        "count_mean": mean.clamp(min=1e-3).float(),
        "count_var": var.float(),
        "freq": freq.float(),
    }


class TableInput(nn.Module):
    """What the encoder reads of a table's row, and which of its entries are missing.

    Real and count columns (a count as ``log1p``) standardised, a binary one
    centred at its mean, a nominal column one-hot, an ordinal one as the
    indicators ``x > k`` (which keep its order), each missing entry as zeros
    there; then one indicator per column that is 1 where the entry is
    missing (the encoder is told, as in MIWAE's and HI-VAE's encoders).
    """

    def __init__(self, layout, stats, bound):
        super().__init__()
        with torch.device(stats["mean"].device):
            self._build(layout, stats, bound)

    def _build(self, layout, stats, bound):
        self.bound = bound
        numbers = layout.columns("real", "count", "binary")
        self.register_buffer("number_index", _index(numbers))
        is_count = torch.tensor([layout.types[j] == "count" for j in numbers], dtype=torch.bool)
        self.register_buffer("is_count", is_count)
        loc = torch.where(is_count, stats["log_mean"][numbers], stats["mean"][numbers])
        scale = torch.where(is_count, stats["log_std"][numbers], stats["std"][numbers])
        self.register_buffer("number_loc", loc.clone())
        unit_free = torch.tensor([layout.types[j] != "real" for j in numbers], dtype=torch.bool)
        self.register_buffer("number_scale", _spread(scale, unit_free).clone())
        width = layout.max_categories
        nominal = layout.columns("nominal")
        ordinal = layout.columns("ordinal")
        self.register_buffer("nominal_index", _index(nominal))
        self.register_buffer("ordinal_index", _index(ordinal))
        # the (column, category) cells a one-hot keeps: a column's own categories
        keep = [i * width + c for i, j in enumerate(nominal) for c in range(layout.n_categories[j])]
        self.register_buffer("nominal_cells", _index(keep))
        keep = [
            i * (width - 1) + c
            for i, j in enumerate(ordinal)
            for c in range(layout.n_categories[j] - 1)
        ]
        self.register_buffer("ordinal_cells", _index(keep))
        self.register_buffer("levels", torch.arange(width, dtype=torch.float32))
        self.n_outputs = layout.n_inputs

    def forward(self, x):
        lead = x.shape[:-1]
        parts = []
        numbers = x[..., self.number_index]
        numbers = torch.where(self.is_count, torch.log1p(numbers.clamp(min=0)), numbers)
        numbers = (numbers - self.number_loc) / self.number_scale
        parts.append(torch.nan_to_num(numbers, nan=0.0))
        levels = self.levels.to(x.dtype)
        if self.nominal_index.numel():
            # NaN equals no level: a missing entry is all zeros
            codes = x[..., self.nominal_index, None]
            onehot = (codes == levels).to(x.dtype).reshape(lead + (-1,))
            parts.append(onehot[..., self.nominal_cells])
        if self.ordinal_index.numel():
            codes = x[..., self.ordinal_index, None]
            above = (codes > levels[:-1]).to(x.dtype).reshape(lead + (-1,))
            parts.append(above[..., self.ordinal_cells])
        parts.append(torch.isnan(x).to(x.dtype))
        return torch.cat(parts, dim=-1).clamp(-self.bound, self.bound)


def _spread(std, unit_free):
    """A column's scale: its standard deviation, 1 for a constant column.

    No absolute floor on a real column's (its units are the user's: 1e-20 is
    a fine scale); counts and indicators, which have no units, are floored
    at 1e-3.
    """
    std = torch.where(std > 0, std, torch.ones_like(std))
    return torch.where(unit_free, std.clamp(min=1e-3), std)


def log1mexp(d):
    """``log(1 - exp(d))`` for ``d < 0``, accurate over the whole range (Maechler 2012).

    Both branches are evaluated at values clamped to their own range, so
    that neither gives an inf whose gradient would turn into NaN.
    """
    d = d.clamp(max=-1e-12)
    near = torch.log(-torch.expm1(d.clamp(min=-_LOG_2)))
    far = torch.log1p(-torch.exp(d.clamp(max=-_LOG_2)))
    return torch.where(d > -_LOG_2, near, far)


class TableLikelihood(nn.Module):
    """``p(x | z)`` of a table's row: one distribution per column, missing entries skipped.

    The decoder gives one raw value per column (``K`` for a nominal column
    of ``K`` categories). Every column starts at its training marginal: a
    real column's mean and variance, a binary column's log-odds, a nominal
    column's category shares, an ordinal column's thresholds at its
    cumulative shares, a count's log-mean and a dispersion from its
    variance. What is learned per column beside the decoder: a real column's
    variance (and degrees of freedom with ``real="student_t"``), an ordinal
    column's thresholds, a count's dispersion.

    Parameters
    ----------
    layout : ColumnLayout
    stats : dict of Tensor
        From :func:`table_statistics`.
    real : {"gaussian", "student_t"}, default="gaussian"
        The distribution of real columns.
    var_floor : float, default=1e-2
        Smallest variance of a real column, as a share of its training variance.
    df_init : float, default=5.0
        Starting degrees of freedom with ``real="student_t"``.
    """

    def __init__(self, layout, stats, real="gaussian", var_floor=1e-2, df_init=5.0):
        super().__init__()
        # built where the statistics are (the CPU), also inside a meta-device
        # context that checks a model file's shapes
        with torch.device(stats["mean"].device):
            self._build(layout, stats, real, var_floor, df_init)

    def _build(self, layout, stats, real, var_floor, df_init):
        self.layout = layout
        self.real = real
        self.n_columns = layout.n_columns
        positions = layout.raw_positions()
        width = layout.max_categories

        real_cols = layout.columns("real")
        self.register_buffer("real_index", _index(real_cols))
        self.register_buffer("real_raw", _index(positions[j] for j in real_cols))
        self.register_buffer("real_shift", stats["mean"][real_cols].clone())
        real_spread = _spread(stats["std"][real_cols], torch.zeros(len(real_cols), dtype=bool))
        self.register_buffer("real_scale", real_spread.clone())
        self.var_floor = float(var_floor)
        # the variance in units of the column's training variance, starting at 1
        self.scaled_log_var = nn.Parameter(torch.zeros(len(real_cols)))
        if real == "student_t":
            start = math.log(df_init - 1.0) / FAST
            self.scaled_log_df = nn.Parameter(torch.full((len(real_cols),), start))

        binary = layout.columns("binary")
        self.register_buffer("binary_index", _index(binary))
        self.register_buffer("binary_raw", _index(positions[j] for j in binary))
        p = stats["freq"][binary, 1] if binary else torch.zeros(0)
        self.register_buffer("binary_offset", (torch.log(p) - torch.log1p(-p)).clone())

        nominal = layout.columns("nominal")
        self.register_buffer("nominal_index", _index(nominal))
        # the raw outputs of each nominal column's categories; past its own,
        # the extra raw slot that holds -inf
        cells = [
            [positions[j] + c if c < layout.n_categories[j] else layout.n_raw for c in range(width)]
            for j in nominal
        ]
        cells = torch.as_tensor(cells, dtype=torch.long).reshape(-1, width)
        self.register_buffer("nominal_raw", cells)
        freq = stats["freq"][nominal] if nominal else torch.zeros(0, width)
        self.register_buffer("nominal_offset", torch.log(freq.clamp(min=1e-12)).clone())

        ordinal = layout.columns("ordinal")
        self.register_buffer("ordinal_index", _index(ordinal))
        self.register_buffer("ordinal_raw", _index(positions[j] for j in ordinal))
        sizes = [layout.n_categories[j] for j in ordinal]
        self.register_buffer("ordinal_sizes", _index(sizes))
        first, gaps = [], []
        for i, j in enumerate(ordinal):
            cumulative = torch.cumsum(stats["freq"][j, : sizes[i]].double(), 0)[:-1]
            cumulative = cumulative.clamp(1e-4, 1 - 1e-4)
            theta = torch.log(cumulative) - torch.log1p(-cumulative)
            theta = torch.cummax(theta, 0).values
            row = torch.zeros(max(width - 2, 0), dtype=torch.float64)
            if len(theta):
                first.append(float(theta[0]))
                steps = (theta[1:] - theta[:-1]).clamp(min=1e-3)
                row[: len(steps)] = torch.log(torch.expm1(steps))  # softplus^-1
            else:
                first.append(0.0)
            gaps.append(row)
        self.threshold_first = nn.Parameter(torch.tensor(first, dtype=torch.float32))
        gaps = torch.stack(gaps).float() if gaps else torch.zeros(0, max(width - 2, 0))
        self.threshold_gaps = nn.Parameter(gaps)

        count = layout.columns("count")
        self.register_buffer("count_index", _index(count))
        self.register_buffer("count_raw", _index(positions[j] for j in count))
        mu = stats["count_mean"][count] if count else torch.zeros(0)
        var = stats["count_var"][count] if count else torch.zeros(0)
        self.register_buffer("count_offset", torch.log(mu.clamp(min=1e-3)).clone())
        # method of moments: var = mu + mu^2 / r; near-Poisson where var <= mu
        excess = (var - mu).clamp(min=1e-3 * mu.clamp(min=1e-3))
        r = (mu.square() / excess).clamp(1e-2, 1e4)
        self.scaled_log_dispersion = nn.Parameter((torch.log(r) / FAST).float())

    # ------------------------------------------------------------ parameters

    @property
    def real_share(self):
        """Each real column's variance as a share of its training variance."""
        return self.var_floor + torch.exp(self.scaled_log_var * _VAR_SPEED)

    @property
    def real_sd(self):
        """Each real column's standard deviation (Student-t: scale), in its own units."""
        return self.real_scale * self.real_share.sqrt()

    @property
    def df(self):
        return 1.0 + torch.exp(FAST * self.scaled_log_df)

    @property
    def dispersion(self):
        """A count's ``r``: variance ``mu + mu^2 / r``."""
        return torch.exp(FAST * self.scaled_log_dispersion)

    def thresholds(self):
        """Ordinal thresholds (n_ordinal, max K - 1), increasing; +inf past a column's own."""
        width = self.layout.max_categories
        steps = nn.functional.softplus(self.threshold_gaps) + 1e-4
        theta = torch.cat(
            [self.threshold_first[:, None], self.threshold_first[:, None] + steps.cumsum(-1)], -1
        )[:, : width - 1]
        own = torch.arange(width - 1, device=theta.device) < (self.ordinal_sizes[:, None] - 1)
        return torch.where(own, theta, torch.full_like(theta, math.inf))

    # ------------------------------------------------- per-type pieces of raw

    def real_loc(self, raw):
        return self.real_shift + self.real_scale * raw[..., self.real_raw]

    def binary_logits(self, raw):
        return (raw[..., self.binary_raw] + self.binary_offset).clamp(-_LOGIT_BOUND, _LOGIT_BOUND)

    def nominal_logits(self, raw):
        """(..., n_nominal, max K) logits, -inf past a column's own categories."""
        pad = raw.new_full(raw.shape[:-1] + (1,), -math.inf)
        extended = torch.cat([raw.clamp(-_LOGIT_BOUND, _LOGIT_BOUND), pad], dim=-1)
        return extended[..., self.nominal_raw] + self.nominal_offset

    def ordinal_eta(self, raw):
        return raw[..., self.ordinal_raw].clamp(-_LOGIT_BOUND, _LOGIT_BOUND)

    def ordinal_log_probs(self, raw):
        """(..., n_ordinal, max K) log-probabilities of every category (-inf past its own)."""
        eta = self.ordinal_eta(raw)[..., None]
        theta = self.thresholds()
        inf = theta.new_full(theta.shape[:-1] + (1,), math.inf)
        upper = torch.cat([theta, inf], -1) - eta
        lower = torch.cat([-inf, theta], -1) - eta
        return _interval_log_prob(upper, lower)

    def count_log_mean(self, raw):
        return (raw[..., self.count_raw] + self.count_offset).clamp(-_LOGIT_BOUND, _LOGIT_BOUND)

    # ------------------------------------------------------------ densities

    def column_log_prob(self, raw, x):
        """``log p(x_j | raw)`` of each column, 0 where ``x_j`` is missing: (..., n_columns)."""
        lead = torch.broadcast_shapes(raw.shape[:-1], x.shape[:-1])
        out = raw.new_zeros(lead + (self.n_columns,))
        for index, values in self._type_log_probs(raw, x):
            out[..., index] = values
        return out

    def log_prob(self, raw, x):
        """``log p(x | raw)`` summed over the observed entries of each row."""
        total = 0.0
        for _, values in self._type_log_probs(raw, x):
            total = total + values.sum(-1)
        if isinstance(total, float):
            shape = torch.broadcast_shapes(raw.shape[:-1], x.shape[:-1])
            return raw.new_zeros(shape)
        return total

    def _type_log_probs(self, raw, x):
        """(column indices, masked log-probabilities) of each column type present."""
        if self.real_index.numel():
            yield self.real_index, self._masked(x, self.real_index, self._real_lp, raw)
        if self.binary_index.numel():
            yield self.binary_index, self._masked(x, self.binary_index, self._binary_lp, raw)
        if self.nominal_index.numel():
            yield self.nominal_index, self._masked(x, self.nominal_index, self._nominal_lp, raw)
        if self.ordinal_index.numel():
            yield self.ordinal_index, self._masked(x, self.ordinal_index, self._ordinal_lp, raw)
        if self.count_index.numel():
            yield self.count_index, self._masked(x, self.count_index, self._count_lp, raw)

    @staticmethod
    def _masked(x, index, log_prob, raw):
        # the missing entries are replaced by a valid value before the maths
        # and their terms by 0 after: no NaN reaches a gradient
        values = x[..., index]
        missing = torch.isnan(values)
        filled = torch.where(missing, torch.zeros_like(values), values)
        lp = log_prob(raw, filled)
        return torch.where(missing, torch.zeros_like(lp), lp)

    def _real_lp(self, raw, x):
        # residuals in units of each column's spread before any square, so
        # that columns of 1e30 or 1e-20 stay inside float32
        share = self.real_share
        r = ((x - self.real_shift) / self.real_scale - raw[..., self.real_raw]) / share.sqrt()
        log_sd = torch.log(self.real_scale) + 0.5 * torch.log(share)
        if self.real == "student_t":
            df = self.df
            half = 0.5 * (df + 1.0)
            constant = (
                torch.lgamma(half) - torch.lgamma(0.5 * df) - 0.5 * torch.log(df * math.pi)
            )
            return constant - log_sd - half * torch.log1p(r.square() / df)
        return -0.5 * (r.square() + _LOG_2PI) - log_sd

    def _binary_lp(self, raw, x):
        logits, x = torch.broadcast_tensors(self.binary_logits(raw), x)
        return -nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none")

    def _nominal_lp(self, raw, x):
        log_p = torch.log_softmax(self.nominal_logits(raw), dim=-1)
        codes = x.long().expand(log_p.shape[:-1])
        return log_p.gather(-1, codes[..., None])[..., 0]

    def _ordinal_lp(self, raw, x):
        log_p = self.ordinal_log_probs(raw)
        codes = x.long().expand(log_p.shape[:-1])
        return log_p.gather(-1, codes[..., None])[..., 0]

    def _count_lp(self, raw, x):
        log_mu = self.count_log_mean(raw)
        r = self.dispersion
        log_r = torch.log(r)
        total = torch.logaddexp(log_r, log_mu)
        return (
            torch.lgamma(x + r) - torch.lgamma(r) - torch.lgamma(x + 1.0)
            + r * (log_r - total) + x * (log_mu - total)
        )

    # ------------------------------------------------- points and draws

    def forward(self, raw):
        return TableDistribution(self, raw)

    def summary_layout(self):
        """The widths of :meth:`summary`'s parts: real, binary, nominal, ordinal, count."""
        width = self.layout.max_categories
        return (
            self.real_index.numel(),
            self.binary_index.numel(),
            self.nominal_index.numel() * width,
            self.ordinal_index.numel() * width,
            self.count_index.numel(),
        )

    def summary(self, raw):
        """Each column's mean, or its categories' probabilities, as one vector per row.

        Averages of summaries (over draws of ``z``, with importance weights)
        are the summaries of the mixture: :meth:`point` reads a point per
        column from either.
        """
        parts = [self.real_loc(raw), torch.sigmoid(self.binary_logits(raw))]
        if self.nominal_index.numel():
            parts.append(torch.softmax(self.nominal_logits(raw), -1).flatten(-2))
        else:
            parts.append(raw.new_zeros(raw.shape[:-1] + (0,)))
        if self.ordinal_index.numel():
            parts.append(torch.exp(self.ordinal_log_probs(raw)).flatten(-2))
        else:
            parts.append(raw.new_zeros(raw.shape[:-1] + (0,)))
        log_mu = self.count_log_mean(raw)
        parts.append(torch.exp(log_mu))
        return torch.cat(parts, -1)

    def point(self, summary):
        """One value per column from a :meth:`summary`: the mean of a real column or
        a count, the most probable category of the others."""
        sizes = self.summary_layout()
        real, binary, nominal, ordinal, count = torch.split(summary, sizes, dim=-1)
        width = self.layout.max_categories
        lead = summary.shape[:-1]
        out = summary.new_zeros(lead + (self.n_columns,))
        out[..., self.real_index] = real
        out[..., self.binary_index] = (binary > 0.5).to(summary.dtype)
        if self.nominal_index.numel():
            probs = nominal.reshape(lead + (-1, width))
            out[..., self.nominal_index] = probs.argmax(-1).to(summary.dtype)
        if self.ordinal_index.numel():
            probs = ordinal.reshape(lead + (-1, width))
            out[..., self.ordinal_index] = probs.argmax(-1).to(summary.dtype)
        out[..., self.count_index] = count
        return out

    def mean(self, raw):
        """The point of each column at ``raw``: a real column's or a count's mean, the
        most probable category of the others (see :meth:`point`)."""
        return self.point(self.summary(raw))

    def sample(self, raw):
        """One draw of every column, (..., n_columns), in the model's units."""
        lead = raw.shape[:-1]
        out = raw.new_zeros(lead + (self.n_columns,))
        if self.real_index.numel():
            loc, scale = self.real_loc(raw), self.real_sd
            if self.real == "student_t":
                draw = StudentT(self.df, loc, scale).sample()
            else:
                draw = Normal(loc, scale.expand_as(loc)).sample()
            out[..., self.real_index] = draw
        if self.binary_index.numel():
            out[..., self.binary_index] = Bernoulli(logits=self.binary_logits(raw)).sample()
        if self.nominal_index.numel():
            draw = Categorical(logits=self.nominal_logits(raw)).sample()
            out[..., self.nominal_index] = draw.to(raw.dtype)
        if self.ordinal_index.numel():
            draw = Categorical(logits=self.ordinal_log_probs(raw)).sample()
            out[..., self.ordinal_index] = draw.to(raw.dtype)
        if self.count_index.numel():
            log_mu = self.count_log_mean(raw)
            r = self.dispersion.expand_as(log_mu)
            draw = NegativeBinomial(total_count=r, logits=log_mu - torch.log(r)).sample()
            out[..., self.count_index] = draw
        return out


def _interval_log_prob(upper, lower):
    """``log(sigmoid(upper) - sigmoid(lower))`` for ``upper >= lower``, stably.

    ``sigmoid(a) - sigmoid(b) = sigmoid(a) sigmoid(-b) (1 - exp(b - a))``;
    an empty interval (both +inf, past a column's categories) is -inf.
    """
    empty = torch.isinf(upper) & torch.isinf(lower) & (upper == lower)
    a = torch.where(empty, torch.zeros_like(upper), upper)
    b = torch.where(empty, torch.full_like(lower, -1.0), lower)
    out = nn.functional.logsigmoid(a) + nn.functional.logsigmoid(-b) + log1mexp(b - a)
    return torch.where(empty, torch.full_like(out, -math.inf), out)


class TableDistribution:
    """``p(x | z)`` of a table's rows as a distribution: what inference calls on it.

    ``log_prob`` sums each row's observed entries; ``base_dist.log_prob``
    gives them per column (0 where missing), as ``Independent``'s base
    distribution does; ``mean`` the point of each column; ``sample`` a draw
    in the model's units.
    """

    def __init__(self, likelihood, raw):
        self.likelihood, self.raw = likelihood, raw

    def log_prob(self, x):
        return self.likelihood.log_prob(self.raw, x)

    @property
    def base_dist(self):
        return _PerColumn(self)

    @property
    def mean(self):
        return self.likelihood.mean(self.raw)

    def sample(self):
        with torch.no_grad():
            return self.likelihood.sample(self.raw)


class _PerColumn:
    def __init__(self, dist):
        self.dist = dist

    def log_prob(self, x):
        return self.dist.likelihood.column_log_prob(self.dist.raw, x)
