"""The orthogonal matrices, W_f and W_f^-1 are built once per forward pass.

``compute_sequence_constants`` is instrumented: it must run exactly once per
forward pass and never from inside ``cell.call`` (the loop body), on every
backend, in a plain ``keras.layers.RNN``, with or without an explicit initial
state, inside ``StackedRNNCells`` and in a compiled ``fit`` step.
"""

import keras
import numpy as np
import pytest

from keras_rnnzoo.backend import keras_internals
from keras_rnnzoo.cells import ASRNNCell
from keras_rnnzoo.cells import OrthogonalRNNCell
from tests._cells import fixed_weights
from tests.conftest import BACKEND, to_numpy

STEPS = 9


class Probe:
    def __init__(self, cell):
        self.constants = 0
        self.constants_in_step = 0
        self.steps = 0
        self._depth = 0
        compute, call = cell.compute_sequence_constants, cell.call

        def counted_compute():
            self.constants += 1
            self.constants_in_step += self._depth > 0
            return compute()

        def counted_call(*args, **kwargs):
            self._depth += 1
            self.steps += 1
            try:
                return call(*args, **kwargs)
            finally:
                self._depth -= 1

        cell.compute_sequence_constants = counted_compute
        cell.call = counted_call


def x(batch=3, dim=4):
    return np.random.default_rng(0).normal(size=(batch, STEPS, dim)).astype("float32")


def test_hooks_available_in_pinned_keras():
    assert keras_internals.PER_PASS_HOOKS, keras.version()


@pytest.mark.parametrize("cls", [ASRNNCell, OrthogonalRNNCell])
@pytest.mark.parametrize("with_state", [False, True])
def test_once_per_forward_pass_in_plain_keras_rnn(cls, with_state):
    cell = cls(5)
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer.build((None, STEPS, 4))
    probe = Probe(cell)
    kwargs = {"initial_state": [np.ones((3, 5), "float32")]} if with_state else {}
    for passes in (1, 2, 3):
        layer(x(), **kwargs)
        assert probe.constants == passes
        assert probe.constants_in_step == 0
    if BACKEND == "torch":  # the loop body runs in Python once per step
        assert probe.steps >= 3 * STEPS
    assert cell._constants is None  # released after the loop


def test_once_per_forward_pass_in_stacked_cells():
    cells = [ASRNNCell(5), OrthogonalRNNCell(5)]
    layer = keras.layers.RNN(keras.layers.StackedRNNCells(cells))
    layer.build((None, STEPS, 4))
    probes = [Probe(c) for c in cells]
    layer(x())
    for probe in probes:
        assert probe.constants == 1 and probe.constants_in_step == 0


def test_once_per_compiled_train_step():
    cell = ASRNNCell(5, mode="dtriv")
    inp = keras.Input((STEPS, 4))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.RNN(cell)(inp)))
    model.compile("sgd", "mse")
    probe = Probe(cell)
    rnn = model.layers[1]
    passes = []
    rnn_call = rnn.call
    rnn.call = lambda *a, **k: passes.append(1) or rnn_call(*a, **k)
    model.fit(x(6), np.zeros((6, 2)), batch_size=3, epochs=1, verbose=0)
    assert probe.constants_in_step == 0
    # One per RNN forward pass: traced once (TF/JAX) or run per batch (torch).
    assert probe.constants == len(passes) >= 1
    if BACKEND == "torch":
        assert len(passes) >= 2  # both batches ran eagerly


@pytest.mark.parametrize("cls", [ASRNNCell, OrthogonalRNNCell])
def test_per_step_fallback_gives_the_same_numbers(cls):
    """Without the hooks the cell builds its constants inside each step."""
    cell = cls(5, mode="cayley")
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer.build((None, STEPS, 4))
    fixed_weights(cell)
    fast = to_numpy(layer(x()))
    cell.begin_sequence = lambda: None  # what a Keras without the hooks does
    probe = Probe(cell)
    slow = to_numpy(layer(x()))
    np.testing.assert_allclose(slow, fast, atol=1e-6)
    assert probe.constants_in_step >= 1
