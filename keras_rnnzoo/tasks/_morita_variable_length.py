"""Morita task ``"variable_length"``: reverse ordering of varying lengths.

n ~ U{min_length..length} per sequence; input s_1..s_n, then dummies up to
2 x length; target reverse(s) in the window of the n steps after the input;
``num_test`` held-out sequences per length. Held-out key: the (length,
tokens) pair (the tokens padded with V to ``length``).
"""

import math

import numpy as np

from keras_rnnzoo.tasks._morita_common import fill_unique
from keras_rnnzoo.tasks._morita_common import uniform
from keras_rnnzoo.tasks._morita_reverse import DEFAULT_LENGTH  # noqa: F401 (maximum length)
from keras_rnnzoo.tasks._morita_reverse import MIN_LENGTH  # noqa: F401
from keras_rnnzoo.tasks._morita_reverse import input_length  # noqa: F401 (2 x length)
from keras_rnnzoo.tasks._morita_reverse import sample_layout  # noqa: F401


def baseline(vocab_size, rarity):
    """ln V."""
    return math.log(vocab_size)


def capacity(task):
    V, m = task.vocab_size, task.min_length
    return V ** m, task.num_test, f"V^min_length = {V}^{m}"


def _pad(task, tokens, lengths):
    steps = np.arange(task.length)[None, :]
    return np.where(steps < lengths[:, None], tokens, task.vocab_size).astype(np.int32)


def layout(task, tokens, lengths=None, query_index=None):
    tokens = np.asarray(tokens, dtype=np.int32)
    n = tokens.shape[0]
    V, L, T = task.vocab_size, task.length, task.input_length
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


def draw_train(task, rng, count):
    lengths = rng.integers(task.min_length, task.length + 1, size=count)
    return _pad(task, uniform(rng, count, task.length, task.vocab_size), lengths), {
        "lengths": lengths}


def build_test(task, rng, seen):
    L, V = task.length, task.vocab_size
    blocks, lengths = [], []
    for n in range(task.min_length, L + 1):
        full = np.full(task.num_test, n)
        blocks.append(
            fill_unique(lambda s, full=full: _pad(task, uniform(rng, len(s), L, V), full[s]),
                        task.num_test, seen)
        )
        lengths.append(full)
    keys = np.concatenate(blocks)
    info = {"lengths": np.concatenate(lengths)}
    return task.layout(keys, lengths=info["lengths"]), info
