"""training/copy_task.py end to end, tiny settings, on the current backend."""

import csv
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_rnnzoo  # noqa: F401
from tests.conftest import BACKEND, REPO


def run(*args, timeout=600):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, os.path.join(REPO, "training", "copy_task.py"), "--backend", BACKEND,
           "--threads", "1", *args]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def rows(out):
    with open(os.path.join(out, "metrics.csv")) as f:
        return list(csv.DictReader(f))


def test_copy_task_writes_outputs_and_resumes(tmp_path):
    out = str(tmp_path / "run")
    common = ["--cell", "asrnn", "--hidden", "8", "--delay", "3", "--recall", "2",
              "--batch-size", "4", "--log-every", "2", "--dtriv-k", "3", "--output-dir", out]
    first = run(*common, "--steps", "4")
    assert first.returncode == 0, first.stderr[-3000:]
    for name in ("metrics.csv", "loss.png", "model.keras", "command.txt"):
        assert os.path.getsize(os.path.join(out, name)) > 0
        assert f"wrote {os.path.join(out, name)}" in first.stdout
    assert [r["step"] for r in rows(out)] == ["2", "4"]
    assert "memoryless baseline" in first.stdout

    second = run(*common, "--steps", "6", "--resume")
    assert second.returncode == 0, second.stderr[-3000:]
    assert [r["step"] for r in rows(out)] == ["2", "4", "6"]
    model = keras.saving.load_model(os.path.join(out, "model.keras"))
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 6
    assert model.optimizer.lr_multipliers == {"recurrent_kernel": pytest.approx(0.1)}
    assert open(os.path.join(out, "command.txt")).read().count("copy_task.py") == 2
    assert not [f for f in os.listdir(out) if ".tmp" in f]  # nothing half-written left


@pytest.mark.parametrize("cell,loss", [("lstm", "last"), ("scornn", "all")])
def test_copy_task_other_cells_and_conventions(tmp_path, cell, loss):
    out = str(tmp_path / cell)
    done = run("--cell", cell, "--hidden", "6", "--delay", "3", "--recall", "2", "--loss", loss,
               "--batch-size", "4", "--steps", "2", "--log-every", "2", "--output-dir", out)
    assert done.returncode == 0, done.stderr[-3000:]
    loss_value = float(rows(out)[-1]["loss"])
    assert np.isfinite(loss_value)


def test_copy_task_rejects_bad_flags(tmp_path):
    bad = run("--cell", "gru", "--output-dir", str(tmp_path / "x"))
    assert bad.returncode == 2 and "--cell" in bad.stderr
    bad = run("--hidden", "0", "--output-dir", str(tmp_path / "y"))
    assert bad.returncode == 2 and "--hidden" in bad.stderr
    missing = run("--resume", "--output-dir", str(tmp_path / "none"))
    assert missing.returncode != 0 and "--resume" in missing.stderr
