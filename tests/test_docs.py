"""The documentation says what the code does."""

import ast
import inspect
import re

import pytest

from skvae import all_estimators

# A numpydoc parameter line: "name : type, default=value" (names may be listed
# "a, b : ..., default=1.0 and 0.5").
_PARAM = re.compile(r"^    (?P<names>\w+(?:, \w+)*) : .*default=(?P<default>.+?)\s*$")


def _documented_defaults(cls):
    doc = inspect.getdoc(cls)
    section = doc.split("Parameters\n----------\n", 1)[1].split("\n\nAttributes\n", 1)[0]
    found = {}
    for line in ("    " + line for line in section.splitlines()):
        match = _PARAM.match(line)
        if not match:
            continue
        names = match["names"].split(", ")
        values = match["default"].split(" and ") if len(names) > 1 else [match["default"]]
        assert len(values) == len(names), line
        for name, value in zip(names, values, strict=True):
            found[name] = value
    return found


@pytest.mark.parametrize("name, cls", all_estimators())
def test_every_documented_default_is_the_signature_default(name, cls):
    signature = inspect.signature(cls.__init__).parameters
    documented = _documented_defaults(cls)
    params = [p for p in signature if p != "self"]
    undocumented = [p for p in params if p not in documented]
    assert not undocumented, f"{name} documents no default for {undocumented}"
    for param, text in documented.items():
        assert param in signature, f"{name} documents {param}, which it does not take"
        assert ast.literal_eval(text) == signature[param].default, (
            f"{name}.{param}: the docstring says default={text}, the signature "
            f"{signature[param].default!r}"
        )
