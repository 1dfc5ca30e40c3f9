"""Keras' cell arguments on every zoo cell (dropout, regularisers, constraints,
seed), refused arguments, and the errors a new user meets first."""

import keras
import numpy as np
import pytest

from keras_rnnzoo import cells
from keras_rnnzoo import layers
from tests._cells import ALL_CASES, ALL_IDS, fixed_weights, reference_outputs
from tests.conftest import BACKEND, to_numpy

UNITS, STEPS, DIM = 6, 7, 3
DROPOUT = dict(dropout=0.3, recurrent_dropout=0.4)


def inputs(batch=4, seed=1):
    return np.random.default_rng(seed).normal(size=(batch, STEPS, DIM)).astype("float32")


def recorded(cell):
    """Wrap ``cell.dropout_masks``: the list of mask dicts it returned."""
    seen, draw = [], cell.dropout_masks

    def record(*args):
        masks = draw(*args)
        seen.append({k: to_numpy(v) for k, v in masks.items()})
        return masks

    cell.dropout_masks = record
    return seen


def built(cls, kwargs, **cell_kwargs):
    layer = keras.layers.RNN(cls(UNITS, **kwargs, **cell_kwargs), return_sequences=True)
    layer.build((None, STEPS, DIM))
    fixed_weights(layer.cell)
    return layer


@pytest.mark.parametrize("case", ALL_CASES, ids=ALL_IDS)
def test_dropout_matches_the_reference_with_the_same_masks(case):
    """Outputs equal the NumPy equations with x_t * m_x and h_{t-1} * m_h; the
    fast path draws the same masks from the same seed and gives the same numbers."""
    _, cls, kwargs = case
    x = inputs()
    outs = []
    for rnn in (keras.layers.RNN, layers.RNN):
        layer = rnn(cls(UNITS, **kwargs, **DROPOUT, seed=7), return_sequences=True)
        layer.build((None, STEPS, DIM))
        weights = fixed_weights(layer.cell, seed=3)
        masks = recorded(layer.cell)
        outs.append(to_numpy(layer(x, training=True)))
        assert len(masks) == 1 and set(masks[0]) == {"input_mask", "recurrent_mask"}
        want = reference_outputs(layer.cell, x, weights, masks[0]["input_mask"],
                                 masks[0]["recurrent_mask"])
        np.testing.assert_allclose(outs[-1], want, atol=1e-5, rtol=1e-5)
        values = masks[0]["input_mask"]
        assert np.all(np.isclose(values, 0.0) | np.isclose(values, 1 / 0.7, rtol=1e-5))
    assert layer.last_path == "fast"
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cls", [cells.URLSTMCell, cells.ASRNNCell, cells.GRUCell],
                         ids=["urlstm", "asrnn", "gru"])
def test_one_mask_per_sequence_new_per_batch_none_at_inference(cls):
    layer = layers.RNN(cls(UNITS, **DROPOUT, seed=11), return_sequences=True)
    layer.build((None, STEPS, DIM))
    fixed_weights(layer.cell)
    twin = layers.RNN(cls(UNITS, **DROPOUT, seed=11), return_sequences=True)
    twin.build((None, STEPS, DIM))
    twin.set_weights(layer.get_weights())
    plain = layers.RNN(cls(UNITS), return_sequences=True)
    plain.build((None, STEPS, DIM))
    plain.set_weights([w for w in layer.get_weights()][:len(plain.get_weights())])
    x = inputs()
    masks, twin_masks = recorded(layer.cell), recorded(twin.cell)
    first, second = to_numpy(layer(x, training=True)), to_numpy(layer(x, training=True))
    assert len(masks) == 2  # one draw per pass, shared by all T steps (reference test)
    assert not np.allclose(masks[0]["recurrent_mask"], masks[1]["recurrent_mask"])
    assert not np.allclose(first, second)
    np.testing.assert_allclose(to_numpy(twin(x, training=True)), first, atol=1e-6)  # seed
    np.testing.assert_allclose(twin_masks[0]["input_mask"], masks[0]["input_mask"])
    inference = to_numpy(layer(x))
    np.testing.assert_allclose(inference, to_numpy(plain(x)), atol=1e-6)
    np.testing.assert_allclose(inference, to_numpy(layer(x, training=False)), atol=0)


def test_dropout_trains_in_fit_on_the_fast_path():
    inp = keras.Input((STEPS, DIM))
    rnn = layers.RNN(cells.URLSTMCell(UNITS, **DROPOUT, seed=1))
    model = keras.Model(inp, keras.layers.Dense(2)(rnn(inp)))
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    x, y = inputs(16), np.zeros((16, 2), "float32")
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert rnn.last_path == "fast"
    assert np.all(np.isfinite(history.history["loss"]))


def _regularised(cls):
    args = {"kernel_regularizer": keras.regularizers.L2(0.1),
            "bias_regularizer": keras.regularizers.L1(0.2)}
    if "recurrent_regularizer" not in cls._refused:
        args["recurrent_regularizer"] = keras.regularizers.L2(0.3)
    return args


# One configuration of every cell class (each creates its weights its own way).
ONE_PER_CLASS = list({c[1]: c for c in reversed(ALL_CASES)}.values())


@pytest.mark.parametrize("case", ONE_PER_CLASS, ids=[c[0] for c in ONE_PER_CLASS])
def test_regularizers_add_to_model_losses(case):
    _, cls, kwargs = case
    args = _regularised(cls)
    layer = built(cls, kwargs, **args)
    cell = layer.cell
    want = 0.1 * np.sum(to_numpy(cell.kernel) ** 2)
    if "recurrent_regularizer" in args:
        want += 0.3 * np.sum(to_numpy(cell.recurrent_kernel) ** 2)
    if cell.bias is not None:
        want += 0.2 * np.sum(np.abs(to_numpy(cell.bias)))
    inp = keras.Input((STEPS, DIM))
    model = keras.Model(inp, layer(inp))
    model(inputs())
    np.testing.assert_allclose(sum(float(to_numpy(l)) for l in model.losses), want, rtol=1e-5)
    config = cell.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config


@pytest.mark.parametrize("cls", [cells.URLSTMCell, cells.ASRNNCell, cells.GRUCell,
                                 cells.StableRNNCell], ids=["urlstm", "asrnn", "gru", "stable"])
def test_kernel_and_bias_constraints_hold_after_a_step(cls):
    cell = cls(UNITS, kernel_constraint="non_neg", bias_constraint="non_neg")
    inp = keras.Input((STEPS, DIM))
    model = keras.Model(inp, keras.layers.Dense(2)(layers.RNN(cell)(inp)))
    model.compile(keras.optimizers.SGD(0.5), "mse")
    model.train_on_batch(inputs(), np.ones((4, 2), "float32"))
    assert to_numpy(cell.kernel).min() >= 0
    assert to_numpy(cell.bias).min() >= 0
    assert cls.from_config(cell.get_config()).get_config() == cell.get_config()


@pytest.mark.parametrize("make,match", [
    (lambda: cells.ASRNNCell(4, recurrent_constraint="non_neg"), "free parameter A"),
    (lambda: cells.OrthogonalRNNCell(4, recurrent_regularizer="l2"), "orthogonal for every A"),
    (lambda: cells.StableRNNCell(4, recurrent_constraint="non_neg"), "max_singular_value"),
    (lambda: cells.StableLSTMCell(4, kernel_constraint="non_neg"), "input_forget_scale"),
    (lambda: cells.SpectralGRUCell(4, reset_after=True), "reset gate before"),
    (lambda: cells.URLSTMCell(4, activity_regularizer="l2"), "RNN layer instead"),
    (lambda: cells.GRUCell(4, dropout=1.0), "`dropout`"),
    (lambda: cells.RNNCell(4, recurrent_dropout=-0.1), "`recurrent_dropout`"),
    (lambda: cells.LSTMCell(4, dropout="0.2"), "`dropout`"),
    (lambda: cells.LSTMCell(4, seed=1.5), "`seed`"),
    (lambda: cells.ASRNNCell(4, epsilon=0.0), "singular"),
    (lambda: cells.ASRNNCell(4, epsilon=float("inf")), "finite"),
    (lambda: cells.ASRNNCell(4, epsilon=float("nan")), "finite"),
    (lambda: cells.URLSTMCell(4, forget_bias="1"), "`forget_bias`"),
], ids=["asrnn-constraint", "orth-regularizer", "stable-constraint", "stable-lstm-kernel",
        "spectral-reset", "activity", "dropout-1", "rec-dropout-neg", "dropout-str",
        "seed-float", "eps-0", "eps-inf", "eps-nan", "forget-bias-str"])
def test_refused_arguments_say_why(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_epsilon_zero_accepted_with_scales_away_from_zero():
    cell = cells.ASRNNCell(4, epsilon=0.0,
                           saturation_scale_initializer=keras.initializers.RandomUniform(0.8, 3.0))
    out = keras.layers.RNN(cell)(inputs()[..., :3])
    assert np.all(np.isfinite(to_numpy(out)))


@pytest.mark.parametrize("cls", [cells.ASRNNCell, cells.URLSTMCell, cells.StableRNNCell,
                                 cells.URGRUCell], ids=["asrnn", "urlstm", "stable", "urgru"])
def test_numpy_integer_units(cls):
    cell = cls(np.int64(4))
    assert type(cell.units) is int and cell.units == 4
    assert keras.layers.RNN(cell)(inputs()).shape == (4, 4)


def test_rank_2_sequences_and_bad_initial_state_say_what_is_wrong():
    with pytest.raises(ValueError, match="3-D"):
        keras.layers.RNN(cells.URLSTMCell(4))(np.zeros((2, 5), "float32"))
    layer = layers.RNN(cells.URLSTMCell(UNITS), fast_path=False)
    with pytest.raises(ValueError, match=r"2 state\(s\) \[h, c\]"):
        layer(inputs(), initial_state=[np.zeros((4, UNITS), "float32")])
    with pytest.raises(ValueError, match=r"shape \(batch, 6\)"):
        cells.GRUCell(UNITS)(inputs()[:, 0], [np.zeros((4, 5), "float32")])


def _raise_once(cell):
    step = cell.step
    state = {"armed": True}

    def failing(*args):
        if state["armed"]:
            state["armed"] = False
            raise KeyboardInterrupt("interrupted mid-loop")
        return step(*args)

    cell.step = failing


@pytest.mark.parametrize("rnn", [keras.layers.RNN, layers.RNN], ids=["keras-rnn", "zoo-rnn"])
def test_constants_never_outlive_a_pass_that_raised(rnn):
    """An exception inside the loop (here a Ctrl-C) leaves no stale per-sequence
    matrices: the next pass, fast or not, and training use fresh ones."""
    kwargs = {} if rnn is keras.layers.RNN else {"fast_path": False}
    layer = rnn(cells.ASRNNCell(UNITS, mode="dtriv"), return_sequences=True, **kwargs)
    layer.build((None, STEPS, DIM))
    cell = layer.cell
    fixed_weights(cell)
    x = inputs()
    _raise_once(cell)
    with pytest.raises(KeyboardInterrupt):
        layer(x)
    if rnn is layers.RNN:
        assert cell._pass_constants is None  # released by the zoo layer
    cell.dtriv_chart_change()  # the weights move after the failed pass
    cell.saturation_scale.assign(np.full((UNITS,), 0.7, "float32"))
    weights = {v.path.split("/")[-1]: to_numpy(v) for v in cell.weights}
    want = reference_outputs(cell, x, weights)
    h1, _ = cell(x[:, 0], [np.zeros((4, UNITS), "float32")])  # a direct call right after
    np.testing.assert_allclose(to_numpy(h1), want[:, 0], atol=1e-5)
    fast = layers.RNN(cell, return_sequences=True)
    np.testing.assert_allclose(to_numpy(fast(x)), want, atol=1e-5)
    np.testing.assert_allclose(to_numpy(layer(x)), want, atol=1e-5)
    inp = keras.Input((STEPS, DIM))
    model = keras.Model(inp, keras.layers.Dense(2)(fast(inp)))
    model.compile(keras.optimizers.SGD(0.1), "mse")
    before = to_numpy(cell.recurrent_kernel)
    model.train_on_batch(x, np.ones((4, STEPS, 2), "float32"))
    assert np.abs(to_numpy(cell.recurrent_kernel) - before).max() > 0  # A still trains


def test_asrnn_defaults_train_in_mixed_float16():
    """U_f D^-1 has entries 1/eps = 1e5 > 65504 with the copy defaults: kept in float32."""
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    cell = cells.ASRNNCell(UNITS, mode="dtriv")
    inp = keras.Input((STEPS, DIM))
    model = keras.Model(inp, keras.layers.Dense(2, dtype="float32")(layers.RNN(cell)(inp)))
    model.compile(keras.optimizers.SGD(0.01), "mse")
    x = inputs(8)
    assert np.all(np.isfinite(to_numpy(model(x))))
    assert np.all(np.isfinite(to_numpy(keras.layers.RNN(cell)(x))))  # Keras' loop too
    history = model.fit(x, np.ones((8, 2), "float32"), epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert np.all(np.isfinite(to_numpy(cell.recurrent_kernel)))


def test_abs_of_the_saturation_scale_has_zero_derivative_at_zero():
    """s starts at 0 with the copy defaults: it must not train on any backend."""
    cell = cells.ASRNNCell(UNITS)
    inp = keras.Input((STEPS, DIM))
    model = keras.Model(inp, keras.layers.Dense(2)(layers.RNN(cell)(inp)))
    model.compile(keras.optimizers.SGD(0.05), "mse")
    for _ in range(3):
        model.train_on_batch(inputs(), np.ones((4, 2), "float32"))
    assert np.abs(to_numpy(cell.saturation_scale)).max() == 0.0
    cell.saturation_scale.assign(np.linspace(-1, 1, UNITS).astype("float32") + 0.05)
    model.optimizer.learning_rate.assign(1e-3)
    model.train_on_batch(inputs(), np.ones((4, 2), "float32"))  # away from 0 it trains
    assert np.abs(to_numpy(cell.saturation_scale) - (np.linspace(-1, 1, UNITS) + 0.05)).max() > 0


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16", "mixed_float16"])
def test_dropout_with_hoisted_inputs_and_mixed_precision(policy):
    """The input mask broadcast over T when all steps are projected at once,
    and masks in the compute dtype under mixed precision."""
    keras.mixed_precision.set_dtype_policy(policy)
    x = inputs()
    outs = []
    for hoist in (False, True):
        layer = layers.RNN(cells.GRUCell(UNITS, **DROPOUT, seed=5), hoist_inputs=hoist,
                           return_sequences=True)
        layer.build((None, STEPS, DIM))
        fixed_weights(layer.cell, seed=2)
        outs.append(to_numpy(layer(x, training=True)).astype("float32"))
        assert layer.last_path == "fast"
    tolerance = 1e-5 if policy == "float32" else 5e-2
    np.testing.assert_allclose(outs[0], outs[1], atol=tolerance)
    assert np.all(np.isfinite(outs[0]))
