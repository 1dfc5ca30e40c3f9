"""Morita task ``"reverse"``: reverse ordering.

Input s_1..s_L (V real tokens drawn i.i.d. uniformly), then the dummy token
V x L; target s_{L+1-j} at input position L + j (j = 1..L). L = 64 in the
paper. Held-out key: the L input tokens.
"""

import math

import numpy as np

from keras_rnnzoo.tasks._morita_common import dummy_phase_layout
from keras_rnnzoo.tasks._morita_common import fill_unique
from keras_rnnzoo.tasks._morita_common import uniform

DEFAULT_LENGTH = 64
MIN_LENGTH = 1  # smallest valid L


def input_length(length):
    return 2 * length


def baseline(vocab_size, rarity):
    """ln V: every output token is uniform to a memoryless predictor."""
    return math.log(vocab_size)


def capacity(task):
    V, L = task.vocab_size, task.length
    return V ** L, task.num_test, f"V^L = {V}^{L}"


def layout(task, tokens, lengths=None, query_index=None):
    tokens = np.asarray(tokens, dtype=np.int32)
    return dummy_phase_layout(tokens, tokens[:, ::-1], task.vocab_size)


def draw_train(task, rng, count):
    return uniform(rng, count, task.length, task.vocab_size), {}


def sample_layout(task, rng, keys, extras):
    return task.layout(keys, **extras)


def build_test(task, rng, seen):
    keys = fill_unique(lambda s: uniform(rng, len(s), task.length, task.vocab_size),
                       task.num_test, seen)
    return task.layout(keys), {}
