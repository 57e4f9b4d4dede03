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
    # the build passes -W yet a page can still render wrong
    problems = _rendering_problems(out)
    assert not problems, "\n".join(problems)
    # an estimator's page lists the methods it inherits from scikit-learn too
    listed = _methods_table(out / "generated/skvae.VAETransformer.html")
    assert {"fit", "transform", "sample", "fit_transform", "get_feature_names_out",
            "set_output", "get_params"} <= listed, listed
    assert "fit_predict" in _methods_table(out / "generated/skvae.GMVAEClusterer.html")


def _methods_table(page):
    """The method names of a class page's summary table."""
    import bs4

    soup = bs4.BeautifulSoup(page.read_text(), "html.parser")
    table = soup.select_one("table.autosummary")
    return {row.select_one("td span.pre").get_text() for row in table.select("tr")}


def _rendering_problems(root):
    """Tables that render wrong, and empty section sidebars, in a built site.

    A ``|`` inside inline code in a Markdown table splits the cell (the
    reader sees a raw backtick); a row with more or fewer cells than its
    header; a left sidebar titled "Section Navigation" with nothing in it.
    """
    bs4 = pytest.importorskip("bs4")  # a dependency of pydata-sphinx-theme
    problems = []
    for page in sorted(root.rglob("*.html")):
        name = page.relative_to(root)
        if name.parts[0] in ("_static", "_sources", "_downloads"):
            continue
        soup = bs4.BeautifulSoup(page.read_text(), "html.parser")
        for t, table in enumerate(soup.select("article table"), start=1):
            widths = set()
            for row in table.select("tr"):
                cells = row.find_all(["td", "th"], recursive=False)
                widths.add(sum(int(c.get("colspan", 1)) for c in cells))
                problems += [f"{name}: table {t}: a raw backtick in {c.get_text(' ', strip=True)!r}"
                             for c in cells if "`" in c.get_text()]
            if len(widths) > 1:
                problems.append(f"{name}: table {t}: rows of {sorted(widths)} cells")
        nav = soup.select_one(".bd-sidebar-primary nav.bd-docs-nav")
        if nav is not None and not nav.select("a"):
            problems.append(f"{name}: an empty section sidebar (add the page to html_sidebars)")
    return problems


def test_the_rendering_check_finds_what_it_looks_for(tmp_path):
    # the check above, on pages that have each fault
    pytest.importorskip("bs4")
    (tmp_path / "bad.html").write_text(
        "<article><table><tr><th>a</th><th>b</th></tr>"
        "<tr><td><code>E[x</code></td><td>z]`</td></tr>"
        "<tr><td>1</td><td>2</td><td>3</td></tr></table></article>"
        '<div class="bd-sidebar-primary"><nav class="bd-docs-nav"><p>Section Navigation</p>'
        "</nav></div>"
    )
    (tmp_path / "good.html").write_text(
        "<article><table><tr><th>a</th><th>b</th></tr><tr><td colspan='2'>c</td></tr>"
        '</table></article><div class="bd-sidebar-primary"><nav class="bd-docs-nav">'
        '<a href="x.html">x</a></nav></div>'
    )
    problems = _rendering_problems(tmp_path)
    assert problems == [
        "bad.html: table 1: a raw backtick in 'z]`'",
        "bad.html: table 1: rows of [2, 3] cells",
        "bad.html: an empty section sidebar (add the page to html_sidebars)",
    ]


def _pages():
    """README.md and the documentation's own Markdown pages (not its build outputs)."""
    root = DOCS.parent
    pages = [root / "README.md", *DOCS.glob("*.md"), *DOCS.glob("user_guide/*.md")]
    every = [root / "README.md", *(p for p in DOCS.rglob("*.md")
                                   if not {"_build", "generated", "auto_examples"} & set(p.parts))]
    return pages, every


def test_every_python_block_of_the_docs_is_run_by_sybil():
    # conftest.py runs the ```python blocks of these pages; a page elsewhere,
    # or Python fenced another way, would silently not be run
    pages, every = _pages()
    assert sorted(every) == sorted(pages), "add the new place to conftest.py's patterns"
    for page in pages:
        text = page.read_text()
        other = re.findall(r"^```\s*(py|python3|ipython|pycon|\{code-block\}[^\n]*)\s*$",
                           text, flags=re.M)
        assert not other, f"{page.name}: fence Python as ```python so that it runs: {other}"
        # an indented code block is code too, and is never run
        outside = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
        indented = re.findall(r"\n\n((?: {4}.*\n)+)", outside)
        python = [b for b in indented if re.search(r"^ {4}(from \w+ import|import \w+)", b, re.M)]
        assert not python, f"{page.name}: fence Python as ```python so that it runs: {python}"


def test_a_block_that_is_not_run_tells_the_reader_why():
    # a skip directive is an HTML comment, which the reader never sees: the
    # reason must also be in the page's text
    pages, _ = _pages()
    skipped = 0
    for page in pages:
        text = page.read_text()
        visible = re.sub(r"<!--.*?-->", "", text, flags=re.S)
        for reason in re.findall(r'<!--\s*skip:\s*next\s+"([^"]+)"\s*-->', text):
            skipped += 1
            assert " ".join(reason.split()) in " ".join(visible.split()), (page.name, reason)
        bare = re.findall(r"<!--\s*skip:\s*(?:next|start)\s*-->", text)
        assert not bare, f"{page.name}: a skip directive needs its reason in quotes"
    assert skipped >= 1  # the Dask cluster block of scaling.md
