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


@pytest.mark.slow  # a finite-loss smoke run; the copy script runs in the test above
@pytest.mark.parametrize("cell,loss", [("lstm", "last"), ("scornn", "all")])
def test_copy_task_other_cells_and_conventions(tmp_path, cell, loss):
    out = str(tmp_path / cell)
    done = run("--cell", cell, "--hidden", "6", "--delay", "3", "--recall", "2", "--loss", loss,
               "--batch-size", "4", "--steps", "2", "--log-every", "2", "--output-dir", out)
    assert done.returncode == 0, done.stderr[-3000:]
    loss_value = float(rows(out)[-1]["loss"])
    assert np.isfinite(loss_value)


def test_copy_task_rejects_bad_flags(tmp_path, capsys):
    from training import copy_task

    for argv, flag in ((["--cell", "no_such_cell"], "--cell"), (["--hidden", "0"], "--hidden")):
        with pytest.raises(SystemExit) as err:
            copy_task.parse_args(argv + ["--output-dir", str(tmp_path / "x")])
        assert err.value.code == 2 and flag in capsys.readouterr().err
    # in process: a subprocess would pay ~10 s of imports for one sys.exit
    with pytest.raises(SystemExit) as err:
        copy_task.main(["--resume", "--hidden", "4", "--output-dir", str(tmp_path / "none")])
    assert "--resume" in str(err.value.code)


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


@pytest.mark.slow  # 15 cells x 3 scripts; each script runs end to end in the default tier
@pytest.mark.parametrize("cell", sorted(_cells.CELLS))
def test_every_zoo_cell_trains_in_every_script(cell):
    """Each --cell builds and takes one finite train step in each script."""
    from training import adding_task, copy_task, reverse_ordering  # polyphonic_music below

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
    from training import polyphonic_music

    args = polyphonic_music.parse_args(common + ["--data-dir", "unused"])
    roll = (np.random.default_rng(0).random((2, 6, 88)) < 0.1).astype("float32")
    losses.append(polyphonic_music.build_model(args).train_on_batch(
        roll[:, :-1], roll[:, 1:], sample_weight=np.ones((2, 5), "float32")))
    assert len(losses) == 4 and all(np.isfinite(np.ravel(v)[0]) for v in losses)


def _cell_weights(model):
    cell = model.get_layer("rnn").cell
    return {w.path.split("/")[-1]: np.asarray(keras.ops.convert_to_numpy(w)) for w in cell.weights}


def test_torch_init_of_the_lstm_and_gru_baselines():
    """PyTorch's nn.LSTM / nn.GRU initialisation where a script claims it."""
    from training import copy_task, reverse_ordering

    h = 64
    bound = 1.0 / np.sqrt(h)
    morita = ["--hidden", str(h), "--vocab", "8", "--length", "4", "--steps", "10", "--warmup",
              "2", "--output-dir", "unused"]
    # Morita's nn.LSTM: no forget-bias offset, every block b_ih + b_hh (triangular)
    args = reverse_ordering.parse_args(morita + ["--cell", "lstm"])
    assert args.lstm_forget_bias is None
    model = reverse_ordering.build_model(args, reverse_ordering.make_task(args))
    w = _cell_weights(model)
    forget = w["bias"][h:2 * h]
    assert np.abs(w["bias"]).max() <= 2 * bound + 1e-6 and np.abs(w["bias"]).max() > bound
    assert forget.std() > 0.3 * bound and abs(forget.mean()) < 0.5 * bound
    # the weights are independent draws (one seed for all gave equal rows)
    d = w["kernel"].shape[0]
    assert not np.allclose(w["kernel"][:min(d, h)], w["recurrent_kernel"][:min(d, h)])
    assert np.abs(w["kernel"]).max() <= bound + 1e-6
    # nn.Linear read-out: weight and bias U(+-1/sqrt(H))
    readout = model.get_layer("readout")
    kernel, bias = (np.asarray(keras.ops.convert_to_numpy(v)) for v in (readout.kernel,
                                                                         readout.bias))
    assert np.abs(kernel).max() <= bound + 1e-6 and np.abs(kernel).max() > 0.9 * bound
    assert np.abs(bias).max() <= bound + 1e-6 and np.abs(bias).max() > 0

    # the GRU keeps b_ih and b_hh as the rows of its (2, 3H) bias: each row uniform
    model = reverse_ordering.build_model(reverse_ordering.parse_args(morita + ["--cell", "gru"]),
                                         reverse_ordering.make_task(args))
    bias = _cell_weights(model)["bias"]
    assert bias.shape == (2, 3 * h)
    assert np.abs(bias).max() <= bound + 1e-6  # a sum of two uniforms reaches 2 / sqrt(H)
    assert np.abs(bias).max() > 0.95 * bound and not np.allclose(bias[0], bias[1])
    assert np.var(bias) == pytest.approx(bound ** 2 / 3, rel=0.25)  # U(+-b): b^2/3

    # the copy task's LSTM (asRNN's baseline): forget bias exactly 1
    args = copy_task.parse_args(["--cell", "lstm", "--hidden", "8", "--delay", "3",
                                 "--recall", "2", "--output-dir", "unused"])
    bias = _cell_weights(copy_task.build_model(args))["bias"]
    np.testing.assert_array_equal(bias[8:16], 1.0)
    assert np.abs(bias[:8]).max() <= 2 / np.sqrt(8) and np.abs(bias[:8]).max() > 0


def test_cell_help_states_each_scripts_lstm_forget_bias(capsys):
    from training import copy_task, reverse_ordering

    for module, text in ((reverse_ordering, "nn.LSTM init (no forget bias offset)"),
                         (copy_task, "forget bias 1")):
        with pytest.raises(SystemExit):
            module.parse_args(["--help"])
        assert text in " ".join(capsys.readouterr().out.split())
