"""Every zoo cell, by the name the training scripts take with ``--cell``.

Keras is imported lazily: scripts select the backend first.
"""

from training._common import positive_int

# name -> one-line description (shown in --help)
CELLS = {
    "asrnn": "ASRNNCell (--asrnn-mode, default dtriv; --epsilon)",
    "exprnn": "OrthogonalRNNCell(mode=exprnn), modReLU",
    "dtriv": "OrthogonalRNNCell(mode=dtriv), modReLU",
    "scornn": "OrthogonalRNNCell(mode=cayley), modReLU",
    "urlstm": "URLSTMCell: UGI + refine gate (UR-)",
    "ulstm": "URLSTMCell(refine=False): LSTM with UGI (U-)",
    "rlstm": "URLSTMCell(gate_init=standard): refine gate only (-R)",
    "clstm": "URLSTMCell(gate_init=chrono, refine=False): chrono LSTM (C-)",
    "urgru": "URGRUCell: UGI + refine gate",
    "spectral_gru": "SpectralGRUCell (--delta, default 0.2; --delta none: plain GRU, reset before)",
    "stable_rnn": "StableRNNCell: sigma_max(W_hh) <= 1",
    "stable_lstm": "StableLSTMCell: Miller & Hardt's block normalisation (--stable-axis)",
    "lstm": "LSTMCell (Keras' LSTM maths), PyTorch init, forget bias 1",
    "gru": "GRUCell (reset after, PyTorch's form), PyTorch init (b_ih, b_hh each uniform)",
    "rnn": "RNNCell (tanh; Keras' SimpleRNN init: Glorot / orthogonal / zero bias)",
}
ORTHOGONAL = ("asrnn", "exprnn", "dtriv", "scornn")
# The cells whose PyTorch counterpart is nn.RNN / nn.LSTM / nn.GRU: the ones
# Miller & Hardt's author initialisation (--init author) is defined for.
AUTHOR_INIT_CELLS = ("stable_rnn", "stable_lstm", "rnn", "lstm", "gru")
AUTHOR_BIAS = 10.0  # bias[n//4:n//2].fill_(10.) in both b_ih and b_hh (millerjohnp/TCN)


def add_cell_arguments(parser, default, lstm_forget_bias=1.0):
    """--cell and the cell-specific flags.

    ``lstm_forget_bias``: the forget-gate bias of ``--cell lstm`` in this
    script: a constant (1.0: the baselines of asRNN and Gu et al.), or None
    for PyTorch's ``nn.LSTM`` default (no offset: that block is drawn like the
    rest, b_ih + b_hh).
    """
    cells = dict(CELLS)
    if lstm_forget_bias is None:
        cells["lstm"] = ("LSTMCell (Keras' LSTM maths), PyTorch's nn.LSTM init "
                         "(no forget bias offset)")
    else:
        cells["lstm"] = (f"LSTMCell (Keras' LSTM maths), PyTorch init, "
                         f"forget bias {lstm_forget_bias:g}")
    lines = "; ".join(f"{k}: {v}" for k, v in cells.items())
    parser.set_defaults(cell=default, lstm_forget_bias=lstm_forget_bias)
    for action in parser._actions:  # --cell comes from shared_parser: give it choices
        if action.dest == "cell":
            action.choices = list(CELLS)
            action.help = lines
    parser.add_argument("--recurrent-lr", type=float, default=None,
                        help="learning rate of the orthogonal free parameters (default: per cell)")
    parser.add_argument("--asrnn-mode", choices=("exprnn", "dtriv", "cayley"), default="dtriv")
    parser.add_argument("--dtriv-k", type=_dtriv_k, default=100,
                        help="K: steps between chart changes; 'infty': one change at the start, "
                             "then a static base (the official K='infty')")
    parser.add_argument("--dtriv-m", type=int, default=100,
                        help="M: chart changes between re-projections")
    parser.add_argument("--epsilon", type=float, default=1e-5, help="asRNN eps")
    parser.add_argument("--delta", default="0.2",
                        help="spectral_gru: clip sigma(W_hh) at 2 - delta; 'none' disables")
    parser.add_argument("--chrono-tmax", type=float, default=None,
                        help="T_max of chrono initialisation (default: H)")
    parser.add_argument("--stable-axis", choices=("author", "linf"), default="author")
    parser.add_argument("--unconstrained", action="store_true",
                        help="stable_rnn / stable_lstm without their projection (the unstable "
                             "counterpart with the same maths and initialisation)")


def _dtriv_k(text):
    """--dtriv-k: a positive integer, or 'infty' (None: no change after the first)."""
    if str(text).lower() in ("infty", "inf", "none"):
        return None
    return positive_int(text)


def parse_delta(parser, value):
    if str(value).lower() == "none":
        return None
    try:
        delta = float(value)
    except ValueError:
        parser.error(f"--delta must be a number in (0, 2) or 'none'; got {value!r}")
    if not 0.0 < delta < 2.0:
        parser.error(f"--delta must be in (0, 2) (the clip is 2 - delta) or 'none'; got {delta}")
    return delta


def build_cell(args):
    """The cell named by ``args.cell`` with ``args.hidden`` units."""
    from keras_rnnzoo import cells, initializers

    name, h, seed = args.cell, args.hidden, args.seed
    if name == "asrnn":
        return cells.ASRNNCell(h, mode=args.asrnn_mode, epsilon=args.epsilon,
                               recurrent_initializer=initializers.Henaff(seed=seed))
    if name in ("exprnn", "dtriv", "scornn"):
        mode = {"exprnn": "exprnn", "dtriv": "dtriv", "scornn": "cayley"}[name]
        return cells.OrthogonalRNNCell(h, mode=mode,
                                       recurrent_initializer=initializers.Henaff(seed=seed))
    if name in ("urlstm", "ulstm", "rlstm", "clstm"):
        gate_init, refine = {"urlstm": ("uniform", True), "ulstm": ("uniform", False),
                             "rlstm": ("standard", True), "clstm": ("chrono", False)}[name]
        tmax = args.chrono_tmax if gate_init == "chrono" else None
        return cells.URLSTMCell(h, gate_init=gate_init, refine=refine, max_timescale=tmax)
    if name == "urgru":
        return cells.URGRUCell(h)
    if name == "spectral_gru":
        return cells.SpectralGRUCell(h, delta=args.delta)
    author = getattr(args, "init", "default") == "author"
    # Distinct seeds per weight: one seed for all three would make the kernel's
    # first rows equal to the recurrent kernel's and the bias their row sum.
    kernel_init = initializers.TorchUniform(fan=h, seed=sub_seed(seed, 0))
    recurrent_init = initializers.TorchUniform(fan=h, seed=sub_seed(seed, 1))
    bias_seed = sub_seed(seed, 2)
    fill = author_bias_fill(name, h) if author else None
    if name == "stable_rnn":
        extra = {"bias_initializer": initializers.TorchUniform(
            fan=h, terms=2, fill=fill, seed=bias_seed)} if author else {}
        return cells.StableRNNCell(h, constrain=not args.unconstrained, **extra)
    if name == "stable_lstm":
        extra = {"bias_initializer": initializers.TorchUniform(
            fan=h, terms=2, fill=fill, seed=bias_seed)} if author else {}
        return cells.StableLSTMCell(h, axis=args.stable_axis, constrain=not args.unconstrained,
                                    **extra)
    if name == "lstm":
        # one Keras bias = b_ih + b_hh of nn.LSTM: the sum of two uniforms
        forget = getattr(args, "lstm_forget_bias", 1.0)
        if fill is None and forget is not None:
            fill = [(h, 2 * h, float(forget))]  # Keras and PyTorch: blocks i, f, u, o
        return cells.LSTMCell(h, kernel_initializer=kernel_init,
                              recurrent_initializer=recurrent_init, unit_forget_bias=False,
                              bias_initializer=initializers.TorchUniform(
                                  fan=h, terms=2, fill=fill, seed=bias_seed))
    if name == "gru":
        # bias (2, 3H) keeps b_ih and b_hh as rows: one uniform draw per entry
        return cells.GRUCell(h, kernel_initializer=kernel_init,
                             recurrent_initializer=recurrent_init,
                             bias_initializer=initializers.TorchUniform(
                                 fan=h, terms=1, fill=fill, seed=bias_seed),
                             reset_after=True)
    if name == "rnn":
        if author:  # the author's nn.RNN: PyTorch's init, not Keras' SimpleRNN's
            return cells.RNNCell(h, kernel_initializer=kernel_init,
                                 recurrent_initializer=recurrent_init,
                                 bias_initializer=initializers.TorchUniform(
                                     fan=h, terms=2, fill=fill, seed=bias_seed))
        return cells.RNNCell(h)
    raise ValueError(f"unknown --cell {name!r}; choose one of {', '.join(CELLS)}")


def sub_seed(seed, index):
    """An independent int seed per weight, derived from --seed."""
    import numpy as np

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


def author_bias_fill(name, h):
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
        raise ValueError(f"--init author is defined for {', '.join(AUTHOR_INIT_CELLS)}; "
                         f"got --cell {name!r}")
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


def build_rnn(args, **kwargs):
    """``keras_rnnzoo.layers.RNN`` (the fast path) around ``build_cell(args)``, named "rnn"."""
    from keras_rnnzoo import layers

    return layers.RNN(build_cell(args), name="rnn", **kwargs)


def lr_multipliers(args):
    """A of W_hh at --recurrent-lr (the papers' lr/10); everything else, A_f
    of asRNN included, at --lr (asrnn.md §5: two parameter groups)."""
    if args.cell not in ORTHOGONAL or args.recurrent_lr is None:
        return None
    return {"recurrent_kernel": args.recurrent_lr / args.lr}


def cell_callbacks(args, model):
    """Callbacks a cell needs in ``fit`` (dtriv's change of base)."""
    from keras_rnnzoo import callbacks

    from keras_rnnzoo.callbacks._walk import iter_layers

    if any(getattr(layer, "mode", None) == "dtriv" for layer in iter_layers(model)):
        return [callbacks.DtrivRetraction(every=args.dtriv_k, reproject_every=args.dtriv_m)]
    return []
