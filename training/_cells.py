"""Every zoo cell, by the name the training scripts take with ``--cell``.

Keras is imported lazily: scripts select the backend first.
"""

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
    "gru": "GRUCell (reset after, PyTorch's form), PyTorch init",
    "rnn": "RNNCell (tanh; Keras' SimpleRNN init: Glorot / orthogonal / zero bias)",
}
ORTHOGONAL = ("asrnn", "exprnn", "dtriv", "scornn")


def add_cell_arguments(parser, default):
    """--cell and the cell-specific flags."""
    lines = "; ".join(f"{k}: {v}" for k, v in CELLS.items())
    parser.set_defaults(cell=default)
    for action in parser._actions:  # --cell comes from shared_parser: give it choices
        if action.dest == "cell":
            action.choices = list(CELLS)
            action.help = lines
    parser.add_argument("--recurrent-lr", type=float, default=None,
                        help="learning rate of the orthogonal free parameters (default: per cell)")
    parser.add_argument("--asrnn-mode", choices=("exprnn", "dtriv", "cayley"), default="dtriv")
    parser.add_argument("--dtriv-k", type=int, default=100, help="K: steps between chart changes")
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
    if name == "stable_rnn":
        return cells.StableRNNCell(h, constrain=not args.unconstrained)
    if name == "stable_lstm":
        return cells.StableLSTMCell(h, axis=args.stable_axis, constrain=not args.unconstrained)
    torch_init = initializers.TorchUniform(fan=h, seed=seed)
    torch_bias = initializers.TorchUniform(fan=h, terms=2, seed=seed)
    if name == "lstm":
        return cells.LSTMCell(h, kernel_initializer=torch_init, recurrent_initializer=torch_init,
                              unit_forget_bias=True, bias_initializer=torch_bias)
    if name == "gru":
        return cells.GRUCell(h, kernel_initializer=torch_init, recurrent_initializer=torch_init,
                             bias_initializer=torch_bias, reset_after=True)
    if name == "rnn":
        return cells.RNNCell(h)
    raise ValueError(f"unknown --cell {name!r}; choose one of {', '.join(CELLS)}")


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
