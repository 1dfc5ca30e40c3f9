"""Copying memory task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016).

K data symbols from {1..8}, a delay of L blanks (0), a marker (9), then K
recall outputs. Two loss conventions (spec tasks.md):

* ``loss="all"`` (convention A: Arjovsky, expRNN, asRNN): input
  s_1..s_K, 0 x L, 9, 0 x (K-1); target 0 x (K+L), s_1..s_K; the loss is the
  mean cross-entropy over all L + 2K positions with 9 output classes (0..8).
  Memoryless baseline K ln 8 / (L + 2K).
* ``loss="last"`` (convention C: Gu et al.): input s_1..s_K, 0 x L, 9 x K;
  target s_1..s_K for the last K outputs only; 10 output classes.
  Memoryless baseline ln 8.

The metric is :class:`keras_rnnzoo.metrics.RecallAccuracy`; the evaluation of
a model on fresh data is :func:`keras_rnnzoo.models.evaluate_copy_memory`.
"""

import math

import numpy as np

from keras_rnnzoo.tasks._batches import SeededBatches

_LOSSES = ("all", "last")
NUM_SYMBOLS = 8  # data symbols 1..8
BLANK, MARKER = 0, 9
INPUT_SIZE = 10


def _check(delay, recall, loss):
    if isinstance(delay, bool) or not isinstance(delay, int) or delay < 1:
        raise ValueError(f"`delay` (L) must be an int >= 1; got {delay!r}.")
    if isinstance(recall, bool) or not isinstance(recall, int) or recall < 1:
        raise ValueError(f"`recall` (K) must be an int >= 1; got {recall!r}.")
    if loss not in _LOSSES:
        raise ValueError(
            f"`loss` must be 'all' (convention A: every step) or 'last' "
            f"(convention C: last K outputs); got {loss!r}."
        )


def num_classes(loss):
    """Output classes: 9 (0..8) for ``loss="all"``, 10 for ``loss="last"``."""
    _check(1, 1, loss)
    return 9 if loss == "all" else 10


def copy_memory(num_samples, delay, recall=10, loss="all", seed=0):
    """Draw a copy-task batch; a pure function of its arguments.

    Args:
        num_samples: batch size (>= 1).
        delay: L, the number of blanks between the data and the marker.
        recall: K, the number of symbols to remember (10 in every paper).
        loss: ``"all"`` (convention A) or ``"last"`` (convention C).
        seed: int or a sequence of ints (NumPy ``default_rng`` seed).

    Returns:
        ``(x, y)``: x float32 one-hot of shape (N, L + 2K, 10); y int32 of
        shape (N, L + 2K) for ``"all"`` and (N, K) for ``"last"``.

    Example:
        >>> x, y = copy_memory(4, delay=20)
        >>> x.shape, y.shape
        ((4, 40, 10), (4, 40))
    """
    _check(delay, recall, loss)
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"`num_samples` must be an int >= 1; got {num_samples!r}.")
    rng = np.random.default_rng(seed)
    length = delay + 2 * recall
    symbols = rng.integers(1, NUM_SYMBOLS + 1, size=(num_samples, recall))
    tokens = np.full((num_samples, length), BLANK, dtype=np.int32)
    tokens[:, :recall] = symbols
    if loss == "all":
        tokens[:, recall + delay] = MARKER
        y = np.zeros((num_samples, length), dtype=np.int32)
        y[:, -recall:] = symbols
    else:
        tokens[:, -recall:] = MARKER
        y = symbols.astype(np.int32)
    x = np.eye(INPUT_SIZE, dtype=np.float32)[tokens]
    return x, y


def copy_memory_baseline(delay, recall=10, loss="all"):
    """Loss of the best memoryless predictor: K ln 8 / (L + 2K) or ln 8."""
    _check(delay, recall, loss)
    if loss == "all":
        return recall * math.log(NUM_SYMBOLS) / (delay + 2 * recall)
    return math.log(NUM_SYMBOLS)


class CopyMemoryBatches(SeededBatches):
    """Fresh copy-task batches for ``model.fit``, reproducible from ``seed``.

    Batch ``i`` of epoch ``e`` is ``copy_memory(batch_size, ..., seed=(seed,
    e, i))``, so every step sees new data and a resumed run (``start_epoch``)
    sees the same data it would have seen.

    Args:
        batch_size, delay, recall, loss, seed: as in :func:`copy_memory`.
        steps_per_epoch: batches per epoch.
        start_epoch: epoch index of the first epoch (for resuming).
        epochs: None, or one past the last epoch: the whole run as one indexed
            stream (see ``SeededBatches``; what the training scripts use).
    """

    def __init__(
        self, batch_size, delay, recall=10, loss="all", steps_per_epoch=100, seed=0,
        start_epoch=0, epochs=None,
    ):
        super().__init__(steps_per_epoch, seed, start_epoch, epochs)
        _check(delay, recall, loss)
        self.batch_size = batch_size
        self.delay = delay
        self.recall = recall
        self.loss = loss

    def draw(self, seed):
        return copy_memory(self.batch_size, self.delay, self.recall, self.loss, seed=seed)
