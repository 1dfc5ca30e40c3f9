"""The benchmarks and training scripts import only the public package (static
check of their source).

No ``sys.path`` / ``PYTHONPATH`` edits, no private modules or names of
``keras_rnnzoo`` (``_logs``, ``_keras_internals``, ...), no ``training.*`` and
no sibling scripts.
"""

import ast
import glob
import os

import pytest

from tests.conftest import REPO

SCRIPTS = sorted(glob.glob(os.path.join(REPO, "benchmarks", "*.py"))
                 + glob.glob(os.path.join(REPO, "training", "[!_]*.py")))


def _imports(tree):
    """(module, imported name or None) for every import statement, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            yield from ((module, alias.name) for alias in node.names)


def test_there_are_benchmarks_to_check():
    assert len(SCRIPTS) >= 11


@pytest.mark.parametrize("path", SCRIPTS, ids=os.path.basename)
def test_benchmark_imports_only_the_public_package(path):
    source = open(path).read()
    assert "sys.path" not in source and "PYTHONPATH" not in source
    siblings = {os.path.basename(p)[:-3] for p in SCRIPTS}
    for module, name in _imports(ast.parse(source)):
        parts = module.split(".")
        assert not module.startswith("."), f"relative import {module}"
        assert parts[0] not in {"training", "benchmarks", "tests"} | siblings, module
        if parts[0] == "keras_rnnzoo":
            private = [p for p in parts[1:] + [name or ""] if p.startswith("_")]
            assert not private, f"private {module} {name or ''}"
        assert parts[:2] != ["keras", "src"], module
