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


def pair(cls, kwargs, batch=None, **rnn_kwargs):
    """(fast, fallback) layers holding the same fixed weights."""
    fast = layers.RNN(cls(UNITS, **kwargs), **rnn_kwargs)
    slow = layers.RNN(cls(UNITS, **kwargs), fast_path=False, **rnn_kwargs)
    for layer in (fast, slow):
        layer.build((batch, STEPS, DIM))
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
    unrolled = layers.RNN(cells.URGRUCell(UNITS), unroll=True)
    unrolled(x)
    assert unrolled.last_path == "keras" and unrolled.fast_path_blocker() == "unroll=True"
    forced = layers.RNN(cells.URGRUCell(UNITS), fast_path=False)
    forced(x)
    assert forced.last_path == "keras" and forced.fast_path_blocker() == "fast_path=False"


def _mask(batch=4):
    """Variable lengths 7, 5, 3, 6 (padding at the end), and one gap."""
    mask = np.ones((batch, STEPS), bool)
    for row, length in enumerate((7, 5, 3, 6)[:batch]):
        mask[row, length:] = False
    mask[0, 2] = False
    return mask


# A representative of every step shape: orthogonal, gated with two states, GRU family.
MASK_CASES = [c for c in ALL_CASES if c[0] in (
    "asrnn-dtriv", "orth-cayley", "urlstm", "urgru", "spectral-gru", "lstm", "gru",
    "stable-rnn")]


MASK_KWARGS = {
    "sequences": dict(return_sequences=True),
    "state-backwards": dict(return_sequences=True, return_state=True, go_backwards=True),
    "zero-output": dict(return_state=True, zero_output_for_mask=True, return_sequences=True),
}
# Every step shape with plain sequences; the layer options on two of them.
MASK_GRID = [(case, "sequences") for case in MASK_CASES] + [
    (case, option) for case in MASK_CASES[1:3] for option in ("state-backwards", "zero-output")]


@pytest.mark.parametrize("case,option", MASK_GRID,
                         ids=[f"{c[0]}-{o}" for c, o in MASK_GRID])
def test_masks_take_the_fast_path_and_match_the_fallback(case, option):
    rnn_kwargs = MASK_KWARGS[option]
    _, cls, kwargs = case
    fast, slow = pair(cls, kwargs, **rnn_kwargs)
    x, mask = inputs(), _mask()
    got, want = as_list(fast(x, mask=mask)), as_list(slow(x, mask=mask))
    assert fast.last_path == "fast" and slow.last_path == "keras"
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    if not rnn_kwargs.get("zero_output_for_mask") and not rnn_kwargs.get("go_backwards"):
        # a masked step repeats the previous output
        np.testing.assert_allclose(got[0][2, 3:], np.repeat(got[0][2, 2:3], 4, axis=0), atol=0)


def test_embedding_mask_zero_fit_step_matches_the_fallback():
    """Masks from Embedding(mask_zero=True), one SGD update of every weight."""
    tokens = np.array([[3, 1, 4, 1, 5, 0, 0], [2, 7, 1, 0, 0, 0, 0],
                       [1, 2, 3, 4, 5, 6, 7], [6, 6, 0, 0, 0, 0, 0]])
    y = np.random.default_rng(5).normal(size=(4, 2)).astype("float32")
    models = []
    for fast_path in (True, False):
        keras.utils.set_random_seed(3)
        inp = keras.Input((STEPS,), dtype="int32")
        h = keras.layers.Embedding(8, DIM, mask_zero=True)(inp)
        rnn = layers.RNN(cells.URLSTMCell(UNITS), fast_path=fast_path)
        model = keras.Model(inp, keras.layers.Dense(2)(rnn(h)))
        model.compile(keras.optimizers.SGD(0.1), "mse")
        models.append((model, rnn))
    models[1][0].set_weights(models[0][0].get_weights())
    losses = [float(m.train_on_batch(tokens, y)) for m, _ in models]
    assert models[0][1].last_path == "fast" and models[1][1].last_path == "keras"
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
    for a, b in zip(models[0][0].get_weights(), models[1][0].get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("case", MASK_CASES[:4], ids=[c[0] for c in MASK_CASES[:4]])
def test_stateful_layer_takes_the_fast_path_and_matches_the_fallback(case):
    _, cls, kwargs = case
    fast, slow = pair(cls, kwargs, batch=4, stateful=True, return_sequences=True)
    x = inputs()
    runs = []
    for layer in (fast, slow):
        runs.append([to_numpy(layer(x)), to_numpy(layer(x))])
        layer.reset_state()
        runs[-1].append(to_numpy(layer(x)))
    assert fast.last_path == "fast" and slow.last_path == "keras"
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    assert not np.allclose(runs[0][0], runs[0][1])  # the state carried over
    np.testing.assert_allclose(runs[0][0], runs[0][2], atol=1e-6)  # and was reset


def test_stateful_fit_on_the_fast_path_matches_the_fallback():
    """Two stateful SGD updates (state carried from the first to the second)."""
    x, y = inputs(batch=4), np.random.default_rng(6).normal(size=(4, 2)).astype("float32")
    models = []
    for fast_path in (True, False):
        inp = keras.Input(batch_shape=(4, STEPS, DIM))
        rnn = layers.RNN(cells.GRUCell(UNITS), stateful=True, fast_path=fast_path)
        model = keras.Model(inp, keras.layers.Dense(2)(rnn(inp)))
        fixed_weights(rnn.cell)
        model.compile(keras.optimizers.SGD(0.1), "mse")
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    for model in models:
        for _ in range(2):
            model.train_on_batch(x, y)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


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
