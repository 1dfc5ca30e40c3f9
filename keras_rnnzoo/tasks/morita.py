"""Morita's synthetic token tasks: reverse ordering and its relatives.

Tasks (spec tasks.md, "Morita tasks"; official code
``tkc-morita/position-encoded_rnn``), V real tokens ``0 .. V-1`` drawn i.i.d.
uniformly and the dummy token with id V. Each task's layout and drawing code
lives in the module named after it:

* ``"reverse"`` (``_morita_reverse.py``): input s_1..s_L, dummy x L; target
  s_{L+1-j} at input position L + j (j = 1..L). L = 64 in the paper.
* ``"sort"`` (``_morita_sort.py``): same input; target sort(s) (ascending)
  at the last L positions.
* ``"dual_frequency"`` (``_morita_dual_frequency.py``): reverse ordering over
  a frequent half {0..V/2-1} and a rare half; each token is k ~ U{0..V/2-1},
  replaced by k + V/2 with probability ``rarity`` (1/8). Test set: four
  groups of ``num_test/4`` sequences crossing *target token frequent / rare*
  with *context frequent / rare*; sequence n of a group has its designated
  position p = n mod L filled from the target class and every other position
  from the context class; accuracy is read at the output position where s_p
  is due.
* ``"variable_length"`` (``_morita_variable_length.py``): n ~
  U{min_length..length} per sequence; input s_1..s_n, then dummies up to 2 x
  length; target reverse(s) in the window of the n steps after the input;
  ``num_test`` held-out sequences per length.
* ``"delayed_sum"`` (``_morita_delayed_sum.py``): w_1..w_{2L} (L = 16: 32
  tokens), no dummy phase; target (w_{L+1-j} + w_{L+j}) mod V at step L + j
  (j = 1..L).
* ``"predecessor_query"`` (``_morita_predecessor_query.py``): L distinct
  tokens, then a query q = s_j with j ~ U{2..L}; target s_{j-1} at the last
  step only (length L + 1).

Every sample is ``(x, y, mask)``: x (n, T) int32 token ids, y (n, T) int32
targets (0 where no loss is taken) and mask (n, T) float32, 1 exactly at the
positions in the loss. Pass the mask as ``sample_weight``; with
:func:`keras_rnnzoo.metrics.masked_cross_entropy` (reduction
``"mean_with_sample_weight"``) the loss is the paper's mean cross-entropy over
the output positions (Keras' default ``"sum_over_batch_size"`` would divide by
all n x T positions). Score a model on the held-out set with
:func:`keras_rnnzoo.models.evaluate_sequences`.

Split: ``num_test`` (1024) distinct held-out sequences are drawn first from
``seed``; every training sequence is rejection-sampled until it differs from
all of them (uniqueness is on the raw token sequence: the L input tokens, the
2L tokens of the delayed sum, the (length, tokens) pair of the variable-length
task, the L tokens before the query of the predecessor query).
"""

import numpy as np

from keras_rnnzoo.tasks import _morita_delayed_sum
from keras_rnnzoo.tasks import _morita_dual_frequency
from keras_rnnzoo.tasks import _morita_predecessor_query
from keras_rnnzoo.tasks import _morita_reverse
from keras_rnnzoo.tasks import _morita_sort
from keras_rnnzoo.tasks import _morita_variable_length
from keras_rnnzoo.tasks._batches import SeededBatches
from keras_rnnzoo.tasks._morita_common import TEST_STREAM
from keras_rnnzoo.tasks._morita_common import TRAIN_STREAM
from keras_rnnzoo.tasks._morita_common import check_rarity
from keras_rnnzoo.tasks._morita_common import check_seed
from keras_rnnzoo.tasks._morita_common import check_vocab
from keras_rnnzoo.tasks._morita_common import fill
from keras_rnnzoo.tasks._morita_common import is_int
from keras_rnnzoo.tasks._morita_common import stream_rng
from keras_rnnzoo.tasks._morita_dual_frequency import GROUP_NAMES  # noqa: F401 (exported)

# name -> the module holding that task's layout, draws, capacity and baseline
_TASKS = {
    "reverse": _morita_reverse,
    "sort": _morita_sort,
    "dual_frequency": _morita_dual_frequency,
    "variable_length": _morita_variable_length,
    "delayed_sum": _morita_delayed_sum,
    "predecessor_query": _morita_predecessor_query,
}
MORITA_TASKS = tuple(_TASKS)
DEFAULT_LENGTHS = {name: module.DEFAULT_LENGTH for name, module in _TASKS.items()}
NUM_TEST = 1024
RARITY = 1.0 / 8.0



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
    check_vocab(vocab_size)
    return _TASKS[name].baseline(vocab_size, rarity)


class MoritaTask:
    """One Morita task: its held-out test set and training samples.

    The test set is drawn first from ``seed`` (``num_test`` distinct
    sequences, per length for ``variable_length``); :meth:`sample` draws
    training samples that never equal a held-out sequence. Everything is a
    pure function of the constructor arguments and the sample seed. The
    metrics are in :mod:`keras_rnnzoo.metrics` and the held-out evaluation is
    :func:`keras_rnnzoo.models.evaluate_sequences`.

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
        >>> # model.compile(loss=metrics.masked_cross_entropy(),
        >>> #               weighted_metrics=[metrics.MaskedTokenAccuracy()])
        >>> # model.fit(train, epochs=...); models.evaluate_sequences(model, task)

    Reference:
        T. Morita, *Positional Encoding Helps Recurrent Neural Networks Handle
        a Large Vocabulary*, TMLR 2024 (arXiv 2402.00236).
    """

    def __init__(self, name, vocab_size, length=None, seed=0, num_test=NUM_TEST, rarity=RARITY,
                 min_length=None):
        if name not in MORITA_TASKS:
            raise ValueError(f"`name` must be one of {MORITA_TASKS}; got {name!r}.")
        check_vocab(vocab_size)
        spec = _TASKS[name]
        if length is None:
            length = spec.DEFAULT_LENGTH
        if not is_int(length) or length < spec.MIN_LENGTH:
            raise ValueError(
                f"`length` must be an int >= {spec.MIN_LENGTH} for {name!r}; got {length!r}."
            )
        check_seed(seed)
        if not is_int(num_test) or num_test < 1:
            raise ValueError(f"`num_test` must be an int >= 1; got {num_test!r}.")
        check_rarity(rarity)
        self.name = name
        self.vocab_size = int(vocab_size)
        self.length = int(length)
        self.seed = seed
        self.num_test = int(num_test)
        self.rarity = float(rarity)
        self.min_length = None
        self._spec = spec
        L = self.length
        if name == "variable_length":
            if min_length is None:
                min_length = max(1, L // 2)
            if not is_int(min_length) or not 1 <= min_length <= L:
                raise ValueError(
                    f"`min_length` must be an int in [1, length={L}]; got {min_length!r}."
                )
            self.min_length = int(min_length)
        elif min_length is not None:
            raise ValueError("`min_length` only applies to name='variable_length'; leave it None.")
        # Held-out capacity (the official code asserts patterns > num_held_out).
        patterns, needed, what = spec.capacity(self)
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
        return self._spec.input_length(self.length)

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
        return self._spec.layout(self, tokens, lengths=lengths, query_index=query_index)

    # -------------------------------------------------------------- sampling
    def _build_test(self):
        seen = set()
        test, info = self._spec.build_test(self, stream_rng(self.seed, TEST_STREAM), seen)
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
        if not is_int(num_samples) or num_samples < 1:
            raise ValueError(f"`num_samples` must be an int >= 1; got {num_samples!r}.")
        check_seed(seed)
        if self._test is None:
            self._build_test()
        rng = stream_rng(seed, TRAIN_STREAM)
        keys, extras = self._spec.draw_train(self, rng, num_samples)

        def redraw(slots):
            new, new_extras = self._spec.draw_train(self, rng, len(slots))
            for k, v in new_extras.items():
                extras[k][slots] = v
            return new

        keys = fill(keys, redraw, self._test_keys, unique=False)
        return self._spec.sample_layout(self, rng, keys, extras)

    def batches(self, batch_size, steps_per_epoch=100, seed=None, start_epoch=0, epochs=None):
        """A :class:`MoritaBatches` dataset of fresh training batches."""
        return MoritaBatches(self, batch_size, steps_per_epoch, seed, start_epoch, epochs)

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
        epochs: None, or one past the last epoch: the whole run as one indexed
            stream (see ``SeededBatches``; what the training scripts use).
    """

    def __init__(self, task, batch_size, steps_per_epoch=100, seed=None, start_epoch=0,
                 epochs=None):
        if not isinstance(task, MoritaTask):
            raise ValueError(f"`task` must be a MoritaTask (see make_task); got {task!r}.")
        if not is_int(batch_size) or batch_size < 1:
            raise ValueError(f"`batch_size` must be an int >= 1; got {batch_size!r}.")
        seed = task.seed if seed is None else seed
        check_seed(seed)
        super().__init__(steps_per_epoch, seed, start_epoch, epochs)
        self.task = task
        self.batch_size = batch_size

    def draw(self, seed):
        return self.task.sample(self.batch_size, seed=seed)
