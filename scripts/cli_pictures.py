"""Draw the command line's pictures for the documentation, by running the CLI.

Each of ``reduce``, ``cluster``, ``generate`` and ``outliers`` runs with
``--plot`` on the built-in digits and on a CSV with named columns (the wine
table, its ``cultivar`` column holding the classes), exactly as a user types
it; the pictures land in ``docs/images/cli_<command>_<data>.png``, which the
user guide's "Command line" page shows. About 2 minutes on two cores.

    python scripts/cli_pictures.py
"""

import tempfile
from pathlib import Path

from sklearn.datasets import load_wine

from skvae.cli import main

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"

JOBS = {
    "reduce": ([], ["-l", "cultivar"]),
    "cluster": ([], ["-l", "cultivar", "-k", "3"]),
    "generate": (["--n-samples", "8"], ["-l", "cultivar", "--n-samples", "8"]),
    "outliers": ([], ["--drop-non-numeric"]),
}


def run():
    with tempfile.TemporaryDirectory() as tmp:
        wine = Path(tmp) / "wine.csv"
        frame = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
        frame["cultivar"] = frame["cultivar"].map({0: "A", 1: "B", 2: "C"})
        frame.to_csv(wine, index=False)
        for command, (on_digits, on_wine) in JOBS.items():
            for data, extra in (("digits", on_digits), ("wine", [str(wine), *on_wine])):
                picture = IMAGES / f"cli_{command}_{data}.png"
                argv = [command, *extra, "--plot", str(picture), "-o", str(Path(tmp) / "o.csv"),
                        "-q", "--random-state", "0"]
                print("skvae", " ".join(a.replace(tmp + "/", "") for a in argv))
                if main(argv) != 0:
                    raise SystemExit(f"skvae {command} failed")


if __name__ == "__main__":
    run()
