"""Tables of mixed columns in the estimators: validation, the module's layout, outputs.

:class:`TableMixin` is the part of :class:`~skvae._base.BaseVAE` that takes a
table column by column (see :mod:`skvae._tables`): at fit it records the
column types, categories and dtypes (``_table_``), maps the table to the
model's matrix (numbers, category indices, NaN where an entry is missing)
and gives the module its :class:`~skvae.models.ColumnLayout`; after, it
checks tables against the fit and gives outputs back in the table's columns
and dtypes. A model fitted on complete numbers (no ``_table_``) refuses
missing entries with a message that says what to do.
"""

import numpy as np
import torch
from scipy.sparse import issparse
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from ._tables import Table, is_frame, needs_table
from .models import table_statistics

# the smallest variance of a real column, as a share of its training variance
_VAR_FLOOR = 1e-2


class TableMixin:
    """Tables of mixed columns; part of :class:`~skvae._base.BaseVAE`."""

    @property
    def _table(self):
        """The fitted :class:`~skvae._tables.Table`, or None (every feature real)."""
        data = getattr(self, "_table_", None)
        return None if data is None else Table.from_dict(data)

    def _takes_table(self, X, reset):
        """Whether ``X`` goes through the table path: at fit, ``column_types`` is
        set or ``X`` needs it (see :func:`~skvae._tables.needs_table`); after,
        as fitted."""
        if not reset:
            return getattr(self, "_table_", None) is not None
        if getattr(X, "ndim", 2) not in (None, 2) and not hasattr(X, "columns"):
            return False  # images: 3-D and 4-D arrays
        if getattr(self, "_always_table", False):
            return not issparse(X)
        return getattr(self, "column_types", None) is not None or needs_table(X)

    def _validate_table(self, X, *, reset, y):
        """``_validate_X`` for a table of mixed columns or with missing entries.

        At fit the column types, categories and dtypes are recorded
        (``_table_``, read through ``column_types_`` and ``categories_``);
        the model's matrix holds a real column centred on its observed
        mean, a count as itself, a category as its index, NaN where an entry
        is missing. The units are the data's own (``x_unit_`` is 1): each
        column's likelihood has its own scale.
        """
        M, y = self._table_matrix(X, reset=reset, y=y)
        M = self._to_model_units(M)
        return M if isinstance(y, str) and y == "no_validation" else (M, y)

    def _table_matrix(self, X, *, reset, y="no_validation"):
        """A table checked and encoded (see ``_validate_table``), before the model's units.

        Returns the matrix, and ``y`` validated where it is given.
        """
        if not is_frame(X):
            if isinstance(X, (list, tuple)):
                # rows of numbers and text: objects (numpy would make every
                # value a string)
                try:
                    X = np.asarray(X, dtype=object)
                except ValueError:
                    pass  # ragged: check_array says so
            # scikit-learn's errors for sparse, 1-D, empty and complex input
            # (dtype=None keeps strings and objects as they are)
            X = check_array(
                X, dtype=None, ensure_all_finite=False, ensure_min_samples=2 if reset else 1
            )
        if reset:
            self._check_table_params()
            table = Table.fit(X, getattr(self, "column_types", None))
        else:
            table = self._table
            _check_n_features(self, X, reset=False)
        _check_feature_names(self, X, reset=reset)  # before the values: names first
        # at fit every category is known (or declared): only later ones are unknown
        M = table.encode(X, "error" if reset else self.handle_unknown)
        _check_n_features(self, M, reset=reset)
        n_min = 2 if reset else 1
        if M.shape[0] < n_min:
            raise ValueError(
                f"Found array with {M.shape[0]} sample(s) (shape={M.shape}) while a "
                f"minimum of {n_min} is required."
            )
        if not (isinstance(y, str) and y == "no_validation"):
            y = column_or_1d(y, warn=True)
            check_consistent_length(M, y)
            if y.dtype.kind == "f" and not np.isfinite(y).all():
                raise ValueError("Input y contains NaN or infinity.")
        if reset:
            self.image_shape_ = None
            self._table_ = table.to_dict()
            offset = np.zeros(M.shape[1])
            for j, kind in enumerate(table.types):
                if kind == "real":
                    offset[j] = np.nanmean(M[:, j])
                    _check_magnitude(M[:, j] - offset[j], table, j)
            self.x_offset_, self.x_unit_ = offset, 1.0
        return M, y

    def _check_table_params(self):
        """The hyperparameters a table of mixed columns can be fitted with."""
        what = (
            f"{type(self).__name__} models tables column by column"
            if getattr(self, "_always_table", False)
            else "X is a table (with categories, booleans or missing entries)"
        )
        if self.architecture == "conv" or self.image_shape is not None:
            raise ValueError(
                f"{what}, but "
                "image_shape or architecture='conv' reads rows as images. Images with "
                "missing pixels are not supported; fit a table with architecture='mlp'."
            )
        if self.likelihood == "bernoulli":
            raise ValueError(
                f"{what}: likelihood='bernoulli' models every feature as a probability, but "
                "in a table each column has its own likelihood. Declare 0/1 columns "
                "'binary' in column_types, and keep likelihood='gaussian' or 'student_t' "
                "(the distribution of the real columns)."
            )

    def _check_complete(self, X):
        """A model fitted on complete numbers refuses missing entries, saying what to do."""
        values = np.asarray(X) if not hasattr(X, "isna") else None
        if values is not None and values.dtype.kind == "f":
            # min propagates NaN: one pass over a transform's X, no temporary
            missing = values.size > 0 and bool(np.isnan(np.min(values)))
        elif hasattr(X, "isna"):
            missing = bool(np.asarray(X.isna()).any())
        else:
            return
        if missing:
            raise ValueError(
                f"X has missing entries (NaN), but this {type(self).__name__} was fitted "
                "on complete numeric data, so its encoder never learned to read them. "
                "Refit it with column_types={} (each column then has its own "
                "likelihood, and missing entries are modelled at fit and after), or "
                "on data that has missing entries, or impute X first (VAEImputer)."
            )

    @property
    def column_types_(self):
        """The type of each column (``"real"``, ``"binary"``, ``"nominal"``,
        ``"ordinal"``, ``"count"``), as fitted: all ``"real"`` for numeric data
        without missing entries and ``column_types=None``."""
        check_is_fitted(self, "x_unit_")
        table = self._table
        if table is None:
            return np.array(["real"] * self.n_features_in_, dtype=object)
        return np.array(table.types, dtype=object)

    @property
    def categories_(self):
        """The categories of each column, in order (an array), None for numeric columns."""
        check_is_fitted(self, "x_unit_")
        table = self._table
        if table is None:
            return [None] * self.n_features_in_
        return [None if c is None else np.array(c, dtype=object) for c in table.categories]

    def _to_user(self, values, index=None):
        """Rows in the model's columns (after ``_from_model_units``) as the user's table."""
        table = self._table
        return values if table is None else table.decode(values, index=index)

    def _table_module_params(self, X, layout):
        """``_module_params`` of a table of mixed columns: the layout and its statistics."""
        stats = table_statistics(np.asarray(X), layout)
        numbers = [kind in ("real", "count") for kind in layout.types]
        var = stats["std"].square() * torch.tensor(numbers, device=stats["std"].device)
        return {
            "networks": self._networks(X.shape[1], layout),
            "n_components": self.n_components,
            "likelihood": self.likelihood,
            "variance": self.variance,
            "feature_mean": stats["mean"],
            "feature_var": var,
            "var_floor": _VAR_FLOOR,
            "table": layout,
            "table_stats": stats,
        }


# the largest centred value of a real column that float32 training holds, with
# room for the sums of a batch
_LARGEST = float(np.finfo(np.float32).max) / 1e4


def _check_magnitude(centred, table, j):
    """A real column of a table is modelled in its own units, in float32: refuse one
    whose values do not fit, saying what to do."""
    largest = np.nanmax(np.abs(centred)) if np.isfinite(centred).any() else 0.0
    if largest > _LARGEST:
        label = repr(table.names[j]) if table.names else str(j)
        raise ValueError(
            f"Column {label} of X holds values {largest:.3g} away from its mean; a table's "
            f"real columns are modelled in their own units in float32, which holds up to "
            f"{_LARGEST:.0e}. Divide the column by a power of ten first (a "
            "FunctionTransformer in a Pipeline does it)."
        )
