"""The ``skvae`` command line: fit a model on a CSV file and write the result.

``skvae reduce [FILE.csv]`` fits a :class:`~skvae.VAETransformer` (after a
``StandardScaler``) on the columns of a CSV, or on scikit-learn's digits when
no file is given, and writes the latent codes as CSV to stdout or ``--output``.
Progress goes to stderr, so stdout stays clean for the data.
"""

import argparse
import contextlib
import sys

import numpy as np
import pandas as pd


class CLIError(Exception):
    """A user error: reported as one line on stderr with exit status 2."""


def _read_table(path, drop_non_numeric):
    """Read ``path`` (or the built-in digits) as a numeric DataFrame."""
    if path is None:
        from sklearn.datasets import load_digits

        digits = load_digits(as_frame=True)
        return digits.data, "scikit-learn's digits (1797 x 64)"
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise CLIError(f"no such file: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CLIError(f"cannot read {path} as CSV: {exc}".splitlines()[0]) from None
    numeric = frame.select_dtypes(include="number")
    other = [str(c) for c in frame.columns if c not in numeric.columns]
    if other and not drop_non_numeric:
        raise CLIError(
            f"{path} has non-numeric columns ({', '.join(other[:5])}"
            f"{', ...' if len(other) > 5 else ''}); remove them or pass "
            "--drop-non-numeric to use only the numeric ones"
        )
    if numeric.shape[1] == 0:
        raise CLIError(f"{path} has no numeric columns")
    missing = numeric.columns[numeric.isna().any()].tolist()
    if missing:
        raise CLIError(
            f"{path} has missing values (NaN) in columns {', '.join(map(str, missing[:5]))}; "
            "impute or drop them first"
        )
    if not np.isfinite(numeric.to_numpy(dtype=float)).all():
        raise CLIError(f"{path} has infinite values; remove them first")
    if len(numeric) < 2:
        raise CLIError(f"{path} has {len(numeric)} data row(s); at least 2 are needed")
    return numeric, f"{path} ({numeric.shape[0]} x {numeric.shape[1]})"


def _reduce(args):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from . import VAETransformer

    X, description = _read_table(args.file, args.drop_non_numeric)
    vae = VAETransformer(
        n_components=args.n_components,
        max_iter=args.max_iter,
        device=args.device,
        random_state=args.random_state,
        verbose=0 if args.quiet else 1,
    )
    steps = [vae] if args.no_scale else [StandardScaler(), vae]
    model = make_pipeline(*steps).set_output(transform="pandas")
    if not args.quiet:
        print(f"Fitting a {args.n_components}-D VAE on {description}", file=sys.stderr)
    # skorch prints its epoch table to stdout: keep stdout for the codes.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            codes = model.fit_transform(X)
        except ValueError as exc:
            raise CLIError(str(exc).splitlines()[0]) from None
    if args.output:
        codes.to_csv(args.output, index=False)
        if not args.quiet:
            print(f"Wrote {codes.shape[0]} codes to {args.output}", file=sys.stderr)
    else:
        codes.to_csv(sys.stdout, index=False)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skvae", description="Variational autoencoders for tabular data."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    reduce = sub.add_parser(
        "reduce",
        help="reduce the columns of a CSV to a few latent codes",
        description="Fit a VAETransformer (after standard scaling) on the numeric "
        "columns of FILE, or on scikit-learn's digits when no FILE is given, and "
        "write the latent codes as CSV.",
    )
    reduce.add_argument("file", nargs="?", help="input CSV with a header row")
    reduce.add_argument("-o", "--output", help="write the codes here (default: stdout)")
    reduce.add_argument("-n", "--n-components", type=int, default=2)
    reduce.add_argument("--max-iter", type=int, default=200, help="epochs")
    reduce.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    reduce.add_argument("--random-state", type=int, default=0)
    reduce.add_argument(
        "--drop-non-numeric",
        action="store_true",
        help="ignore non-numeric columns instead of stopping",
    )
    reduce.add_argument(
        "--no-scale", action="store_true", help="skip the StandardScaler"
    )
    reduce.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    reduce.set_defaults(run=_reduce)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except CLIError as exc:
        print(f"skvae {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"skvae {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
