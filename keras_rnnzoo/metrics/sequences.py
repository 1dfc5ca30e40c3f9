"""Metrics and loss of Morita's token tasks (:mod:`keras_rnnzoo.tasks.morita`).

The masked loss and accuracy read the task mask as ``sample_weight``; the
Damerau-Levenshtein distance compares predicted and target output sequences.
"""

import keras
import numpy as np
from keras import ops


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


def _masked_token_accuracy(y_true, y_pred):
    y_true = ops.cast(y_true, "int32")
    y_pred = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
    return ops.cast(ops.equal(y_true, y_pred), "float32")


# Registered as "keras_rnnzoo>MaskedTokenAccuracy" (saved models refer to that name).
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
    (directly comparable with :func:`keras_rnnzoo.tasks.morita_baseline`).
    """
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=from_logits, reduction="mean_with_sample_weight", name=name
    )
