"""UR gating (Gu et al. 2020): uniform gate initialisation and the refine gate."""

import numbers

import keras
from keras import ops

from keras_rnnzoo.cells._base import check_choice
from keras_rnnzoo.cells.baselines import _Baseline
from keras_rnnzoo.cells._base import split_state
from keras_rnnzoo.initializers import Chrono
from keras_rnnzoo.initializers import TorchUniform
from keras_rnnzoo.initializers import UniformGate

GATE_INITS = ("uniform", "chrono", "standard")
REFINE_BIASES = ("tied", "independent")


def refine_gate(f, r):
    """Effective gate g = r (1 - (1 - f)^2) + (1 - r) f^2 = 2 r f + (1 - 2 r) f^2.

    f^2 <= g <= 1 - (1 - f)^2; r = 1/2 gives g = f.
    """
    f, r = ops.convert_to_tensor(f), ops.convert_to_tensor(r)
    return 2.0 * r * f + (1.0 - 2.0 * r) * ops.square(f)


class _URCell(_Baseline):
    """Shared arguments of the UR cells: gate initialisation x refine gate."""

    def __init__(
        self,
        units,
        gate_init="uniform",
        refine=True,
        refine_bias="tied",
        gate_bias_trainable=True,
        max_timescale=None,
        kernel_initializer=None,
        recurrent_initializer=None,
        bias_initializer=None,
        **kwargs,
    ):
        torch_default = (TorchUniform(fan=int(units)) if isinstance(units, numbers.Integral)
                         and not isinstance(units, bool) and units > 0 else None)
        super().__init__(
            units,
            kernel_initializer=kernel_initializer or torch_default,
            recurrent_initializer=recurrent_initializer or torch_default,
            bias_initializer=bias_initializer or torch_default,
            **kwargs,
        )
        check_choice(
            "gate_init", gate_init, GATE_INITS,
            "'uniform' is UGI, 'chrono' is Tallec & Ollivier's, 'standard' a constant.",
        )
        check_choice(
            "refine_bias", refine_bias, REFINE_BIASES,
            "'tied': the refine gate uses -gate_bias (r0mainK/ur-lstm); 'independent': "
            "only its own bias (the author's later code).",
        )
        if not isinstance(refine, bool):
            raise ValueError(f"`refine` must be True or False; got {refine!r}.")
        if max_timescale is not None and gate_init != "chrono":
            raise ValueError(
                f"`max_timescale` only applies to gate_init='chrono'; got "
                f"max_timescale={max_timescale!r} with gate_init={gate_init!r}. "
                "Leave it None."
            )
        if gate_init == "uniform" and units < 2:
            raise ValueError(
                f"gate_init='uniform' (UGI) needs `units` >= 2; got {units!r}. Use "
                "gate_init='standard' for a 1-unit cell."
            )
        self.gate_init = gate_init
        self.refine = refine
        self.refine_bias = refine_bias
        self.gate_bias_trainable = bool(gate_bias_trainable)
        self.max_timescale = max_timescale
        if gate_init == "chrono":
            # Validates max_timescale (default T_max = H).
            Chrono(max_timescale if max_timescale is not None else max(units, 2))

    def gate_bias_initializer(self):
        if self.gate_init == "uniform":
            return UniformGate(self.units)
        if self.gate_init == "chrono":
            return Chrono(self.max_timescale if self.max_timescale is not None
                          else max(self.units, 2))
        return keras.initializers.Constant(self.standard_gate_bias)

    standard_gate_bias = 0.0

    def build_weights(self, input_shape, blocks):
        super().build_weights(input_shape, blocks)
        self.gate_bias = self.add_weight(
            name="gate_bias", shape=(self.units,), initializer=self.gate_bias_initializer(),
            trainable=self.gate_bias_trainable)

    def get_config(self):
        config = super().get_config()
        config.update({
            "gate_init": self.gate_init,
            "refine": self.refine,
            "refine_bias": self.refine_bias,
            "gate_bias_trainable": self.gate_bias_trainable,
            "max_timescale": self.max_timescale,
        })
        return config


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class URLSTMCell(_URCell):
    """UR-LSTM cell: LSTM with uniform gate initialisation and a refine gate.

    Update equations (refine=True, the UR-LSTM of the re-implementation
    ``r0mainK/ur-lstm``, which follows the paper's pseudo-code)::

        [a_f, a_r, a_u, a_o] = x_t W_x + h_{t-1} W_h + b        4 blocks of H
        f_t = sigma(a_f + b_g)                   forget gate, b_g = gate_bias
        r_t = sigma(a_r - b_g)                   refine gate ('tied'; 'independent': sigma(a_r))
        u_t = tanh(a_u),  o_t = sigma(a_o)
        g_t = r_t (1 - (1 - f_t)^2) + (1 - r_t) f_t^2     effective forget gate
        c_t = g_t * c_{t-1} + (1 - g_t) * u_t             coupled input gate
        h_t = o_t * tanh(c_t)

    The ablations of the paper are settings of this one cell:

    ============  ===========================  ========  ===============================
    label         gate_init                    refine    gates at a = 0 (b_g = gate_bias)
    ============  ===========================  ========  ===============================
    ``--`` LSTM   ``"standard"`` (b_g = 1)     False     f = sigma(1) = 0.731, i = 0.5
    ``U-``        ``"uniform"``                False     f = u ~ U[1/H, 1 - 1/H], i = 0.5
    ``C-``        ``"chrono"``                 False     f = sigma(b_g), i = sigma(-b_g)
    ``-R``        ``"standard"`` (b_g = 0)     True      f = r = 0.5, g = 0.5
    ``UR``        ``"uniform"`` (default)      True      f = u, r = 1 - u, g = g(u, 1 - u)
    ============  ===========================  ========  ===============================

    (``tests/test_gated_cells.py`` checks this table.) The ``-R`` cell follows
    the re-implementation, which zeroes the tied vector for it (f = r = 0.5 at
    a = 0); with ``forget_bias=1`` it would start at f = 0.73, r = 0.27.

    With ``refine=False`` the second block is an ordinary input gate and the
    cell is the standard LSTM: i_t = sigma(a_i) (chrono: sigma(a_i - b_g),
    Tallec & Ollivier's b_i = -b_f), c_t = f_t c_{t-1} + i_t u_t, g_t = f_t.

    Gate-bias initialisation (``gate_bias`` b_g, shape (H,)): ``"uniform"``
    is UGI, b_g = logit(u), u ~ U[1/H, 1 - 1/H] (``initializers.UniformGate``);
    ``"chrono"`` is b_g = ln U[1, T_max - 1] with T_max = ``max_timescale``
    (default H; Gu et al. make it proportional to H, constant not published);
    ``"standard"`` is the constant ``forget_bias``.

    **Refine-gate bias (decision).** The sources disagree (spec
    ur_gates.md §7): the re-implementation uses one trainable vector b_g with
    opposite signs in f and r (``refine_bias="tied"``, the default here, as it
    claims to follow the paper's pseudo-code); the author's later code gives r
    an independent bias (``"independent"``). Both are offered.

    Weights (Keras row layout, blocks along the last axis in the order forget,
    refine (or input), candidate, output): ``kernel`` (d, 4H),
    ``recurrent_kernel`` (H, 4H), ``bias`` (4H,) = b_x + b_h of the PyTorch
    code, ``gate_bias`` (H,). Default initialisation as in the
    re-implementation: PyTorch's U(+-1/sqrt(H)) for the weights and the bias
    (``initializers.TorchUniform(fan=H)``).

    Deviations from the re-implementation: one bias vector instead of PyTorch's
    two (b_ih + b_hh), drawn once from U(+-1/sqrt(H)) (their sum would have a
    triangular distribution; pass ``bias_initializer=TorchUniform(fan=H,
    terms=2)`` for it); in the ``U-`` ablation the re-implementation puts UGI
    in place of the forget slice of one bias and zeroes the other, here the
    forget block of ``bias`` keeps its small U(+-1/sqrt(H)) draw and b_g is
    added on top.

    Args:
        units: hidden size H.
        gate_init: ``"uniform"`` (UGI), ``"chrono"`` or ``"standard"``.
        refine: use the refine gate (True) or a separate input gate (False).
        refine_bias: ``"tied"`` or ``"independent"`` (refine=True only).
        gate_bias_trainable: train b_g (True in the re-implementation).
        max_timescale: T_max of chrono initialisation (default H).
        forget_bias: b_g for ``gate_init="standard"`` (default None: 1.0
            without the refine gate, the ``--`` LSTM; 0.0 with it, the ``-R``
            cell of the re-implementation, "UR-LSTM with b_f = 0").
        kernel_initializer, recurrent_initializer, bias_initializer: default
            ``TorchUniform(fan=units)``.
        dropout, recurrent_dropout, seed: Keras' variational dropout, one mask
            pair per sequence (``ZooCell``): x_t * m_x before W_x, h_{t-1} * m_h before W_h (all four blocks).
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: Keras' cell
            arguments (e.g. recurrent_constraint=
            ``constraints.SpectralClip(1.0, num_blocks=4, blocks=[2])``).
        **kwargs: ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: (batch, d). states: [h_{t-1}, c_{t-1}]. training: unused.

    Returns:
        (h_t, [h_t, c_t]).

    Example:
        >>> import keras, numpy as np
        >>> from keras_rnnzoo.cells import URLSTMCell
        >>> layer = keras.layers.RNN(URLSTMCell(16))
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 16)

    Reference:
        Gu, Gulcehre, Paine, Hoffman & Pascanu, "Improving the Gating
        Mechanism of Recurrent Neural Networks", ICML 2020
        (arXiv:1910.09890), equations (9)-(11).
    """

    num_states = 2

    @property
    def block_names(self):
        return ("f", "r", "u", "o") if self.refine else ("f", "i", "u", "o")

    def __init__(self, units, gate_init="uniform", refine=True, refine_bias="tied",
                 gate_bias_trainable=True, max_timescale=None, forget_bias=None, **kwargs):
        super().__init__(units, gate_init=gate_init, refine=refine, refine_bias=refine_bias,
                         gate_bias_trainable=gate_bias_trainable,
                         max_timescale=max_timescale, **kwargs)
        if forget_bias is not None and (isinstance(forget_bias, bool)
                                        or not isinstance(forget_bias, numbers.Real)):
            raise ValueError(f"`forget_bias` must be a number or None; got {forget_bias!r}.")
        self.forget_bias = None if forget_bias is None else float(forget_bias)
        self.standard_gate_bias = (self.forget_bias if forget_bias is not None
                                   else (0.0 if refine else 1.0))

    @property
    def second_gate_offset(self):
        """Sign with which b_g enters the second block (refine or input gate)."""
        if self.refine:
            return -1.0 if self.refine_bias == "tied" else 0.0
        return -1.0 if self.gate_init == "chrono" else 0.0

    def build(self, input_shape):
        self.build_weights(input_shape, 4)

    def step(self, projected, states, constants):
        h, c = states[0], states[1]
        a = projected + ops.matmul(self.recurrent_input(h, constants), self.recurrent_kernel)
        a_f, a_r, a_u, a_o = ops.split(a, 4, axis=-1)
        f = ops.sigmoid(a_f + self.gate_bias)
        second = ops.sigmoid(a_r + self.second_gate_offset * self.gate_bias)
        u = ops.tanh(a_u)
        if self.refine:
            g = refine_gate(f, second)
            c = g * c + (1.0 - g) * u
        else:
            c = f * c + second * u
        h = ops.sigmoid(a_o) * ops.tanh(c)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config["forget_bias"] = self.forget_bias
        return config


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class URGRUCell(_URCell):
    """UR-GRU cell: GRU with uniform gate initialisation and a refine gate.

    Update equations (the author's later code, ``state-spaces/s4``, gated
    cell with gate type "UR" and reset type "G")::

        [a_f, a_s, a_r, a_c] = x_t W_x + b                 blocks of H
        f_t  = sigma(a_f + h_{t-1} W_hf + b_g)            update gate, b_g = gate_bias
        s_t  = sigma(a_s + h_{t-1} W_hs)                  reset gate
        h~_t = tanh(a_c + (s_t * h_{t-1}) W_hc)            reset before W_hc
        r_t  = sigma(a_r + h_{t-1} W_hr)                  refine gate ('tied': also - b_g)
        g_t  = r_t (1 - (1 - f_t)^2) + (1 - r_t) f_t^2
        h_t  = (1 - g_t) * h_{t-1} + g_t * h~_t

    Block order (``kernel`` (d, GH), ``recurrent_kernel`` (H, GH), ``bias``
    (GH,)): update, reset, refine, candidate, with G = 4 (the gates that read
    h_{t-1} directly are contiguous, so they take one matmul); with
    ``refine=False`` the refine block is absent (G = 3, g_t = f_t) and the
    blocks have the layout of ``keras.layers.GRUCell``
    (``reset_after=False``) -- but note that g multiplies the *candidate*
    here, while Keras' z multiplies h_{t-1} (z = 1 - g). UGI is symmetric
    (1 - g(f, r) = g(1 - f, 1 - r)), so this changes nothing at
    initialisation.

    Defaults follow the author's code: UGI b_g is a **frozen** offset on top of
    the update block's trainable bias (``gate_bias_trainable=False``) and the
    refine gate has its own bias (``refine_bias="independent"``); the
    re-implementation's tied form is available. ``gate_init="chrono"`` uses
    b_g = -ln U[1, T_max - 1] (g is the update, 1 - g the retention gate);
    ``"standard"`` uses b_g = 0. Weights and biases default to PyTorch's
    U(+-1/sqrt(H)).

    Args:
        units: hidden size H.
        gate_init: ``"uniform"``, ``"chrono"`` or ``"standard"``.
        refine: use the refine gate.
        refine_bias: ``"independent"`` (default) or ``"tied"``.
        gate_bias_trainable: default False (frozen UGI offset).
        max_timescale: T_max of chrono initialisation (default H).
        kernel_initializer, recurrent_initializer, bias_initializer: default
            ``TorchUniform(fan=units)``.
        dropout, recurrent_dropout, seed: Keras' variational dropout, one mask
            pair per sequence (``ZooCell``): x_t * m_x before W_x, h_{t-1} * m_h before W_h (gates, and
            s_t * (h_{t-1} * m_h) before W_hc; (1 - g) h_{t-1} uses the unmasked state).
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: Keras' cell
            arguments (constraints applied after every optimiser step).
        **kwargs: ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: (batch, d). states: [h_{t-1}]. training: unused.

    Returns:
        (h_t, [h_t]).

    Example:
        >>> import keras, numpy as np
        >>> from keras_rnnzoo.cells import URGRUCell
        >>> layer = keras.layers.RNN(URGRUCell(16))
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 16)

    Reference:
        Gu, Gulcehre, Paine, Hoffman & Pascanu, "Improving the Gating
        Mechanism of Recurrent Neural Networks", ICML 2020 (arXiv:1910.09890).
    """

    def __init__(self, units, gate_init="uniform", refine=True, refine_bias="independent",
                 gate_bias_trainable=False, max_timescale=None, **kwargs):
        super().__init__(units, gate_init=gate_init, refine=refine, refine_bias=refine_bias,
                         gate_bias_trainable=gate_bias_trainable,
                         max_timescale=max_timescale, **kwargs)

    @property
    def num_blocks(self):
        return 4 if self.refine else 3

    @property
    def block_names(self):
        return ("f", "s", "r", "h") if self.refine else ("f", "s", "h")

    def gate_bias_initializer(self):
        init = super().gate_bias_initializer()
        if self.gate_init != "chrono":
            return init
        return lambda shape, dtype=None: -init(shape, dtype)

    def build(self, input_shape):
        self.build_weights(input_shape, self.num_blocks)

    def compute_sequence_constants(self):
        """The gate and candidate column blocks of ``recurrent_kernel``, sliced
        once per forward pass (a slice inside the loop costs a full-size
        gradient per step)."""
        n = self.units
        w = self.recurrent_kernel
        return {"gates": w[:, :-n], "candidate": w[:, -n:]}

    def step(self, a_x, states, constants):
        h, wrap = split_state(states)
        n = self.units
        # The gates see h_{t-1} directly (one matmul); the candidate sees s * h.
        # Splits, not slices: a slice's gradient is a full-size tensor per step.
        x_g, x_c = ops.split(a_x, [self.num_blocks * n - n], axis=-1)
        h_in = self.recurrent_input(h, constants)
        a_g = ops.split(x_g + ops.matmul(h_in, constants["gates"]), self.num_blocks - 1, axis=-1)
        f = ops.sigmoid(a_g[0] + self.gate_bias)
        s = ops.sigmoid(a_g[1])
        cand = ops.tanh(x_c + ops.matmul(s * h_in, constants["candidate"]))
        if self.refine:
            offset = -self.gate_bias if self.refine_bias == "tied" else 0.0
            g = refine_gate(f, ops.sigmoid(a_g[2] + offset))
        else:
            g = f
        h = (1.0 - g) * h + g * cand
        return h, wrap(h)
