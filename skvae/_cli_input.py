"""Reading the command line's input: a CSV file (numbers, text, empty cells) or the digits."""

import contextlib
import sys

import numpy as np
import pandas as pd

from ._table_values import whole_numbers


class CLIError(Exception):
    """A user error: reported as one line on stderr with exit status 2."""


@contextlib.contextmanager
def _as_cli_error():
    """A ValueError of the model (bad data, a bad model file) as a one-line CLI error."""
    from ._files import OutputError

    try:
        yield
    except (ValueError, OutputError) as exc:
        raise CLIError(in_cli_words(str(exc).splitlines()[0])) from None


def in_cli_words(message):
    """The model's advice in the words of the command line (options, not parameters)."""
    return (
        message.replace("Set handle_unknown='missing'", "Pass --handle-unknown missing")
        .replace("or 'error' to refuse them", "or --handle-unknown error to refuse them")
    )


def _integers_with_holes(frame):
    """Columns of whole numbers that empty cells made floats, as nullable integers: the
    model reads them as integers either way; written back, they stay ``1``, not ``1.0``."""
    whole = []
    for j in range(frame.shape[1]):
        column = frame.iloc[:, j]
        if column.dtype.kind == "f" and column.isna().any() and whole_numbers(column.dropna()):
            whole.append(j)
    if not whole:
        return frame
    frame = frame.copy()
    for j in whole:
        frame.isetitem(j, frame.iloc[:, j].astype("Int64"))
    return frame


def _read_table(path, drop_non_numeric, label=None):
    """Read ``path`` (or the built-in digits) as a DataFrame.

    Text columns and empty cells are kept: skvae models a table column by
    column (``--drop-non-numeric`` keeps the numbers only).

    With ``label``, that column is taken out first (it may hold any values)
    and returned as the classes: ``(X, y, description)``; else ``(X, description)``.
    """
    if path is None:
        from sklearn.datasets import load_digits

        digits = load_digits(as_frame=True)
        description = "scikit-learn's digits (1797 x 64)"
        if label is not None:
            return digits.data, digits.target.rename(label or "target"), description
        return digits.data, description
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise CLIError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise CLIError(f"{path} is a directory, not a CSV file") from None
    except PermissionError:
        raise CLIError(f"cannot read {path}: permission denied") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CLIError(f"cannot read {path} as CSV: {exc}".splitlines()[0]) from None
    tabs = [str(c) for c in frame.columns if "\t" in str(c)]
    if tabs:
        raise CLIError(
            f"{path} looks tab-separated (a column is named {tabs[0]!r}); skvae reads "
            "comma-separated CSV: convert it first, e.g. "
            "pd.read_csv(path, sep='\\t').to_csv(new, index=False)"
        )
    semicolons = [str(c) for c in frame.columns if ";" in str(c)]
    if semicolons:
        raise CLIError(
            f"{path} looks semicolon-separated (a column is named {semicolons[0]!r}); "
            "skvae reads comma-separated CSV with '.' as the decimal mark: convert "
            "it first, e.g. pd.read_csv(path, sep=';', decimal=',').to_csv(new, index=False)"
        )
    if len(frame) == 0:
        raise CLIError(f"{path} has a header but no data rows")
    first = str(frame.columns[0])
    if first == "Unnamed: 0" and frame.iloc[:, 0].tolist() == list(range(len(frame))):
        # a pandas index saved with to_csv: row numbers, not a feature
        frame = frame.iloc[:, 1:]
        print(
            f"skvae: dropped the first column of {path}: unnamed row numbers 0..{len(frame) - 1} "
            "(a saved pandas index), not a feature",
            file=sys.stderr,
        )
    y = None
    if label is not None:
        if not label:
            raise CLIError("name the column that holds the classes with --label COLUMN")
        if label not in frame.columns:
            raise CLIError(
                f"{path} has no column {label!r}; its columns are "
                f"{', '.join(map(str, frame.columns[:10]))}"
            )
        y = frame.pop(label)
        if y.isna().any():
            blank = np.flatnonzero(y.isna().to_numpy())
            raise CLIError(
                f"{path} has {len(blank)} row(s) without a class in column {label!r} "
                f"(e.g. data row {blank[0] + 1}); drop those rows or fill in their class"
            )
    numbers = frame.select_dtypes(include=["number", "bool"])
    if drop_non_numeric:
        frame = numbers
        if frame.shape[1] == 0:
            raise CLIError(f"{path} has no numeric columns")
    empty = [str(c) for c in frame.columns if frame[c].isna().all()]
    if empty:
        raise CLIError(
            f"{path} has columns with no value at all ({', '.join(empty[:5])}); drop them"
        )
    floats = frame.select_dtypes(include="number")
    if np.isinf(floats.to_numpy(dtype=float)).any():
        raise CLIError(f"{path} has infinite values; remove them first")
    if len(frame) < 2:
        raise CLIError(f"{path} has {len(frame)} data row(s); at least 2 are needed")
    frame = _integers_with_holes(frame)
    description = f"{path} ({frame.shape[0]} x {frame.shape[1]})"
    if label is not None:
        return frame, y, description
    return frame, description


def column_types_option(text):
    """``--column-types TYPE=COLUMN[,COLUMN...]``, one type per use."""
    import argparse

    from .models import COLUMN_TYPES

    kind, _, columns = text.partition("=")
    kind = kind.strip()
    if kind not in COLUMN_TYPES or not columns.strip():
        raise argparse.ArgumentTypeError(
            f"expected TYPE=COLUMN[,COLUMN...] with a TYPE in {', '.join(COLUMN_TYPES)}, "
            f"got {text!r}"
        )
    out = []
    for column in (c.strip() for c in columns.split(",") if c.strip()):
        name, _, levels = column.partition(":")
        order = [v.strip() for v in levels.split("<")] if levels else None
        if order is not None and (kind not in ("ordinal", "nominal", "binary") or "" in order):
            raise argparse.ArgumentTypeError(
                f"{column!r}: categories in order (COLUMN:A<B<C) are for ordinal, nominal "
                "or binary columns, each named"
            )
        out.append((name.strip(), order))
    return kind, out


def column_types_of(args):
    """The ``column_types`` of ``--column-types`` (None when not given)."""
    given = getattr(args, "column_types", None)
    if not given:
        return None
    out = {}
    for kind, columns in given:
        ordered = out.setdefault(kind, {})
        for name, order in columns:
            ordered[name] = order
    # a list of names where no order was given, as the Python API takes it
    return {
        kind: (list(columns) if all(v is None for v in columns.values()) else columns)
        for kind, columns in out.items()
    }


def describe_columns(estimator):
    """One line per column: its name, the type skvae models it with, its categories."""
    names = getattr(estimator, "feature_names_in_", None)
    lines = []
    for j, (kind, cats) in enumerate(
        zip(estimator.column_types_, estimator.categories_, strict=True)
    ):
        label = names[j] if names is not None else f"column {j}"
        extra = ""
        if cats is not None:
            shown = ", ".join(map(str, cats[:5]))
            extra = f" ({len(cats)} categories: {shown}{', ...' if len(cats) > 5 else ''})"
        lines.append(f"  {label}: {kind}{extra}")
    return lines
