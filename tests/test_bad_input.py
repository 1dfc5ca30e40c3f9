"""Bad input: one test per row of the README's table "Bad input: what the zoo says".

Every row is an input a new user may give; the answer is an error that names the
argument and the fix (or a documented behaviour), and nothing is lost: an earlier
preset, run or model's weights survive. Rows that other files test already are
cited in the README table instead of repeated here. Tiny models only (H <= 8,
T <= 5): this file runs in the default tier on three backends.
"""

import errno
import importlib
import json
import os
import re
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_rnnzoo import callbacks, cells, datasets, layers, models, presets, tasks
from keras_rnnzoo.presets import PresetError
from keras_rnnzoo.utils import atomic_write
from keras_rnnzoo.utils import files
from keras_rnnzoo.utils import runs
from tests.conftest import BACKEND, REPO, to_numpy

SCRIPTS = ("adding_task", "atis", "copy_task", "pixel_mnist", "polyphonic_music", "ptb",
           "reverse_ordering", "seq_cifar", "wikitext")
COPY = ["--cell", "gru", "--hidden", "4", "--delay", "2", "--recall", "2", "--batch-size", "2",
        "--steps", "2", "--log-every", "2"]


def regressor(input_dim=3, cell="gru"):
    keras.utils.set_random_seed(1)
    return models.SequenceRegressor(models.RNNBackbone(cells.get_cell(cell, 4),
                                                       input_dim=input_dim))


def tagger(vocabulary_size=10):
    return models.SequenceTagger(models.RNNBackbone(cells.get_cell("gru", 4),
                                                    vocabulary_size=vocabulary_size), 3)


def values(model):
    return [to_numpy(v).copy() for v in model.weights]


# --- shapes ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,match", [((2, 5), "3-D"), ((2, 5, 3, 1), "one time step")])
def test_wrong_rank_into_a_zoo_rnn(shape, match):
    with pytest.raises(ValueError, match=match):
        layers.RNN(cells.GRUCell(4))(np.zeros(shape, "float32"))


@pytest.mark.parametrize("method", ["predict", "evaluate", "fit"])
@pytest.mark.parametrize("shape", [(2, 5), (2, 5, 4)])
def test_wrong_rank_or_width_into_a_task_model_keeps_its_weights(method, shape):
    model = regressor()
    model.compile()
    before = values(model)
    x, y = np.zeros(shape, "float32"), np.zeros((2, 1), "float32")
    call = {"predict": lambda: model.predict(x, verbose=0),
            "evaluate": lambda: model.evaluate(x, y, verbose=0),
            "fit": lambda: model.fit(x, y, verbose=0)}[method]
    with pytest.raises(ValueError, match=r"`x` of sequence_regressor\w*\.\w+ has shape .* float "
                                         r"features of shape \(batch, T, 3\)"):
        call()
    # nothing lost: Keras' JAX trainer would have detached the weights for the failed call
    for a, b in zip(before, values(model)):
        np.testing.assert_array_equal(a, b)
    assert model.predict(np.zeros((2, 5, 3), "float32"), verbose=0).shape == (2, 1)


@pytest.mark.parametrize("name", sorted(cells.CELL_NAMES))
def test_unknown_feature_size_is_refused_by_every_cell(name):
    with pytest.raises(ValueError, match="needs a known feature size.*fixed last dimension"):
        layers.RNN(cells.get_cell(name, 4))(keras.Input((None, None)))


def test_sequence_length_zero_says_so_on_every_backend():
    x = np.zeros((2, 0, 3), "float32")
    for layer in (layers.RNN(cells.GRUCell(4)),
                  layers.RNN(cells.GRUCell(4), fast_path=False, return_sequences=True)):
        with pytest.raises(ValueError, match="length 0.*at least one time step.*mask"):
            layer(x)
    with pytest.raises(ValueError, match="length 0"):
        models.RNNBackbone(cells.get_cell("gru", 4), input_dim=3)(x)
    model = regressor()
    before = values(model)
    with pytest.raises(ValueError, match=r"regressor\w*\.predict has sequences of length 0"):
        model.predict(x, verbose=0)
    for a, b in zip(before, values(model)):
        np.testing.assert_array_equal(a, b)
    # the fix the message gives: pad to length 1 and mask it -> the initial state (zeros)
    inputs = keras.Input((None, 3))
    h = layers.RNN(cells.GRUCell(4))(keras.layers.Masking()(inputs))
    padded = keras.Model(inputs, h)
    np.testing.assert_array_equal(to_numpy(padded(np.zeros((2, 1, 3), "float32"))),
                                  np.zeros((2, 4), "float32"))


# --- values and dtypes ---------------------------------------------------------------------

def test_non_finite_inputs_are_caught_where_cheap_and_pass_through_elsewhere():
    model = regressor()
    model.compile()
    x, y = np.ones((4, 5, 3), "float32"), np.ones((4, 1), "float32")
    bad = x.copy()
    bad[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=r"`x` of sequence_regressor\w*\.fit holds 1 non-finite "
                                         r"value.*index \(1, 2, 0\).*np\.nan_to_num"):
        model.fit(bad, y, verbose=0)
    with pytest.raises(ValueError, match=r"`y` .* non-finite"):
        model.fit(x, np.full((4, 1), np.inf, "float32"), verbose=0)
    with pytest.raises(ValueError, match=r"`arrays\[0\]` holds 1 non-finite"):
        datasets.ArrayBatches((bad, y), batch_size=2)
    # a forward pass is not checked (no exception): NaN in, NaN out
    assert np.isnan(model.predict(bad, verbose=0)[1]).all()
    assert np.isfinite(model.predict(bad, verbose=0)[0]).all()


def test_integer_and_float64_features_are_cast_to_the_compute_dtype():
    model = regressor()
    x = np.ones((2, 5, 3))
    reference = model.predict(x.astype("float32"), verbose=0)
    for dtype in ("float64", "int32"):
        out = model.predict(x.astype(dtype), verbose=0)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, reference, rtol=1e-6, atol=1e-6)
    layer_out = layers.RNN(cells.GRUCell(4))(x.astype("float64"))
    assert keras.backend.standardize_dtype(layer_out.dtype) == "float32"


def test_token_ids_must_be_integral_and_in_range():
    model = tagger(10)
    ids = np.array([[1, 2, 3, 4, 5]] * 2)
    assert model.predict(ids.astype("float64"), verbose=0).shape == (2, 5, 3)  # integral: ids
    for bad, shown in ((ids * 0 + 10, "10 .. 10"), (ids - 2, "-1 .. 3"),
                       (ids + 0.5, "1.5 .. 5.5")):
        with pytest.raises(ValueError, match=rf"token ids in \[0, 10\).*{shown}.*<unk>"):
            model.predict(bad, verbose=0)


# --- data sets ---------------------------------------------------------------------------

@pytest.mark.parametrize("make,match", [
    (lambda m: m.fit(np.zeros((0, 5, 3), "float32"), np.zeros((0, 1), "float32"), verbose=0),
     r"`x` of sequence_regressor\w*\.fit holds no examples"),
    (lambda m: m.evaluate(np.zeros((0, 5, 3), "float32"), np.zeros((0, 1)), verbose=0),
     "holds no examples"),
    (lambda m: m.predict(np.zeros((0, 5, 3), "float32"), verbose=0), "holds no examples"),
    (lambda m: datasets.ArrayBatches((np.zeros((0, 5, 3)), np.zeros(0)), 2),
     "`arrays` hold no examples"),
    (lambda m: datasets.ArrayBatches((np.zeros((3, 5, 3)), np.zeros(3)), 4),
     "`batch_size` 4 is larger than the 3 examples"),
    (lambda m: datasets.LanguageModelBatches(np.arange(5), 4, 3), "5 tokens are too few"),
    (lambda m: datasets.LanguageModelBatches(np.arange(50), 4, 30), "`bptt` 30 is longer"),
    (lambda m: tasks.MusicBatches([], 2), "`sequences` is empty"),
], ids=["fit", "evaluate", "predict", "array-batches-empty", "array-batches-short",
        "lm-tokens", "lm-bptt", "music-empty"])
def test_empty_or_too_short_data_sets(make, match):
    model = regressor()
    model.compile()
    with pytest.raises(ValueError, match=match):
        make(model)


def test_script_with_fewer_examples_than_the_batch_size():
    args = runs.training_parser("x", cell="gru", steps=None, log_every=None).parse_args(
        ["--batch-size", "8"])
    with pytest.raises(SystemExit, match=r"--batch-size 8 exceeds the 5 training examples"):
        runs.steps_from_passes(args, 5, passes=1)


def test_missing_data_file_stops_a_script_before_it_writes(tmp_path, monkeypatch, capsys):
    from training import ptb

    monkeypatch.delenv("RNNZOO_DATA_DIR", raising=False)
    out = tmp_path / "run"
    with pytest.raises(SystemExit, match=r"(?s)Penn Treebank.*prepare ptb"):
        ptb.main(["--data-dir", str(tmp_path / "empty"), "--output-dir", str(out)])
    assert not out.exists()


# --- hyper-parameters, flags and names ------------------------------------------------------

@pytest.mark.parametrize("name", sorted(cells.CELL_NAMES))
def test_every_cell_names_a_bad_size_or_rate(name):
    with pytest.raises(ValueError, match="`units` must be a positive integer"):
        cells.get_cell(name, 0)
    with pytest.raises(ValueError, match=r"`dropout` must be a rate in \[0, 1\)"):
        cells.get_cell(name, 4, dropout=1.0)


def _parsers(monkeypatch):
    """{script: its argparse parser}, captured where the script hands it to runs.parse_args."""
    captured = {}

    class Captured(Exception):
        pass

    def capture(parser, task, argv=None, output_name=None):
        captured["parser"] = parser
        raise Captured

    monkeypatch.setattr(runs, "parse_args", capture)
    out = {}
    for name in SCRIPTS:
        module = importlib.import_module(f"training.{name}")
        with pytest.raises(Captured):
            module.parse_args([])
        out[name] = captured.pop("parser")
    return out


def test_every_flag_of_every_script_names_a_bad_value(monkeypatch, capsys):
    checked = 0
    for script, parser in _parsers(monkeypatch).items():
        for action in parser._actions:
            if not action.option_strings or action.nargs == 0 or (
                    action.type is None and action.choices is None):
                continue  # switches, --help, and free paths (--output-dir, --data-dir, --preset)
            flag = action.option_strings[0]
            bad = "bogus" if action.choices is not None else "nan"
            with pytest.raises(SystemExit) as err:
                parser.parse_args([flag, bad])
            message = capsys.readouterr().err
            assert err.value.code == 2 and f"argument {flag}" in message, (script, flag, message)
            checked += 1
    assert checked > 9 * 25  # every script's shared and task flags


def test_unknown_cell_and_preset_names(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"`name` must be one of 'asrnn', .*; got 'lstn'"):
        cells.get_cell("lstn", 4)
    with pytest.raises(PresetError, match=r"unknown preset 'asrnn_copy_t100_h13': did you "
                                          r"mean 'asrnn_copy_t100_h138'"):
        presets.from_preset("asrnn_copy_t100_h13")
    with pytest.raises(PresetError, match="does not exist"):
        presets.from_preset(str(tmp_path / "no" / "such"))
    from training import copy_task

    for argv, words in ((["--cell", "lstn"], "argument --cell: invalid choice: 'lstn'"),
                        (["--preset", "asrnn_copy_t100_h13"], "--preset: unknown preset")):
        with pytest.raises(SystemExit):
            copy_task.parse_args(argv + ["--output-dir", str(tmp_path / "x")])
        assert words in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


# --- corrupt files ------------------------------------------------------------------------

def test_corrupt_preset_files(tmp_path):
    model = regressor()
    for name, damage, match in (
            ("metadata.json", lambda p: p.write_text("{"), "metadata.json is not valid JSON"),
            ("config.json", lambda p: p.write_text("{not json"), "config.json has sha256"),
            ("model.weights.h5", lambda p: p.write_bytes(p.read_bytes()[:100]),
             "model.weights.h5 has sha256")):
        out = tmp_path / name
        presets.save_to_preset(model, str(out))
        damage(out / name)
        with pytest.raises(PresetError, match=match):
            presets.from_preset(str(out))
    # a weights file that matches a (hand-edited) hash but is no HDF5 file
    out = tmp_path / "garbage"
    presets.save_to_preset(model, str(out))
    (out / "model.weights.h5").write_bytes(b"garbage")
    metadata = json.loads((out / "metadata.json").read_text())
    metadata["files"]["model.weights.h5"] = presets.sha256_file(str(out / "model.weights.h5"))
    (out / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(PresetError, match="cannot load model.weights.h5.*save or download"):
        presets.from_preset(str(out))


@pytest.mark.parametrize("damage", ["record", "weights", "weights-and-previous"])
def test_resume_from_a_damaged_backup_is_refused_before_anything_runs(tmp_path, capsys,
                                                                      damage):
    from training import copy_task

    out = tmp_path / "run"
    backup = out / "backup"
    backup.mkdir(parents=True)
    regressor().save_weights(str(backup / "latest.weights.h5"))
    (backup / "training_metadata.json").write_text('{"epoch": 0}')
    if damage == "record":
        (backup / "training_metadata.json").write_text('{"epoch": ')
    else:
        weights = backup / "latest.weights.h5"
        weights.write_bytes(weights.read_bytes()[:200])
        if damage == "weights-and-previous":
            (backup / "latest.weights.h5.bkp").write_bytes(b"x")
    with pytest.raises(SystemExit) as err:
        copy_task.parse_args(COPY + ["--output-dir", str(out), "--resume"])
    message = capsys.readouterr().err
    assert err.value.code == 2 and "--resume:" in message and "is damaged" in message
    assert "--overwrite" in message
    # a damaged latest backup with a readable previous one resumes (Keras falls back to it)
    if damage == "weights":
        regressor().save_weights(str(backup / "previous.weights.h5"))
        os.replace(backup / "previous.weights.h5", backup / "latest.weights.h5.bkp")
        copy_task.parse_args(COPY + ["--output-dir", str(out), "--resume"])


# --- a full disk ----------------------------------------------------------------------------

def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("where", ["weights", "text"])
def test_full_disk_while_saving_a_preset_keeps_the_earlier_one(tmp_path, monkeypatch, where):
    model = regressor()
    out = tmp_path / "preset"
    presets.save_to_preset(model, str(out), metadata={"metrics": {"test": {"mse": 1.0}}})
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    other = regressor(cell="rnn")
    if where == "weights":
        def partial_then_full(self, filepath, *args, **kwargs):
            with open(filepath, "wb") as f:
                f.write(b"\x89HDF half")  # a part of the file, then the disk is full
            _full_disk()

        monkeypatch.setattr(keras.Model, "save_weights", partial_then_full)
    else:
        real_open = open

        def full_open(path, mode="r", *args, **kwargs):
            if "w" in mode and str(tmp_path) in str(path):
                handle = real_open(path, mode, *args, **kwargs)
                handle.write = _full_disk
                return handle
            return real_open(path, mode, *args, **kwargs)

        monkeypatch.setattr("builtins.open", full_open)
    with pytest.raises(OSError) as err:
        presets.save_to_preset(other, str(out), metadata={"metrics": {"test": {"mse": 2.0}}})
    assert err.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no temporary left
    assert presets.from_preset(str(out)).preset_metadata["metrics"]["test"]["mse"] == 1.0


def test_full_disk_in_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "metrics.csv"
    atomic_write(str(path), "old\n")
    real_open = open

    def full_open(p, mode="r", *args, **kwargs):
        handle = real_open(p, mode, *args, **kwargs)
        if "w" in mode:
            handle.write = _full_disk
        return handle

    monkeypatch.setattr("builtins.open", full_open)
    with pytest.raises(OSError):
        atomic_write(str(path), "new\n")
    monkeypatch.undo()
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["metrics.csv"]


# --- one output directory, two runs ------------------------------------------------------

def _sleeper():
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def _write_lock(directory, pid):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, files.LOCK_NAME), "w") as f:
        f.write(f"{pid} {socket.gethostname()} 2024-01-01T00:00:00Z\n")


def test_a_run_in_progress_keeps_its_output_dir(tmp_path, capsys):
    from training import copy_task

    out = str(tmp_path / "run")
    args = copy_task.parse_args(COPY + ["--output-dir", out])  # both runs passed the checks
    other = _sleeper()
    try:
        _write_lock(out, other.pid)  # ... and the other one took the lock first
        with pytest.raises(SystemExit, match=rf"--output-dir: {out} is in use by another run "
                                             rf"\(process {other.pid} on"):
            runs.setup(args)
        assert os.listdir(out) == [files.LOCK_NAME]  # nothing written, nothing removed
        for extra in ([], ["--overwrite"]):
            with pytest.raises(SystemExit):
                copy_task.parse_args(COPY + ["--output-dir", out] + extra)
            assert "is in use by a running run" in capsys.readouterr().err
    finally:
        other.kill()
        other.wait()
    # its process ended without releasing the lock (SIGKILL): the next run takes it over
    runs.setup(args)
    assert files.lock_holder(out) is None and open(os.path.join(out, files.LOCK_NAME)).read(
        ).split()[0] == str(os.getpid())
    files.unlock_directory(out)
    assert sorted(os.listdir(out)) == ["command.txt"]


_RACER = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("files", sys.argv[1])
files = importlib.util.module_from_spec(spec)
spec.loader.exec_module(files)
while time.time() < float(sys.argv[3]):
    pass
try:
    files.hold_directory_lock(sys.argv[2])
    print("got", flush=True)
    time.sleep(0.5)
except files.DirectoryLockedError as e:
    print("busy", e, flush=True)
"""


def test_two_runs_started_at_once_get_one_lock(tmp_path):
    source = os.path.join(REPO, "keras_rnnzoo", "utils", "files.py")
    out = str(tmp_path / "run")
    start = time.time() + 0.6  # both are up and spinning by then
    racers = [subprocess.Popen([sys.executable, "-c", _RACER, source, out, str(start)],
                               stdout=subprocess.PIPE, text=True) for _ in range(2)]
    results = [r.communicate(timeout=30)[0] for r in racers]
    assert sorted(r.split()[0] for r in results) == ["busy", "got"], results
    assert "is in use by another run" in [r for r in results if r.startswith("busy")][0]
    assert os.listdir(out) == []  # the winner released it at exit


# --- the monitors -------------------------------------------------------------------------

def _monitored_fit(steps_per_execution, every):
    """{"train": {step: gradient norms}, "spectrum": {step: singular values}} of 8 SGD steps."""
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4, 3)).astype("float32")
    y = rng.normal(size=(16, 1)).astype("float32")
    inputs = keras.Input((4, 3))
    model = keras.Model(inputs, keras.layers.Dense(1)(layers.RNN(cells.GRUCell(4))(inputs)))
    model.compile(keras.optimizers.SGD(0.1), "mse", steps_per_execution=steps_per_execution)
    monitors = [callbacks.GradientNormMonitor(every=every, plots=False),
                callbacks.SpectrumMonitor(every=every, plots=False)]
    model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0, callbacks=monitors)
    assert int(to_numpy(model.optimizer.iterations)) == 8
    out = {"train": {}, "spectrum": {}}
    for r in monitors[0].history:
        out["train"].setdefault(r["step"], []).append(r["norm"])
    for r in monitors[1].history:
        out["spectrum"].setdefault(r["step"], []).append(r["sigma_max"])
    return out


@pytest.mark.skipif(BACKEND == "torch", reason="torch allows only steps_per_execution=1")
def test_monitors_count_optimiser_steps_with_steps_per_execution():
    """Executions of 4 steps, a sample every 3 (Keras calls the callbacks after steps 4
    and 8): the gradient rows are those of steps 3 and 6 (sampled inside the compiled
    step), the weights' rows those of steps 4 and 8; before the fix, 2 and 4."""
    many = _monitored_fit(4, 3)
    assert sorted(many["train"]) == [3, 6] and sorted(many["spectrum"]) == [4, 8]
    one = _monitored_fit(1, 1)  # every step: the reference values
    for source in ("train", "spectrum"):
        for step, got in many[source].items():
            np.testing.assert_allclose(got, one[source][step], rtol=1e-4,
                                       err_msg=f"{source} at step {step}")


def test_hidden_gradient_monitor_names_why_it_cannot_probe():
    x, y = np.ones((2, 4, 3), "float32"), np.ones((2, 1), "float32")
    inputs = keras.Input((4, 3))
    slow = layers.RNN(cells.GRUCell(4), fast_path=False)
    model = keras.Model(inputs, keras.layers.Dense(1)(slow(inputs)))
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"did not take the fast path on this batch \(because: "
                                         r"fast_path=False\).*fast_path=True"):
        callbacks.probe_gradients(model, x, y, hidden_layer=slow)
    outside = layers.RNN(cells.GRUCell(4))
    outside(x)
    with pytest.raises(ValueError, match="did not run when the model ran.*`layer=`"):
        callbacks.probe_gradients(model, x, y, hidden_layer=outside)


# JAX differentiates the probe op by op (about 5 s here): its run is in the slow tier.
@pytest.mark.parametrize("marked", [pytest.param(None, marks=[pytest.mark.slow] if BACKEND == "jax"
                                                 else [], id="masked")])
def test_hidden_gradient_monitor_on_a_masked_model(marked):
    ids = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0]], "int32")
    y = np.ones((2, 1), "float32")
    inputs = keras.Input((5,), dtype="int32")
    h = keras.layers.Embedding(10, 3, mask_zero=True)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(layers.RNN(cells.GRUCell(4))(h)))
    model.compile("sgd", "mse")
    norms = callbacks.HiddenGradientMonitor((ids, y)).hidden_gradient_norms(model)
    assert (norms[:3] > 0).all() and (norms[3:] == 0).all()  # masked steps: h_t is unused


def test_hidden_gradient_monitor_default_layer_of_a_bidirectional_model():
    from keras_rnnzoo.callbacks.gradients import _find_rnn  # the monitor's choice, no probe

    inputs = keras.Input((5, 3))
    bidirectional = keras.layers.Bidirectional(layers.RNN(cells.GRUCell(4)))
    model = keras.Model(inputs, keras.layers.Dense(1)(bidirectional(inputs)))
    assert _find_rnn(model, None) is bidirectional.forward_layer  # t in input order
    backward = bidirectional.backward_layer
    assert _find_rnn(model, backward.name) is backward and backward.name.startswith("backward_")


def test_the_readme_table_cites_existing_tests():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## Bad input: what the zoo says"):text.index("## Tests")]
    assert "```python" not in section  # tests/test_readme.py runs every python snippet
    cited = re.findall(r"`(tests/\w+\.py)::(\w+)`", section)
    assert len(cited) > 20
    for path, name in cited:
        with open(os.path.join(REPO, path), encoding="utf-8") as f:
            assert re.search(rf"^def {name}\(", f.read(), flags=re.M), f"{path}::{name}"
