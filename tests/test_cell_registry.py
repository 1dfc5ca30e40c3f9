"""``keras_rnnzoo.cells.get_cell``: the same cells as explicit construction, clear errors."""

import keras
import numpy as np
import pytest

from keras_rnnzoo import cells
from keras_rnnzoo import initializers
from tests.conftest import to_numpy

H = 8


def _initial_weights(make_cell, seed=5):
    """Weights of the cell ``make_cell()`` makes, built on (batch, T, 3) inputs, with
    Keras' global seed fixed first (the unseeded initialisers draw from it)."""
    keras.utils.set_random_seed(seed)
    cell = make_cell()
    keras.layers.RNN(cell).build((None, 4, 3))
    return {w.path.split("/")[-1]: to_numpy(w) for w in cell.weights}


def _same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key


def _torch_uniforms(seed, **bias):
    return dict(kernel_initializer=initializers.TorchUniform(fan=H, seed=cells.sub_seed(seed, 0)),
                recurrent_initializer=initializers.TorchUniform(
                    fan=H, seed=cells.sub_seed(seed, 1)),
                bias_initializer=initializers.TorchUniform(fan=H, seed=cells.sub_seed(seed, 2),
                                                           **bias))


@pytest.mark.parametrize("name,explicit", [
    ("asrnn", lambda: cells.ASRNNCell(H, mode="dtriv", epsilon=1e-5,
                                      recurrent_initializer=initializers.Henaff(seed=3))),
    ("urlstm", lambda: cells.URLSTMCell(H, gate_init="uniform", refine=True)),
    ("lstm", lambda: cells.LSTMCell(H, unit_forget_bias=False, **_torch_uniforms(
        3, terms=2, fill=[(H, 2 * H, 1.0)]))),
    ("gru", lambda: cells.GRUCell(H, reset_after=True, **_torch_uniforms(3, terms=1))),
])
def test_get_cell_matches_explicit_construction(name, explicit):
    def built():
        return cells.get_cell(name, H, seed=3)

    assert type(built()) is type(explicit())
    _same(_initial_weights(built), _initial_weights(explicit))
    # Every initialiser of these two is seeded: independent of Keras' global seed.
    if name in ("lstm", "gru"):
        _same(_initial_weights(built, seed=6), _initial_weights(explicit, seed=7))


def test_lstm_forget_bias_and_author_init():
    bias = _initial_weights(lambda: cells.get_cell("lstm", H, lstm_forget_bias=2.0))["bias"]
    bound = 2 / np.sqrt(H)  # b_ih + b_hh: two uniforms
    assert np.all(np.abs(bias[H:2 * H] - 2.0) <= bound) and np.all(np.abs(bias[:H]) <= bound)
    nn_lstm = _initial_weights(lambda: cells.get_cell("lstm", H, lstm_forget_bias=None))["bias"]
    assert np.all(np.abs(nn_lstm) <= bound)

    fill = cells.author_bias_fill("stable_rnn", H)
    assert fill == [(H // 4, H // 2, 20.0)]
    weights = _initial_weights(lambda: cells.get_cell("stable_rnn", H, seed=0, init="author"))
    _same(weights, _initial_weights(lambda: cells.StableRNNCell(
        H, bias_initializer=initializers.TorchUniform(fan=H, terms=2, fill=fill,
                                                      seed=cells.sub_seed(0, 2)))))
    assert np.all(np.abs(weights["bias"][H // 4:H // 2] - 20.0) <= bound)
    assert not cells.get_cell("stable_rnn", H, constrain=False).constrain


def test_every_name_builds_and_the_tables_agree():
    assert set(cells.ORTHOGONAL_CELLS) | set(cells.AUTHOR_INIT_CELLS) <= set(cells.CELL_NAMES)
    for name in cells.CELL_NAMES:
        assert isinstance(cells.get_cell(name, 4), keras.layers.Layer)


@pytest.mark.parametrize("kwargs,message", [
    (dict(name="lstmm"), "`name` must be one of 'asrnn'"),
    (dict(units=0), "`units` must be a positive integer"),
    (dict(asrnn_mode="expm"), "`asrnn_mode` must be one of 'exprnn', 'dtriv', 'cayley'"),
    (dict(stable_axis="l2"), "`stable_axis` must be one of 'author', 'linf'"),
    (dict(init="pytorch"), "`init` must be one of 'default', 'author'"),
    (dict(name="asrnn", init="author"), "`init='author'` is defined for the cells stable_rnn"),
    (dict(seed=1.5), "`seed` must be an integer or None"),
    (dict(constrain="yes"), "`constrain` must be True or False"),
    (dict(chrono_tmax=0), "`chrono_tmax` must be a number > 0"),
    (dict(lstm_forget_bias="1"), "`lstm_forget_bias` must be a number"),
    (dict(name="spectral_gru", delta=2.5), "`delta` must be a number in (0, 2)"),
])
def test_get_cell_rejects_bad_arguments(kwargs, message):
    kwargs = {"name": "lstm", "units": 4, **kwargs}
    with pytest.raises(ValueError) as error:
        cells.get_cell(kwargs.pop("name"), kwargs.pop("units"), **kwargs)
    assert message in str(error.value)
