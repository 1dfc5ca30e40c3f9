"""``keras_rnnzoo.layers.RNN``: the fast path runs, and matches the fallback.

The fallback is ``keras.layers.RNN``'s own loop (``fast_path=False``), which
calls ``cell.call``; both are checked against each other to 1e-5 on outputs,
returned states and one SGD update of every weight, and the fast path also
against the NumPy references of the equations.
"""

import keras
import numpy as np
import pytest

from keras_rnnzoo import cells
from keras_rnnzoo import layers
from tests._cells import ALL_CASES, ALL_IDS, fixed_weights, reference_outputs
from tests.conftest import BACKEND, to_numpy

UNITS, STEPS, DIM = 6, 7, 3


def inputs(batch=4, steps=STEPS, seed=1):
    return np.random.default_rng(seed).normal(size=(batch, steps, DIM)).astype("float32")


def pair(cls, kwargs, **rnn_kwargs):
    """(fast, fallback) layers holding the same fixed weights."""
    fast = layers.RNN(cls(UNITS, **kwargs), **rnn_kwargs)
    slow = layers.RNN(cls(UNITS, **kwargs), fast_path=False, **rnn_kwargs)
    for layer in (fast, slow):
        layer.build((None, STEPS, DIM))
        fixed_weights(layer.cell)
    return fast, slow


def as_list(y):
    return [to_numpy(t) for t in (y if isinstance(y, (list, tuple)) else [y])]


@pytest.mark.parametrize("case", ALL_CASES, ids=ALL_IDS)
def test_fast_path_matches_reference_and_fallback(case):
    _, cls, kwargs = case
    fast, slow = pair(cls, kwargs, return_sequences=True)
    x = inputs()
    out = to_numpy(fast(x))
    assert fast.last_path == "fast"
    fallback = to_numpy(slow(x))
    assert slow.last_path == "keras"
    np.testing.assert_allclose(out, fallback, atol=1e-5, rtol=1e-5)
    weights = {v.path.split("/")[-1]: to_numpy(v) for v in fast.cell.weights}
    np.testing.assert_allclose(out, reference_outputs(fast.cell, x, weights), atol=1e-5,
                               rtol=1e-5)


@pytest.mark.parametrize("rnn_kwargs", [
    dict(return_state=True),
    dict(return_sequences=True, return_state=True, go_backwards=True),
    dict(go_backwards=True),
], ids=["state", "sequences-state-backwards", "backwards"])
@pytest.mark.parametrize("hoist", [False, True], ids=["per-step", "hoisted"])
@pytest.mark.parametrize("cls", [cells.URLSTMCell, cells.ASRNNCell], ids=["urlstm", "asrnn"])
def test_return_state_and_go_backwards_match_the_fallback(cls, hoist, rnn_kwargs):
    """Both input-projection placements, with and without an initial state."""
    fast, slow = pair(cls, {}, **rnn_kwargs)
    fast.hoist_inputs = hoist
    x = inputs()
    rng = np.random.default_rng(3)
    s0 = [rng.normal(size=(4, UNITS)).astype("float32") for _ in range(fast.cell.num_states)]
    for initial_state in (None, s0):
        got, want = as_list(fast(x, initial_state=initial_state)), as_list(
            slow(x, initial_state=initial_state))
        assert fast.last_path == "fast"
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


def _model(layer):
    inp = keras.Input((STEPS, DIM))
    return keras.Model(inp, keras.layers.Dense(2)(layer(inp)))


@pytest.mark.parametrize("case", ALL_CASES, ids=ALL_IDS)
def test_one_sgd_update_matches_the_fallback(case):
    """Same loss and same updated weights: the gradients agree."""
    _, cls, kwargs = case
    fast, slow = pair(cls, kwargs)
    models = [_model(fast), _model(slow)]
    models[1].set_weights(models[0].get_weights())
    x, y = inputs(batch=8), np.random.default_rng(4).normal(size=(8, 2)).astype("float32")
    losses = []
    for model in models:
        model.compile(keras.optimizers.SGD(0.1), "mse")
        losses.append(float(model.train_on_batch(x, y)))
    assert fast.last_path == "fast" and slow.last_path == "keras"
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


def test_blocked_cases_fall_back_and_say_why():
    x = inputs()
    layer = layers.RNN(keras.layers.SimpleRNNCell(UNITS))
    layer(x)
    assert layer.last_path == "keras"
    assert "not a keras_rnnzoo cell" in layer.fast_path_blocker()
    masked = layers.RNN(cells.URGRUCell(UNITS), return_sequences=True)
    mask = np.ones((4, STEPS), bool)
    mask[:, -2:] = False
    out = masked(x, mask=mask)
    assert masked.last_path == "keras" and masked.fast_path_blocker(mask) == "a mask was given"
    np.testing.assert_allclose(to_numpy(out)[:, -1], to_numpy(out)[:, -3], atol=0)
    unrolled = layers.RNN(cells.URGRUCell(UNITS), unroll=True)
    unrolled(x)
    assert unrolled.last_path == "keras" and unrolled.fast_path_blocker() == "unroll=True"


def test_stateful_layer_takes_the_fallback():
    layer = layers.RNN(cells.StableRNNCell(UNITS), stateful=True)
    x = inputs()
    first, second = to_numpy(layer(x)), to_numpy(layer(x))
    assert layer.last_path == "keras"
    assert not np.allclose(first, second)  # the state carried over


def test_config_and_keras_file_round_trip(tmp_path):
    layer = layers.RNN(cells.URLSTMCell(UNITS), return_sequences=True, hoist_inputs=True)
    model = _model(layer)
    x = inputs()
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    rnn = [lyr for lyr in loaded.layers if isinstance(lyr, layers.RNN)][0]
    assert rnn.fast_path and rnn.hoist_inputs and rnn.return_sequences
    np.testing.assert_allclose(to_numpy(loaded(x)), to_numpy(model(x)), atol=1e-6)
    assert rnn.last_path == "fast"
    clone = layers.RNN.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_mixed_bfloat16_fast_path_matches_the_fallback():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    fast, slow = pair(cells.ASRNNCell, dict(mode="dtriv"), return_sequences=True)
    x = inputs()
    out, ref = fast(x), slow(x)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    assert fast.cell.saturation_kernel.dtype == "float32"
    np.testing.assert_allclose(to_numpy(out).astype("float32"),
                               to_numpy(ref).astype("float32"), atol=2e-2)


def test_jit_compiled_fit_takes_the_fast_path():
    if BACKEND == "torch":
        pytest.skip("jit_compile fit is not supported by Keras on torch")
    layer = layers.RNN(cells.URLSTMCell(UNITS))
    model = _model(layer)
    model.compile(keras.optimizers.Adam(1e-2), "mse", jit_compile=True)
    x, y = inputs(batch=16), np.zeros((16, 2), "float32")
    history = model.fit(x, y, epochs=3, verbose=0)
    assert layer.last_path == "fast"
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_bad_fast_path_arguments():
    with pytest.raises(ValueError, match="fast_path"):
        layers.RNN(cells.URGRUCell(UNITS), fast_path="yes")
    with pytest.raises(ValueError, match="hoist_inputs"):
        layers.RNN(cells.URGRUCell(UNITS), hoist_inputs=1)
