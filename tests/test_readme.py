"""Every ```python snippet of the README runs as written (each in a fresh
namespace, in a temporary working directory), on every backend."""

import os
import re

import pytest

from tests.conftest import REPO

with open(os.path.join(REPO, "README.md"), encoding="utf-8") as _f:
    SNIPPETS = re.findall(r"^```python\n(.*?)^```", _f.read(), flags=re.S | re.M)


def test_the_readme_has_snippets():
    assert len(SNIPPETS) >= 4


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_readme_snippet_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = compile(SNIPPETS[index], f"README.md snippet {index + 1}", "exec")
    exec(code, {"__name__": f"readme_snippet_{index + 1}"})  # noqa: S102
    if 'log_dir="runs/x"' in SNIPPETS[index]:  # the monitoring snippet wrote its logs
        written = set(os.listdir(tmp_path / "runs" / "x"))
        assert {"gradient_norms.csv", "hidden_gradients.csv", "spectrum.csv"} <= written
