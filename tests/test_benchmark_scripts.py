"""Every script in benchmarks/ imports: a renamed helper must not break one unnoticed.

(bench_gpu.py, run only where a GPU is lent, imported a list that issue 27
replaced by the registry, and failed at its first line for weeks.)
"""

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("script", sorted(p.stem for p in BENCHMARKS.glob("*.py")))
def test_benchmark_script_imports(script, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    module = importlib.import_module(script)
    # a script, not a library: it runs nothing at import, only under __main__
    assert "if __name__ == \"__main__\":" in Path(module.__file__).read_text()
    sys.modules.pop(script, None)
