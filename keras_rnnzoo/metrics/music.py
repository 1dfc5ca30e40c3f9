"""Loss and metrics of polyphonic music (:mod:`keras_rnnzoo.tasks.music`).

NLL per frame = -sum_k [y_k ln p_k + (1 - y_k) ln(1 - p_k)], summed over all
predicted frames of a split and divided by their number (frame-weighted, not
sequence-weighted).
"""

import keras
import numpy as np
from keras import ops

from keras_rnnzoo.tasks.music import NUM_KEYS
from keras_rnnzoo.tasks.music import _check_sequences
from keras_rnnzoo.tasks.music import _nll_sum


def music_nll_per_frame(predictions, sequences, from_logits=False):
    """NLL per frame of given predictions over a split, exactly as defined.

    NLL per frame = -sum over all predicted frames and the 88 keys of
    [y ln p + (1 - y) ln(1 - p)], divided by the number of predicted frames
    (sum of T_i - 1). Computed in float64; a probability of exactly 0 for an
    active key (or 1 for an inactive one) gives ``inf``.

    Args:
        predictions: list of arrays, ``predictions[i]`` of shape (T_i - 1, 88):
            the model's output for inputs frames 1 ... T_i - 1 of
            ``sequences[i]``, i.e. the prediction of frames 2 ... T_i.
        sequences: list of (T_i, 88) binary piano rolls (a split of
            :func:`keras_rnnzoo.tasks.load_music`).
        from_logits: ``predictions`` are logits (sigmoid inputs) rather than
            probabilities; the NLL is then computed without rounding the
            probabilities.

    Returns:
        Python float, nats per frame.

    Example:
        >>> seq = [np.array([[1.0] * 88, [0.0] * 88])]
        >>> music_nll_per_frame([np.full((1, 88), 0.5)], seq)  # 88 ln 2
        60.99...
    """
    sequences = _check_sequences(sequences)
    predictions = list(predictions)
    if len(predictions) != len(sequences):
        raise ValueError(
            f"`predictions` has {len(predictions)} entries for {len(sequences)} sequences; pass "
            f"one (T_i - 1, 88) array per sequence."
        )
    total, frames = 0.0, 0
    for i, (p, s) in enumerate(zip(predictions, sequences)):
        p = np.asarray(p)
        if p.shape != (s.shape[0] - 1, NUM_KEYS):
            raise ValueError(
                f"`predictions[{i}]` must have shape (T_i - 1, 88) = {(s.shape[0] - 1, NUM_KEYS)} "
                f"(predictions of frames 2 ... T_i); got {p.shape}."
            )
        total += _nll_sum(s[1:], p, from_logits)
        frames += p.shape[0]
    if frames == 0:
        raise ValueError("`sequences` has no predicted frame (every sequence has length < 2).")
    return total / frames


def _frame_nll(y_true, y_pred, from_logits=True):
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    per_key = ops.binary_crossentropy(y_true, y_pred, from_logits=from_logits)
    return ops.sum(per_key, axis=-1)


# Registered as "keras_rnnzoo>FrameNLL" (saved models refer to that name).
@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class FrameNLL(keras.losses.Loss):
    """Binary cross-entropy summed over the keys: the NLL of each frame.

    Per frame: -sum_k [y_k ln p_k + (1 - y_k) ln(1 - p_k)] over the last axis
    (88 keys). With the mask of :class:`keras_rnnzoo.tasks.MusicBatches` as
    sample weight:

    * ``reduction="mean_with_sample_weight"`` (default): the loss of a batch
      is its NLL per real frame;
    * ``reduction="sum"``: the NLL summed over the real frames of the batch,
      the training loss of ``locuslab/TCN`` and of Miller & Hardt's fork
      (batch 1: the NLL of the whole sequence), whose gradient is T times
      that of the per-frame mean.

    Args:
        from_logits: ``y_pred`` holds logits (default) rather than
            probabilities.
        reduction, name, dtype: as in ``keras.losses.Loss``.

    Example:
        >>> # model.compile(optimizer, loss=FrameNLL(), weighted_metrics=[NLLPerFrame()])
        >>> # model.fit(tasks.MusicBatches(train), epochs=...)
    """

    def __init__(self, from_logits=True, reduction="mean_with_sample_weight", name="frame_nll",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        return _frame_nll(y_true, y_pred, from_logits=self.from_logits)

    def get_config(self):
        config = super().get_config()
        config["from_logits"] = self.from_logits
        return config


# Registered as "keras_rnnzoo>NLLPerFrame" (saved models refer to that name).
@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class NLLPerFrame(keras.metrics.MeanMetricWrapper):
    """NLL per frame, frame-weighted over everything seen since the last reset.

    Pass it in ``weighted_metrics`` so that the padding mask (the sample
    weight of :class:`keras_rnnzoo.tasks.MusicBatches`) excludes padded
    frames: the result is sum(NLL of the real frames) / (number of real
    frames), whatever the loss reduction.

    Args:
        from_logits: predictions are logits (default) rather than
            probabilities.
        name, dtype: metric name and dtype.
    """

    def __init__(self, from_logits=True, name="nll_per_frame", dtype=None):
        super().__init__(_frame_nll, name=name, dtype=dtype, from_logits=from_logits)
        self.from_logits = bool(from_logits)

    def get_config(self):
        return {"from_logits": self.from_logits, "name": self.name, "dtype": self.dtype}
