"""``benchmarks/soak.py`` end to end, tiny (one copy preset, 20 steps), in-process.

The full soak (10,000 steps per preset) is run by hand; its results are in
``benchmarks/results/soak_<backend>.{md,json}``.
"""

import importlib.util
import json
import os

import numpy as np
import pytest

from tests.conftest import BACKEND, REPO

PRESET = "urlstm_copyc_t100_h128"  # the cheapest copy preset to compile on JAX / TensorFlow
ORTHOGONAL = "asrnn_copy_t100_h138"  # dtriv: the retraction and two orthogonal matrices


def _soak():
    spec = importlib.util.spec_from_file_location(
        "benchmarks_soak", os.path.join(REPO, "benchmarks", "soak.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _argv(stem, preset=PRESET, steps=20):
    return ["--backend", BACKEND, "--presets", preset, "--steps", str(steps),
            "--check-every", "10", "--batch-size", "2", "--copy-delay", "10", "--out", stem]


@pytest.mark.parametrize("preset", [
    PRESET,
    # ~15 s to compile on JAX / TensorFlow (two expm, dtriv): default tier on torch only
    pytest.param(ORTHOGONAL, marks=[pytest.mark.slow] if BACKEND != "torch" else []),
])
def test_soak_writes_results_and_passes(tmp_path, preset):
    stem = str(tmp_path / "soak")
    assert _soak().main(_argv(stem, preset)) == 0
    record = json.load(open(stem + ".json"))
    assert record["meta"]["backend"] == BACKEND and record["meta"]["steps"] == 20
    assert {"threads", "load_before", "load_after", "versions", "command"} <= set(record["meta"])
    (row,) = record["results"]
    assert row["preset"] == preset and row["steps"] == 20 and not row["failures"]
    assert row["settings"]["delay"] == 10 and row["settings"]["batch_size"] == 2
    assert [s["step"] for s in row["samples"]] == [10, 20]
    assert np.isfinite(row["final_loss"]) and row["nonfinite"] is False
    if preset == ORTHOGONAL:
        assert set(row["samples"][-1]["drift_by_matrix"]) == {"asrnn_cell/W", "asrnn_cell/U_f"}
        assert 0 <= row["final_drift"] <= 1e-5
    else:
        assert row["final_drift"] is None
    table = open(stem + ".md").read()
    assert f"| `{preset}` |" in table and "| pass |" in table


def test_soak_fails_on_a_nan(tmp_path, monkeypatch):
    soak = _soak()
    from keras_rnnzoo import tasks

    draw = tasks.CopyMemoryBatches.draw

    def poisoned(self, seed):  # a NaN input from the second batch on
        x, y = draw(self, seed)
        if seed[-1] >= 1:
            x = x.copy()
            x[0, 0, 0] = np.nan
        return x, y

    monkeypatch.setattr(tasks.CopyMemoryBatches, "draw", poisoned)
    stem = str(tmp_path / "soak")
    assert soak.main(_argv(stem)) == 1
    (row,) = json.load(open(stem + ".json"))["results"]
    assert row["nonfinite"] is True and row["steps"] == 10  # stopped at the first sample
    assert any("non-finite" in f for f in row["failures"])
    assert any("stopped at step 10 of 20" in f for f in row["failures"])
    assert "**FAIL**" in open(stem + ".md").read()


def test_soak_rejects_unknown_presets(tmp_path):
    with pytest.raises(SystemExit) as info:
        _soak().main(["--backend", BACKEND, "--presets", "no_such_preset",
                      "--out", str(tmp_path / "soak")])
    assert info.value.code == 2
