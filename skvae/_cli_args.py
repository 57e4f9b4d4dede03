"""The command line's options: their types, the shared ones, and the help formatter."""

import argparse
import sys

from ._cli_input import column_types_option


def _contamination(text):
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 0.5:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a share in (0, 0.5], got {text!r}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _steps(text):
    """``--max-steps``: a positive integer, or "none"."""
    if text.strip().lower() == "none":
        return "none"
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer or 'none', got {text!r}"
        ) from None


def _add_common(parser, output_help):
    parser.add_argument("file", nargs="?", help="input CSV with a header row")
    parser.add_argument(
        "-o", "--output", help=f"write the {output_help} here (default, or '-': stdout)"
    )
    parser.add_argument(
        "--max-iter",
        type=_positive_int,
        default=None,
        help="at most this many epochs (default: the estimator's own)",
    )
    parser.add_argument(
        "--max-steps",
        type=_steps,
        default=None,
        help="budget of optimiser steps: the fit runs as many epochs as it takes, at most "
        "--max-iter; 'none' runs every --max-iter epoch (default: the estimator's own)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    parser.add_argument(
        "--random-state", type=int, default=0, help="seed of the fit and of every draw"
    )
    parser.add_argument(
        "--drop-non-numeric",
        action="store_true",
        help="ignore non-numeric columns instead of stopping",
    )
    parser.add_argument("--no-scale", action="store_true", help="skip the StandardScaler")
    parser.add_argument(
        "--column-types",
        type=column_types_option,
        nargs="+",
        action="extend",
        metavar="TYPE=COLUMN,...",
        help="the type of columns whose dtype does not say it: real, binary, nominal, "
        "ordinal or count, e.g. --column-types count=visits,children "
        "ordinal=education:school<college<degree (an ordinal column's categories in "
        "order after ':', separated by '<'; without them, numbers in numeric order "
        "and text in alphabetical order). A file with text columns or empty cells is "
        "modelled column by column (no scaler), each type inferred and reported on "
        "stderr",
    )
    parser.add_argument(
        "--handle-unknown",
        choices=("warn", "missing", "error"),
        default=None,
        help="a category that the model was not fitted on (a --model reading a new "
        "file): warn (the default) reads it as an empty cell and says so, missing does "
        "so quietly, error stops and names it",
    )
    parser.add_argument(
        "--architecture",
        choices=("mlp", "conv"),
        default="mlp",
        help="the networks: mlp (default) or conv (rows are images: give --image-shape, "
        "and --no-scale for pixels already in [0, 1])",
    )
    parser.add_argument(
        "--image-shape",
        type=_positive_int,
        nargs="+",
        metavar="N",
        default=None,
        help="the shape of a row as an image: C H W, or H W",
    )
    parser.add_argument(
        "--save-model",
        metavar="FILE",
        help="also save the fitted model (scaler and estimator) to FILE, a safetensors "
        "file that runs no code when loaded (see skvae.load)",
    )
    parser.add_argument(
        "--model",
        metavar="FILE",
        help="apply a model saved with --save-model instead of fitting one (the "
        "training options are then ignored)",
    )
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="also draw the job's picture into FILE (codes, clusters, samples per class "
        "or the score histogram; needs matplotlib: pip install 'skvae[plot]')",
    )
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    talk.add_argument(
        "-v", "--verbose", action="store_true",
        help="also print a table of every epoch's losses",
    )
    parser.add_argument(
        "--progress", action="store_true",
        help="show the progress bar even when stderr is not a terminal (it is shown "
        "on a terminal by default; with -v, the table of epochs takes its place there)",
    )


def _add_label(parser):
    parser.add_argument(
        "-l", "--label", metavar="COLUMN", default=None,
        help="a column of classes: left out of the features and used to colour the "
        "--plot picture (default: none; the digits' classes without FILE)",
    )


class _Deprecated(argparse.Action):
    """An old spelling of an option: works for one more release, with a warning."""

    def __init__(self, option_strings, dest, replacement, **kwargs):
        self.replacement = replacement
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(
            f"{parser.prog}: warning: {option_string} is deprecated and will be removed in "
            f"the next release; use {self.replacement}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


class _HelpWithDefaults(argparse.HelpFormatter):
    """Help that shows each option's default, unless the text already says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        hidden = action.default is None or action.default is False
        shown = not hidden and action.default is not argparse.SUPPRESS and action.option_strings
        if shown and "default" not in text:
            value = action.default
            if isinstance(value, (list, tuple)):
                value = " ".join(map(str, value))
            text += f" (default: {value})"
        return text
