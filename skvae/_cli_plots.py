"""The command line's pictures (``--plot FILE.png``): one per job, made to be kept.

Every picture has a title naming the job and its data, labelled axes, and a
legend or colour bar where colour means something. Codes are drawn on axes
limited to their 0.01 to 0.99 quantiles, the points left outside counted
under the axes; generated table rows are drawn in standardised units with
the columns' names, generated images as images.
"""

import sys
from pathlib import Path

import numpy as np

from ._cli_input import CLIError, _as_cli_error
from ._files import write_file

# the share of codes each side that may fall outside a picture's axes
_CODE_QUANTILES = (0.01, 0.99)


def check_plot_format(path):
    """--plot needs matplotlib and a picture format it writes."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise CLIError(
            "--plot needs matplotlib, which is not installed: pip install 'skvae[plot]'"
        ) from None
    formats = Figure().canvas.get_supported_filetypes()
    suffix = Path(path).suffix.lstrip(".").lower()
    if suffix not in formats:
        raise CLIError(
            f"--plot {path}: give a file name ending in one of "
            f"{', '.join('.' + f for f in sorted(formats))}"
        )


def save_plot(args, draw, n_axes=1):
    """Draw the job's picture with ``draw(axes)`` and write it to ``--plot``."""
    if not args.plot:
        return
    import matplotlib

    matplotlib.use("Agg", force=True)  # a file, never a window
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n_axes, figsize=(7 * n_axes, 5.5), squeeze=False)
    axes = axes.ravel()
    try:
        with _as_cli_error():
            draw(axes[0] if n_axes == 1 else axes)
        fig.tight_layout()
        suffix = Path(args.plot).suffix.lstrip(".").lower()
        try:
            with _as_cli_error():
                write_file(args.plot, lambda h: fig.savefig(h, dpi=110, format=suffix))
        except CLIError as exc:
            written = "" if not args.output or args.output == "-" else (
                f"; the results were written to {args.output}")
            raise CLIError(f"the picture was not written: {exc}{written}") from None
    finally:
        plt.close(fig)
    if not args.quiet:
        print(f"Wrote the picture to {args.plot}", file=sys.stderr)


def draw_codes(ax, codes, color, color_label, title, name):
    """Codes in a plane (the first two principal axes of longer codes), coloured."""
    from .plotting import LatentSpaceDisplay

    display = LatentSpaceDisplay.from_codes(
        codes, color, color_label=color_label, quantile_range=_CODE_QUANTILES,
        estimator_name=name, ax=ax,
    )
    if color is None:
        display.scatter_.set_color("0.35")
    ax.set_title(title, fontsize="medium")
    return display


def draw_samples(ax, samples, groups, *, image_shape, feature_names, value_label, title):
    """Generated rows, one group per class: as images, or profiles over named columns."""
    from .plotting import SampleGridDisplay

    grouped = np.asarray(samples, dtype=float).reshape(len(groups), -1, np.shape(samples)[-1])
    display = SampleGridDisplay(
        grouped, [str(g) for g in groups], image_shape=image_shape,
        feature_names=None if image_shape is not None else feature_names,
        value_label=value_label,
    ).plot(ax=ax)
    if display.lines_ is not None:
        ax.axhline(0, color="0.6", lw=0.8, zorder=0)
        ax.legend(fontsize="small", title="mean of the rows of class", loc="best")
    else:
        ax.set_ylabel("class")
        ax.set_xlabel("generated rows")
    ax.set_title(title, fontsize="medium")
    return display
