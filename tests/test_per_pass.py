"""Per-sequence tensors are built once per forward pass, for every zoo cell.

``compute_sequence_constants`` (orthogonal maps, W_f and W_f^-1, sliced gate
blocks, bias rows) and ``dropout_masks`` are instrumented: each must run
exactly once per forward pass and never from inside ``cell.call`` (the loop
body), on every backend, in a plain ``keras.layers.RNN``, in
``keras_rnnzoo.layers.RNN``, with or without an explicit initial state,
inside ``StackedRNNCells`` and in a compiled ``fit`` step.
"""

import keras
import numpy as np
import pytest

from keras_rnnzoo import _keras_internals as keras_internals
from keras_rnnzoo import layers
from keras_rnnzoo.cells import ASRNNCell
from keras_rnnzoo.cells import GRUCell
from keras_rnnzoo.cells import OrthogonalRNNCell
from keras_rnnzoo.cells import SpectralGRUCell
from keras_rnnzoo.cells import URGRUCell
from keras_rnnzoo.cells import URLSTMCell
from tests._cells import fixed_weights
from tests.conftest import BACKEND, to_numpy

STEPS = 9
# Every cell family that has per-sequence tensors, plus one with dropout only.
CELLS = [
    ("asrnn", lambda: ASRNNCell(5)),
    ("orthogonal", lambda: OrthogonalRNNCell(5, mode="cayley")),
    ("gru", lambda: GRUCell(5)),
    ("gru-reset-before", lambda: GRUCell(5, reset_after=False)),
    ("urgru", lambda: URGRUCell(5)),
    ("spectral-gru", lambda: SpectralGRUCell(5)),
    ("urlstm-dropout", lambda: URLSTMCell(5, dropout=0.2, recurrent_dropout=0.3, seed=1)),
    ("asrnn-dropout", lambda: ASRNNCell(5, dropout=0.2, recurrent_dropout=0.3, seed=1)),
]
CELL_IDS = [c[0] for c in CELLS]


class Probe:
    def __init__(self, cell):
        self.constants = 0
        self.masks = 0
        self.in_step = 0
        self.steps = 0
        self._depth = 0
        compute, masks, call = cell.compute_sequence_constants, cell.dropout_masks, cell.call

        def counted_compute():
            self.constants += 1
            self.in_step += self._depth > 0
            return compute()

        def counted_masks(*args):
            self.masks += 1
            self.in_step += self._depth > 0
            return masks(*args)

        def counted_call(*args, **kwargs):
            self._depth += 1
            self.steps += 1
            try:
                return call(*args, **kwargs)
            finally:
                self._depth -= 1

        cell.compute_sequence_constants = counted_compute
        cell.dropout_masks = counted_masks
        cell.call = counted_call


def x(batch=3, dim=4):
    return np.random.default_rng(0).normal(size=(batch, STEPS, dim)).astype("float32")


def test_hooks_available_in_pinned_keras():
    assert keras_internals.PER_PASS_HOOKS, keras.version()


@pytest.mark.parametrize("rnn", [keras.layers.RNN, layers.RNN], ids=["keras-rnn", "zoo-rnn"])
@pytest.mark.parametrize("make,with_state", [(c[1], False) for c in CELLS] + [
    (CELLS[0][1], True), (CELLS[6][1], True)], ids=CELL_IDS + [
    f"{CELL_IDS[0]}-initial-state", f"{CELL_IDS[6]}-initial-state"])
def test_once_per_forward_pass(make, rnn, with_state):
    cell = make()
    layer = rnn(cell, return_sequences=True)
    layer.build((None, STEPS, 4))
    probe = Probe(cell)
    kwargs = {}
    if with_state:
        kwargs["initial_state"] = [np.ones((3, 5), "float32")] * cell.num_states
    for passes in (1, 2):
        layer(x(), training=True, **kwargs)
        assert probe.constants == passes
        assert probe.masks == passes
        assert probe.in_step == 0
    if BACKEND == "torch" and rnn is keras.layers.RNN:  # the loop body runs once per step
        assert probe.steps >= 2 * STEPS
    assert cell._pass_constants is None  # released after the loop


def test_once_per_forward_pass_in_stacked_cells():
    cells = [ASRNNCell(5), OrthogonalRNNCell(5), GRUCell(5, recurrent_dropout=0.2)]
    layer = keras.layers.RNN(keras.layers.StackedRNNCells(cells))
    layer.build((None, STEPS, 4))
    probes = [Probe(c) for c in cells]
    layer(x(), training=True)
    for probe in probes:
        assert probe.constants == 1 and probe.masks == 1 and probe.in_step == 0


@pytest.mark.parametrize("rnn", [keras.layers.RNN, layers.RNN], ids=["keras-rnn", "zoo-rnn"])
@pytest.mark.parametrize("make", [CELLS[0][1], CELLS[4][1], CELLS[6][1]],
                         ids=[CELL_IDS[0], CELL_IDS[4], CELL_IDS[6]])
def test_once_per_compiled_train_step(make, rnn):
    cell = make()
    inp = keras.Input((STEPS, 4))
    model = keras.Model(inp, keras.layers.Dense(2)(rnn(cell)(inp)))
    model.compile("sgd", "mse")
    probe = Probe(cell)
    layer = model.layers[1]
    passes = []
    layer_call = layer.call
    layer.call = lambda *a, **k: passes.append(1) or layer_call(*a, **k)
    model.fit(x(6), np.zeros((6, 2)), batch_size=3, epochs=1, verbose=0)
    assert probe.in_step == 0
    # One per RNN forward pass: traced once (TF/JAX) or run per batch (torch).
    assert probe.constants == probe.masks == len(passes) >= 1
    if BACKEND == "torch":
        assert len(passes) >= 2  # both batches ran eagerly


@pytest.mark.parametrize("make", [c[1] for c in CELLS], ids=CELL_IDS)
def test_per_step_fallback_gives_the_same_numbers(make):
    """Without the hooks (a Keras that drops them) the cell builds its
    constants inside each step: the same numbers."""
    cell = make()
    cell.dropout = cell.recurrent_dropout = 0.0
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer.build((None, STEPS, 4))
    fixed_weights(cell)
    fast = to_numpy(layer(x()))
    cell.begin_sequence = lambda *args: None  # what a Keras without the hooks does
    probe = Probe(cell)
    slow = to_numpy(layer(x()))
    np.testing.assert_allclose(slow, fast, atol=1e-6)
    assert probe.in_step >= 1  # computed inside the steps now
