"""The shared core names no model family, and no module grows past about 600 lines.

The core files are listed in the user guide's "Adding a model family"; a
family's parameters and per-row inputs reach the core through hooks and
mixins (skvae.base), never by name.
"""

import ast
import inspect
import io
import tokenize
from pathlib import Path

import pytest

import skvae
from skvae.base import BaseVAE

ROOT = Path(skvae.__file__).parent

# The shared core: what every family uses, and what a new family never edits.
CORE_FILES = [
    "_base.py",
    "_units.py",
    "_tables.py",
    "_table_values.py",
    "_table_data.py",
    "_training.py",
    "_inference.py",
    "_docs.py",
    "_net.py",
    "_batches.py",
    "_callbacks.py",
    "_parallel.py",
    "_data.py",
    "_random.py",
    "_registry.py",
    "_validation.py",
    "models/_autoencoder.py",
    "models/_networks.py",
    "models/_distributions.py",
    "models/_columns.py",
    "models/_noise.py",
]

# The per-row inputs and parts that only some families have.
FAMILY_INPUTS = {"labels", "neighbors", "x_pair", "code_prior", "n_conditions", "corruption"}

# Names a core file may use for another meaning, with the reason.
ALLOWED = {
    # an argument of every VAE transformer's score_samples, not a parameter
    "n_draws": None,
    # torch's gumbel_softmax argument (DrawsNoise.gumbel_softmax)
    "hard": {"models/_noise.py"},
    # the capability tag that says what a model labels (classes or clusters)
    "labels": {"_registry.py"},
    # torch.nn.init, the module that starts a layer's weights
    "init": {"models/_networks.py"},
}


def _family_only_names():
    """Estimator class names, family-only hyperparameters and per-row inputs."""
    shared = set(inspect.signature(BaseVAE.__init__).parameters)
    names = set(FAMILY_INPUTS)
    for name, cls in skvae.all_estimators():
        names.add(name)
        names |= set(cls().get_params()) - shared
    return names


def _identifiers(path):
    """(line, name) of every identifier and every string literal of a file."""
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type == tokenize.NAME:
            yield tok.start[0], tok.string
        elif tok.type == tokenize.STRING:
            try:
                value = ast.literal_eval(tok.string)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, str):
                yield tok.start[0], value


@pytest.mark.parametrize("core_file", CORE_FILES)
def test_the_core_names_no_family(core_file):
    forbidden = _family_only_names()
    found = [
        f"{core_file}:{line}: {name}"
        for line, name in _identifiers(ROOT / core_file)
        if name in forbidden
        and not (name in ALLOWED and (ALLOWED[name] is None or core_file in ALLOWED[name]))
    ]
    assert not found, "family names in the shared core:\n" + "\n".join(found)


def test_the_check_catches_a_family_name(tmp_path):
    # the check reads identifiers and literals, not prose
    source = tmp_path / "core.py"
    source.write_text('"""The prior of n_clusters."""\nx = self.n_clusters\ny = d["prior"]\n')
    found = {name for _, name in _identifiers(source)} & _family_only_names()
    assert found == {"n_clusters", "prior"}


def test_every_core_file_exists_and_is_documented():
    page = (ROOT.parent / "docs" / "user_guide" / "new_family.md").read_text()
    for core_file in CORE_FILES:
        assert (ROOT / core_file).is_file()
        assert f"skvae/{core_file}" in page, core_file


def test_no_module_is_over_about_600_lines():
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for path in ROOT.rglob("*.py")
    }
    assert not {name: n for name, n in sizes.items() if n > 650}
