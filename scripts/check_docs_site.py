"""Look at the built documentation site as a reader would, in headless Chromium.

    make -C docs html && python scripts/check_docs_site.py
    python scripts/check_docs_site.py --no-gallery-images   # after make html-noplot

For each page it checks, Chromium loads the built HTML (scripts run) and
prints the page's DOM, which is checked for what a reader should see; then
it takes a screenshot (``docs/_build/screenshots/``) for a person to look at:

- every public class and function of ``skvae``, ``skvae.plotting`` and
  ``skvae.models`` has a page in the API reference, whose rendered DOM shows
  its signature;
- every gallery example has a page that shows at least one picture (unless
  ``--no-gallery-images``), and every picture on the checked pages is a PNG
  file that decodes and is not blank;
- the landing page, the user guide and the benchmarks page render their
  headings.

Chromium comes from the system packages (``apt-get install chromium``). Exits
with status 1 and a list of what is wrong, 0 when every check passes.
"""

import argparse
import inspect
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--virtual-time-budget=3000",
]


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("check_docs_site: no Chromium found; install it (apt-get install chromium).")


def run_chromium(binary, profile, *args):
    cmd = [binary, *FLAGS, f"--user-data-dir={profile}", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    return done.stdout


class Images(HTMLParser):
    """The ``src`` and ``class`` of every ``<img>``, and the text of ``<h1>``."""

    def __init__(self):
        super().__init__()
        self.images, self.h1, self._in_h1 = [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append((attrs.get("src", ""), attrs.get("class", "")))
        if tag == "h1":
            self._in_h1 = True
            self.h1.append("")

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        if self._in_h1:
            self.h1[-1] += data


def public_api():
    """Dotted names of the public classes and functions that need an API page."""
    import skvae
    import skvae.models
    import skvae.plotting

    names = []
    for module in (skvae, skvae.plotting, skvae.models):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                names.append(f"{module.__name__}.{name}")
    return names


def picture_problem(path):
    """Why the picture at ``path`` is not one a reader would see, or None."""
    if not path.is_file():
        return "missing"
    try:
        import matplotlib.image as mpimg

        pixels = mpimg.imread(path)
    except Exception as exc:  # noqa: BLE001 - any decoding failure is the finding
        return f"does not decode ({exc})"
    if pixels.size == 0 or float(pixels[..., :3].std()) == 0.0:
        return "blank"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=str(ROOT / "docs" / "_build" / "html"))
    parser.add_argument("--screenshots", default=str(ROOT / "docs" / "_build" / "screenshots"))
    parser.add_argument("--no-gallery-images", action="store_true",
                        help="the site was built with html-noplot: examples show no pictures")
    args = parser.parse_args()
    build, shots = Path(args.build), Path(args.screenshots)
    if not (build / "index.html").is_file():
        sys.exit(f"check_docs_site: no built site at {build}; run make -C docs html first.")
    shots.mkdir(parents=True, exist_ok=True)
    binary = chromium()
    problems = []

    pages = {
        "index.html": "skvae",
        "getting_started.html": "Getting started",
        "user_guide/index.html": "User guide",
        "user_guide/plotting.html": "Plots",
        "benchmarks.html": "Benchmarks",
        "api.html": "API reference",
        "auto_examples/index.html": "Gallery",
    }
    for name in public_api():
        pages[f"generated/{name}.html"] = name.rsplit(".", 1)[1]
    examples = sorted((ROOT / "examples").glob("plot_*.py"))
    for example in examples:
        pages[f"auto_examples/{example.stem}.html"] = None

    with tempfile.TemporaryDirectory() as profile:
        for page, heading in pages.items():
            path = build / page
            if not path.is_file():
                problems.append(f"{page}: not built")
                continue
            dom = run_chromium(binary, profile, "--dump-dom", path.as_uri())
            parsed = Images()
            parsed.feed(dom)
            if not dom.strip():
                problems.append(f"{page}: Chromium rendered nothing")
                continue
            if heading is not None and not any(heading in h for h in parsed.h1):
                problems.append(f"{page}: no heading {heading!r} (saw {parsed.h1})")
            if page.startswith("generated/") and not re.search(r'class="sig ', dom):
                problems.append(f"{page}: no signature rendered")
            gallery_images = [src for src, cls in parsed.images if "sphx-glr" in cls]
            if (page.startswith("auto_examples/plot_") and not args.no_gallery_images
                    and not gallery_images):
                problems.append(f"{page}: the example shows no picture")
            for src, _ in parsed.images:
                if src.startswith(("http:", "https:", "data:")):
                    continue
                why = picture_problem((path.parent / src.split("#")[0]).resolve())
                if why:
                    problems.append(f"{page}: picture {src} {why}")
            shot = shots / (page.replace("/", "__").removesuffix(".html") + ".png")
            run_chromium(binary, profile, "--window-size=1280,1600",
                         f"--screenshot={shot}", path.as_uri())
            if picture_problem(shot):
                problems.append(f"{page}: the screenshot is {picture_problem(shot)}")

    print(f"checked {len(pages)} pages ({len(examples)} gallery examples); "
          f"screenshots in {shots}")
    if problems:
        print("problems:\n  " + "\n  ".join(problems))
        return 1
    print("every page renders what it should")
    return 0


if __name__ == "__main__":
    sys.exit(main())
