"""Morita's synthetic token tasks: reverse ordering and its relatives.

Tasks (spec tasks.md, "Morita tasks"; official code
``tkc-morita/position-encoded_rnn``), V real tokens ``0 .. V-1`` drawn i.i.d.
uniformly and the dummy token with id V:

* ``"reverse"``: input s_1..s_L, dummy x L; target s_{L+1-j} at input
  position L + j (j = 1..L). L = 64 in the paper.
* ``"sort"``: same input; target sort(s) (ascending) at the last L positions.
* ``"dual_frequency"``: reverse ordering over a frequent half {0..V/2-1} and a
  rare half; each token is k ~ U{0..V/2-1}, replaced by k + V/2 with
  probability ``rarity`` (1/8). Test set: four groups of ``num_test/4``
  sequences crossing *target token frequent / rare* with *context frequent /
  rare*; sequence n of a group has its designated position p = n mod L
  filled from the target class and every other position from the context
  class; accuracy is read at the output position where s_p is due.
* ``"variable_length"``: n ~ U{min_length..length} per sequence; input
  s_1..s_n, then dummies up to 2 x length; target reverse(s) in the window of
  the n steps after the input; ``num_test`` held-out sequences per length.
* ``"delayed_sum"``: w_1..w_{2L} (L = 16: 32 tokens), no dummy phase; target
  (w_{L+1-j} + w_{L+j}) mod V at step L + j (j = 1..L).
* ``"predecessor_query"``: L distinct tokens, then a query q = s_j with j ~
  U{2..L}; target s_{j-1} at the last step only (length L + 1).

Every sample is ``(x, y, mask)``: x (n, T) int32 token ids, y (n, T) int32
targets (0 where no loss is taken) and mask (n, T) float32, 1 exactly at the
positions in the loss. Pass the mask as ``sample_weight``; with
:func:`masked_cross_entropy` (reduction ``"mean_with_sample_weight"``) the
loss is the paper's mean cross-entropy over the output positions (Keras'
default ``"sum_over_batch_size"`` would divide by all n x T positions).

Split: ``num_test`` (1024) distinct held-out sequences are drawn first from
``seed``; every training sequence is rejection-sampled until it differs from
all of them (uniqueness is on the raw token sequence: the L input tokens, the
2L tokens of the delayed sum, the (length, tokens) pair of the variable-length
task, the L tokens before the query of the predecessor query).
"""

import math

import keras
import numpy as np
from keras import ops

from keras_rnnzoo.tasks._batches import SeededBatches

MORITA_TASKS = (
    "reverse", "sort", "dual_frequency", "variable_length", "delayed_sum", "predecessor_query",
)
DEFAULT_LENGTHS = {
    "reverse": 64, "sort": 64, "dual_frequency": 64, "variable_length": 64,
    "delayed_sum": 16, "predecessor_query": 16,
}
NUM_TEST = 1024
RARITY = 1.0 / 8.0
GROUP_NAMES = ("frequent-frequent", "frequent-rare", "rare-frequent", "rare-rare")
"""Dual-frequency test groups, named *target class - context class*."""

_TEST_STREAM, _TRAIN_STREAM = 0, 1


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _binary_entropy(p):
    return -p * math.log(p) - (1.0 - p) * math.log(1.0 - p)


def morita_baseline(name, vocab_size, rarity=RARITY):
    """Memoryless cross-entropy baseline (nats per output token).

    ln V for ``reverse``, ``variable_length`` and ``delayed_sum``; an upper
    bound ln V for ``sort`` (a position-aware predictor does somewhat better);
    ln(V/2) + H_b(rarity) for ``dual_frequency`` (the unigram entropy); and
    ln(V - 1) for ``predecessor_query`` (an input-blind model can only exclude
    the query token it sees).
    """
    if name not in MORITA_TASKS:
        raise ValueError(f"`name` must be one of {MORITA_TASKS}; got {name!r}.")
    _check_vocab(vocab_size)
    if name == "dual_frequency":
        _check_rarity(rarity)
        return math.log(vocab_size // 2) + _binary_entropy(rarity)
    if name == "predecessor_query":
        return math.log(vocab_size - 1)
    return math.log(vocab_size)


def _check_vocab(vocab_size):
    if not _is_int(vocab_size) or vocab_size < 2:
        raise ValueError(
            f"`vocab_size` (V) must be an int >= 2 (a vocabulary of one token has nothing to "
            f"learn); got {vocab_size!r}."
        )


def _check_rarity(rarity):
    if isinstance(rarity, bool) or not isinstance(rarity, (int, float)) or not 0.0 < rarity < 1.0:
        raise ValueError(f"`rarity` must be a probability in (0, 1) (paper: 1/8); got {rarity!r}.")


def _rng(seed, stream):
    entropy = list(seed) if isinstance(seed, (tuple, list)) else seed
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(stream,)))


def _check_seed(seed, name="seed"):
    parts = seed if isinstance(seed, (tuple, list)) else (seed,)
    if not parts or not all(_is_int(s) and s >= 0 for s in parts):
        raise ValueError(f"`{name}` must be a non-negative int or a tuple of them; got {seed!r}.")


def _fill(rows, redraw, exclude, unique):
    """Redraw (``redraw(slots)``) every row whose bytes are in ``exclude``.

    With ``unique`` the accepted rows are added to ``exclude``, so they are
    also distinct from each other (first occurrence wins; deterministic).
    """
    pending = np.arange(len(rows))
    while len(pending):
        bad = []
        for i in pending:
            key = rows[i].tobytes()
            if key in exclude:
                bad.append(i)
            elif unique:
                exclude.add(key)
        pending = np.asarray(bad, dtype=np.int64)
        if len(pending):
            rows[pending] = redraw(pending)
    return rows


def _fill_unique(draw, count, seen):
    return _fill(draw(np.arange(count)), draw, seen, unique=True)


class MoritaTask:
    """One Morita task: its held-out test set, training samples and metrics.

    The test set is drawn first from ``seed`` (``num_test`` distinct
    sequences, per length for ``variable_length``); :meth:`sample` draws
    training samples that never equal a held-out sequence. Everything is a
    pure function of the constructor arguments and the sample seed.

    Args:
        name: one of ``MORITA_TASKS``.
        vocab_size: V (>= 2), the number of real tokens; the dummy id is V.
        length: L (default: 64 for reverse/sort/dual_frequency, the maximum
            length 64 for variable_length, the half length 16 for delayed_sum,
            16 for predecessor_query).
        seed: non-negative int; seeds the held-out set and, by default, the
            training batches (separate streams).
        num_test: held-out sequences (1024; per length for variable_length;
            a multiple of 4 for dual_frequency).
        rarity: dual_frequency only: probability of a rare token (1/8).
        min_length: variable_length only: shortest length (default
            ``length // 2``, i.e. 32 for the paper's 64).

    Attributes:
        input_length: T, the number of input steps (pass it as
            ``PositionalEncoding(max_length=...)``): 2L, 2 x length for
            variable_length, 2L for delayed_sum (its L is the half length),
            L + 1 for predecessor_query.
        dummy_id: V. num_classes: V (the read-out predicts real tokens only).

    Example:
        >>> task = make_task("reverse", vocab_size=32, length=8, seed=0)
        >>> x, y, mask = task.test_set()
        >>> x.shape, task.input_length
        ((1024, 16), 16)
        >>> train = task.batches(batch_size=64, steps_per_epoch=100)
        >>> # model.compile(loss=masked_cross_entropy(),
        >>> #               weighted_metrics=[MaskedTokenAccuracy()])
        >>> # model.fit(train, epochs=...); task.evaluate(model)

    Reference:
        T. Morita, *Positional Encoding Helps Recurrent Neural Networks Handle
        a Large Vocabulary*, TMLR 2024 (arXiv 2402.00236).
    """

    def __init__(self, name, vocab_size, length=None, seed=0, num_test=NUM_TEST, rarity=RARITY,
                 min_length=None):
        if name not in MORITA_TASKS:
            raise ValueError(f"`name` must be one of {MORITA_TASKS}; got {name!r}.")
        _check_vocab(vocab_size)
        if length is None:
            length = DEFAULT_LENGTHS[name]
        min_len = 2 if name in ("dual_frequency", "predecessor_query") else 1
        if not _is_int(length) or length < min_len:
            raise ValueError(f"`length` must be an int >= {min_len} for {name!r}; got {length!r}.")
        _check_seed(seed)
        if not _is_int(num_test) or num_test < 1:
            raise ValueError(f"`num_test` must be an int >= 1; got {num_test!r}.")
        _check_rarity(rarity)
        self.name = name
        self.vocab_size = int(vocab_size)
        self.length = int(length)
        self.seed = seed
        self.num_test = int(num_test)
        self.rarity = float(rarity)
        self.min_length = None
        V, L = self.vocab_size, self.length
        if name == "variable_length":
            if min_length is None:
                min_length = max(1, L // 2)
            if not _is_int(min_length) or not 1 <= min_length <= L:
                raise ValueError(
                    f"`min_length` must be an int in [1, length={L}]; got {min_length!r}."
                )
            self.min_length = int(min_length)
        elif min_length is not None:
            raise ValueError("`min_length` only applies to name='variable_length'; leave it None.")
        # Held-out capacity (the official code asserts patterns > num_held_out).
        if name == "dual_frequency":
            if V % 2:
                raise ValueError(
                    f"`vocab_size` must be even for 'dual_frequency' (frequent and rare halves); "
                    f"got {V}."
                )
            if num_test % 4:
                raise ValueError(
                    f"`num_test` must be a multiple of 4 for 'dual_frequency' (four test groups); "
                    f"got {num_test}."
                )
            patterns, needed, what = (V // 2) ** L, num_test // 4, f"(V/2)^L = {V // 2}^{L}"
        elif name == "predecessor_query":
            if L > V:
                raise ValueError(
                    f"`length` ({L}) must not exceed `vocab_size` ({V}): the predecessor-query "
                    "sequence has no repeated token."
                )
            patterns, needed, what = math.perm(V, L), num_test, f"V!/(V-L)! = P({V}, {L})"
        elif name == "delayed_sum":
            patterns, needed, what = V ** (2 * L), num_test, f"V^(2L) = {V}^{2 * L}"
        elif name == "variable_length":
            m = self.min_length
            patterns, needed, what = V ** m, num_test, f"V^min_length = {V}^{m}"
        else:
            patterns, needed, what = V ** L, num_test, f"V^L = {V}^{L}"
        if patterns <= needed:
            raise ValueError(
                f"Cannot hold out {needed} distinct test sequences from {what} = {patterns} "
                f"patterns: increase `vocab_size` or `length`, or lower `num_test`."
            )
        self._test = None
        self._test_info = None
        self._test_keys = None

    # ------------------------------------------------------------------ layout
    @property
    def dummy_id(self):
        """Id of the dummy token: V."""
        return self.vocab_size

    @property
    def num_classes(self):
        """Read-out size: V (the dummy token is never a target)."""
        return self.vocab_size

    @property
    def input_length(self):
        """T, the number of input steps."""
        if self.name == "predecessor_query":
            return self.length + 1
        return 2 * self.length

    def baseline(self):
        """Memoryless cross-entropy per output token; see :func:`morita_baseline`."""
        return morita_baseline(self.name, self.vocab_size, self.rarity)

    def layout(self, tokens, lengths=None, query_index=None):
        """Build ``(x, y, mask)`` from raw token sequences.

        Args:
            tokens: (n, K) ints: the L input tokens (reverse, sort,
                dual_frequency, predecessor_query), the 2L tokens
                (delayed_sum), or tokens padded with V to ``length``
                (variable_length).
            lengths: variable_length only: (n,) sequence lengths.
            query_index: predecessor_query only: (n,) 0-based index j - 1 of
                the queried token, in 1 .. L - 1.

        Returns:
            x (n, T) int32, y (n, T) int32, mask (n, T) float32.
        """
        tokens = np.asarray(tokens, dtype=np.int32)
        n = tokens.shape[0]
        V, L, T = self.vocab_size, self.length, self.input_length
        y = np.zeros((n, T), dtype=np.int32)
        mask = np.zeros((n, T), dtype=np.float32)
        if self.name in ("reverse", "sort", "dual_frequency"):
            x = np.concatenate([tokens, np.full((n, L), V, dtype=np.int32)], axis=1)
            y[:, L:] = np.sort(tokens, axis=1) if self.name == "sort" else tokens[:, ::-1]
            mask[:, L:] = 1.0
        elif self.name == "delayed_sum":
            x = tokens.copy()
            y[:, L:] = (tokens[:, :L][:, ::-1] + tokens[:, L:]) % V
            mask[:, L:] = 1.0
        elif self.name == "predecessor_query":
            rows = np.arange(n)
            query_index = np.asarray(query_index)
            x = np.concatenate([tokens, tokens[rows, query_index][:, None]], axis=1)
            y[:, L] = tokens[rows, query_index - 1]
            mask[:, L] = 1.0
        else:  # variable_length
            lengths = np.asarray(lengths)[:, None]
            x = np.full((n, T), V, dtype=np.int32)
            steps = np.arange(L)[None, :]
            x[:, :L] = np.where(steps < lengths, tokens, V)
            k = np.arange(T)[None, :] - lengths  # output step within the window
            valid = (k >= 0) & (k < lengths)
            src = np.clip(lengths - 1 - k, 0, L - 1)
            y = np.where(valid, np.take_along_axis(tokens, src, axis=1), 0).astype(np.int32)
            mask = valid.astype(np.float32)
        return x.astype(np.int32), y, mask

    # -------------------------------------------------------------- sampling
    def _uniform(self, rng, count, width):
        return rng.integers(0, self.vocab_size, size=(count, width), dtype=np.int32)

    def _distinct(self, rng, count):
        """``count`` rows of L distinct tokens (uniform random L-permutations)."""
        keys = rng.random((count, self.vocab_size))
        chosen = np.argpartition(keys, self.length - 1, axis=1)[:, : self.length]
        order = np.argsort(np.take_along_axis(keys, chosen, axis=1), axis=1)
        return np.take_along_axis(chosen, order, axis=1).astype(np.int32)

    def _pad(self, tokens, lengths):
        steps = np.arange(self.length)[None, :]
        return np.where(steps < lengths[:, None], tokens, self.vocab_size).astype(np.int32)

    def _dual(self, rng, count):
        half = self.vocab_size // 2
        tokens = rng.integers(0, half, size=(count, self.length), dtype=np.int32)
        rare = rng.random((count, self.length)) < self.rarity
        return tokens + half * rare.astype(np.int32)

    def _draw_train(self, rng, count):
        """Training-distribution draw: (keys, extras) before rejection."""
        name, L = self.name, self.length
        if name == "dual_frequency":
            return self._dual(rng, count), {}
        if name == "delayed_sum":
            return self._uniform(rng, count, 2 * L), {}
        if name == "predecessor_query":
            return self._distinct(rng, count), {}
        if name == "variable_length":
            lengths = rng.integers(self.min_length, L + 1, size=count)
            return self._pad(self._uniform(rng, count, L), lengths), {"lengths": lengths}
        return self._uniform(rng, count, L), {}

    def _build_test(self):
        rng = _rng(self.seed, _TEST_STREAM)
        seen = set()
        name, L, V = self.name, self.length, self.vocab_size
        info = {}
        if name == "variable_length":
            blocks, lengths = [], []
            for n in range(self.min_length, L + 1):
                full = np.full(self.num_test, n)
                blocks.append(
                    _fill_unique(lambda s, full=full: self._pad(self._uniform(rng, len(s), L), full[s]),
                          self.num_test, seen)
                )
                lengths.append(full)
            keys = np.concatenate(blocks)
            info["lengths"] = np.concatenate(lengths)
            test = self.layout(keys, lengths=info["lengths"])
        elif name == "dual_frequency":
            half, size = V // 2, self.num_test // 4
            position = np.arange(size) % L
            blocks = []
            for target_class, context_class in ((0, 0), (0, 1), (1, 0), (1, 1)):
                def draw(slots, t=target_class, c=context_class):
                    rows = rng.integers(0, half, size=(len(slots), L), dtype=np.int32) + c * half
                    rows[np.arange(len(slots)), position[slots]] = (
                        rng.integers(0, half, size=len(slots), dtype=np.int32) + t * half
                    )
                    return rows
                blocks.append(_fill_unique(draw, size, seen))
            keys = np.concatenate(blocks)
            info["group"] = np.repeat(np.arange(4), size)
            info["group_names"] = GROUP_NAMES
            info["position"] = np.tile(position, 4)
            info["target_position"] = 2 * L - 1 - info["position"]
            test = self.layout(keys)
        elif name == "predecessor_query":
            keys = _fill_unique(lambda s: self._distinct(rng, len(s)), self.num_test, seen)
            info["query_index"] = rng.integers(1, L, size=self.num_test)
            test = self.layout(keys, query_index=info["query_index"])
        else:
            width = 2 * L if name == "delayed_sum" else L
            keys = _fill_unique(lambda s: self._uniform(rng, len(s), width), self.num_test, seen)
            test = self.layout(keys)
        self._test, self._test_info, self._test_keys = test, info, frozenset(seen)

    def test_set(self):
        """The held-out set ``(x, y, mask)`` (copies; drawn once, cached).

        ``num_test`` sequences, ``num_test`` per length in order of length for
        variable_length, and the four groups of :data:`GROUP_NAMES` in order
        for dual_frequency (see :meth:`test_info`).
        """
        if self._test is None:
            self._build_test()
        return tuple(a.copy() for a in self._test)

    def test_info(self):
        """Per-sequence annotations of the held-out set (a dict of arrays).

        ``lengths`` (variable_length); ``group`` (0..3, see ``group_names``),
        ``position`` (designated input index p) and ``target_position`` (the
        input step 2L - 1 - p where s_p is due) for dual_frequency;
        ``query_index`` (0-based j - 1) for predecessor_query; empty otherwise.
        """
        if self._test is None:
            self._build_test()
        return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self._test_info.items()}

    def sample(self, num_samples, seed):
        """Training samples ``(x, y, mask)``, none equal to a held-out sequence.

        A pure function of the task and ``seed`` (an int or a tuple of
        non-negative ints; drawn from a stream separate from the test set's).
        """
        if not _is_int(num_samples) or num_samples < 1:
            raise ValueError(f"`num_samples` must be an int >= 1; got {num_samples!r}.")
        _check_seed(seed)
        if self._test is None:
            self._build_test()
        rng = _rng(seed, _TRAIN_STREAM)
        keys, extras = self._draw_train(rng, num_samples)

        def redraw(slots):
            new, new_extras = self._draw_train(rng, len(slots))
            for k, v in new_extras.items():
                extras[k][slots] = v
            return new

        keys = _fill(keys, redraw, self._test_keys, unique=False)
        if self.name == "predecessor_query":
            return self.layout(keys, query_index=rng.integers(1, self.length, size=num_samples))
        return self.layout(keys, **extras)

    def batches(self, batch_size, steps_per_epoch=100, seed=None, start_epoch=0):
        """A :class:`MoritaBatches` dataset of fresh training batches."""
        return MoritaBatches(self, batch_size, steps_per_epoch, seed, start_epoch)

    def evaluate(self, model_or_predictions, batch_size=256, from_logits=True):
        """:func:`evaluate_sequences` on this task's held-out set."""
        return evaluate_sequences(model_or_predictions, self, batch_size=batch_size,
                                  from_logits=from_logits)

    def get_config(self):
        return {
            "name": self.name, "vocab_size": self.vocab_size, "length": self.length,
            "seed": self.seed, "num_test": self.num_test, "rarity": self.rarity,
            "min_length": self.min_length,
        }


def make_task(name, vocab_size, length=None, seed=0, **kwargs):
    """Build a :class:`MoritaTask` (same arguments).

    Example:
        >>> task = make_task("sort", vocab_size=64, length=16, seed=111)
    """
    return MoritaTask(name, vocab_size, length=length, seed=seed, **kwargs)


class MoritaBatches(SeededBatches):
    """Fresh training batches ``(x, y, mask)`` of a :class:`MoritaTask`.

    Batch ``i`` of epoch ``e`` is ``task.sample(batch_size, seed=(seed, e,
    i))``, so every step sees new data (never a held-out sequence) and a
    resumed run (``start_epoch``) sees the same data it would have seen.
    ``model.fit`` reads the mask as ``sample_weight``.

    Args:
        task: a :class:`MoritaTask`.
        batch_size: samples per batch (the paper: 512).
        steps_per_epoch: batches per epoch.
        seed: non-negative int (default: the task's seed).
        start_epoch: epoch index of the first epoch (for resuming).
    """

    def __init__(self, task, batch_size, steps_per_epoch=100, seed=None, start_epoch=0):
        if not isinstance(task, MoritaTask):
            raise ValueError(f"`task` must be a MoritaTask (see make_task); got {task!r}.")
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"`batch_size` must be an int >= 1; got {batch_size!r}.")
        seed = task.seed if seed is None else seed
        _check_seed(seed)
        super().__init__(steps_per_epoch, seed, start_epoch)
        self.task = task
        self.batch_size = batch_size

    def draw(self, seed):
        return self.task.sample(self.batch_size, seed=seed)


# ------------------------------------------------------------------ metrics
def _dl_batch(a, b):
    """Unrestricted Damerau-Levenshtein distance of equal-shape batches of rows.

    Lowrance-Wagner recurrence, vectorised over the batch and over each row
    (the insertion chain of a row is a running minimum).
    """
    a = np.asarray(a)
    b = np.asarray(b)
    batch, m = a.shape
    n = b.shape[1]
    if m == 0 or n == 0:
        return np.full(batch, m + n, dtype=np.int32)
    maxdist = m + n
    d = np.full((batch, m + 2, n + 2), maxdist, dtype=np.int32)
    d[:, 1:, 1] = np.arange(m + 1)
    d[:, 1, 1:] = np.arange(n + 1)
    eq = a[:, :, None] == b[:, None, :]
    # last_row[:, i, j]: last row i' <= i (1-based) with a_i' == b_{j+1}; 0 if none.
    last_row = np.maximum.accumulate(np.where(eq, np.arange(1, m + 1)[None, :, None], 0), axis=1)
    last_row = np.concatenate([np.zeros((batch, 1, n), np.int32), last_row], axis=1)
    # last_col[:, i, j]: last column j' <= j with a_{i+1} == b_j'; 0 if none.
    last_col = np.maximum.accumulate(np.where(eq, np.arange(1, n + 1)[None, None, :], 0), axis=2)
    last_col = np.concatenate([np.zeros((batch, m, 1), np.int32), last_col], axis=2)
    rows = np.arange(batch)[:, None]
    cols = np.arange(1, n + 1)[None, :]
    steps = np.arange(n + 1)[None, :]
    for i in range(1, m + 1):
        cost = (~eq[:, i - 1, :]).astype(np.int32)
        k = last_row[:, i - 1, :]  # last row < i matching b_j
        l = last_col[:, i - 1, :n]  # last column < j in row i matching a_i
        best = np.minimum(d[:, i, 1:n + 1] + cost, d[:, i, 2:] + 1)
        best = np.minimum(best, d[rows, k, l] + (i - k - 1) + 1 + (cols - l - 1))
        chain = np.concatenate([d[:, i + 1, 1:2], best], axis=1)  # d[i+1, 1] = i
        d[:, i + 1, 1:] = np.minimum.accumulate(chain - steps, axis=1) + steps
    return d[:, m + 1, n + 1]


def damerau_levenshtein(a, b):
    """Unrestricted Damerau-Levenshtein distance (insertions, deletions,
    substitutions and transpositions of adjacent symbols, with edits allowed
    between transposed symbols).

    This is the true Damerau-Levenshtein distance, as computed by
    ``rapidfuzz.distance.DamerauLevenshtein`` (used by the official code),
    not the restricted optimal-string-alignment (OSA) distance: e.g.
    d("CA", "ABC") = 2 here and 3 under OSA.

    Args:
        a, b: two 1-D sequences of ints (any lengths), or two 2-D arrays of
            rows (batch, m) and (batch, n), compared row by row.

    Returns:
        An int for 1-D inputs, an int array of shape (batch,) for 2-D ones.

    Example:
        >>> damerau_levenshtein([1, 2, 3], [2, 1, 3])
        1
    """
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.ndim == 1 and b_arr.ndim == 1:
        return int(_dl_batch(a_arr[None], b_arr[None])[0])
    if a_arr.ndim != 2 or b_arr.ndim != 2 or a_arr.shape[0] != b_arr.shape[0]:
        raise ValueError(
            "`a` and `b` must both be 1-D sequences or 2-D arrays with the same number of rows; "
            f"got shapes {a_arr.shape} and {b_arr.shape}."
        )
    return _dl_batch(a_arr, b_arr)


def _summary(pred, y, m):
    """Token/sequence accuracy and mean DL distance over rows with outputs."""
    correct = (pred == y) & m
    counts = m.sum(axis=1)
    rows = counts > 0
    token = float(correct.sum() / max(m.sum(), 1))
    seq = float(np.mean(correct.sum(axis=1)[rows] == counts[rows])) if rows.any() else float("nan")
    dists = []
    for c in np.unique(counts[rows]):
        sel = counts == c
        p = pred[sel][m[sel]].reshape(-1, c)
        t = y[sel][m[sel]].reshape(-1, c)
        dists.append(_dl_batch(p, t))
    dl = float(np.mean(np.concatenate(dists))) if dists else float("nan")
    return {"token_accuracy": token, "sequence_accuracy": seq, "damerau_levenshtein": dl}


def evaluate_sequences(model_or_predictions, data, batch_size=256, from_logits=True):
    """Token accuracy, full-sequence accuracy and mean Damerau-Levenshtein
    distance over the masked (output) positions, in NumPy.

    Args:
        model_or_predictions: a Keras model (anything with ``predict``)
            mapping x (n, T) to scores (n, T, V); or its scores (n, T, V);
            or predicted token ids (n, T).
        data: a :class:`MoritaTask` (its held-out set) or a tuple ``(x, y,
            mask)``.
        batch_size: prediction batch size for a model.
        from_logits: whether the scores are logits (else probabilities); only
            used for the cross-entropy.

    Returns:
        A dict: ``token_accuracy`` (mean over all output tokens),
        ``sequence_accuracy`` (all output tokens of a sequence right),
        ``damerau_levenshtein`` (mean over sequences of the unrestricted DL
        distance between the predicted and the target output sequence,
        unnormalised, as the paper's rapidfuzz call); with scores also
        ``cross_entropy`` (mean over output tokens, nats) and ``perplexity``.
        For a dual_frequency task, ``groups``: per group of
        :data:`GROUP_NAMES`, ``accuracy`` at the designated output position,
        ``accuracy_per_position`` (array of L: indexed by the output step
        0..L-1 of the designated position; NaN where no sequence) and the
        group's overall metrics. For a variable_length task, ``per_length``:
        the metrics of each length.

    Example:
        >>> task = make_task("reverse", vocab_size=16, length=8)
        >>> x, y, mask = task.test_set()
        >>> evaluate_sequences(y, task)["token_accuracy"]  # the targets themselves
        1.0
    """
    info = {}
    name = None
    if isinstance(data, MoritaTask):
        x, y, mask = data.test_set()
        info, name = data.test_info(), data.name
    else:
        if not isinstance(data, (tuple, list)) or len(data) != 3:
            raise ValueError("`data` must be a MoritaTask or a tuple (x, y, mask).")
        x, y, mask = (np.asarray(a) for a in data)
    if hasattr(model_or_predictions, "predict"):
        out = model_or_predictions.predict(x, batch_size=batch_size, verbose=0)
    else:
        out = model_or_predictions
    out = np.asarray(keras.ops.convert_to_numpy(out))
    y = np.asarray(y).astype(np.int64)
    m = np.asarray(mask) > 0
    if out.ndim == 3:
        scores = out.astype(np.float64)
        pred = scores.argmax(axis=-1)
    elif out.ndim == 2:
        scores = None
        pred = out.astype(np.int64)
    else:
        raise ValueError(
            f"Predictions must be token ids (n, T) or scores (n, T, V); got shape {out.shape}."
        )
    if pred.shape != y.shape:
        raise ValueError(f"Predictions of shape {pred.shape} do not match targets {y.shape}.")
    result = _summary(pred, y, m)
    if scores is not None:
        if from_logits:
            shifted = scores - scores.max(axis=-1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        else:
            logp = np.log(np.clip(scores, 1e-12, None))
        nll = -np.take_along_axis(logp, np.where(m, y, 0)[..., None], axis=-1)[..., 0]
        ce = float(nll[m].mean())
        result["cross_entropy"] = ce
        result["perplexity"] = float(np.exp(ce))
    if name == "dual_frequency":
        groups = {}
        L = (y.shape[1]) // 2
        for g, gname in enumerate(info["group_names"]):
            sel = info["group"] == g
            rows = np.flatnonzero(sel)
            pos = info["target_position"][sel]
            hit = pred[rows, pos] == y[rows, pos]
            per_pos = np.full(L, np.nan)
            for step in range(L):
                at = pos == L + step
                if at.any():
                    per_pos[step] = hit[at].mean()
            groups[gname] = {"accuracy": float(hit.mean()), "accuracy_per_position": per_pos,
                             **_summary(pred[sel], y[sel], m[sel])}
        result["groups"] = groups
    elif name == "variable_length":
        result["per_length"] = {
            int(n): _summary(pred[info["lengths"] == n], y[info["lengths"] == n],
                             m[info["lengths"] == n])
            for n in np.unique(info["lengths"])
        }
    return result


def _masked_token_accuracy(y_true, y_pred):
    y_true = ops.cast(y_true, "int32")
    y_pred = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
    return ops.cast(ops.equal(y_true, y_pred), "float32")


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class MaskedTokenAccuracy(keras.metrics.MeanMetricWrapper):
    """Arg-max token accuracy over the positions where ``sample_weight`` is 1.

    Pass it in ``compile(weighted_metrics=[...])`` (not ``metrics=``): Keras
    only hands the sample weights (the task mask) to weighted metrics. Called
    without ``sample_weight`` it raises instead of silently counting the
    input phase.

    Args:
        name: metric name.
        dtype: metric dtype.

    Example:
        >>> model.compile("adam", loss=masked_cross_entropy(),
        ...               weighted_metrics=[MaskedTokenAccuracy()])
    """

    def __init__(self, name="masked_token_accuracy", dtype=None):
        super().__init__(_masked_token_accuracy, name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is None:
            raise ValueError(
                "MaskedTokenAccuracy needs the task mask as `sample_weight`: pass it in "
                "`compile(weighted_metrics=[...])` and give the mask to fit/evaluate."
            )
        return super().update_state(y_true, y_pred, sample_weight=sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def masked_cross_entropy(from_logits=True, name="masked_cross_entropy"):
    """Sparse cross-entropy averaged over the positions where the mask is 1.

    ``keras.losses.SparseCategoricalCrossentropy`` with reduction
    ``"mean_with_sample_weight"``: with the task mask as ``sample_weight`` the
    loss is sum(mask x CE) / sum(mask), the paper's mean over output tokens
    (directly comparable with :func:`morita_baseline`).
    """
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=from_logits, reduction="mean_with_sample_weight", name=name
    )
