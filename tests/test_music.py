"""Polyphonic music: loader, batches, NLL per frame, Bernoulli floor, training script."""

import csv
import json
import math
import os

import keras
import numpy as np
import pytest

from keras_rnnzoo import metrics, models, optimizers, presets, tasks
from keras_rnnzoo.models import evaluate_music
from keras_rnnzoo.tasks import music
from tests.conftest import BACKEND, REPO, to_numpy

BUNDLED = os.path.join(os.path.dirname(REPO), "shared", "data", "music")
SPLIT_LENGTHS = {"traindata": (5, 9, 3, 7, 6), "validdata": (4, 8), "testdata": (2, 6, 5)}


def _write_fixture(path, seed=0):
    """A tiny .mat file in the Boulanger-Lewandowski layout; returns the rolls."""
    import scipy.io

    rng = np.random.default_rng(seed)
    content, rolls = {}, {}
    for variable, lengths in SPLIT_LENGTHS.items():
        cells = np.empty((1, len(lengths)), dtype=object)
        rolls[variable] = []
        for i, length in enumerate(lengths):
            roll = (rng.random((length, 88)) < 0.1).astype(np.uint8)
            cells[0, i] = roll
            rolls[variable].append(roll)
        content[variable] = cells
    scipy.io.savemat(path, content)
    return rolls


@pytest.fixture
def fixture_dir(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    rolls = _write_fixture(str(data_dir / "JSB_Chorales.mat"))
    return str(data_dir), rolls


# ------------------------------------------------------------------ loader
def test_load_music_fixture_shapes_and_values(fixture_dir):
    data_dir, rolls = fixture_dir
    splits = tasks.load_music("jsb", data_dir, verify=False)
    assert len(splits) == 3
    for split, variable in zip(splits, ("traindata", "validdata", "testdata")):
        assert [s.shape for s in split] == [(n, 88) for n in SPLIT_LENGTHS[variable]]
        assert all(s.dtype == np.float32 for s in split)
        for s, roll in zip(split, rolls[variable]):
            np.testing.assert_array_equal(s, roll)
    # a music/ subdirectory of data_dir is found too
    nested = os.path.join(os.path.dirname(data_dir), "root")
    os.makedirs(os.path.join(nested, "music"))
    os.replace(os.path.join(data_dir, "JSB_Chorales.mat"),
               os.path.join(nested, "music", "JSB_Chorales.mat"))
    assert len(tasks.load_music("jsb", nested, verify=False)[0]) == 5


def test_load_music_rejects_a_non_standard_file(fixture_dir):
    data_dir, _ = fixture_dir
    with pytest.raises(ValueError) as err:
        tasks.load_music("jsb", data_dir)
    message = str(err.value)
    assert "JSB_Chorales.mat" in message and tasks.MUSIC_DATASETS["jsb"][1] in message
    assert "data_dir" in message and "standard" in message


def test_load_music_missing_file_and_bad_name(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError) as err:
        tasks.load_music("nottingham", str(tmp_path))
    message = str(err.value)
    assert "Nottingham.mat" in message and str(tmp_path) in message
    assert "No package ships" in message and "data_dir" in message
    with pytest.raises(ValueError, match="`name`"):
        tasks.load_music("bach", str(tmp_path))
    monkeypatch.delenv("RNNZOO_DATA_DIR", raising=False)
    with pytest.raises(ValueError, match="`data_dir`"):
        tasks.load_music("jsb")


@pytest.mark.skipif(not os.path.isdir(BUNDLED),
                    reason=f"bundled music files not found at {BUNDLED} (../shared/data/music)")
@pytest.mark.parametrize("name,sizes,floor_valid,floor_test", [
    ("jsb", (229, 76, 77), 10.98, 11.09),
    ("nottingham", (694, 173, 170), 10.01, 10.26),
])
def test_bundled_files_sizes_and_bernoulli_floor(name, sizes, floor_valid, floor_test):
    train, valid, test = tasks.load_music(name, BUNDLED)
    assert (len(train), len(valid), len(test)) == sizes == tasks.MUSIC_DATASETS[name][2]
    assert all(s.shape[1] == 88 and s.dtype == np.float32 for s in train)
    assert set(np.unique(np.concatenate(train))) == {0.0, 1.0}
    assert round(tasks.bernoulli_floor(train, valid), 2) == floor_valid
    assert round(tasks.bernoulli_floor(train, test), 2) == floor_test


# ------------------------------------------------------------------ metric
def test_nll_per_frame_matches_a_hand_computation():
    rng = np.random.default_rng(1)
    seqs = [(rng.random((t, 88)) < 0.2).astype(np.float32) for t in (3, 5)]
    probs = [rng.uniform(0.05, 0.95, (t - 1, 88)) for t in (3, 5)]
    total, frames = 0.0, 0
    for s, p in zip(seqs, probs):
        for t in range(1, s.shape[0]):
            for k in range(88):
                y, q = float(s[t, k]), float(p[t - 1, k])
                total -= y * math.log(q) + (1 - y) * math.log(1 - q)
            frames += 1
    expected = total / frames  # frame-weighted: 6 frames, not the mean of 2 sequences
    assert frames == 6
    assert metrics.music_nll_per_frame(probs, seqs) == pytest.approx(expected, rel=1e-12)
    logits = [np.log(p) - np.log1p(-p) for p in probs]
    assert metrics.music_nll_per_frame(logits, seqs, from_logits=True) == pytest.approx(
        expected, rel=1e-10)
    one = [np.ones((2, 88), np.float32)]
    assert metrics.music_nll_per_frame([np.full((1, 88), 0.5)], one) == pytest.approx(
        88 * math.log(2))
    with pytest.raises(ValueError, match=r"`predictions\[0\]`"):
        metrics.music_nll_per_frame([np.full((2, 88), 0.5)], one)
    with pytest.raises(ValueError, match="`predictions`"):
        metrics.music_nll_per_frame([], one)


def test_bernoulli_floor_definition():
    rng = np.random.default_rng(2)
    train = [(rng.random((t, 88)) < 0.3).astype(np.float32) for t in (4, 6)]
    test = [(rng.random((t, 88)) < 0.3).astype(np.float32) for t in (3, 5)]
    freq = np.concatenate([s[1:] for s in train]).astype(np.float64).mean(axis=0)  # targets only
    p = np.clip(freq, 1e-6, 1 - 1e-6)
    expected = metrics.music_nll_per_frame(
        [np.broadcast_to(p, (s.shape[0] - 1, 88)) for s in test], test)
    assert tasks.bernoulli_floor(train, test) == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(expected)  # keys never active in training are clipped, not log(0)
    with pytest.raises(ValueError, match="`clip`"):
        tasks.bernoulli_floor(train, test, clip=0.0)


def test_evaluate_music_equals_per_sequence_scoring():
    rng = np.random.default_rng(3)
    seqs = [(rng.random((t, 88)) < 0.2).astype(np.float32) for t in (2, 7, 11)]
    model = keras.Sequential([keras.Input((None, 88)),
                              keras.layers.SimpleRNN(6, return_sequences=True),
                              keras.layers.Dense(88)])
    per_sequence = [to_numpy(model(s[None, :-1]))[0] for s in seqs]
    expected = metrics.music_nll_per_frame(per_sequence, seqs, from_logits=True)
    got = evaluate_music(model, seqs, batch_size=2, pad_multiple=8)
    assert got == pytest.approx(expected, rel=1e-5)


def test_frame_nll_loss_and_metric_ignore_padding():
    rng = np.random.default_rng(4)
    y = (rng.random((2, 4, 88)) < 0.2).astype(np.float32)
    logits = rng.normal(size=(2, 4, 88)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], np.float32)
    per_frame = (np.maximum(logits, 0) - y * logits + np.log1p(np.exp(-np.abs(logits)))).sum(-1)
    mean = (per_frame * mask).sum() / mask.sum()
    loss = metrics.FrameNLL()(y, logits, sample_weight=mask)
    assert float(to_numpy(loss)) == pytest.approx(mean, rel=1e-5)
    total = metrics.FrameNLL(reduction="sum")(y, logits, sample_weight=mask)
    assert float(to_numpy(total)) == pytest.approx((per_frame * mask).sum(), rel=1e-5)
    metric = metrics.NLLPerFrame()
    metric.update_state(y[:1], logits[:1], sample_weight=mask[:1])
    metric.update_state(y[1:], logits[1:], sample_weight=mask[1:])
    assert float(to_numpy(metric.result())) == pytest.approx(mean, rel=1e-5)
    restored = metrics.FrameNLL.from_config(metrics.FrameNLL(reduction="sum").get_config())
    assert restored.reduction == "sum" and restored.from_logits


# ------------------------------------------------------------------ batches
def _seqs(lengths, seed=5):
    rng = np.random.default_rng(seed)
    return [(rng.random((t, 88)) < 0.2).astype(np.float32) for t in lengths]


def test_music_batches_one_sequence_per_step():
    seqs = _seqs((5, 9, 3, 7))
    ds = tasks.MusicBatches(seqs, batch_size=1, seed=0)
    assert len(ds) == 4
    seen = []
    for i in range(len(ds)):
        x, y, w = ds[i]
        idx = int(ds.order(0)[i])
        seen.append(idx)
        np.testing.assert_array_equal(x[0], seqs[idx][:-1])
        np.testing.assert_array_equal(y[0], seqs[idx][1:])
        assert w.shape == (1, seqs[idx].shape[0] - 1) and w.min() == 1.0
        assert x.dtype == y.dtype == w.dtype == np.float32
    assert sorted(seen) == [0, 1, 2, 3]  # one pass = every sequence once


def test_music_batches_padding_and_mask():
    seqs = _seqs((5, 9, 3, 7, 4))
    ds = tasks.MusicBatches(seqs, batch_size=2, seed=1, shuffle=False)
    assert len(ds) == 3
    x, y, w = ds[0]
    assert x.shape == y.shape == (2, 8, 88) and w.shape == (2, 8)
    np.testing.assert_array_equal(w.sum(axis=1), [4, 8])
    np.testing.assert_array_equal(x[0, :4], seqs[0][:-1])
    np.testing.assert_array_equal(y[0, :4], seqs[0][1:])
    assert not x[0, 4:].any() and not y[0, 4:].any()
    x, y, w = ds[2]  # last batch of the pass: one sequence
    assert x.shape == (1, 3, 88)
    padded = tasks.MusicBatches(seqs, batch_size=2, shuffle=False, pad_multiple=16)
    x, y, w = padded[0]
    assert x.shape == (2, 16, 88) and w.sum() == 12


def test_music_batches_shuffle_per_epoch_and_resume():
    seqs = _seqs(tuple(range(2, 22)))

    def epoch_orders(ds, epochs):
        out = []
        for _ in range(epochs):
            out.append([int(ds[i][0].shape[1]) for i in range(len(ds))])
            ds.on_epoch_end()
        return out

    first = epoch_orders(tasks.MusicBatches(seqs, seed=7), 3)
    again = epoch_orders(tasks.MusicBatches(seqs, seed=7), 3)
    assert first == again
    assert first[0] != first[1] and sorted(first[0]) == sorted(first[1])
    assert epoch_orders(tasks.MusicBatches(seqs, seed=7, start_epoch=2), 1)[0] == first[2]
    assert epoch_orders(tasks.MusicBatches(seqs, seed=8), 1)[0] != first[0]
    # fixed steps per Keras epoch walk through the same stream of passes
    stream = epoch_orders(tasks.MusicBatches(seqs, seed=7, steps_per_epoch=8), 5)
    assert sum(stream, []) == sum(first, [])[:40]
    resumed = epoch_orders(tasks.MusicBatches(seqs, seed=7, steps_per_epoch=8, start_epoch=3), 2)
    assert resumed == stream[3:]


def test_music_batches_reject_bad_arguments():
    with pytest.raises(ValueError, match="`batch_size`"):
        tasks.MusicBatches(_seqs((3, 4)), batch_size=0)
    with pytest.raises(ValueError, match="fewer than 2 frames"):
        tasks.MusicBatches(_seqs((1, 4)))
    with pytest.raises(ValueError, match=r"`sequences\[0\]`"):
        tasks.MusicBatches([np.zeros((4, 12))])


# ------------------------------------------------------------------ optimiser
def test_sgd_with_lr_multipliers_and_serialisation():
    opt = optimizers.SGD(0.5, lr_multipliers={"recurrent_kernel": 0.1}, global_clipnorm=5.0)
    kernel = keras.Variable(np.ones((2, 2), np.float32), name="kernel")
    recurrent = keras.Variable(np.ones((2, 2), np.float32), name="recurrent_kernel")
    opt.apply_gradients([(keras.ops.ones((2, 2)), kernel), (keras.ops.ones((2, 2)), recurrent)])
    np.testing.assert_allclose(to_numpy(kernel), 0.5, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(recurrent), 0.95, rtol=1e-6)
    restored = optimizers.SGD.from_config(opt.get_config())
    assert restored.lr_multipliers == {"recurrent_kernel": 0.1}
    assert restored.global_clipnorm == 5.0


# ------------------------------------------------------------------ script
def test_script_flags(monkeypatch, capsys):
    from training import polyphonic_music

    monkeypatch.delenv("RNNZOO_DATA_DIR", raising=False)
    with pytest.raises(SystemExit) as err:
        polyphonic_music.parse_args(["--output-dir", "unused"])
    assert err.value.code == 2
    assert "--data-dir" in capsys.readouterr().err
    monkeypatch.setenv("RNNZOO_DATA_DIR", "/somewhere")
    args = polyphonic_music.parse_args([])
    assert args.data_dir == "/somewhere" and args.cell == "stable_rnn"
    assert (args.optimizer, args.lr, args.clipnorm, args.hidden, args.batch_size) == (
        "sgd", 0.05, 5.0, 128, 1)
    assert args.output_dir == os.path.join("runs", f"music_jsb_stable_rnn_{BACKEND}")
    args = polyphonic_music.parse_args(["--cell", "scornn", "--hidden", "4", "--input-scale",
                                        "0.01"])
    model = polyphonic_music.build_model(args)
    assert isinstance(model.optimizer, optimizers.SGD)
    assert model.optimizer.lr_multipliers == {"recurrent_kernel": pytest.approx(0.1)}


@pytest.mark.slow  # finite-loss smoke step; the script trains end to end in the default tier
def test_script_scornn_model_takes_a_finite_step(monkeypatch):
    from training import polyphonic_music

    monkeypatch.setenv("RNNZOO_DATA_DIR", "/somewhere")
    args = polyphonic_music.parse_args(["--cell", "scornn", "--hidden", "4", "--input-scale",
                                        "0.01"])
    model = polyphonic_music.build_model(args)
    x = _seqs((6,))[0][None]
    loss = model.train_on_batch(x[:, :-1], x[:, 1:], sample_weight=np.ones((1, 5), np.float32))
    assert np.isfinite(np.ravel(loss)[0])


def test_script_end_to_end_on_the_fixture(fixture_dir, tmp_path, monkeypatch, capsys):
    from training import polyphonic_music  # in process: a subprocess pays ~10 s of imports

    data_dir, _ = fixture_dir
    out = str(tmp_path / "run")
    monkeypatch.delenv("RNNZOO_DATA_DIR", raising=False)
    polyphonic_music.main(["--data-dir", data_dir, "--no-verify", "--steps", "2",
                           "--log-every", "2", "--hidden", "4", "--output-dir", out])
    stdout = capsys.readouterr().out
    for name in ("metrics.csv", "loss.png", "nll_per_frame.png", "config.json",
                 "model.weights.h5", "metadata.json", "command.txt", "eval.json"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    result = json.load(open(os.path.join(out, "eval.json")))
    assert np.isfinite(result["valid_nll_per_frame"]) and np.isfinite(result["test_nll_per_frame"])
    train, valid, test = tasks.load_music("jsb", data_dir, verify=False)
    assert result["bernoulli_floor_test"] == pytest.approx(tasks.bernoulli_floor(train, test))
    assert "Bernoulli floor" in stdout
    with open(os.path.join(out, "metrics.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["2"] and "nll_per_frame" in rows[0]
    model = presets.from_preset(out)  # the run directory is a preset
    assert isinstance(model, models.FramePredictor)
    assert model.preset_metadata["hyperparameters"]["loss_reduction"] == "sum"
    again = presets.evaluate_preset(model, data_dir=data_dir, verify=False)
    for split in ("valid", "test"):
        assert again[split]["nll_per_frame"] == pytest.approx(
            model.preset_metadata["metrics"][split]["nll_per_frame"], rel=1e-5)
    # the sha256 check is on by default: the fixture is refused with a clear message
    args = polyphonic_music.parse_args(["--data-dir", data_dir, "--output-dir",
                                        str(tmp_path / "other")])
    with pytest.raises(SystemExit) as err:
        polyphonic_music.load(args)
    assert "sha256" in str(err.value.code) and music.MUSIC_DATASETS["jsb"][1] in str(err.value.code)


def _weights(model):
    cell = model.backbone.get_layer("rnn").cell
    return {w.path.split("/")[-1]: to_numpy(w) for w in cell.weights}


@pytest.mark.parametrize("cell", ["stable_lstm", "lstm", "gru", "stable_rnn", "rnn"])
def test_author_init_offsets_and_read_out(cell):
    """--init author: Miller & Hardt's bias[n//4:n//2] = 10 in b_ih and b_hh, read-out U(+-0.1)."""
    from training import polyphonic_music

    h = 8
    args = polyphonic_music.parse_args(["--data-dir", "unused", "--output-dir", "unused",
                                        "--cell", cell, "--hidden", str(h), "--init", "author"])
    model = polyphonic_music.build_model(args)
    bias = _weights(model)["bias"]
    offset = np.zeros(bias.shape, bool)
    if cell in ("lstm", "stable_lstm"):  # (4H,) = b_ih + b_hh, forget block [H, 2H): 20
        offset[h:2 * h] = True
        value, bound = 20.0, 2 / np.sqrt(h)
    elif cell in ("rnn", "stable_rnn"):  # (H,): units H/4 ... H/2 - 1: 20
        offset[h // 4:h // 2] = True
        value, bound = 20.0, 2 / np.sqrt(h)
    else:  # (2, 3H), Keras order z, r, h; PyTorch's slice [6, 12) of (r, z, n) is r 6-7, z 0-3
        offset[:, 0:4] = True
        offset[:, h + 6:2 * h] = True
        value, bound = 10.0, 1 / np.sqrt(h)
    np.testing.assert_array_equal(bias[offset], value)
    rest = bias[~offset]
    assert np.abs(rest).max() <= bound + 1e-6 and np.abs(rest).max() > 0  # PyTorch's draws
    readout = model.get_layer("readout")
    kernel, readout_bias = to_numpy(readout.kernel), to_numpy(readout.bias)
    assert np.abs(kernel).max() <= 0.1 + 1e-7 and np.abs(kernel).max() > 0.09
    assert kernel.std() == pytest.approx(0.1 / np.sqrt(3), rel=0.1)
    np.testing.assert_array_equal(readout_bias, 0.0)
    if cell == "rnn":  # the author's nn.RNN init, not Keras' SimpleRNN one
        assert np.abs(_weights(model)["kernel"]).max() <= 1 / np.sqrt(h) + 1e-6


def test_default_init_has_no_offsets_and_bad_init_is_refused(capsys):
    from training import polyphonic_music

    common = ["--data-dir", "unused", "--output-dir", "unused", "--hidden", "8"]
    model = polyphonic_music.build_model(polyphonic_music.parse_args(
        common + ["--cell", "stable_lstm"]))
    assert np.abs(_weights(model)["bias"]).max() <= 2 / np.sqrt(8)
    assert np.abs(to_numpy(model.get_layer("readout").kernel)).max() > 0.1  # Glorot, 88 + 8
    for argv, text in ((["--cell", "asrnn", "--init", "author"], "--init author"),
                       (["--init", "torch"], "--init")):
        with pytest.raises(SystemExit) as err:
            polyphonic_music.parse_args(common + argv)
        assert err.value.code == 2
        message = capsys.readouterr().err
        assert text in message and ("stable_lstm" in message or "invalid choice" in message)
    with pytest.raises(SystemExit):
        polyphonic_music.parse_args(["--help"])
    assert "U(-0.1, 0.1)" in " ".join(capsys.readouterr().out.split())
