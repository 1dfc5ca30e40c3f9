"""Helpers: build zoo cells in an RNN and give them fixed, non-trivial weights."""

import keras
import numpy as np
import scipy.linalg

from keras_rnnzoo.cells import ASRNNCell
from keras_rnnzoo.cells import GRUCell
from keras_rnnzoo.cells import LSTMCell
from keras_rnnzoo.cells import RNNCell
from keras_rnnzoo.cells import SpectralGRUCell
from keras_rnnzoo.cells import StableLSTMCell
from keras_rnnzoo.cells import StableRNNCell
from keras_rnnzoo.cells import OrthogonalRNNCell
from keras_rnnzoo.cells import URGRUCell
from keras_rnnzoo.cells import URLSTMCell
from tests import reference as ref

# (id, class, kwargs): every cell and mode.
CASES = [
    ("asrnn-exprnn", ASRNNCell, dict(mode="exprnn", epsilon=0.01)),
    ("asrnn-dtriv", ASRNNCell, dict(mode="dtriv", epsilon=1e-5)),
    ("asrnn-cayley", ASRNNCell, dict(mode="cayley", epsilon=0.1, rho=2)),
    ("orth-exprnn", OrthogonalRNNCell, dict(mode="exprnn")),
    ("orth-dtriv", OrthogonalRNNCell, dict(mode="dtriv")),
    ("orth-cayley", OrthogonalRNNCell, dict(mode="cayley")),
    ("orth-tanh-bias", OrthogonalRNNCell, dict(mode="exprnn", activation="tanh", use_bias=True)),
]
IDS = [c[0] for c in CASES]

# The gated and constrained families (issue 3): every ablation setting.
GATED_CASES = [
    ("urlstm", URLSTMCell, dict()),
    ("urlstm-independent", URLSTMCell, dict(refine_bias="independent")),
    ("urlstm-chrono-lstm", URLSTMCell, dict(gate_init="chrono", refine=False)),
    ("urlstm-u-lstm", URLSTMCell, dict(refine=False)),
    ("urlstm-standard", URLSTMCell, dict(gate_init="standard", refine=False)),
    ("urgru", URGRUCell, dict()),
    ("urgru-tied", URGRUCell, dict(refine_bias="tied", gate_bias_trainable=True)),
    ("urgru-norefine", URGRUCell, dict(refine=False)),
    ("spectral-gru", SpectralGRUCell, dict(delta=0.2, use_bias=True)),
    ("spectral-gru-nobias", SpectralGRUCell, dict()),
    ("stable-rnn", StableRNNCell, dict()),
    ("stable-lstm", StableLSTMCell, dict()),
    ("stable-lstm-linf", StableLSTMCell, dict(axis="linf")),
]
# The zoo's baselines (issue 4).
BASELINE_CASES = [
    ("rnn", RNNCell, dict()),
    ("rnn-relu-nobias", RNNCell, dict(activation="relu", use_bias=False)),
    ("lstm", LSTMCell, dict()),
    ("gru", GRUCell, dict()),
    ("gru-reset-before", GRUCell, dict(reset_after=False)),
]
ALL_CASES = CASES + GATED_CASES + BASELINE_CASES
ALL_IDS = [c[0] for c in ALL_CASES]


def make_rnn(cls, kwargs, units=6, input_dim=3, steps=7, **rnn_kwargs):
    cell = cls(units, **kwargs)
    layer = keras.layers.RNN(cell, return_sequences=True, **rnn_kwargs)
    layer.build((None, steps, input_dim))
    return layer


def fixed_weights(cell, seed=0):
    """Assign seeded values (a rotated dtriv base, spread saturation scales)."""
    rng = np.random.default_rng(seed)
    values = {}
    for v in cell.weights:
        name = v.path.split("/")[-1]
        shape = tuple(v.shape)
        if name.endswith("_base"):
            value = scipy.linalg.expm(ref.skew(rng.normal(size=shape)))
        elif name == "saturation_scale":
            value = rng.uniform(0.3, 2.0, size=shape) * rng.choice([-1, 1], size=shape)
        else:
            value = rng.normal(scale=0.5, size=shape)
        v.assign(value.astype("float32"))
        values[name] = value.astype("float32")
    return values


def reference_outputs(cell, x, weights, input_mask=None, recurrent_mask=None):
    """The NumPy reference of ``cell``'s equations; with dropout masks (batch, d)
    and (batch, H): x_t * m_x before the input kernel, h_{t-1} * m_h before the
    recurrent matrices."""
    if input_mask is not None:
        x = np.asarray(x) * np.asarray(input_mask)[:, None, :]
    m = dict(recurrent_mask=recurrent_mask)
    if isinstance(cell, URLSTMCell):
        return ref.urlstm_sequence(x, weights, cell.refine, cell.second_gate_offset, **m)
    if isinstance(cell, URGRUCell):
        return ref.urgru_sequence(x, weights, cell.refine, cell.refine_bias == "tied", **m)
    if isinstance(cell, GRUCell):  # SpectralGRUCell too (reset before W_hh)
        if cell.reset_after:
            return ref.gru_reset_after_sequence(x, weights, **m)
        return ref.gru_sequence(x, weights, **m)
    if isinstance(cell, RNNCell):  # StableRNNCell too
        act = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0.0)}[cell.activation.__name__]
        return ref.rnn_sequence(x, weights, act, **m)
    if isinstance(cell, LSTMCell):  # StableLSTMCell too
        return ref.lstm_sequence(x, weights, **m)
    if isinstance(cell, ASRNNCell):
        return ref.asrnn_sequence(x, weights, cell.mode, cell.epsilon, cell.rho, **m)
    activation = "modrelu" if cell.activation is None else "tanh"
    return ref.orthogonal_rnn_sequence(x, weights, cell.mode, cell.rho, activation, **m)
