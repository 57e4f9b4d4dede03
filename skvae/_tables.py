"""Tables of mixed columns: column types, categories, missing entries, the user's dtypes.

A :class:`Table` is fitted on the training data (a pandas DataFrame, or an
array) and maps a table to the model's matrix and back:

* ``encode``: one float64 column per column of the table; a real value or
  a count as itself, a binary, nominal or ordinal entry as the index of its
  category, NaN where the entry is missing (NaN, None, ``pd.NA``, ``NaT``);
* ``decode``: such a matrix (decoder means, draws, imputations) as the
  user's columns, with their dtypes: categories as categories, counts as
  integers, in a DataFrame where the table was one.

The fitted description is plain JSON-able data (:meth:`Table.to_dict`), so
model files hold it as data and check it when they are read.

Column types are inferred from the dtypes (:func:`infer_type`) unless the
``column_types`` hyperparameter names them: a dict from a type to the
columns, given as ColumnTransformer users give them (names, indices, a
boolean mask, or a callable such as ``make_column_selector``).
"""

import math
import numbers

import numpy as np

from ._table_values import (
    _categories,
    _check_counts,
    _check_order,
    _codes,
    _given_categories,
    _integral,
    _missing,
    _numbers,
    whole_numbers,
)
from .models import CATEGORICAL_TYPES, COLUMN_TYPES, ColumnLayout

# pandas dtypes whose values are categories
_CATEGORY_KINDS = ("category", "object", "string", "bool", "boolean")


def _pandas():
    import pandas as pd

    return pd


def is_frame(X):
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


def _columns_of(X):
    """The table's columns as a list of 1-D sequences, and their names (or None)."""
    if is_frame(X):
        return [X.iloc[:, j] for j in range(X.shape[1])], _column_names(X.columns)
    if getattr(getattr(X, "dtype", None), "kind", None) == "c":
        raise ValueError(f"Complex data not supported: X has dtype {X.dtype}.")
    arr = np.asarray(X, dtype=object) if _has_non_numbers(X) else np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(
            f"Expected a 2D array, got an array of shape {arr.shape}. Give one row per sample."
        )
    return [arr[:, j] for j in range(arr.shape[1])], None


def _column_names(columns):
    """A DataFrame's column labels as plain values: strings, or integers where every
    label is one (outputs keep them), else their text."""
    names = [c.item() if isinstance(c, np.generic) else c for c in columns]
    if all(isinstance(c, str) for c in names):
        return names
    if all(isinstance(c, numbers.Integral) and not isinstance(c, bool) for c in names):
        return [int(c) for c in names]
    return [str(c) for c in names]


def _has_non_numbers(X):
    dtype = getattr(X, "dtype", None)
    return dtype is None or dtype.kind in "OUS"


def needs_table(X):
    """Whether ``X`` is a table skvae models column by column (see :class:`Table`).

    True for a DataFrame with a column of categories, strings, booleans or
    pandas' nullable integers, an array of strings or other objects, and any
    table with a missing entry (NaN, None, ``pd.NA``).
    """
    if _is_sparse(X):
        return False  # refused as scikit-learn refuses it, further on
    if is_frame(X):
        pd = _pandas()
        for _, dtype in X.dtypes.items():
            if not _plain_number(dtype) or isinstance(dtype, pd.api.extensions.ExtensionDtype):
                return True
        return bool(np.asarray(X.isna()).any())
    dtype = getattr(X, "dtype", None)
    if dtype is not None and dtype.kind in "fc":
        if getattr(X, "ndim", 0) != 2 or X.size == 0:
            return False
        # min propagates NaN: one pass, no temporary of X's size
        return bool(np.isnan(np.min(np.asarray(X))))
    if dtype is not None and dtype.kind in "iub":
        return dtype.kind == "b"
    try:
        arr = np.asarray(X, dtype=object)
    except Exception:
        return False
    if arr.ndim != 2:
        return False
    # strings, booleans and missing entries make a table; other objects are
    # left to scikit-learn's check, which names them
    return any(
        v is None
        or v is _pandas().NA
        or isinstance(v, (str, bool, np.bool_))
        or (isinstance(v, float) and math.isnan(v))
        for v in arr.ravel()
    )


def _is_sparse(X):
    try:
        import scipy.sparse
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        return False
    return scipy.sparse.issparse(X)


def _plain_number(dtype):
    kind = getattr(dtype, "kind", "O")
    return kind in "iuf" and not hasattr(dtype, "categories")


def infer_type(values, dtype):
    """The column type of a column from its dtype (and, for integers, its values).

    Categories, strings, objects and booleans are categories: ``"binary"``
    for booleans, ``"ordinal"`` for an ordered pandas Categorical,
    ``"nominal"`` otherwise. Floats are ``"real"``. Integers are
    ``"count"`` when they are never negative and vary at least as much as
    their mean (as counts do, and as a negative binomial can model), and
    ``"real"`` otherwise (a year, a code); so is a float column with missing
    entries whose other values are all integers below 2**53 (an integer
    column read from a file with empty cells). Numbers that are all 0 or 1 are
    ``"binary"``.
    """
    pd = _pandas()
    if isinstance(dtype, pd.CategoricalDtype):
        return "ordinal" if dtype.ordered else "nominal"
    if pd.api.types.is_bool_dtype(dtype):
        return "binary"
    kind = getattr(dtype, "kind", "O")
    if kind in "iuf":
        observed = np.asarray(pd.Series(values).dropna(), dtype=np.float64)
        if observed.size and np.isin(observed, (0.0, 1.0)).all():
            return "binary"  # a 0/1 column
    if kind == "f":
        # integers that empty cells made floats (as a CSV file's are) are
        # integers; other floats are real
        observed = np.asarray(pd.Series(values).dropna(), dtype=np.float64)
        holed = observed.size < len(values)
        if not (holed and observed.size and whole_numbers(observed)):
            return "real"
        kind = "i"
    if kind in "iu":
        observed = np.asarray(pd.Series(values).dropna(), dtype=np.float64)
        if observed.size and observed.min() >= 0 and observed.var() >= observed.mean() > 0:
            return "count"
        return "real"
    if kind in "mM":
        raise ValueError(
            f"a column holds {dtype} values: encode dates and durations as numbers "
            "first (for example days since a reference date)."
        )
    # objects: numbers stored as objects are numbers, booleans binary
    observed = [v for v, m in zip(values, _missing(values), strict=True) if not m]
    if observed and all(isinstance(v, (bool, np.bool_)) for v in observed):
        return "binary"
    if observed and all(
        isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in observed
    ):
        return "real"
    return "nominal"


def _selected(selection, X, names, n_columns, kind):
    """Column indices of a ``column_types`` entry: names, indices, a mask or a callable."""
    if callable(selection):
        if not is_frame(X):
            raise ValueError(
                f"column_types[{kind!r}] is a callable (such as make_column_selector), "
                "which selects the columns of a DataFrame; X is not one. Give the "
                "columns as indices."
            )
        selection = selection(X)
    if isinstance(selection, (str, numbers.Integral)):
        selection = [selection]
    if isinstance(selection, slice):
        selection = list(range(n_columns))[selection]
    if isinstance(selection, (set, frozenset)):
        selection = sorted(selection, key=str)
    selection = list(np.asarray(selection, dtype=object).ravel()) if not isinstance(
        selection, list
    ) else selection
    if selection and all(isinstance(s, (bool, np.bool_)) for s in selection):
        if len(selection) != n_columns:
            raise ValueError(
                f"column_types[{kind!r}] is a boolean mask of {len(selection)} entries; "
                f"X has {n_columns} columns."
            )
        return [j for j, s in enumerate(selection) if s]
    out = []
    for s in selection:
        if isinstance(s, numbers.Integral) and not isinstance(s, (bool, np.bool_)):
            j = int(s)
            if not -n_columns <= j < n_columns:
                raise ValueError(
                    f"column_types[{kind!r}] names column {j}; X has {n_columns} columns."
                )
            out.append(j % n_columns)
        elif isinstance(s, str):
            if names is None:
                raise ValueError(
                    f"column_types[{kind!r}] names the column {s!r}, but X has no column "
                    "names (it is not a DataFrame). Give the columns as indices."
                )
            if s not in names:
                shown = ", ".join(repr(n) for n in names[:10])
                raise ValueError(
                    f"column_types[{kind!r}] names the column {s!r}, which X does not "
                    f"have (its columns: {shown}{', ...' if len(names) > 10 else ''})."
                )
            out.append(names.index(s))
        else:
            raise ValueError(
                f"column_types[{kind!r}] must select columns by name, index, boolean "
                f"mask or a callable (make_column_selector); got {s!r}."
            )
    return out


def check_column_types(column_types):
    """The ``column_types`` hyperparameter: None or a dict from a column type to columns."""
    if column_types is None:
        return
    if not isinstance(column_types, dict):
        raise ValueError(
            "column_types must be None (inferred from the dtypes) or a dict from a "
            f"column type {COLUMN_TYPES} to the columns of that type, e.g. "
            "{'ordinal': ['education'], 'count': [3, 4]}; got "
            f"{type(column_types).__name__}."
        )
    unknown = [k for k in column_types if k not in COLUMN_TYPES]
    if unknown:
        raise ValueError(
            f"column_types has the key(s) {unknown!r}; the column types are {COLUMN_TYPES}."
        )


class Table:
    """The fitted description of a table: column types, categories and dtypes.

    Built by :meth:`fit` from training data; :meth:`encode` and
    :meth:`decode` map tables to the model's matrix and back. Plain data
    (:meth:`to_dict`, :meth:`from_dict`).
    """

    def __init__(self, types, categories, dtypes, names, frame, declared=None, integral=None):
        self.types = list(types)
        # whether a real column's observed values were all integers (its
        # outputs are rounded)
        self.integral = list(integral) if integral is not None else [False] * len(self.types)
        # the type column_types named for each column (None: inferred)
        self.declared = list(declared) if declared is not None else [None] * len(self.types)
        self.categories = list(categories)  # a list of values, or None
        self.dtypes = list(dtypes)  # the dtype's name of each column
        self.names = names  # a list of str (or of int labels), or None
        self.frame = bool(frame)

    # ---------------------------------------------------------------- fitting

    @classmethod
    def fit(cls, X, column_types=None):
        check_column_types(column_types)
        columns, names = _columns_of(X)
        if not columns:
            raise ValueError("X has no columns: a table needs at least one.")
        if len(columns[0]) < 2:
            raise ValueError(
                f"Found a table with {len(columns[0])} row(s) while a minimum of 2 is "
                "required to fit."
            )
        declared, orders = {}, {}
        for kind, selection in (column_types or {}).items():
            if isinstance(selection, dict):
                # {column: its categories in order (or None)}
                for column, order in selection.items():
                    for j in _selected([column], X, names, len(columns), kind):
                        if order is not None:
                            orders[j] = _check_order(order, kind, column)
                selection = list(selection)
            for j in _selected(selection, X, names, len(columns), kind):
                if j in declared and declared[j] != kind:
                    label = names[j] if names else j
                    raise ValueError(
                        f"column_types names the column {label!r} as both "
                        f"{declared[j]!r} and {kind!r}."
                    )
                declared[j] = kind
        types, categories, dtypes, integral = [], [], [], []
        for j, values in enumerate(columns):
            label = repr(names[j]) if names else str(j)
            dtype = getattr(values, "dtype", np.asarray(values).dtype)
            missing = _missing(values)
            if missing.all():
                raise ValueError(
                    f"Column {label} of X has no observed value: every entry is missing. "
                    "Drop it: nothing can be learned about it."
                )
            try:
                kind = declared.get(j) or infer_type(values, dtype)
            except ValueError as exc:
                raise ValueError(f"Column {label} of X: {exc}") from None
            types.append(kind)
            dtypes.append(str(dtype))
            # a real column of integers gets its outputs rounded
            integral.append(kind == "real" and _integral(values, missing))
            if kind in CATEGORICAL_TYPES and j in orders:
                cats = _given_categories(values, missing, orders[j], label)
            elif kind in CATEGORICAL_TYPES:
                cats = _categories(values, dtype, missing, kind, label)
            else:
                cats = None
            categories.append(cats)
            if kind == "count":
                _check_counts(_numbers(values, missing, label, kind), label)
        declared_types = [declared.get(j) for j in range(len(columns))]
        return cls(types, categories, dtypes, names, is_frame(X), declared_types, integral)

    @property
    def layout(self):
        return ColumnLayout(
            self.types,
            [
                2 if kind == "binary" else len(c) if c is not None else 0
                for kind, c in zip(self.types, self.categories, strict=True)
            ],
        )

    # ------------------------------------------------------------ conversion

    def encode(self, X, handle_unknown="error"):
        """``X`` as the model's float64 matrix: numbers, category indices, NaN for missing.

        A category not seen at fit is refused (``handle_unknown="error"``), or
        read as a missing entry, with a warning (``"warn"``) or without
        (``"missing"``).
        """
        columns, names = _columns_of(X)
        if len(columns) != len(self.types):
            raise ValueError(
                f"X has {len(columns)} features, but this model was fitted on "
                f"{len(self.types)} columns."
            )
        out = np.empty((len(columns[0]) if columns else 0, len(columns)), dtype=np.float64)
        for j, values in enumerate(columns):
            label = repr(self.names[j]) if self.names else str(j)
            missing = _missing(values)
            kind = self.types[j]
            if kind in CATEGORICAL_TYPES:
                out[:, j] = _codes(values, missing, self.categories[j], label, handle_unknown)
            else:
                out[:, j] = _numbers(values, missing, label, kind)
                if kind == "count":
                    _check_counts(out[:, j], label)
        return out

    def missing(self, X):
        """Which entries of ``X`` are missing (NaN, None, ``pd.NA``, ``NaT``), by column."""
        columns, _ = _columns_of(X)
        if not columns:
            return np.zeros((len(X), 0), dtype=bool)
        return np.column_stack([_missing(values) for values in columns])

    def put_back(self, out, X, entries):
        """``out`` (a decoded table) with ``X``'s own values at ``entries`` (a boolean
        matrix): values the model cannot represent, such as categories it was not
        fitted on, returned as the user gave them. A column whose dtype cannot hold
        them becomes one that can (a Categorical gains the categories; otherwise
        objects)."""
        if not entries.any():
            return out
        pd = _pandas()
        columns, _ = _columns_of(X)
        for j in np.flatnonzero(entries.any(axis=0)):
            rows = np.flatnonzero(entries[:, j])
            given = np.asarray(columns[j], dtype=object)[rows]
            if not is_frame(out):
                if out.dtype != object and not all(
                    isinstance(v, numbers.Real) for v in given
                ):
                    out = out.astype(object)
                out[rows, j] = given
                continue
            col = out.iloc[:, j]
            if isinstance(col.dtype, pd.CategoricalDtype):
                new = [v for v in pd.unique(given) if v not in col.cat.categories]
                col = col.cat.add_categories(new)
                col.iloc[rows] = given
            else:
                col = col.astype(object)
                col.iloc[rows] = given
                # the given values are X's: its column's dtype holds them (an int
                # column stays int), or else the values say what they are
                try:
                    col = col.astype(X.iloc[:, j].dtype) if is_frame(X) else col.infer_objects()
                except (TypeError, ValueError):
                    col = col.infer_objects()
            out.isetitem(j, col)
        return out

    def decode(self, M, index=None, frame=None):
        """The model's matrix ``M`` as the user's table: a DataFrame where it was one
        (or where ``frame`` says so).

        Real columns in their dtype (float), counts rounded to integers,
        categories as the original values in the original dtype.
        """
        pd = _pandas()
        M = np.asarray(M, dtype=np.float64)
        values = []
        for j, kind in enumerate(self.types):
            column = M[:, j]
            if kind in CATEGORICAL_TYPES:
                cats = np.asarray(self.categories[j], dtype=object)
                codes = np.clip(np.rint(np.nan_to_num(column)), 0, len(cats) - 1).astype(int)
                col = np.empty(len(column), dtype=object)
                col[:] = cats[codes]
                col[np.isnan(column)] = None
                values.append(col)
            elif kind == "count":
                values.append(np.where(np.isnan(column), np.nan, np.rint(np.maximum(column, 0))))
            elif self.integral[j]:
                values.append(np.rint(column))
            else:
                values.append(column)
        if not (self.frame if frame is None else frame):
            numbers = all(
                cats is None
                or all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cats)
                for cats in self.categories
            )
            if numbers:  # an array of numbers stays one
                return np.column_stack([np.asarray(v, dtype=np.float64) for v in values])
            out = np.empty((M.shape[0], len(values)), dtype=object)
            for j, col in enumerate(values):
                out[:, j] = col
            return out
        data = {}
        names = self.names or [f"x{j}" for j in range(len(values))]
        for j, col in enumerate(values):
            data[names[j]] = self._as_dtype(col, j, pd)
        # built on a fresh index, then given the caller's: a Series among the
        # columns must not be aligned to it by label
        out = pd.DataFrame(data)  # every Series here has the index 0..n-1
        if index is not None:
            out.index = index
        return out

    def _as_dtype(self, col, j, pd):
        """A decoded column in column ``j``'s fitted dtype (where its values fit it)."""
        dtype, kind = self.dtypes[j], self.types[j]
        if kind in CATEGORICAL_TYPES:
            if dtype == "category":
                return pd.Categorical(
                    col, categories=self.categories[j], ordered=kind == "ordinal"
                )
            if dtype in ("bool",) and not pd.isna(pd.Series(col)).any():
                return col.astype(bool)
            if dtype in ("bool", "boolean"):
                return pd.array(col, dtype="boolean")
            if dtype.startswith("string"):
                return pd.array(col, dtype=dtype)
            if dtype == "object":
                return pd.Series(col, dtype=object)
            return pd.Series(col, dtype=object).infer_objects()
        if kind == "count" or dtype.startswith(("int", "uint", "Int", "UInt")):
            rounded = np.rint(col)
            if dtype[:1] in "IU" or np.isnan(rounded).any():
                # pandas' nullable integers (NaN becomes <NA>)
                return pd.array(rounded, dtype=dtype if dtype[:1] in "IU" else "Int64")
            return rounded.astype(dtype if dtype.startswith(("int", "uint")) else np.int64)
        if dtype in ("float32", "float64", "Float32", "Float64"):
            return col.astype(dtype.lower()) if dtype[0] == "f" else pd.array(col, dtype=dtype)
        return col

    # ---------------------------------------------------------------- storage

    def to_dict(self):
        return {
            "types": list(self.types),
            "categories": [None if c is None else list(c) for c in self.categories],
            "dtypes": list(self.dtypes),
            "names": None if self.names is None else list(self.names),
            "frame": self.frame,
            "declared": list(self.declared),
            "integral": list(self.integral),
        }

    @classmethod
    def from_dict(cls, data):
        return cls(
            data["types"], data["categories"], data["dtypes"], data["names"], data["frame"],
            data.get("declared"), data.get("integral"),
        )

    def stored_column_types(self, column_types):
        """``column_types`` as a model file can hold it: a callable entry (such as
        ``make_column_selector``) replaced by the columns it selected at fit."""
        out = {}
        for kind, selection in column_types.items():
            if callable(selection):
                chosen = [j for j, d in enumerate(self.declared) if d == kind]
                selection = [self.names[j] for j in chosen] if self.names else chosen
            out[kind] = selection
        return out

    def describe(self):
        """One line per column: its name (or index), type and categories."""
        lines = []
        for j, kind in enumerate(self.types):
            label = self.names[j] if self.names else f"column {j}"
            cats = self.categories[j]
            extra = ""
            if cats is not None:
                shown = ", ".join(str(c) for c in cats[:6])
                extra = f" ({len(cats)} categories: {shown}{', ...' if len(cats) > 6 else ''})"
            lines.append(f"{label}: {kind}{extra}")
        return lines
