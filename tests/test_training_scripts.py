"""The training scripts end to end, tiny settings, on the current backend.

Each run's output directory is a preset; --resume continues from Keras'
BackupAndRestore; flags are checked before anything is written.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import keras_rnnzoo
from keras_rnnzoo import presets
from keras_rnnzoo.utils import runs as zoo_runs
from tests.conftest import BACKEND, REPO

PRESET_FILES = ("config.json", "model.weights.h5", "metadata.json")


def command(*args, script="copy_task.py"):
    return [sys.executable, os.path.join(REPO, "training", script), "--backend", BACKEND,
            "--threads", "1", *args]


def run(*args, timeout=600, script="copy_task.py"):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(command(*args, script=script), cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def rows(out):
    with open(os.path.join(out, "metrics.csv")) as f:
        return list(csv.DictReader(f))


def weights(directory):
    """[(name, value)] in model.weights order (the path's auto-numbered layer
    names differ between models built in one process)."""
    return [(w.path.split("/")[-1], np.asarray(keras.ops.convert_to_numpy(w)))
            for w in presets.from_preset(directory).weights]


COPY = ["--cell", "asrnn", "--hidden", "8", "--delay", "3", "--recall", "2", "--batch-size", "4",
        "--log-every", "2", "--dtriv-k", "3"]


def test_copy_task_run_is_a_preset_and_resumes(tmp_path):
    out = str(tmp_path / "run")
    # two monitors (the hidden-gradient one costs most on JAX; test_gradient_monitors covers it)
    common = COPY + ["--output-dir", out, "--monitor", "gradients", "spectrum",
                     "--monitor-every", "1", "--tensorboard"]
    first = run(*common, "--steps", "4")
    assert first.returncode == 0, first.stderr[-3000:]
    for name in PRESET_FILES + ("metrics.csv", "loss.png", "command.txt"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    assert f"wrote {os.path.join(out, 'loss.png')}" in first.stdout
    assert "memoryless baseline" in first.stdout
    # not a terminal: plain lines, one per epoch (--log-every steps), no escape codes
    assert "\x1b" not in first.stdout and "\r" not in first.stdout and "\b" not in first.stdout
    assert first.stdout.count("2/2 - ") == 2
    assert [r["step"] for r in rows(out)] == ["2", "4"]

    model = presets.from_preset(out)  # the run directory is a preset
    metadata = model.preset_metadata
    assert metadata["task"] == "SequenceTagger" and metadata["hyperparameters"]["hidden"] == 8
    assert "copy_task.py" in metadata["command"] and metadata["backend"] == BACKEND
    recorded = metadata["metrics"]["test"]
    again = presets.evaluate_preset(model)["test"]
    assert again["recall_accuracy"] == recorded["recall_accuracy"]
    assert again["loss"] == pytest.approx(recorded["loss"], rel=1e-5)

    from training import copy_task  # the resume in process: a subprocess pays ~10 s of imports

    copy_task.main(common + ["--steps", "6", "--resume"])
    assert [r["step"] for r in rows(out)] == ["2", "4", "6"]
    seconds = [float(r["seconds"]) for r in rows(out)]
    assert seconds == sorted(seconds)  # the clock continues across the resume
    assert presets.from_preset(out).preset_metadata["hyperparameters"]["steps"] == 6
    with open(os.path.join(out, "command.txt")) as f:
        assert len(f.read().splitlines()) == 2  # one line per run, the resume appended
    assert not [f for f in os.listdir(out) if ".tmp" in f]  # nothing half-written left
    # --monitor: the three monitors' files, continued across the resume.
    for name in ("gradient_norms", "spectrum"):
        with open(os.path.join(out, f"{name}.json")) as f:
            saved = json.load(f)
        assert sorted({r["step"] for r in saved["rows"]}) == [1, 2, 3, 4, 5, 6], name
        assert os.path.getsize(os.path.join(out, f"{name}.png")) > 0
    assert os.listdir(os.path.join(out, "tensorboard"))


@pytest.mark.skipif(BACKEND != "torch", reason="one backend in the default tier (3 runs); "
                    "the slow tier repeats it on every backend")
def test_resume_after_sigkill_gives_the_uninterrupted_weights(tmp_path):
    _resume_after_sigkill(tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(BACKEND == "torch", reason="in the default tier on torch")
def test_resume_after_sigkill_gives_the_uninterrupted_weights_slow(tmp_path):
    _resume_after_sigkill(tmp_path)


def _resume_after_sigkill(tmp_path):
    """SIGKILL mid-run (with --monitor, whose optimiser variable once made Keras
    drop the optimiser state), --resume: the final weights of an uninterrupted run,
    every step once in metrics.csv."""
    flags = COPY[:-4] + ["--log-every", "10", "--dtriv-k", "7", "--steps", "200", "--monitor",
                         "gradients", "--monitor-every", "3"]
    whole, cut = str(tmp_path / "whole"), str(tmp_path / "cut")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen(command(*flags, "--output-dir", cut), cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while proc.poll() is None and time.time() < deadline:
        path = os.path.join(cut, "metrics.csv")
        if os.path.exists(path) and len(rows(cut)) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed: give it more --steps"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not os.path.exists(os.path.join(cut, "metadata.json"))
    from training import copy_task  # the two other runs in process (~10 s of imports each)

    copy_task.main(flags + ["--output-dir", whole])
    copy_task.main(flags + ["--output-dir", cut, "--resume"])
    assert [int(r["step"]) for r in rows(cut)] == list(range(10, 210, 10))
    a, b = weights(whole), weights(cut)
    assert [n for n, _ in a] == [n for n, _ in b]
    for (name, expected), (_, got) in zip(a, b):
        np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0, err_msg=name)


def test_existing_run_is_never_destroyed(tmp_path, capsys):
    from training import copy_task  # in process: a subprocess pays ~10 s of imports

    out = str(tmp_path / "run")
    os.makedirs(out)
    keep = {"metrics.csv": "step\n1\n", "metadata.json": "{}", "model.weights.h5": "x"}
    for name, text in keep.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(text)
    for extra, words in ((["--epsilon", "-1"], ["--epsilon"]),
                         ([], ["--overwrite", "--resume", "earlier run"])):
        with pytest.raises(SystemExit) as err:
            copy_task.main(COPY + ["--steps", "2", "--output-dir", out] + extra)
        message = capsys.readouterr().err
        assert err.value.code == 2 and all(w in message for w in words), message
    for name, text in keep.items():  # untouched
        with open(os.path.join(out, name)) as f:
            assert f.read() == text
    copy_task.main(COPY + ["--steps", "2", "--output-dir", out, "--overwrite"])
    assert [r["step"] for r in rows(out)] == ["2"]
    assert presets.from_preset(out).preset_metadata["hyperparameters"]["steps"] == 2


@pytest.mark.parametrize("argv,flag", [
    (["--steps", "7", "--log-every", "5"], "--log-every"),
    (["--epsilon", "-1"], "--epsilon"),
    (["--threads", "-1"], "--threads"),
    (["--chrono-tmax", "1"], "--chrono-tmax"),
    (["--cell", "no_such_cell"], "--cell"),
    (["--hidden", "0"], "--hidden"),
    (["--delta", "2.5"], "--delta"),
    (["--resume"], "--resume"),
])
def test_copy_task_rejects_bad_flags(tmp_path, capsys, argv, flag):
    from training import copy_task

    with pytest.raises(SystemExit) as err:  # in process: a subprocess pays ~10 s of imports
        copy_task.parse_args(argv + ["--output-dir", str(tmp_path / "x")])
    assert err.value.code == 2 and flag in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "x")


def test_preset_flag_reruns_the_recorded_settings(tmp_path, capsys):
    from training import copy_task

    source = str(tmp_path / "source")
    args = copy_task.parse_args(COPY + ["--steps", "4", "--output-dir", source])
    presets.save_to_preset(copy_task.build_model(args), source, metadata={
        "hyperparameters": zoo_runs.hyperparameters(args)})
    again = copy_task.parse_args(["--preset", source, "--output-dir", str(tmp_path / "b")])
    assert zoo_runs.hyperparameters(again) == \
        zoo_runs.hyperparameters(args)
    changed = copy_task.parse_args(["--preset", source, "--lr", "0.5",
                                    "--output-dir", str(tmp_path / "c")])
    assert changed.lr == 0.5 and changed.hidden == 8
    from training import adding_task

    with pytest.raises(SystemExit):  # a copy-task preset has flags the adding task lacks
        adding_task.parse_args(["--preset", source, "--output-dir", str(tmp_path / "d")])
    assert "not flags of this script" in capsys.readouterr().err


def test_adding_task_writes_a_preset(tmp_path, capsys):
    from training import adding_task  # in process (the copy task's test runs a subprocess)

    out = str(tmp_path / "adding")
    adding_task.main(["--cell", "urlstm", "--hidden", "6", "--length", "10", "--batch-size", "4",
                      "--steps", "4", "--log-every", "2", "--output-dir", out])
    for name in PRESET_FILES + ("metrics.csv", "loss.png", "command.txt"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    assert "baseline 0.1667" in capsys.readouterr().out
    assert [r["step"] for r in rows(out)] == ["2", "4"]
    model = presets.from_preset(out)
    assert isinstance(model, keras_rnnzoo.models.SequenceRegressor)
    assert presets.evaluate_preset(model)["test"]["mse"] == pytest.approx(
        model.preset_metadata["metrics"]["test"]["mse"], rel=1e-5)


def test_reverse_ordering_writes_a_preset_and_held_out_metrics(tmp_path):
    from training import reverse_ordering  # in process

    out = str(tmp_path / "reverse")
    reverse_ordering.main(["--task", "dual_frequency", "--cell", "urgru", "--pe", "learnable",
                           "--vocab", "16", "--length", "6", "--hidden", "8", "--batch-size", "8",
                           "--steps", "4", "--log-every", "2", "--warmup", "1",
                           "--output-dir", out])
    for name in PRESET_FILES + ("metrics.csv", "loss.png", "command.txt", "eval.json"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    with open(os.path.join(out, "eval.json")) as f:
        result = json.load(f)
    assert 0.0 <= result["token_accuracy"] <= 1.0 and result["damerau_levenshtein"] >= 0
    assert set(result["groups"]) and result["pe"] == "learnable"
    assert "token_accuracy" in rows(out)[-1]
    model = presets.from_preset(out)
    assert presets.evaluate_preset(model) == model.preset_metadata["metrics"]


@pytest.mark.parametrize("script,argv", [
    ("reverse_ordering.py", ["--vocab", "1"]),
    ("reverse_ordering.py", ["--pe", "sinusoidal", "--embed-dim", "7"]),
    ("adding_task.py", ["--length", "1"]),
    ("adding_task.py", ["--cell", "spectral_gru", "--delta", "2.5"]),
])
def test_scripts_reject_bad_flags(tmp_path, capsys, script, argv):
    from training import adding_task, reverse_ordering

    module = {"reverse_ordering.py": reverse_ordering, "adding_task.py": adding_task}[script]
    with pytest.raises(SystemExit) as err:
        module.parse_args(argv + ["--output-dir", str(tmp_path / "x")])
    assert err.value.code == 2 and argv[-2] in capsys.readouterr().err


@pytest.mark.slow  # 15 cells x 3 scripts; each script runs end to end in the default tier
@pytest.mark.parametrize("cell", sorted(keras_rnnzoo.cells.CELL_NAMES))
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
    args = reverse_ordering.parse_args(common + ["--vocab", "8", "--length", "4", "--steps", "10", "--log-every", "5",
                                          "--warmup", "2"])
    task = reverse_ordering.make_task(args)
    del args.task_object
    x, y, mask = task.sample(4, seed=0)
    losses.append(reverse_ordering.build_model(args, task).train_on_batch(x, y, sample_weight=mask))
    from training import polyphonic_music

    args = polyphonic_music.parse_args(common + ["--data-dir", "unused"])
    roll = (np.random.default_rng(0).random((2, 6, 88)) < 0.1).astype("float32")
    losses.append(polyphonic_music.build_model(args).train_on_batch(
        roll[:, :-1], roll[:, 1:], sample_weight=np.ones((2, 5), "float32")))
    assert len(losses) == 4 and all(np.isfinite(np.ravel(v)[0]) for v in losses)


def _cell_weights(model):
    cell = model.backbone.get_layer("rnn").cell
    return {w.path.split("/")[-1]: np.asarray(keras.ops.convert_to_numpy(w)) for w in cell.weights}


def test_torch_init_of_the_lstm_and_gru_baselines():
    """PyTorch's nn.LSTM / nn.GRU initialisation where a script claims it."""
    from training import copy_task, reverse_ordering

    h = 64
    bound = 1.0 / np.sqrt(h)
    morita = ["--hidden", str(h), "--vocab", "8", "--length", "4", "--steps", "10", "--warmup",
              "2", "--log-every", "5", "--output-dir", "unused"]
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
