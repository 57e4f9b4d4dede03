"""Sphinx configuration of skvae's documentation site.

Build it with ``make -C docs html`` (the gallery runs every
``examples/plot_*.py``) or ``make -C docs html-noplot`` (the gallery pages
show the code without running it); warnings are errors in both.
"""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))
import skvae  # noqa: E402

project = "skvae"
author = "the skvae developers"
copyright = "2026, the skvae developers"
release = skvae.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**/*.zip"]
templates_path = ["_templates"]

# the API reference: one page per public object, generated from the docstrings
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# scikit-learn's metadata-routing setters are generated per estimator and
# documented by scikit-learn
autodoc_default_options["exclude-members"] = ",".join(
    f"set_{m}_request"
    for m in (
        "fit", "partial_fit", "predict", "predict_proba", "predict_log_proba", "score",
        "score_samples", "transform", "inverse_transform", "decision_function",
    )
)



def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document the members that skvae defines, not those of scikit-learn or torch.

    The estimators inherit ``get_params``, ``fit_transform`` or
    ``set_output`` from scikit-learn, and the modules ``forward`` hooks from
    torch: their own documentation describes those.
    """
    module = getattr(obj, "__module__", None) or ""
    if what == "class" and callable(obj) and not module.startswith("skvae"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)


# headings of the Markdown pages get anchors for links like page.md#section
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # the example that needs torchrun is shown in the guide, not run here
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"distributed_fit\.py",
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "reference_url": {"skvae": None},
    # "Examples using ..." under each object of the API reference
    "backreferences_dir": "generated",
    "doc_module": ("skvae",),
}

html_theme = "pydata_sphinx_theme"
html_title = f"skvae {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
# pages with no sub-pages have no section to navigate: no left sidebar there
# (it showed an empty "Section Navigation"; tests/test_docs.py checks)
html_sidebars = {"getting_started": [], "benchmarks": []}
html_static_path = []
html_show_sourcelink = False

# matplotlib draws off-screen while the gallery runs
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")
