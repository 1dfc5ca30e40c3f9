"""Helpers shared by the Morita tasks: seeds, rejection sampling, layouts."""

import math

import numpy as np

TEST_STREAM, TRAIN_STREAM = 0, 1


def is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def binary_entropy(p):
    return -p * math.log(p) - (1.0 - p) * math.log(1.0 - p)


def check_vocab(vocab_size):
    if not is_int(vocab_size) or vocab_size < 2:
        raise ValueError(
            f"`vocab_size` (V) must be an int >= 2 (a vocabulary of one token has nothing to "
            f"learn); got {vocab_size!r}."
        )


def check_rarity(rarity):
    if isinstance(rarity, bool) or not isinstance(rarity, (int, float)) or not 0.0 < rarity < 1.0:
        raise ValueError(f"`rarity` must be a probability in (0, 1) (paper: 1/8); got {rarity!r}.")


def check_seed(seed, name="seed"):
    parts = seed if isinstance(seed, (tuple, list)) else (seed,)
    if not parts or not all(is_int(s) and s >= 0 for s in parts):
        raise ValueError(f"`{name}` must be a non-negative int or a tuple of them; got {seed!r}.")


def stream_rng(seed, stream):
    """Generator of one stream (``TEST_STREAM`` or ``TRAIN_STREAM``) of ``seed``."""
    entropy = list(seed) if isinstance(seed, (tuple, list)) else seed
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(stream,)))


def fill(rows, redraw, exclude, unique):
    """Redraw (``redraw(slots)``) every row whose bytes are in ``exclude``.

    With ``unique`` the accepted rows are added to ``exclude``, so they are
    also distinct from each other (first occurrence wins; deterministic).
    """
    pending = np.arange(len(rows))
    while len(pending):
        bad = []
        for i in pending:
            key = rows[i].tobytes()
            if key in exclude:
                bad.append(i)
            elif unique:
                exclude.add(key)
        pending = np.asarray(bad, dtype=np.int64)
        if len(pending):
            rows[pending] = redraw(pending)
    return rows


def fill_unique(draw, count, seen):
    """``count`` rows of ``draw(slots)``, distinct and not in ``seen`` (then added)."""
    return fill(draw(np.arange(count)), draw, seen, unique=True)


def uniform(rng, count, width, vocab_size):
    """(count, width) int32 tokens drawn i.i.d. uniformly from 0 .. V-1."""
    return rng.integers(0, vocab_size, size=(count, width), dtype=np.int32)


def dummy_phase_layout(tokens, targets, vocab_size):
    """Input: the L tokens, then L dummies (id V); ``targets`` (n, L) due at
    the last L positions, the only ones in the loss."""
    n, L = tokens.shape
    T = 2 * L
    y = np.zeros((n, T), dtype=np.int32)
    mask = np.zeros((n, T), dtype=np.float32)
    x = np.concatenate([tokens, np.full((n, L), vocab_size, dtype=np.int32)], axis=1)
    y[:, L:] = targets
    mask[:, L:] = 1.0
    return x.astype(np.int32), y, mask
