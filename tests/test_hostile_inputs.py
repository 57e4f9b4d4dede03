"""The hostile-input script (benchmarks/hostile_inputs.py): no unclear error, no silent result,
no data loss."""

import importlib.util
import io
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "hostile_inputs.py"


# half a minute: CI's full run has it, the quick default run does not
@pytest.mark.slow
def test_every_hostile_case_gets_a_clear_error_or_a_correct_result():
    spec = importlib.util.spec_from_file_location("hostile_inputs", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    report = io.StringIO()
    counts, failures = script.run(out=report)
    assert not failures, report.getvalue()
    assert counts[script.CLEAR] > 1500 and counts[script.CORRECT] > 450, report.getvalue()
    # the kinds of case it covers, each with cases of its own
    text = report.getvalue()
    for group in ("outputs and inputs", "edited model files", "user modules", "model files"):
        assert group in text, group
