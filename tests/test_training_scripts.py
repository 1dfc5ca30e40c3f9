"""The training scripts end to end, tiny settings, on the current backend."""

import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_rnnzoo  # noqa: F401
from tests.conftest import BACKEND, REPO
from training import _cells


def run(*args, timeout=600, script="copy_task.py"):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, os.path.join(REPO, "training", script), "--backend", BACKEND,
           "--threads", "1", *args]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def rows(out):
    with open(os.path.join(out, "metrics.csv")) as f:
        return list(csv.DictReader(f))


def test_copy_task_writes_outputs_and_resumes(tmp_path):
    out = str(tmp_path / "run")
    common = ["--cell", "asrnn", "--hidden", "8", "--delay", "3", "--recall", "2",
              "--batch-size", "4", "--log-every", "2", "--dtriv-k", "3", "--output-dir", out,
              "--monitor", "--monitor-every", "1"]
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
    # --monitor: the three monitors' files, continued across the resume.
    for name in ("gradient_norms", "hidden_gradients", "spectrum"):
        saved = json.load(open(os.path.join(out, f"{name}.json")))
        assert sorted({r["step"] for r in saved["rows"]}) == [1, 2, 3, 4, 5, 6], name
        assert os.path.getsize(os.path.join(out, f"{name}.png")) > 0
    assert os.listdir(os.path.join(out, "tensorboard"))
    bad = run(*common, "--steps", "2", "--monitor-every", "0")
    assert bad.returncode != 0 and "--monitor-every" in bad.stderr


@pytest.mark.parametrize("cell,loss", [("lstm", "last"), ("scornn", "all")])
def test_copy_task_other_cells_and_conventions(tmp_path, cell, loss):
    out = str(tmp_path / cell)
    done = run("--cell", cell, "--hidden", "6", "--delay", "3", "--recall", "2", "--loss", loss,
               "--batch-size", "4", "--steps", "2", "--log-every", "2", "--output-dir", out)
    assert done.returncode == 0, done.stderr[-3000:]
    loss_value = float(rows(out)[-1]["loss"])
    assert np.isfinite(loss_value)


def test_copy_task_rejects_bad_flags(tmp_path):
    bad = run("--cell", "no_such_cell", "--output-dir", str(tmp_path / "x"))
    assert bad.returncode == 2 and "--cell" in bad.stderr
    bad = run("--hidden", "0", "--output-dir", str(tmp_path / "y"))
    assert bad.returncode == 2 and "--hidden" in bad.stderr
    missing = run("--resume", "--output-dir", str(tmp_path / "none"))
    assert missing.returncode != 0 and "--resume" in missing.stderr


def test_adding_task_writes_outputs(tmp_path):
    out = str(tmp_path / "adding")
    done = run("--cell", "urlstm", "--hidden", "6", "--length", "10", "--batch-size", "4",
               "--steps", "4", "--log-every", "2", "--output-dir", out, script="adding_task.py")
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("metrics.csv", "loss.png", "model.keras", "command.txt"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    assert "baseline 0.1667" in done.stdout
    assert [r["step"] for r in rows(out)] == ["2", "4"]


def test_reverse_ordering_writes_outputs_and_held_out_metrics(tmp_path):
    out = str(tmp_path / "reverse")
    done = run("--task", "dual_frequency", "--cell", "urgru", "--pe", "learnable", "--vocab", "16",
               "--length", "6", "--hidden", "8", "--batch-size", "8", "--steps", "4",
               "--log-every", "2", "--warmup", "1", "--output-dir", out,
               script="reverse_ordering.py")
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("metrics.csv", "loss.png", "model.keras", "command.txt", "eval.json"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    result = json.load(open(os.path.join(out, "eval.json")))
    assert 0.0 <= result["token_accuracy"] <= 1.0 and result["damerau_levenshtein"] >= 0
    assert set(result["groups"]) and result["pe"] == "learnable"
    assert "token_accuracy" in rows(out)[-1]


@pytest.mark.parametrize("script,argv", [
    ("reverse_ordering.py", ["--vocab", "1"]),
    ("reverse_ordering.py", ["--pe", "sinusoidal", "--embed-dim", "7"]),
    ("adding_task.py", ["--length", "1"]),
    ("adding_task.py", ["--cell", "spectral_gru", "--delta", "2.5"]),
])
def test_scripts_reject_bad_flags(tmp_path, script, argv):
    bad = run(*argv, "--output-dir", str(tmp_path / "x"), script=script)
    assert bad.returncode == 2, bad.stderr[-2000:]
    assert argv[-2] in bad.stderr


@pytest.mark.parametrize("cell", sorted(_cells.CELLS))
def test_every_zoo_cell_trains_in_every_script(cell):
    """Each --cell builds and takes one finite train step in each script."""
    from training import adding_task, copy_task, reverse_ordering

    common = ["--cell", cell, "--hidden", "6", "--chrono-tmax", "8", "--output-dir", "unused"]
    losses = []
    args = copy_task.parse_args(common + ["--delay", "3", "--recall", "2", "--loss", "last"])
    x, y = keras_rnnzoo.tasks.copy_memory(4, 3, 2, loss="last", seed=0)
    losses.append(copy_task.build_model(args).train_on_batch(x, y))
    args = adding_task.parse_args(common + ["--length", "6"])
    losses.append(adding_task.build_model(args).train_on_batch(*keras_rnnzoo.tasks.adding(4, 6)))
    args = reverse_ordering.parse_args(common + ["--vocab", "8", "--length", "4", "--steps", "10", "--warmup", "2"])
    task = reverse_ordering.make_task(args)
    x, y, mask = task.sample(4, seed=0)
    losses.append(reverse_ordering.build_model(args, task).train_on_batch(x, y, sample_weight=mask))
    assert all(np.isfinite(np.ravel(v)[0]) for v in losses)
