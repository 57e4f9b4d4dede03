"""Run the Python code of README.md and docs/ as tests (Sybil).

Every ```python block of the README and of the documentation pages runs, in
order, in one namespace per page, the way a reader pastes them into one
session. A block that cannot run here (a ten-million-row file, a cluster of
machines) is preceded by ``<!-- skip: next "reason" -->``, and
tests/test_docs.py checks that the page also tells the reader the reason.

Why Sybil: it reads Markdown as MyST renders it, keeps one namespace per
document, reports each block as a pytest item with its file and line, and
has a skip directive with a reason; it is maintained and used by several
scientific projects. A collector of our own would repeat all of that.

The blocks are marked ``slow``: together they take minutes (they fit real
models, as a reader would), so the default ``pytest`` run, a developer's
quick loop, leaves them to CI's full run (``-m "slow or not slow"``).
"""

import os
import tempfile

import pytest
import torch
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

# a page runs at the process's own thread count, whatever a test left
_THREADS = torch.get_num_threads()

# the documentation build's outputs and configuration are not tests
collect_ignore_glob = ["docs/_build/*", "docs/generated/*", "docs/auto_examples/*", "docs/*.py"]


def _setup(namespace):
    """A scratch working directory and a headless matplotlib for each page."""
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        pass
    namespace["__skvae_threads"] = torch.get_num_threads()
    torch.set_num_threads(_THREADS)
    namespace["__skvae_cwd"] = os.getcwd()
    namespace["__skvae_tmp"] = tempfile.TemporaryDirectory(prefix="skvae-docs-")
    os.chdir(namespace["__skvae_tmp"].name)


def _teardown(namespace):
    torch.set_num_threads(namespace["__skvae_threads"])
    os.chdir(namespace["__skvae_cwd"])
    namespace["__skvae_tmp"].cleanup()
    try:
        import matplotlib.pyplot as plt

        plt.close("all")
    except ImportError:
        pass


pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser(), SkipParser()],
    patterns=["README.md", "docs/*.md", "docs/user_guide/*.md"],
    setup=_setup,
    teardown=_teardown,
).pytest()


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.suffix == ".md":
            item.add_marker(pytest.mark.slow)
