"""The ``skvae`` command line: fit a model on a CSV file and write the result.

``skvae reduce [FILE.csv]`` fits a :class:`~skvae.VAETransformer` (or, with
``--estimator autoencoder`` or ``vqvae``, an :class:`~skvae.AutoencoderTransformer`
or a :class:`~skvae.VQVAETransformer`) after a
``StandardScaler`` on the columns of a CSV, or on scikit-learn's digits when
no file is given, and writes the latent codes as CSV to stdout or ``--output``.
``skvae cluster [FILE.csv] --n-clusters K`` fits a
:class:`~skvae.GMVAEClusterer` the same way and writes each row's cluster and
its probability. ``skvae generate [FILE.csv] --label COLUMN`` fits a
:class:`~skvae.ConditionalVAE` on the other columns and their classes and
writes new rows of the requested classes (``--prior diffusion`` draws their
codes from a diffusion model trained on the codes). ``skvae outliers [FILE.csv]
--contamination 0.05`` fits a :class:`~skvae.VAEOutlierDetector` and writes
each row's score and flag.
Progress goes to stderr, so stdout stays clean for the data: one progress bar
per fit (with the last epoch's loss and the time left) when stderr is a
terminal or with ``--progress``, a table of every epoch with ``-v``, nothing
with ``-q``. ``--plot FILE.png`` also draws the job's picture.
"""

import argparse
import contextlib
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ._cli_args import (
    _add_common,
    _add_label,
    _contamination,
    _Deprecated,
    _HelpWithDefaults,
    _positive_int,
)
from ._cli_input import (
    CLIError,
    _as_cli_error,
    _read_table,
    column_types_of,
    describe_columns,
    in_cli_words,
)
from ._cli_plots import check_plot_format, draw_codes, draw_samples, save_plot
from ._files import write_file
from ._tables import needs_table


def _check_writable(option, out):
    from ._files import normal_path

    try:
        out = Path(os.path.realpath(normal_path(out), strict=False))
    except OSError as exc:  # a loop of links
        raise CLIError(f"{option} {out}: {exc.strerror or exc}") from None
    parent = out.parent
    if out.is_dir():
        raise CLIError(f"{option} {out} is a directory; give a file name")
    if not parent.is_dir():
        raise CLIError(f"{option} {out}: there is no directory {parent}")
    writable = os.access(out, os.W_OK) if out.exists() else os.access(parent, os.W_OK)
    if not writable:
        raise CLIError(f"cannot write {option} {out}: permission denied")


def _check_before_training(args):
    """What can fail after a long fit is checked before it: the outputs, the device."""
    from ._files import check_distinct
    from ._units import resolve_device

    outputs = {"--output": args.output, "--save-model": args.save_model, "--plot": args.plot}
    for option in ("--save-model", "--plot"):
        if outputs[option] == "-":
            raise CLIError(f"{option} needs a file name; '-' (standard output) is for -o only")
    inputs = {"the input": getattr(args, "file", None), "--model": getattr(args, "model", None)}
    try:
        check_distinct(inputs, outputs)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    for option, value in outputs.items():
        if value and value != "-":
            _check_writable(option, Path(value))
    if args.plot:
        check_plot_format(args.plot)
    try:
        resolve_device(args.device)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _a(name):
    """``name`` with its indefinite article: "an AutoencoderTransformer"."""
    return f"{'an' if name[:1].upper() in 'AEIOU' else 'a'} {name}"


def _read_rows(args, label):
    """``(X, y, source)`` of the input; ``y`` None when there are no classes.

    The built-in digits always come with their classes; a file with the
    column ``label`` names.
    """
    if label == "":
        raise CLIError("--label needs a column name")
    if label is None and args.file is not None:
        X, source = _read_table(args.file, args.drop_non_numeric)
        return X, None, source
    return _read_table(args.file, args.drop_non_numeric, label or "")


def _short(source, args):
    """The data in words for a picture's title: the file's name without its folders."""
    return source if args.file is None else source.replace(str(args.file), Path(args.file).name)


def _fit_pipeline(estimator, args, what, label=None, accepts=None, supervised=False):
    """Read the input and fit ``[StandardScaler] -> estimator``: the job.

    The job has ``model``, ``X``, ``y`` (the classes in the ``label`` column,
    the digits' classes on the default data, else None) and ``source`` (the
    data, in words). ``supervised``: fit on ``y`` too. With ``--model``, the
    saved model is loaded instead of fitted; it must be an instance of
    ``accepts`` (a class or tuple of them; the estimator's class by default).
    With ``--save-model``, the fitted model is saved.
    """
    from types import SimpleNamespace

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _check_before_training(args)
    if args.model:
        model = _load_model(accepts or type(estimator), args)
        _save_model(model, args)
        if supervised:
            return _generating_job(model, args, label)
        X, y, source = _read_rows(args, label)
        return SimpleNamespace(model=model, X=X, y=y, source=_short(source, args))
    X, y, source = _read_rows(args, label)
    if supervised and pd.api.types.is_float_dtype(y) and (y % 1 != 0).any():
        raise CLIError(
            f"column {y.name!r} holds continuous values ({y.nunique()} distinct numbers), "
            "not classes; name a column of classes with --label"
        )
    if args.max_iter is not None:
        estimator.set_params(max_iter=args.max_iter)
    if args.max_steps is not None:
        estimator.set_params(max_steps=None if args.max_steps == "none" else args.max_steps)
    estimator.set_params(
        architecture=args.architecture,
        image_shape=tuple(args.image_shape) if args.image_shape else None,
        device=args.device,
        random_state=args.random_state,
        verbose=_verbosity(args),
    )
    column_types = column_types_of(args)
    # text, booleans or empty cells: modelled column by column, each in its
    # own units (no scaler)
    table = column_types is not None or needs_table(X)
    if table:
        estimator.set_params(column_types=column_types)
    if args.handle_unknown is not None:
        estimator.set_params(handle_unknown=args.handle_unknown)
    steps = [estimator] if args.no_scale or table else [StandardScaler(), estimator]
    model = make_pipeline(*steps).set_output(transform="pandas")
    if not args.quiet:
        print(f"Fitting {what} on {source}", file=sys.stderr)
    # skorch prints its epoch table to stdout: keep stdout for the data.
    with contextlib.redirect_stdout(sys.stderr), _as_cli_error():
        model.fit(X, y if supervised else None)
    if table and not args.quiet:
        print("Column types (change them with --column-types TYPE=COLUMN,...):",
              *describe_columns(model[-1]), sep="\n", file=sys.stderr)
    _save_model(model, args)
    return SimpleNamespace(model=model, X=X, y=y, source=_short(source, args))


def _generating_job(model, args, label):
    """``generate --model``: the columns and the classes' name are the model's; no rows."""
    from types import SimpleNamespace

    if args.file is not None:
        raise CLIError(
            f"generate --model draws new rows from {args.model} and reads no FILE; "
            "drop the FILE argument"
        )
    names = getattr(model[0], "feature_names_in_", None)
    n = model[0].n_features_in_
    columns = list(names) if names is not None else [f"x{i}" for i in range(n)]
    name = label or getattr(model[-1], "label_name_", None) or "class"
    return SimpleNamespace(
        model=model, X=pd.DataFrame(columns=columns), y=pd.Series(name=name),
        source=f"the model in {Path(args.model).name}",
    )


def _save_model(model, args):
    """Write the fitted (or loaded) model to ``--save-model``, when given."""
    if not args.save_model:
        return
    from . import save

    with _as_cli_error():
        save(model, args.save_model)
    if not args.quiet:
        print(f"Saved the model to {args.save_model}", file=sys.stderr)


def _load_model(accepts, args):
    """The model saved in ``--model``, as a Pipeline, checked to end in an ``accepts``."""
    from sklearn.pipeline import Pipeline

    from . import load

    with _as_cli_error():
        try:
            model = load(args.model, device=None if args.device == "auto" else args.device)
        except FileNotFoundError as exc:
            raise CLIError(str(exc)) from None
    if not isinstance(model, Pipeline):
        model = Pipeline([("model", model)])
    if not isinstance(model[-1], accepts):
        classes = accepts if isinstance(accepts, tuple) else (accepts,)
        names = " or ".join(_a(c.__name__) for c in classes)
        raise CLIError(
            f"--model {args.model} holds {_a(type(model[-1]).__name__)}; "
            f"skvae {args.command} needs {names}"
        )
    model.set_output(transform="pandas")
    if getattr(args, "handle_unknown", None) is not None:
        model[-1].set_params(handle_unknown=args.handle_unknown)
    if not args.quiet:
        print(f"Loaded a fitted {type(model[-1]).__name__} from {args.model}", file=sys.stderr)
    return model


def _verbosity(args):
    """The estimator's ``verbose``: a progress bar on a terminal, the epoch table with -v."""
    if args.quiet:
        return 0
    if args.verbose:
        return 2
    return 1 if args.progress or sys.stderr.isatty() else 0


def _write(frame, args, what):
    if args.output and args.output != "-":  # "-": standard output, as with no -o
        with _as_cli_error():
            write_file(args.output, lambda handle: frame.to_csv(handle, index=False), binary=False)
        if not args.quiet:
            print(f"Wrote {frame.shape[0]} {what} to {args.output}", file=sys.stderr)
    else:
        frame.to_csv(sys.stdout, index=False)


def _reducers():
    """The transformers ``reduce --estimator`` offers, by their registry tags' ``cli_name``."""
    from ._registry import get_model_tags, registered_classes

    found = {}
    for _, cls in registered_classes():
        name = get_model_tags(cls).cli_name
        if name is not None:
            found[name] = cls
    return found


def _reduce(args):
    from ._registry import get_model_tags

    reducers = _reducers()
    cls = reducers[args.estimator]
    n = args.n_components
    reducer = cls(n_components=n)
    what = f"a {n}-D {cls.__name__}"
    if get_model_tags(cls).codes == "discrete":
        what = f"a {n}-D {cls.__name__} (its code split into slots)"
    # a saved model of any of these kinds reduces
    job = _fit_pipeline(reducer, args, what, label=args.label, accepts=tuple(reducers.values()))
    with _as_cli_error():
        codes = job.model.transform(job.X)
    _write(codes, args, "codes")
    name = type(job.model[-1]).__name__
    title = f"skvae reduce: {codes.shape[1]}-D codes of {job.source}\n({name})"
    color, label = (None, None) if job.y is None else (job.y.to_numpy(), str(job.y.name))
    save_plot(args, lambda ax: draw_codes(ax, codes, color, label, title, name))


def _cluster(args):
    from . import GMVAEClusterer

    gmvae = GMVAEClusterer()
    if args.n_clusters is not None or args.file is None:
        gmvae.set_params(n_clusters=args.n_clusters or 10)  # digits: 10 classes
    k = gmvae.n_clusters
    job = _fit_pipeline(gmvae, args, f"a GMVAE with {k} clusters", label=args.label)
    with _as_cli_error():
        proba = job.model.predict_proba(job.X)
        codes = job.model.transform(job.X)
    frame = pd.DataFrame(
        {"cluster": proba.argmax(axis=1), "probability": proba.max(axis=1)}
    )
    _write(frame, args, "cluster labels")
    name = type(job.model[-1]).__name__
    found = f"skvae cluster: {job.model[-1].n_clusters} clusters of {job.source}\n({name})"

    def draw(axes):
        if job.y is None:
            draw_codes(axes, codes, frame["cluster"], "cluster", found, name)
            return
        draw_codes(axes[0], codes, frame["cluster"], "cluster", found, name)
        draw_codes(axes[1], codes, job.y.to_numpy(), str(job.y.name),
                   f"the same codes, coloured by column {job.y.name!r}", name)

    save_plot(args, draw, n_axes=1 if job.y is None else 2)


def _generate(args):
    from . import ConditionalVAE

    cvae = ConditionalVAE(prior=args.prior)
    what = "a conditional VAE" + (" with a diffusion prior" if args.prior == "diffusion" else "")
    if args.file is not None and args.model is None and not args.label:
        raise CLIError("name the column that holds the classes with --label COLUMN")
    job = _fit_pipeline(cvae, args, what, label=args.label, supervised=True)
    model, X, y = job.model, job.X, job.y
    classes = model[-1].classes_
    if args.classes:
        by_name = {str(c): c for c in classes}
        unknown = [c for c in args.classes if c not in by_name]
        if unknown:
            raise CLIError(
                f"no class {unknown[0]!r} in column {y.name!r}; its classes are "
                f"{', '.join(map(str, classes[:20]))}"
            )
        chosen = [by_name[c] for c in args.classes]
    else:
        chosen = list(classes)
    requested = np.repeat(np.array(chosen, dtype=classes.dtype), args.n_samples)
    drawn, labels = model[-1].sample(y=requested, noise=not args.mean)
    scaled = len(model) > 1
    samples = model[0].inverse_transform(drawn) if scaled else drawn  # the data's units
    frame = pd.DataFrame(samples, columns=X.columns)
    frame[y.name] = labels
    _write(frame, args, "samples")
    shape = getattr(model[-1], "image_shape_", None)
    if shape is None and args.file is None and args.model is None:
        shape = (8, 8)  # scikit-learn's digits
    # images in their pixels; table rows standardised, so that no one column's
    # units flatten the others; a table of mixed columns by its numbers
    standardised = scaled and shape is None
    if not scaled and isinstance(samples, pd.DataFrame):
        samples = samples.select_dtypes(include="number")
    title = (f"skvae generate: {args.n_samples} new rows per class, from {job.source}\n"
             f"({type(model[-1]).__name__}, classes in column {y.name!r})")
    save_plot(args, lambda ax: draw_samples(
        ax, drawn if standardised else samples, chosen, image_shape=shape,
        feature_names=list(samples.columns) if isinstance(samples, pd.DataFrame)
        else list(X.columns),
        value_label="standardised value (training mean 0, sd 1)" if standardised
        else "value",
        title=title,
    ))


def _outliers(args):
    from . import VAEOutlierDetector
    from .plotting import OutlierScoreDisplay

    detector = VAEOutlierDetector(contamination=args.contamination)
    job = _fit_pipeline(detector, args, "a VAE outlier detector")
    model = job.model
    with _as_cli_error():
        scores = model.score_samples(job.X)
        flags = model.predict(job.X)
    frame = pd.DataFrame({"score": scores, "outlier": (flags == -1).astype(int)})
    _write(frame, args, "scores")
    title = (f"skvae outliers: {int(frame['outlier'].sum())} of {len(frame)} rows of "
             f"{job.source} flagged\n({type(model[-1]).__name__})")

    def draw(ax):
        OutlierScoreDisplay(scores, model[-1].offset_).plot(ax=ax)
        ax.set_title(title, fontsize="medium")

    save_plot(args, draw)
    if not args.quiet:
        print(f"Flagged {int(frame['outlier'].sum())} of {len(frame)} rows", file=sys.stderr)


def _impute(args):
    from . import VAEImputer

    if args.plot:
        raise CLIError("impute draws no picture: drop --plot")
    imputer = VAEImputer(sample_posterior=args.sample_posterior)
    args.no_scale = True  # the imputer models each column in its own units
    job = _fit_pipeline(imputer, args, "a VAE imputer")
    missing = int(job.X.isna().to_numpy().sum())
    with _as_cli_error():
        filled = job.model.transform(job.X)
    _write(filled, args, "rows")
    if not args.quiet:
        print(f"Filled in {missing} missing entries", file=sys.stderr)


def build_parser():
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="skvae", description="Variational autoencoders for tabular data."
    )
    parser.add_argument("--version", action="version", version=f"skvae {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    reduce = sub.add_parser(
        "reduce",
        formatter_class=_HelpWithDefaults,
        help="reduce the columns of a CSV to a few latent codes",
        description="Fit a VAETransformer, or another transformer named by "
        "--estimator, (after standard scaling) on the numeric "
        "columns of FILE, or on scikit-learn's digits when no FILE is given, and "
        "write the latent codes as CSV.",
    )
    _add_common(reduce, "codes")
    reduce.add_argument(
        "-n", "--n-components", type=_positive_int, default=2, help="latent codes per row"
    )
    _add_label(reduce)
    reducers = _reducers()
    reduce.add_argument(
        "--estimator",
        choices=tuple(reducers),
        default="vae",
        help="the transformer to fit (default: vae): "
        + "; ".join(f"{name}: {cls.__name__}" for name, cls in reducers.items()),
    )
    reduce.set_defaults(run=_reduce)

    cluster = sub.add_parser(
        "cluster",
        formatter_class=_HelpWithDefaults,
        help="cluster the rows of a CSV",
        description="Fit a GMVAEClusterer (after standard scaling) on the numeric "
        "columns of FILE, or on scikit-learn's digits when no FILE is given, and "
        "write each row's cluster and its probability as CSV.",
    )
    _add_common(cluster, "labels")
    cluster.add_argument(
        "-k", "--n-clusters", type=_positive_int, default=None,
        help="number of clusters (default: 10 on the built-in digits, its 10 classes; "
        "else GMVAEClusterer's default, 8)",
    )
    _add_label(cluster)
    cluster.set_defaults(run=_cluster)

    generate = sub.add_parser(
        "generate",
        formatter_class=_HelpWithDefaults,
        help="generate new rows of chosen classes",
        description="Fit a ConditionalVAE (after standard scaling) on the numeric "
        "columns of FILE and the classes in its --label column, or on scikit-learn's "
        "digits and their classes when no FILE is given, and write new rows of the "
        "requested classes as CSV, with their class in the last column.",
    )
    _add_common(generate, "samples")
    generate.add_argument(
        "-l", "--label", metavar="COLUMN", default=None,
        help="the column that holds the classes (needed with FILE; without FILE, the "
        "digits' classes, written as 'target')",
    )
    generate.add_argument("--n-samples", type=_positive_int, default=10, help="rows per class")
    # -n means --n-components in reduce: one meaning per short flag
    generate.add_argument(
        "-n", type=_positive_int, dest="n_samples", action=_Deprecated,
        help=argparse.SUPPRESS, replacement="--n-samples",
    )
    generate.add_argument(
        "-c", "--classes", nargs="+", help="classes to generate (default: every class)"
    )
    generate.add_argument(
        "--mean",
        action="store_true",
        help="write the decoder's means E[x | z, y] instead of draws from p(x | z, y)",
    )
    generate.add_argument(
        "--prior",
        choices=("gaussian", "diffusion"),
        default="gaussian",
        help="where the codes of new rows come from: gaussian (default), the model's "
        "Gaussian per class; diffusion, a diffusion model trained on the codes of "
        "each class's rows after the VAE (slower to fit, samples closer to the data)",
    )
    generate.set_defaults(run=_generate)

    outliers = sub.add_parser(
        "outliers",
        formatter_class=_HelpWithDefaults,
        help="score and flag the rows of a CSV as outliers",
        description="Fit a VAEOutlierDetector (after standard scaling) on the numeric "
        "columns of FILE, or on scikit-learn's digits when no FILE is given, and "
        "write each row's score (higher is more normal) and outlier flag (1) as CSV.",
    )
    _add_common(outliers, "scores")
    outliers.add_argument(
        "--contamination",
        type=_contamination,
        default="auto",
        help="expected share of outliers, or 'auto' (default)",
    )
    outliers.set_defaults(run=_outliers)

    impute = sub.add_parser(
        "impute",
        formatter_class=_HelpWithDefaults,
        help="fill in the empty cells of a CSV",
        description="Fit a VAEImputer on FILE (numbers, categories and empty cells, each "
        "column modelled by its type) and write FILE with every empty cell filled in "
        "as CSV: a number's conditional mean, a category's most probable value.",
    )
    _add_common(impute, "filled table")
    impute.add_argument(
        "--sample-posterior",
        action="store_true",
        help="draw each filled-in value from its conditional distribution (one of "
        "multiple imputations; vary --random-state) instead of its mean",
    )
    impute.set_defaults(run=_impute)
    return parser


@contextlib.contextmanager
def _warnings_as_lines(args):
    """A warning of the model as one line on stderr, as the errors are (no source
    line), once per command however many passes over the data say it."""
    import warnings

    said = set()

    def show(message, category, filename, lineno, file=None, line=None):
        if str(message) not in said:
            said.add(str(message))
            print(f"skvae {args.command}: warning: {in_cli_words(str(message))}",
                  file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _warnings_as_lines(args):
            args.run(args)
    except CLIError as exc:
        print(f"skvae {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"skvae {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader closed the pipe (``skvae reduce | head``): stop quietly, as
        # Unix tools do, and keep Python from reporting the closed stdout at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE
    return 0


if __name__ == "__main__":
    sys.exit(main())
