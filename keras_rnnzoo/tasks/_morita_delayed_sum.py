"""Morita task ``"delayed_sum"``: sums of mirrored token pairs, no dummy phase.

Input w_1..w_{2L} (L = 16: 32 tokens); target (w_{L+1-j} + w_{L+j}) mod V at
step L + j (j = 1..L). Held-out key: the 2L tokens.
"""

import math

import numpy as np

from keras_rnnzoo.tasks._morita_common import fill_unique
from keras_rnnzoo.tasks._morita_common import uniform
from keras_rnnzoo.tasks._morita_reverse import MIN_LENGTH  # noqa: F401
from keras_rnnzoo.tasks._morita_reverse import input_length  # noqa: F401 (2L: L is the half)
from keras_rnnzoo.tasks._morita_reverse import sample_layout  # noqa: F401

DEFAULT_LENGTH = 16


def baseline(vocab_size, rarity):
    """ln V."""
    return math.log(vocab_size)


def capacity(task):
    V, L = task.vocab_size, task.length
    return V ** (2 * L), task.num_test, f"V^(2L) = {V}^{2 * L}"


def layout(task, tokens, lengths=None, query_index=None):
    tokens = np.asarray(tokens, dtype=np.int32)
    n = tokens.shape[0]
    V, L, T = task.vocab_size, task.length, task.input_length
    y = np.zeros((n, T), dtype=np.int32)
    mask = np.zeros((n, T), dtype=np.float32)
    x = tokens.copy()
    y[:, L:] = (tokens[:, :L][:, ::-1] + tokens[:, L:]) % V
    mask[:, L:] = 1.0
    return x.astype(np.int32), y, mask


def draw_train(task, rng, count):
    return uniform(rng, count, 2 * task.length, task.vocab_size), {}


def build_test(task, rng, seen):
    keys = fill_unique(lambda s: uniform(rng, len(s), 2 * task.length, task.vocab_size),
                       task.num_test, seen)
    return task.layout(keys), {}
