"""Every zoo cell by name, with the initialisation the training scripts use.

``get_cell("urlstm", 128)`` returns a new cell; the same arguments (``seed``
included) give the same initial weights on every call, so results reproduce.
``CELL_NAMES`` maps each name to a one-line description.
"""

import numbers

import keras
import numpy as np

from keras_rnnzoo import initializers
from keras_rnnzoo.cells._base import check_choice
from keras_rnnzoo.cells._base import check_units
from keras_rnnzoo.cells.asrnn import ASRNNCell
from keras_rnnzoo.cells.baselines import GRUCell
from keras_rnnzoo.cells.baselines import LSTMCell
from keras_rnnzoo.cells.baselines import RNNCell
from keras_rnnzoo.cells.orthogonal_rnn import OrthogonalRNNCell
from keras_rnnzoo.cells.spectral_gru import SpectralGRUCell
from keras_rnnzoo.cells.stable import StableLSTMCell
from keras_rnnzoo.cells.stable import StableRNNCell
from keras_rnnzoo.cells.ur_gates import URGRUCell
from keras_rnnzoo.cells.ur_gates import URLSTMCell

# name -> one-line description
CELL_NAMES = {
    "asrnn": "ASRNNCell (asrnn_mode, default dtriv; epsilon)",
    "exprnn": "OrthogonalRNNCell(mode=exprnn), modReLU",
    "dtriv": "OrthogonalRNNCell(mode=dtriv), modReLU",
    "scornn": "OrthogonalRNNCell(mode=cayley), modReLU",
    "urlstm": "URLSTMCell: UGI + refine gate (UR-)",
    "ulstm": "URLSTMCell(refine=False): LSTM with UGI (U-)",
    "rlstm": "URLSTMCell(gate_init=standard): refine gate only (-R)",
    "clstm": "URLSTMCell(gate_init=chrono, refine=False): chrono LSTM (C-)",
    "urgru": "URGRUCell: UGI + refine gate",
    "spectral_gru": "SpectralGRUCell (delta, default 0.2; delta None: plain GRU, reset before)",
    "stable_rnn": "StableRNNCell: sigma_max(W_hh) <= 1",
    "stable_lstm": "StableLSTMCell: Miller & Hardt's block normalisation (stable_axis)",
    "lstm": "LSTMCell (Keras' LSTM maths), PyTorch init, forget bias 1",
    "gru": "GRUCell (reset after, PyTorch's form), PyTorch init (b_ih, b_hh each uniform)",
    "rnn": "RNNCell (tanh; Keras' SimpleRNN init: Glorot / orthogonal / zero bias)",
}
# The cells with an orthogonal recurrent kernel (their free parameters usually
# train at a smaller learning rate).
ORTHOGONAL_CELLS = ("asrnn", "exprnn", "dtriv", "scornn")
# The cells whose PyTorch counterpart is nn.RNN / nn.LSTM / nn.GRU: the ones
# Miller & Hardt's author initialisation (init="author") is defined for.
AUTHOR_INIT_CELLS = ("stable_rnn", "stable_lstm", "rnn", "lstm", "gru")
AUTHOR_BIAS = 10.0  # bias[n//4:n//2].fill_(10.) in both b_ih and b_hh (millerjohnp/TCN)
ASRNN_MODES = ("exprnn", "dtriv", "cayley")
STABLE_AXES = ("author", "linf")
INITS = ("default", "author")
ORTHOGONAL_INITS = ("henaff", "cayley")

_ORTHOGONAL_MODES = {"exprnn": "exprnn", "dtriv": "dtriv", "scornn": "cayley"}
_UR_LSTMS = {"urlstm": ("uniform", True), "ulstm": ("uniform", False),
             "rlstm": ("standard", True), "clstm": ("chrono", False)}


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def get_cell(name, units, *, seed=0, asrnn_mode="dtriv", epsilon=1e-5, delta=0.2,
             chrono_tmax=None, stable_axis="author", constrain=True, init="default",
             lstm_forget_bias=1.0, orthogonal_init="henaff", dropout=0.0,
             recurrent_dropout=0.0, saturation_range=(0.0, 0.0), recurrent_dtype=None):
    """A new zoo cell by name (one of ``CELL_NAMES``) with ``units`` hidden units.

    Args:
        name: the cell, e.g. ``"asrnn"``, ``"urlstm"``, ``"lstm"`` (see ``CELL_NAMES``).
        units: hidden size H, a positive integer.
        seed: integer (or None) seeding the initialisers that take one: Henaff for
            the orthogonal cells, the PyTorch-style uniforms of lstm / gru and of
            ``init="author"`` (one independent seed per weight, ``sub_seed``).
        asrnn_mode: ``"exprnn"``, ``"dtriv"`` or ``"cayley"`` (asrnn only).
        epsilon: asRNN's eps in D = diag(|s| + eps) (asrnn only).
        delta: spectral_gru clips sigma(W_hh) at 2 - delta, in (0, 2); None: no clip.
        chrono_tmax: T_max of the chrono initialisation (clstm only; None: H).
        stable_axis: ``"author"`` or ``"linf"`` (stable_lstm only).
        constrain: False drops the projection of stable_rnn / stable_lstm (the
            unstable counterpart, same maths and initialisation).
        init: ``"default"``, or ``"author"``: Miller & Hardt's PyTorch initialisation
            with bias offsets (only for ``AUTHOR_INIT_CELLS``).
        lstm_forget_bias: the forget-gate bias of lstm (1.0), or None for PyTorch's
            ``nn.LSTM`` default (no offset).
        orthogonal_init: the initialiser of the skew matrix A of W_hh for the
            orthogonal cells (asrnn, exprnn, dtriv, scornn): ``"henaff"`` (the
            copy task's) or ``"cayley"`` (pixel MNIST and PTB in the asRNN code).
        dropout, recurrent_dropout: Keras' cell dropout rates on the inputs and
            on the recurrent state (per-sequence masks), in [0, 1).
        saturation_range: asRNN's (a, b): s ~ U(a, b) per unit (the official
            command line's a, b: copy 0, 0; MNIST 0.02, 0.02; PTB-c 0.8, 3).
        recurrent_dtype: None (default: the policy's compute dtype) or
            ``"float32"``: the orthogonal cells compute h_{t-1} W (asRNN: and its
            saturation) in float32 under a mixed policy, which keeps ||h_t|| over
            long sequences in bfloat16 (benchmarks/results/precision_drift.md).
            Only for ``ORTHOGONAL_CELLS``.

    Raises:
        ValueError: naming the argument and its valid choices.
    """
    if name not in CELL_NAMES:
        raise ValueError(f"`name` must be one of {', '.join(repr(c) for c in CELL_NAMES)}; "
                         f"got {name!r}.")
    h = check_units(units)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(f"`seed` must be an integer or None; got {seed!r}.")
    check_choice("asrnn_mode", asrnn_mode, ASRNN_MODES)
    check_choice("stable_axis", stable_axis, STABLE_AXES)
    check_choice("init", init, INITS)
    if not isinstance(constrain, bool):
        raise ValueError(f"`constrain` must be True or False; got {constrain!r}.")
    if chrono_tmax is not None and (not _is_number(chrono_tmax) or not chrono_tmax > 0):
        raise ValueError(f"`chrono_tmax` must be a number > 0, or None for H; "
                         f"got {chrono_tmax!r}.")
    if lstm_forget_bias is not None and not _is_number(lstm_forget_bias):
        raise ValueError(f"`lstm_forget_bias` must be a number, or None for PyTorch's "
                         f"nn.LSTM default (no offset); got {lstm_forget_bias!r}.")
    check_choice("orthogonal_init", orthogonal_init, ORTHOGONAL_INITS)
    for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
        if not (_is_number(rate) and 0.0 <= rate < 1.0):
            raise ValueError(f"`{arg}` must be a rate in [0, 1); got {rate!r}.")
    check_choice("recurrent_dtype", recurrent_dtype, (None, "float32"))
    if recurrent_dtype is not None and name not in ORTHOGONAL_CELLS:
        raise ValueError(f"`recurrent_dtype` applies to the orthogonal cells "
                         f"{', '.join(ORTHOGONAL_CELLS)}; got name={name!r}. Leave it None.")
    author = init == "author"
    if author and name not in AUTHOR_INIT_CELLS:
        raise ValueError(f"`init='author'` is defined for the cells "
                         f"{', '.join(AUTHOR_INIT_CELLS)}; got name={name!r}.")

    drop = {"dropout": float(dropout), "recurrent_dropout": float(recurrent_dropout)}
    drop = {k: v for k, v in drop.items() if v}
    if drop and seed is not None:  # the dropout masks' own seed stream
        drop["seed"] = sub_seed(seed, 5)
    skew = (initializers.Henaff if orthogonal_init == "henaff" else initializers.Cayley)
    orthogonal = {} if recurrent_dtype is None else {"recurrent_dtype": recurrent_dtype}
    if name == "asrnn":
        low, high = _saturation_range(saturation_range)
        scale = "zeros" if low == high == 0.0 else (
            keras.initializers.Constant(low) if low == high
            else keras.initializers.RandomUniform(low, high, seed=sub_seed(seed, 8)))
        return ASRNNCell(h, mode=asrnn_mode, epsilon=epsilon,
                         recurrent_initializer=skew(seed=seed),
                         saturation_scale_initializer=scale, **orthogonal, **drop)
    if name in _ORTHOGONAL_MODES:
        return OrthogonalRNNCell(h, mode=_ORTHOGONAL_MODES[name],
                                 recurrent_initializer=skew(seed=seed), **orthogonal, **drop)
    if name in _UR_LSTMS:
        gate_init, refine = _UR_LSTMS[name]
        tmax = chrono_tmax if gate_init == "chrono" else None
        return URLSTMCell(h, gate_init=gate_init, refine=refine, max_timescale=tmax, **drop)
    if name == "urgru":
        return URGRUCell(h, **drop)
    if name == "spectral_gru":
        return SpectralGRUCell(h, delta=delta, **drop)
    # Distinct seeds per weight: one seed for all three would make the kernel's
    # first rows equal to the recurrent kernel's and the bias their row sum.
    kernel_init = initializers.TorchUniform(fan=h, seed=sub_seed(seed, 0))
    recurrent_init = initializers.TorchUniform(fan=h, seed=sub_seed(seed, 1))
    bias_seed = sub_seed(seed, 2)
    fill = author_bias_fill(name, h) if author else None
    if name == "stable_rnn":
        extra = {"bias_initializer": initializers.TorchUniform(
            fan=h, terms=2, fill=fill, seed=bias_seed)} if author else {}
        return StableRNNCell(h, constrain=constrain, **extra, **drop)
    if name == "stable_lstm":
        extra = {"bias_initializer": initializers.TorchUniform(
            fan=h, terms=2, fill=fill, seed=bias_seed)} if author else {}
        return StableLSTMCell(h, axis=stable_axis, constrain=constrain, **extra, **drop)
    if name == "lstm":
        # one Keras bias = b_ih + b_hh of nn.LSTM: the sum of two uniforms
        if fill is None and lstm_forget_bias is not None:
            fill = [(h, 2 * h, float(lstm_forget_bias))]  # Keras and PyTorch: blocks i, f, u, o
        return LSTMCell(h, kernel_initializer=kernel_init,
                        recurrent_initializer=recurrent_init, unit_forget_bias=False,
                        bias_initializer=initializers.TorchUniform(
                            fan=h, terms=2, fill=fill, seed=bias_seed), **drop)
    if name == "gru":
        # bias (2, 3H) keeps b_ih and b_hh as rows: one uniform draw per entry
        return GRUCell(h, kernel_initializer=kernel_init,
                       recurrent_initializer=recurrent_init,
                       bias_initializer=initializers.TorchUniform(
                           fan=h, terms=1, fill=fill, seed=bias_seed),
                       reset_after=True, **drop)
    # rnn
    if author:  # the author's nn.RNN: PyTorch's init, not Keras' SimpleRNN's
        return RNNCell(h, kernel_initializer=kernel_init,
                       recurrent_initializer=recurrent_init,
                       bias_initializer=initializers.TorchUniform(
                           fan=h, terms=2, fill=fill, seed=bias_seed), **drop)
    return RNNCell(h, **drop)


def _saturation_range(value):
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(_is_number(v) for v in value) or value[0] > value[1]):
        raise ValueError(f"`saturation_range` must be a pair (a, b) of numbers with a <= b; "
                         f"got {value!r}.")
    return float(value[0]), float(value[1])


def sub_seed(seed, index):
    """An independent int seed per weight (``index``), derived from ``seed`` (None: None)."""
    if seed is None:
        return None
    return int(np.random.SeedSequence([int(seed), index]).generate_state(1)[0] >> 1)


def _ranges(indices):
    """Sorted ints -> [(start, stop), ...] of consecutive runs."""
    runs = []
    for i in sorted(indices):
        if runs and runs[-1][1] == i:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1])
    return [tuple(r) for r in runs]


def author_bias_fill(name, units):
    """Miller & Hardt's bias offsets as ``TorchUniform(fill=...)`` entries.

    The author's code (millerjohnp/TCN, poly_music/model.py) sets, in *both*
    PyTorch biases b_ih and b_hh of size n, ``bias[n//4:n//2] = 10``:

    * LSTM (n = 4H, blocks i, f, g, o): the forget block, b_f = 10 + 10 = 20
      in the one summed Keras bias (same block order).
    * RNN (n = H): units H//4 ... H//2 - 1 get bias 20, so their tanh starts
      saturated at 1.
    * GRU (n = 3H, PyTorch blocks r, z, n): reset-gate units 3H//4 ... H - 1
      and update-gate units 0 ... 3H//2 - H - 1; mapped to the zoo's Keras
      order (z, r, h), 10 in each of the two bias rows. An update gate near
      1 keeps h_t = h_{t-1} (= 0 at the start) for those units.
    """
    if name not in AUTHOR_INIT_CELLS:
        raise ValueError(f"`init='author'` is defined for the cells "
                         f"{', '.join(AUTHOR_INIT_CELLS)}; got name={name!r}.")
    h = check_units(units)
    if name in ("lstm", "stable_lstm"):
        n, value = 4 * h, 2 * AUTHOR_BIAS
        keras_index = lambda j: j  # noqa: E731  (i, f, g, o = i, f, u, o)
    elif name in ("rnn", "stable_rnn"):
        n, value = h, 2 * AUTHOR_BIAS
        keras_index = lambda j: j  # noqa: E731
    else:  # gru: PyTorch r, z, n -> Keras z, r, h; bias rows kept apart
        n, value = 3 * h, AUTHOR_BIAS

        def keras_index(j):
            return h + j if j < h else (j - h if j < 2 * h else j)
    indices = [keras_index(j) for j in range(n // 4, n // 2)]
    return [(start, stop, value) for start, stop in _ranges(indices)]
