"""The values of a table's columns: categories, codes, numbers and missing entries.

The helpers of :class:`skvae._tables.Table`: which entries are missing,
a column's categories (its Categorical's, an order given in
``column_types``, or its values sorted), the index of each entry's category
(by hashing, where no boolean can be taken for 0 or 1), numbers checked
(text, dates, infinity and counts that are no counts refused).
"""

import math
import numbers
import warnings

import numpy as np

# the most categories a nominal or ordinal column may have: beyond, the
# column is an identifier or free text, not a category
MAX_CATEGORIES = 1000


def _pandas():
    import pandas as pd

    return pd


def _missing(values):
    """Which entries of a column are missing: NaN, None, pd.NA, NaT."""
    pd = _pandas()
    return np.asarray(pd.isna(pd.Series(values, copy=False)), dtype=bool)


def _describe(value):
    return repr(value.item() if isinstance(value, np.generic) else value)


def _plain_value(v):
    """A category as a plain Python value (JSON-able: str, int, float, bool)."""
    if isinstance(v, np.generic):
        v = v.item()
    return v


def _check_order(order, kind, column):
    """An ordinal column's categories in order, as given in ``column_types``."""
    if isinstance(order, (str, bytes)) or not hasattr(order, "__iter__"):
        raise ValueError(
            f"column_types[{kind!r}][{column!r}] must list the column's categories in "
            f"order, e.g. ['low', 'mid', 'high']; got {order!r}."
        )
    order = [_plain_value(v) for v in order]
    if len({(type(v) is bool, v) for v in order}) != len(order) or not order:
        raise ValueError(
            f"column_types[{kind!r}][{column!r}] lists a category twice (or none): {order!r}."
        )
    return order


def _given_categories(values, missing, order, label):
    """The categories given in ``column_types``, every observed value among them."""
    observed = _unique_observed(values, missing)
    known = {(type(v) is bool, v) for v in order}
    extra = [v for v in observed if (type(v) is bool, v) not in known]
    if extra:
        raise ValueError(
            f"Column {label} of X holds {', '.join(map(repr, extra[:5]))}, which the order "
            f"given in column_types ({order!r}) does not list."
        )
    return list(order)


def _sorted_categories(unique):
    """Categories in order: numbers by value, then numbers written as text by value
    ("2" before "10"), then other text alphabetically, then anything else."""
    try:
        if not any(isinstance(v, str) for v in unique):
            return sorted(unique)
    except TypeError:
        pass
    return sorted(unique, key=_category_key)


def _category_key(v):
    if isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)):
        return (0, float(v), "")
    if isinstance(v, str):
        try:
            number = float(v)
        except ValueError:
            return (2, 0.0, v)
        if math.isfinite(number):
            return (1, number, v)
        return (2, 0.0, v)
    return (3, 0.0, f"{type(v).__name__}:{v}")


def _categories(values, dtype, missing, kind, label):
    """The categories of a column: a Categorical's own, else its sorted values."""
    pd = _pandas()
    if isinstance(dtype, pd.CategoricalDtype):
        cats = [_plain_value(c) for c in dtype.categories]
    else:
        observed = _unique_observed(values, missing)
        odd = next((v for v in observed if not isinstance(v, (str, bool, numbers.Number))), None)
        if odd is not None:
            raise TypeError(
                f"Column {label} of X holds {odd!r} (a {type(odd).__name__}), which is "
                "neither a category nor a number: each argument must be a string, a "
                "number or a boolean."
            )
        unique = list(dict.fromkeys((type(v) is bool, v) for v in observed))
        unique = [v for _, v in unique]
        cats = _sorted_categories(unique)
    for c in cats:
        plain = isinstance(c, (str, bool, int, float))
        if not plain or (isinstance(c, float) and not math.isfinite(c)):
            raise ValueError(
                f"Column {label} of X holds the category {c!r} ({type(c).__name__}); "
                "categories must be strings, numbers or booleans. Convert the column, "
                "for example with X[col].astype(str)."
            )
    if kind == "binary" and len(cats) > 2:
        raise ValueError(
            f"Column {label} of X is binary but holds {len(cats)} different values "
            f"({', '.join(map(repr, cats[:5]))}...). Declare it 'nominal' in column_types."
        )
    if kind == "binary" and len(cats) == 1:
        # a binary column seen with one value: the other is its complement
        only = cats[0]
        if isinstance(only, bool):
            cats = [False, True]
    if len(cats) > MAX_CATEGORIES:
        raise ValueError(
            f"Column {label} of X has {len(cats)} different values, more than the "
            f"{MAX_CATEGORIES} categories skvae models: it looks like an identifier or "
            "text. Drop it, or declare it 'real' or 'count' in column_types if it holds "
            "numbers."
        )
    return cats


# pandas' inferred kinds of a column whose values hash apart exactly (no
# boolean that would be taken for 0 or 1)
_HASHABLE_KINDS = ("string", "integer", "floating", "mixed-integer-float", "decimal", "empty")


def _unique_observed(values, missing):
    """The distinct observed values of a column, as plain Python values (by hashing,
    where no boolean can be taken for 0 or 1)."""
    pd = _pandas()
    observed = np.asarray(pd.Series(values, copy=False).to_numpy(dtype=object))[~missing]
    try:
        kind = pd.api.types.infer_dtype(observed, skipna=True)
    except TypeError:
        kind = "mixed"
    if kind in _HASHABLE_KINDS or kind == "boolean":
        try:
            return [_plain_value(v) for v in pd.unique(observed)]
        except TypeError:  # unhashable values: named by the caller
            pass
    return [_plain_value(v) for v in observed]


def _codes(values, missing, categories, label, handle_unknown="warn"):
    """The category index of each entry (NaN where missing); values not among
    ``categories`` are refused (``handle_unknown="error"``) or read as missing,
    with a warning (``"warn"``) or without (``"missing"``)."""
    fast = _fast_codes(values, missing, categories)
    if fast is not None:
        out, unknown = fast
        _unknown_values(unknown, categories, label, handle_unknown)
        return out
    lookup = {}
    for i, c in enumerate(categories):
        lookup[(type(c) is bool, c)] = i
    out = np.full(len(missing), np.nan)
    unknown = []
    for r, (v, m) in enumerate(zip(values, missing, strict=True)):
        if m:
            continue
        v = _plain_value(v)
        code = lookup.get((type(v) is bool, v))
        if code is None and isinstance(v, float) and v.is_integer():
            code = lookup.get((False, int(v)))
        if code is None:
            if len(unknown) < 5 and v not in unknown:
                unknown.append(v)
            continue
        out[r] = code
    _unknown_values(unknown, categories, label, handle_unknown)
    return out


def _fast_codes(values, missing, categories):
    """``_codes`` by hashing (pandas), where no boolean can be taken for 0 or 1."""
    pd = _pandas()
    if any(isinstance(c, bool) for c in categories):
        return None
    observed = np.asarray(pd.Series(values, copy=False).to_numpy(dtype=object))[~missing]
    try:
        kind = pd.api.types.infer_dtype(observed, skipna=True)
    except TypeError:
        return None
    if kind not in _HASHABLE_KINDS:
        return None  # booleans, maybe beside numbers (True == 1): the slow, exact path
    index = pd.Index(categories, dtype=object).get_indexer(observed)
    out = np.full(len(missing), np.nan)
    out[~missing] = np.where(index >= 0, index, np.nan)
    unknown = list(dict.fromkeys(_plain_value(v) for v in observed[index < 0][:1000]))[:5]
    return out, unknown


def _unknown_values(unknown, categories, label, handle_unknown):
    """Refuse, or warn of, the values of a column not among its categories."""
    if not unknown or handle_unknown == "missing":
        return
    shown = ", ".join(_describe(u) for u in unknown)
    said = (
        f"Column {label} of X holds categories not seen during fit: {shown}. The model "
        f"knows {len(categories)} ({', '.join(map(repr, categories[:8]))}"
        f"{', ...' if len(categories) > 8 else ''})."
    )
    if handle_unknown == "error":
        raise ValueError(
            f"{said} Set handle_unknown='missing' to read them as missing entries (as if "
            "NaN), or refit with them (a pandas Categorical lists categories before any "
            "is seen)."
        )
    warnings.warn(
        f"{said} They are read as missing entries: left out of the scores, inferred by "
        "the encoder. Set handle_unknown='missing' to do so without this warning, or "
        "'error' to refuse them.",
        UserWarning,
        stacklevel=2,
    )


def _numbers(values, missing, label, kind):
    """A real or count column as float64 (NaN where missing); text, dates and inf refused."""
    pd = _pandas()
    if getattr(getattr(values, "dtype", None), "kind", "O") in ("m", "M"):
        raise ValueError(
            f"Column {label} of X holds {values.dtype} values, but it is {kind}: encode "
            "dates and durations as numbers first (for example days since a reference date)."
        )
    series = pd.Series(values, copy=False)
    try:
        numeric = pd.to_numeric(series, errors="raise")
        out = numeric.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    except (ValueError, TypeError):
        bad = next(
            (v for v, m in zip(values, missing, strict=True) if not m and not _is_number(v)), None
        )
        raise ValueError(
            f"Column {label} of X is {kind} but holds {bad!r}, which is not a number. "
            "Declare it 'nominal' in column_types if it holds categories."
        ) from None
    out[missing] = np.nan
    if np.isinf(out).any():
        raise ValueError(
            f"Column {label} of X holds infinity. Missing entries are NaN; replace "
            "infinite values or drop those rows."
        )
    return out


def _is_number(v):
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def whole_numbers(observed):
    """Whether observed floats are integers such as a file writes: whole, and below
    2**53 (beyond it every float is whole, so being whole says nothing)."""
    observed = np.asarray(observed, dtype=np.float64)
    return bool(np.all(np.abs(observed) < 2.0**53)) and bool(
        np.array_equal(observed, np.round(observed))
    )


def _integral(values, missing):
    """Whether a numeric column's observed values are all integers."""
    pd = _pandas()
    try:
        observed = pd.to_numeric(pd.Series(values, copy=False)[~missing]).to_numpy(float)
    except (ValueError, TypeError):
        return False
    return bool(observed.size) and whole_numbers(observed)


def _check_counts(column, label):
    observed = column[~np.isnan(column)]
    bad = observed[(observed < 0) | (observed != np.floor(observed))]
    if bad.size:
        raise ValueError(
            f"Column {label} of X is a count but holds {float(bad[0]):g}: counts are integers "
            "of at least 0. Declare it 'real' in column_types."
        )
