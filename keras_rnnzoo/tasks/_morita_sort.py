"""Morita task ``"sort"``: the input of ``"reverse"``, target sorted.

Input s_1..s_L, dummy x L; target sort(s) (ascending) at the last L
positions. Held-out key: the L input tokens.
"""

import math

import numpy as np

from keras_rnnzoo.tasks._morita_common import dummy_phase_layout
from keras_rnnzoo.tasks._morita_reverse import DEFAULT_LENGTH  # noqa: F401 (same defaults)
from keras_rnnzoo.tasks._morita_reverse import MIN_LENGTH  # noqa: F401
from keras_rnnzoo.tasks._morita_reverse import build_test  # noqa: F401 (same draws)
from keras_rnnzoo.tasks._morita_reverse import capacity  # noqa: F401
from keras_rnnzoo.tasks._morita_reverse import draw_train  # noqa: F401
from keras_rnnzoo.tasks._morita_reverse import input_length  # noqa: F401
from keras_rnnzoo.tasks._morita_reverse import sample_layout  # noqa: F401


def baseline(vocab_size, rarity):
    """An upper bound ln V (a position-aware predictor does somewhat better)."""
    return math.log(vocab_size)


def layout(task, tokens, lengths=None, query_index=None):
    tokens = np.asarray(tokens, dtype=np.int32)
    return dummy_phase_layout(tokens, np.sort(tokens, axis=1), task.vocab_size)
