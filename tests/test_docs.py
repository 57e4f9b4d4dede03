"""The documentation site: the API reference is complete and the site builds without warnings."""

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import skvae
import skvae.base
import skvae.models
import skvae.plotting

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _public_objects():
    for module in (skvae, skvae.base, skvae.plotting, skvae.models):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                yield module.__name__, name


def _api_entries():
    """``(current module, name)`` of every autosummary entry of docs/api.rst."""
    module, entries, in_summary = "skvae", set(), False
    for line in (DOCS / "api.rst").read_text().splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = m.group(1)
        if line.startswith(".. autosummary::"):
            in_summary = True
        elif in_summary and re.match(r"   \w", line) and not line.strip().startswith(":"):
            entries.add((module, line.strip()))
        elif in_summary and line and not line.startswith(" "):
            in_summary = False
    return entries


def test_every_public_class_and_function_is_in_the_api_reference():
    missing = set(_public_objects()) - _api_entries()
    assert not missing, f"add to docs/api.rst: {sorted(missing)}"
    unknown = {e for e in _api_entries() if not hasattr(sys.modules[e[0]], e[1])}
    assert not unknown, f"docs/api.rst lists objects that do not exist: {sorted(unknown)}"


def test_every_gallery_example_is_a_sphinx_gallery_script():
    for path in sorted((DOCS.parent / "examples").glob("plot_*.py")):
        text = path.read_text()
        title = re.match(r'"""\n(=+)\n(.+)\n(=+)\n', text)
        assert title and len(title.group(1)) == len(title.group(2)) == len(title.group(3)), path
        assert "# %%" in text and "random_state=0" in text, path
        assert "savefig" not in text, f"{path}: the gallery shows figures, it does not save them"


@pytest.mark.slow
def test_the_site_builds_without_warnings(tmp_path):
    # the gallery pages with their code, not run (make -C docs html runs them)
    pytest.importorskip("sphinx")
    pytest.importorskip("sphinx_gallery")
    out = tmp_path / "html"
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-D", "plot_gallery=0", "-W",
         "--keep-going", "-q", "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    for page in ("index.html", "api.html", "benchmarks.html", "auto_examples/index.html",
                 "generated/skvae.VAETransformer.html",
                 "generated/skvae.plotting.LatentSpaceDisplay.html"):
        assert (out / page).is_file(), page


def test_the_new_family_page_runs_as_written(tmp_path, monkeypatch):
    """The code of "Adding a model family", every block in order, as a reader runs it."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    page = (DOCS / "user_guide" / "new_family.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    assert len(blocks) == 3
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "new_family_page"}
    for block in blocks:
        exec(compile(block, "new_family.md", "exec"), namespace)
    assert type(namespace["loaded"]).__name__ == "MMDVAETransformer"
    assert namespace["search"].best_params_["mmd_weight"] in (1.0, 10.0)
