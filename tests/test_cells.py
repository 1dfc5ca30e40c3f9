import os

import keras
import numpy as np
import pytest

import keras_rnnzoo  # noqa: F401
from keras_rnnzoo import optimizers
from keras_rnnzoo.callbacks import DtrivRetraction
from keras_rnnzoo.cells import ASRNNCell
from keras_rnnzoo.cells import OrthogonalRNNCell
from tests._cells import ALL_CASES, ALL_IDS, CASES, IDS, fixed_weights, make_rnn, reference_outputs
from tests.conftest import BACKEND, to_numpy


def inputs(batch=4, steps=7, dim=3, seed=1):
    return np.random.default_rng(seed).normal(size=(batch, steps, dim)).astype("float32")


@pytest.mark.parametrize("case", ALL_CASES, ids=ALL_IDS)
def test_matches_numpy_reference(case):
    _, cls, kwargs = case
    layer = make_rnn(cls, kwargs)
    weights = fixed_weights(layer.cell)
    x = inputs()
    out = to_numpy(layer(x))
    expected = reference_outputs(layer.cell, x, weights)
    np.testing.assert_allclose(out, expected, atol=1e-5, rtol=1e-5)


def test_asrnn_limits_linear_and_tanh():
    """U_f = I: h = tanh(D a)/D -> a as D -> 0, and tanh(a) at D = 1."""
    x = inputs(steps=1)
    for scale, expected_fn in [(0.0, lambda a: a), (1.0, np.tanh)]:
        layer = make_rnn(ASRNNCell, dict(epsilon=1e-6) if scale == 0 else dict(
            epsilon=0.0, saturation_scale_initializer="ones"), steps=1)
        cell = layer.cell
        cell.saturation_scale.assign(np.full((6,), scale, "float32"))
        a = x[:, 0, :] @ to_numpy(cell.kernel) + to_numpy(cell.bias)
        np.testing.assert_allclose(to_numpy(layer(x))[:, 0], expected_fn(a), atol=1e-5)


@pytest.mark.parametrize("case", ALL_CASES, ids=ALL_IDS)
def test_direct_cell_call_equals_rnn_step(case):
    """Outside an RNN the cell builds its constants inline: same numbers."""
    _, cls, kwargs = case
    layer = make_rnn(cls, kwargs, steps=1)
    fixed_weights(layer.cell)
    x = inputs(steps=1)
    rng = np.random.default_rng(2)
    n = layer.cell.num_states
    s0 = [rng.normal(size=(4, 6)).astype("float32") for _ in range(n)]
    out, states = layer.cell(x[:, 0], s0)
    via_rnn = layer(x, initial_state=s0)
    np.testing.assert_allclose(to_numpy(out), to_numpy(via_rnn)[:, 0], atol=1e-6)
    assert isinstance(states, list) and len(states) == n
    if n > 1:
        return
    h0 = s0[0]
    out2, state2 = layer.cell(x[:, 0], h0)  # tensor in, tensor out
    np.testing.assert_allclose(to_numpy(out2), to_numpy(state2), atol=0)


@pytest.mark.parametrize("case", ALL_CASES, ids=ALL_IDS)
def test_config_round_trip(case):
    _, cls, kwargs = case
    cell = cls(5, **kwargs)
    config = cell.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(cell))
    assert type(restored) is cls and restored.get_config() == config


def test_weight_names_and_shapes_follow_the_contract():
    layer = make_rnn(ASRNNCell, dict(mode="dtriv"), units=5, input_dim=3)
    shapes = {v.path.split("/")[-1]: tuple(v.shape) for v in layer.cell.weights}
    assert shapes == {
        "kernel": (3, 5), "recurrent_kernel": (5, 5), "saturation_kernel": (5, 5),
        "saturation_scale": (5,), "bias": (5,), "recurrent_base": (5, 5),
        "saturation_base": (5, 5),
    }
    assert {v.path.split("/")[-1] for v in layer.cell.trainable_weights} == {
        "kernel", "recurrent_kernel", "saturation_kernel", "saturation_scale", "bias"}
    layer = make_rnn(OrthogonalRNNCell, dict(), units=5, input_dim=3)
    assert {v.path.split("/")[-1]: tuple(v.shape) for v in layer.cell.weights} == {
        "kernel": (3, 5), "recurrent_kernel": (5, 5), "modrelu_bias": (5,)}


def _model(cell, steps=7, dim=3, classes=4):
    inp = keras.Input((steps, dim))
    h = keras.layers.RNN(cell, return_sequences=True)(inp)
    return keras.Model(inp, keras.layers.Dense(classes)(h))


@pytest.mark.parametrize("case", ALL_CASES, ids=ALL_IDS)
def test_keras_save_and_load(case, tmp_path):
    _, cls, kwargs = case
    model = _model(cls(6, **kwargs))
    fixed_weights(model.layers[1].cell)
    x = inputs()
    path = os.path.join(tmp_path, "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(to_numpy(loaded(x)), to_numpy(model(x)), atol=1e-6)
    assert type(loaded.layers[1].cell) is cls


def _train(model, steps, lr=0.05, **compile_kwargs):
    model.compile(
        optimizers.RMSprop(lr, lr_multipliers={"recurrent_kernel": 0.5}),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        **compile_kwargs,
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16 * steps, 7, 3)).astype("float32")
    y = rng.integers(0, 4, size=(16 * steps, 7))
    return x, y


@pytest.mark.parametrize("mode", ["exprnn", "dtriv", "cayley"])
def test_still_orthogonal_after_100_optimizer_steps(mode):
    cell = ASRNNCell(8, mode=mode, saturation_kernel_initializer="glorot_uniform")
    model = _model(cell)
    x, y = _train(model, 100)
    cbs = [DtrivRetraction(every=10, reproject_every=3)] if mode == "dtriv" else []
    before = to_numpy(cell.recurrent_matrix())
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=cbs)
    assert int(to_numpy(model.optimizer.iterations)) == 100
    for name in ("recurrent_kernel", "saturation_kernel"):
        w = to_numpy(cell.orthogonal_matrix(name))
        assert np.abs(w.T @ w - np.eye(8)).max() <= 1e-5, name
    assert np.abs(to_numpy(cell.recurrent_matrix()) - before).max() > 1e-3  # it trained


@pytest.mark.slow  # the default tier: tests/test_mixed_precision.py (every cell, both policies)
@pytest.mark.parametrize("case", [CASES[1], CASES[3]], ids=[IDS[1], IDS[3]])
def test_mixed_bfloat16_fit_step(case):
    _, cls, kwargs = case
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    cell = cls(6, **kwargs)
    model = _model(cell)
    x, y = _train(model, 2)
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert cell.compute_dtype == "bfloat16"
    assert all(v.dtype == "float32" for v in cell.weights)
    assert np.all(np.isfinite(to_numpy(model(x[:4]))))


def test_mixed_float16_forward_is_finite():
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    model = _model(ASRNNCell(6, epsilon=0.5))
    assert np.all(np.isfinite(to_numpy(model(inputs()))))


@pytest.mark.skipif(BACKEND == "torch", reason="torch.compile of an RNN: ~1 min to compile, "
                    "slower than eager (notes/keras3.md); run eagerly on torch")
@pytest.mark.parametrize("case", [CASES[0], CASES[5]], ids=[IDS[0], IDS[5]])
def test_jit_compile_fit_step(case):
    _, cls, kwargs = case
    model = _model(cls(6, **kwargs))
    x, y = _train(model, 2, jit_compile=True)
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: ASRNNCell(0), "`units`"),
        (lambda: ASRNNCell(-3), "`units`"),
        (lambda: ASRNNCell(4.5), "`units`"),
        (lambda: ASRNNCell(4, mode="unitary"), "`mode`"),
        (lambda: OrthogonalRNNCell(4, mode="scornn"), "`mode`"),
        (lambda: ASRNNCell(4, epsilon=-1e-3), "`epsilon`"),
        (lambda: ASRNNCell(4, mode="exprnn", rho=1), "`rho`"),
        (lambda: ASRNNCell(4, mode="cayley", rho=9), "`rho`"),
        (lambda: OrthogonalRNNCell(4, activation="no-such"), "`activation`"),
    ],
)
def test_bad_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_input_rank_names_the_fix():
    layer = keras.layers.RNN(ASRNNCell(4))
    with pytest.raises(ValueError, match="keras.layers.RNN"):
        layer(np.zeros((2, 3, 4, 5), "float32"))
    with pytest.raises(ValueError, match="keras.layers.RNN"):
        ASRNNCell(4)(np.zeros((2, 3, 5), "float32"), [np.zeros((2, 4), "float32")])
