"""UR gates, spectrally clipped GRU and stable RNN/LSTM: the papers' own properties.

(The NumPy-reference, config, save/load and direct-call tests of these cells
are in test_cells.py, over tests._cells.GATED_CASES.)
"""

import keras
import numpy as np
import pytest

from keras_rnnzoo.cells import SpectralGRUCell
from keras_rnnzoo.cells import StableLSTMCell
from keras_rnnzoo.cells import StableRNNCell
from keras_rnnzoo.cells import URGRUCell
from keras_rnnzoo.cells import URLSTMCell
from keras_rnnzoo.cells import refine_gate
from keras_rnnzoo.initializers import Chrono
from keras_rnnzoo.initializers import UniformGate
from tests import reference as ref
from tests.conftest import gradient, to_numpy


def logit(p):
    return np.log(p / (1.0 - p))


def built(cell, input_dim=3, steps=5):
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer.build((None, steps, input_dim))
    return layer


def svals(m):
    return np.linalg.svd(np.asarray(m, np.float64), compute_uv=False)


# --- UR gates -------------------------------------------------------------------

@pytest.mark.parametrize("units", [2, 8, 64, 512])
def test_ugi_biases_lie_in_the_interval_and_gates_are_uniform(units):
    b = to_numpy(UniformGate(seed=0)((units,)))
    bound = logit(1.0 - 1.0 / units)
    assert np.all(b >= -bound - 1e-6) and np.all(b <= bound + 1e-6)
    if units == 512:
        gates = 1.0 / (1.0 + np.exp(-b))
        # sigma(b) ~ U[1/H, 1 - 1/H]: quartiles near 0.25 / 0.5 / 0.75.
        np.testing.assert_allclose(np.quantile(gates, [0.25, 0.5, 0.75]), [0.25, 0.5, 0.75],
                                   atol=0.06)


def test_cells_draw_their_gate_bias_from_the_chosen_init():
    lstm = built(URLSTMCell(64)).cell
    b = to_numpy(lstm.gate_bias)
    assert np.abs(b).max() <= logit(1 - 1 / 64) + 1e-6 and b.std() > 1.0
    chrono = built(URLSTMCell(16, gate_init="chrono", max_timescale=100)).cell
    b = to_numpy(chrono.gate_bias)
    assert b.min() >= 0.0 and b.max() <= np.log(99) + 1e-6
    gru_chrono = built(URGRUCell(16, gate_init="chrono")).cell  # g is an update gate: -ln U
    assert to_numpy(gru_chrono.gate_bias).max() <= 1e-6
    standard = built(URLSTMCell(8, gate_init="standard", refine=False, forget_bias=1.0)).cell
    np.testing.assert_allclose(to_numpy(standard.gate_bias), np.ones(8))
    c = to_numpy(Chrono(max_timescale=50, seed=1)((1000,)))
    assert c.min() >= 0 and c.max() <= np.log(49) + 1e-6


def test_effective_gate_bounds_identity_and_symmetry():
    rng = np.random.default_rng(0)
    f = rng.uniform(size=(1000,)).astype("float32")
    r = rng.uniform(size=(1000,)).astype("float32")
    g = to_numpy(refine_gate(f, r))
    assert np.all(f ** 2 <= g + 1e-6) and np.all(g <= 1 - (1 - f) ** 2 + 1e-6)
    np.testing.assert_allclose(to_numpy(refine_gate(f, np.full_like(f, 0.5))), f, atol=1e-6)
    np.testing.assert_allclose(1 - g, to_numpy(refine_gate(1 - f, 1 - r)), atol=1e-6)
    np.testing.assert_allclose(g, ref.refine(f.astype(np.float64), r), atol=1e-6)


def test_effective_gate_gradients_match_closed_forms():
    f = np.array([0.05, 0.3, 0.7, 0.99], "float32")
    r = np.array([0.9, 0.2, 0.5, 0.1], "float32")
    dg_df = gradient(lambda v: keras.ops.sum(refine_gate(v, keras.ops.convert_to_tensor(r))), f)
    dg_dr = gradient(lambda v: keras.ops.sum(refine_gate(keras.ops.convert_to_tensor(f), v)), r)
    np.testing.assert_allclose(dg_df, 2 * r + 2 * f * (1 - 2 * r), atol=1e-6)
    np.testing.assert_allclose(dg_dr, 2 * f * (1 - f), atol=1e-6)


def test_tied_refine_bias_is_one_variable_with_opposite_signs():
    cell = built(URLSTMCell(4)).cell
    names = sorted(v.path.split("/")[-1] for v in cell.trainable_weights)
    assert names == ["bias", "gate_bias", "kernel", "recurrent_kernel"]
    assert cell.second_gate_offset == -1.0
    assert URLSTMCell(4, refine_bias="independent").second_gate_offset == 0.0
    # Moving b_g up opens f and closes r: with zero weights, f = sigma(b), r = sigma(-b).
    cell.kernel.assign(np.zeros((3, 16), "float32"))
    cell.recurrent_kernel.assign(np.zeros((4, 16), "float32"))
    cell.bias.assign(np.zeros((16,), "float32"))
    cell.gate_bias.assign(np.full((4,), 2.0, "float32"))
    weights = {v.path.split("/")[-1]: to_numpy(v) for v in cell.weights}
    x = np.ones((1, 1, 3), "float32")
    np.testing.assert_allclose(to_numpy(keras.layers.RNN(cell)(x)),
                               ref.urlstm_sequence(x, weights)[:, -1], atol=1e-6)


def test_ugi_offset_trainable_in_urlstm_frozen_in_urgru():
    assert "gate_bias" in [v.path.split("/")[-1] for v in built(URLSTMCell(4)).cell.trainable_weights]
    gru = built(URGRUCell(4)).cell
    assert "gate_bias" not in [v.path.split("/")[-1] for v in gru.trainable_weights]
    assert [tuple(v.shape) for v in gru.weights if v.path.endswith("kernel")] == [(3, 16), (4, 16)]
    assert tuple(built(URGRUCell(4, refine=False)).cell.kernel.shape) == (3, 12)


# --- spectrally clipped GRU -------------------------------------------------------

def _fit(cell, steps=10, lr=3.0, input_dim=3, callbacks=(), scale=1.0, seed=0):
    inp = keras.Input((6, input_dim))
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.RNN(cell)(inp)))
    model.compile(keras.optimizers.SGD(lr), "mse")
    rng = np.random.default_rng(seed)
    x = (scale * rng.normal(size=(8 * steps, 6, input_dim))).astype("float32")
    y = rng.normal(size=(8 * steps, 1)).astype("float32") * 5
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=list(callbacks))
    return model


class _EveryStep(keras.callbacks.Callback):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.values = []

    def on_train_batch_end(self, batch, logs=None):
        self.model  # noqa: B018 -- on JAX, reading Callback.model syncs the variables
        self.values.append(self.fn())


def test_spectral_gru_clips_only_the_candidate_block_after_every_step():
    init = keras.initializers.RandomNormal(stddev=1.0, seed=3)  # sigma_1 ~ 2 sqrt(H) >> 1.8
    cell = SpectralGRUCell(8, delta=0.2, recurrent_initializer=init)
    built(cell)
    assert svals(to_numpy(cell.candidate_matrix()))[0] <= 1.8 + 1e-5  # projected at build
    before = to_numpy(cell.recurrent_kernel).copy()
    watch = _EveryStep(lambda: svals(to_numpy(cell.candidate_matrix()))[0])
    _fit(cell, callbacks=[watch])
    after = to_numpy(cell.recurrent_kernel)
    assert max(watch.values) <= 1.8 + 1e-5
    assert np.abs(after[:, :16] - before[:, :16]).max() > 1e-3  # gate blocks train freely
    assert svals(after[:, :8])[0] > 1.8 or svals(after[:, 8:16])[0] > 1.8  # and are not clipped


def test_spectral_gru_jacobian_at_the_origin_is_half_identity_plus_quarter_w():
    cell = SpectralGRUCell(5, delta=None)
    built(cell)
    w_row = to_numpy(cell.candidate_matrix())  # = W_hh^T
    x = np.zeros((1, 3), "float32")

    def f(h):
        return to_numpy(cell(x, [h.astype("float32")])[0])[0]

    eps = 1e-3
    jac = np.stack([(f(eps * e[None]) - f(-eps * e[None])) / (2 * eps) for e in np.eye(5)], 1)
    np.testing.assert_allclose(jac, 0.5 * np.eye(5) + 0.25 * w_row.T, atol=2e-4)


def test_spectral_gru_without_clipping_equals_keras_gru_reset_before():
    cell = SpectralGRUCell(6, delta=None)
    ours = built(cell)
    keras_layer = keras.layers.GRU(6, reset_after=False, use_bias=False, return_sequences=True)
    keras_layer.build((None, 5, 3))
    keras_layer.set_weights([to_numpy(cell.kernel), to_numpy(cell.recurrent_kernel)])
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_allclose(to_numpy(ours(x)), to_numpy(keras_layer(x)), atol=1e-5)


# --- stable RNN / LSTM ------------------------------------------------------------

def test_stable_rnn_keeps_sigma_max_at_most_one_at_every_step():
    cell = StableRNNCell(8)
    built(cell)
    assert svals(to_numpy(cell.recurrent_kernel))[0] <= 1.0 + 1e-5
    watch = _EveryStep(lambda: svals(to_numpy(cell.recurrent_kernel))[0])
    _fit(cell, lr=2.0, callbacks=[watch])
    assert max(watch.values) <= 1.0 + 1e-5 and max(watch.values) > 0.9
    free = built(StableRNNCell(8, constrain=False)).cell
    assert free.recurrent_kernel.constraint is None


def _block_l1(m, units, axis):
    return [np.abs(m[:, j * units:(j + 1) * units]).sum(axis=axis) for j in range(4)]


@pytest.mark.parametrize("axis,sum_axis", [("author", 1), ("linf", 0)])
def test_stable_lstm_block_norms_equal_the_constants_after_fit(axis, sum_axis):
    cell = StableLSTMCell(6, axis=axis)
    built(cell)
    kernel_before = to_numpy(cell.kernel).copy()
    _fit(cell, lr=1.0)
    rec = _block_l1(to_numpy(cell.recurrent_kernel), 6, sum_axis)
    for norms, c in zip(rec, (0.395, 0.155, 0.099, 0.395)):
        np.testing.assert_allclose(norms, c, rtol=1e-5)
    kernel = to_numpy(cell.kernel)
    np.testing.assert_allclose(_block_l1(kernel, 6, sum_axis)[1], 0.25, rtol=1e-5)
    # W_xi, W_xu, W_xo are free: they trained and are not normalised.
    free = np.concatenate([kernel[:, :6], kernel[:, 12:]], axis=1)
    free_before = np.concatenate([kernel_before[:, :6], kernel_before[:, 12:]], axis=1)
    assert np.abs(free - free_before).max() > 1e-4


def test_stable_lstm_recurs_over_time():
    layer = built(StableLSTMCell(6, forget_bias=20.0), steps=8)
    x = np.random.default_rng(0).normal(size=(1, 8, 3)).astype("float32")
    x2 = x.copy()
    x2[:, 0] += 1.0
    h, h2 = to_numpy(layer(x))[:, -1], to_numpy(layer(x2))[:, -1]
    assert np.abs(h - h2).max() > 1e-4
    np.testing.assert_allclose(to_numpy(layer.cell.bias)[6:12].mean(), 20.0, atol=0.5)


@pytest.mark.slow  # the default tier: tests/test_mixed_precision.py (every cell, both policies)
@pytest.mark.parametrize("cell_fn", [lambda: URLSTMCell(6), lambda: URGRUCell(6),
                                     lambda: SpectralGRUCell(6), lambda: StableRNNCell(6),
                                     lambda: StableLSTMCell(6)])
def test_mixed_bfloat16_fit_step(cell_fn):
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    cell = cell_fn()
    model = _fit(cell, steps=2, lr=0.1)
    assert cell.compute_dtype == "bfloat16"
    assert all(v.dtype == "float32" for v in cell.weights)
    x = np.random.default_rng(0).normal(size=(4, 6, 3)).astype("float32")
    assert np.all(np.isfinite(to_numpy(model(x)).astype("float32")))


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: SpectralGRUCell(4, delta=0.0), "`delta`"),
        (lambda: SpectralGRUCell(4, delta=2.0), "`delta`"),
        (lambda: SpectralGRUCell(4, delta=-0.1), "`delta`"),
        (lambda: SpectralGRUCell(0), "`units`"),
        (lambda: URLSTMCell(0), "`units`"),
        (lambda: URLSTMCell(1), "`units`"),
        (lambda: URGRUCell(4, gate_init="ugi"), "`gate_init`"),
        (lambda: URLSTMCell(4, refine_bias="shared"), "`refine_bias`"),
        (lambda: URLSTMCell(4, max_timescale=10), "`max_timescale`"),
        (lambda: URLSTMCell(4, gate_init="chrono", max_timescale=1), "`max_timescale`"),
        (lambda: URLSTMCell(4, refine="yes"), "`refine`"),
        (lambda: StableRNNCell(4, max_singular_value=0), "`max_singular_value`"),
        (lambda: StableRNNCell(-2), "`units`"),
        (lambda: StableLSTMCell(4, axis="rows"), "`axis`"),
        (lambda: StableLSTMCell(4, recurrent_scales=(1, 2)), "`recurrent_scales`"),
        (lambda: UniformGate(units=1), "`units`"),
        (lambda: Chrono(max_timescale=1.5), "`max_timescale`"),
    ],
)
def test_bad_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_ur_cells_take_any_constraint_and_serialise_it():
    from keras_rnnzoo.constraints import SpectralClip

    cell = URLSTMCell(6, recurrent_constraint=SpectralClip(0.5, num_blocks=4, blocks=[2]))
    built(cell)
    _fit(cell, lr=2.0)
    assert svals(to_numpy(cell.recurrent_kernel)[:, 12:18])[0] <= 0.5 + 1e-5
    clone = URLSTMCell.from_config(cell.get_config())
    assert isinstance(clone.recurrent_constraint, SpectralClip)
    assert clone.recurrent_constraint.get_config() == cell.recurrent_constraint.get_config()


def _first_cell_state(cell, c0, candidate_bias):
    """c_1 of a URLSTMCell with zero weights, x = h = 0, c_0 = c0 and the
    candidate block's bias set (u = tanh(candidate_bias))."""
    h = cell.units
    bias = np.zeros(4 * h, "float32")
    bias[2 * h:3 * h] = candidate_bias
    for v in (cell.kernel, cell.recurrent_kernel):
        v.assign(np.zeros(v.shape, "float32"))
    cell.bias.assign(bias)
    _, (_, c) = cell(np.zeros((1, 3), "float32"),
                     [np.zeros((1, h), "float32"), np.full((1, h), c0, "float32")])
    return to_numpy(c)[0]


@pytest.mark.parametrize("label,kwargs", [
    ("--", dict(gate_init="standard", refine=False)),
    ("U-", dict(refine=False)),
    ("C-", dict(gate_init="chrono", refine=False)),
    ("-R", dict(gate_init="standard")),
    ("UR", dict()),
])
def test_initial_gate_values_follow_the_documented_table(label, kwargs):
    """The table of URLSTMCell's docstring: gates at a = 0 for each ablation."""
    h = 16
    cell = URLSTMCell(h, **kwargs)
    cell.build((None, 3))
    b_g = to_numpy(cell.gate_bias)
    retained = _first_cell_state(cell, 1.0, 0.0)        # c_1 = g (or f) with u = 0
    written = _first_cell_state(cell, 0.0, 1.0) / np.tanh(1.0)  # c_1 / u = 1 - g (or i)
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    if label == "--":
        np.testing.assert_allclose(retained, sig(1.0), rtol=1e-5)
        np.testing.assert_allclose(written, 0.5, rtol=1e-5)
    elif label == "U-":
        assert np.all((retained >= 1 / h - 1e-6) & (retained <= 1 - 1 / h + 1e-6))
        np.testing.assert_allclose(written, 0.5, rtol=1e-5)
    elif label == "C-":
        np.testing.assert_allclose(retained, sig(b_g), rtol=1e-5)
        np.testing.assert_allclose(written, sig(-b_g), rtol=1e-5)
    elif label == "-R":
        np.testing.assert_allclose(b_g, 0.0)
        np.testing.assert_allclose(retained, 0.5, rtol=1e-5)  # f = r = 1/2: g = f
        np.testing.assert_allclose(written, 0.5, rtol=1e-5)
    else:
        u = sig(b_g)
        g = 2 * (1 - u) * u + (1 - 2 * (1 - u)) * u ** 2
        np.testing.assert_allclose(retained, g, rtol=1e-5)
        np.testing.assert_allclose(written, 1 - g, rtol=1e-5)
