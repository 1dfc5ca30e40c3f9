"""The zoo's RNN/LSTM/GRU baselines equal Keras' built-in cells weight for weight.

(NumPy references, config and ``.keras`` round-trips, the fast path and
mixed precision are covered for them in test_cells.py and test_rnn_layer.py,
over tests._cells.BASELINE_CASES.)
"""

import keras
import numpy as np
import pytest

from keras_rnnzoo import cells
from keras_rnnzoo import layers
from tests._cells import fixed_weights
from tests.conftest import to_numpy

PAIRS = [
    ("rnn", lambda: cells.RNNCell(6), lambda: keras.layers.SimpleRNNCell(6)),
    ("lstm", lambda: cells.LSTMCell(6), lambda: keras.layers.LSTMCell(6)),
    ("gru", lambda: cells.GRUCell(6), lambda: keras.layers.GRUCell(6)),
    ("gru-reset-before", lambda: cells.GRUCell(6, reset_after=False),
     lambda: keras.layers.GRUCell(6, reset_after=False)),
]


@pytest.mark.parametrize("make_zoo,make_keras", [p[1:] for p in PAIRS], ids=[p[0] for p in PAIRS])
def test_same_weights_same_outputs_as_keras(make_zoo, make_keras):
    zoo, ref = layers.RNN(make_zoo(), return_sequences=True), keras.layers.RNN(
        make_keras(), return_sequences=True)
    for layer in (zoo, ref):
        layer.build((None, 7, 3))
    assert [(v.path.split("/")[-1], tuple(v.shape)) for v in zoo.cell.weights] == [
        (v.path.split("/")[-1], tuple(v.shape)) for v in ref.cell.weights]
    fixed_weights(zoo.cell)
    ref.set_weights(zoo.get_weights())
    x = np.random.default_rng(0).normal(size=(4, 7, 3)).astype("float32")
    np.testing.assert_allclose(to_numpy(zoo(x)), to_numpy(ref(x)), atol=1e-5)
    assert zoo.last_path == "fast"


def test_lstm_starts_with_forget_bias_one_like_keras():
    layer = layers.RNN(cells.LSTMCell(5))
    layer.build((None, 2, 3))
    bias = to_numpy(layer.cell.bias)
    np.testing.assert_array_equal(bias[5:10], 1.0)
    np.testing.assert_array_equal(np.delete(bias, range(5, 10)), 0.0)
    plain = layers.RNN(cells.LSTMCell(5, unit_forget_bias=False))
    plain.build((None, 2, 3))
    np.testing.assert_array_equal(to_numpy(plain.cell.bias), 0.0)


def test_stable_and_spectral_cells_reuse_the_baseline_steps():
    assert issubclass(cells.StableRNNCell, cells.RNNCell)
    assert issubclass(cells.StableLSTMCell, cells.LSTMCell)
    assert issubclass(cells.SpectralGRUCell, cells.GRUCell)
    assert not cells.SpectralGRUCell(4).reset_after


@pytest.mark.parametrize("make,match", [
    (lambda: cells.RNNCell(0), "`units`"),
    (lambda: cells.LSTMCell(4, use_bias="no"), "`use_bias`"),
    (lambda: cells.GRUCell(4, reset_after=1), "`reset_after`"),
    (lambda: cells.SpectralGRUCell(4, reset_after=True), "`reset_after`"),
    (lambda: cells.StableRNNCell(4, activation="relu"), "`activation`"),
    (lambda: cells.StableLSTMCell(4, recurrent_constraint="non_neg"), "`recurrent_constraint`"),
])
def test_bad_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()
