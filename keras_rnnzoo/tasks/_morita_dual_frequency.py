"""Morita task ``"dual_frequency"``: reverse ordering over two token classes.

A frequent half {0..V/2-1} and a rare half: each token is k ~ U{0..V/2-1},
replaced by k + V/2 with probability ``rarity`` (1/8). Layout as
``"reverse"``. Test set: four groups of ``num_test/4`` sequences crossing
*target token frequent / rare* with *context frequent / rare*; sequence n of
a group has its designated position p = n mod L filled from the target class
and every other position from the context class; accuracy is read at the
output position where s_p is due.
"""

import math

import numpy as np

from keras_rnnzoo.tasks._morita_common import binary_entropy
from keras_rnnzoo.tasks._morita_common import check_rarity
from keras_rnnzoo.tasks._morita_common import fill_unique
from keras_rnnzoo.tasks._morita_reverse import DEFAULT_LENGTH  # noqa: F401 (same default)
from keras_rnnzoo.tasks._morita_reverse import input_length  # noqa: F401
from keras_rnnzoo.tasks._morita_reverse import layout  # noqa: F401 (reverse ordering)
from keras_rnnzoo.tasks._morita_reverse import sample_layout  # noqa: F401

MIN_LENGTH = 2
GROUP_NAMES = ("frequent-frequent", "frequent-rare", "rare-frequent", "rare-rare")
"""Dual-frequency test groups, named *target class - context class*."""


def baseline(vocab_size, rarity):
    """ln(V/2) + H_b(rarity): the unigram entropy."""
    check_rarity(rarity)
    return math.log(vocab_size // 2) + binary_entropy(rarity)


def capacity(task):
    V, L, num_test = task.vocab_size, task.length, task.num_test
    if V % 2:
        raise ValueError(
            f"`vocab_size` must be even for 'dual_frequency' (frequent and rare halves); "
            f"got {V}."
        )
    if num_test % 4:
        raise ValueError(
            f"`num_test` must be a multiple of 4 for 'dual_frequency' (four test groups); "
            f"got {num_test}."
        )
    return (V // 2) ** L, num_test // 4, f"(V/2)^L = {V // 2}^{L}"


def _dual(task, rng, count):
    half = task.vocab_size // 2
    tokens = rng.integers(0, half, size=(count, task.length), dtype=np.int32)
    rare = rng.random((count, task.length)) < task.rarity
    return tokens + half * rare.astype(np.int32)


def draw_train(task, rng, count):
    return _dual(task, rng, count), {}


def build_test(task, rng, seen):
    L = task.length
    half, size = task.vocab_size // 2, task.num_test // 4
    position = np.arange(size) % L
    blocks = []
    for target_class, context_class in ((0, 0), (0, 1), (1, 0), (1, 1)):
        def draw(slots, t=target_class, c=context_class):
            rows = rng.integers(0, half, size=(len(slots), L), dtype=np.int32) + c * half
            rows[np.arange(len(slots)), position[slots]] = (
                rng.integers(0, half, size=len(slots), dtype=np.int32) + t * half
            )
            return rows
        blocks.append(fill_unique(draw, size, seen))
    keys = np.concatenate(blocks)
    info = {}
    info["group"] = np.repeat(np.arange(4), size)
    info["group_names"] = GROUP_NAMES
    info["position"] = np.tile(position, 4)
    info["target_position"] = 2 * L - 1 - info["position"]
    return task.layout(keys), info
