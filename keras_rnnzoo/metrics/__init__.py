"""Metrics and losses of the tasks (Keras objects and NumPy scores).

The Keras classes keep their registered names (``"keras_rnnzoo>RecallAccuracy"``
etc.), so models saved with them load with ``keras.saving.load_model``.
"""

from keras_rnnzoo.metrics.copy_memory import RecallAccuracy
from keras_rnnzoo.metrics.music import FrameNLL
from keras_rnnzoo.metrics.music import NLLPerFrame
from keras_rnnzoo.metrics.music import music_nll_per_frame
from keras_rnnzoo.metrics.sequences import MaskedTokenAccuracy
from keras_rnnzoo.metrics.sequences import damerau_levenshtein
from keras_rnnzoo.metrics.sequences import masked_cross_entropy
from keras_rnnzoo.metrics.slot_filling import slot_f1
from keras_rnnzoo.metrics.slot_filling import slot_scores

__all__ = [
    "FrameNLL",
    "MaskedTokenAccuracy",
    "NLLPerFrame",
    "RecallAccuracy",
    "damerau_levenshtein",
    "masked_cross_entropy",
    "music_nll_per_frame",
    "slot_f1",
    "slot_scores",
]
