"""Morita task ``"predecessor_query"``: which token came before the query?

L distinct tokens, then a query q = s_j with j ~ U{2..L}; target s_{j-1} at
the last step only (length L + 1). Held-out key: the L tokens before the
query.
"""

import math

import numpy as np

from keras_rnnzoo.tasks._morita_common import fill_unique

DEFAULT_LENGTH = 16
MIN_LENGTH = 2


def input_length(length):
    return length + 1


def baseline(vocab_size, rarity):
    """ln(V - 1): an input-blind model can only exclude the query token it sees."""
    return math.log(vocab_size - 1)


def capacity(task):
    V, L = task.vocab_size, task.length
    if L > V:
        raise ValueError(
            f"`length` ({L}) must not exceed `vocab_size` ({V}): the predecessor-query "
            "sequence has no repeated token."
        )
    return math.perm(V, L), task.num_test, f"V!/(V-L)! = P({V}, {L})"


def _distinct(task, rng, count):
    """``count`` rows of L distinct tokens (uniform random L-permutations)."""
    keys = rng.random((count, task.vocab_size))
    chosen = np.argpartition(keys, task.length - 1, axis=1)[:, : task.length]
    order = np.argsort(np.take_along_axis(keys, chosen, axis=1), axis=1)
    return np.take_along_axis(chosen, order, axis=1).astype(np.int32)


def layout(task, tokens, lengths=None, query_index=None):
    tokens = np.asarray(tokens, dtype=np.int32)
    n = tokens.shape[0]
    L, T = task.length, task.input_length
    y = np.zeros((n, T), dtype=np.int32)
    mask = np.zeros((n, T), dtype=np.float32)
    rows = np.arange(n)
    query_index = np.asarray(query_index)
    x = np.concatenate([tokens, tokens[rows, query_index][:, None]], axis=1)
    y[:, L] = tokens[rows, query_index - 1]
    mask[:, L] = 1.0
    return x.astype(np.int32), y, mask


def draw_train(task, rng, count):
    return _distinct(task, rng, count), {}


def sample_layout(task, rng, keys, extras):
    return task.layout(keys, query_index=rng.integers(1, task.length, size=len(keys)))


def build_test(task, rng, seen):
    keys = fill_unique(lambda s: _distinct(task, rng, len(s)), task.num_test, seen)
    info = {"query_index": rng.integers(1, task.length, size=task.num_test)}
    return task.layout(keys, query_index=info["query_index"]), info
