"""The zoo's baseline cells: tanh RNN, LSTM and GRU with Keras' weight layout.

They compute exactly what ``keras.layers.SimpleRNNCell``, ``LSTMCell`` and
``GRUCell`` compute, with the same weight names, shapes and default
initialisers (weights load across), but split into ``project_inputs`` and
``step`` so that ``keras_rnnzoo.layers.RNN`` runs them on its fast path --
the leaderboard's baselines then never pay Keras' slow torch loop. The
stable and spectrally clipped cells build on them.
"""

import keras
from keras import ops

from keras_rnnzoo.cells._base import ZooCell
from keras_rnnzoo.cells._base import split_state


def pop_fixed(owner, kwargs, fixed):
    """Remove the arguments ``fixed`` ({name: why}) from ``kwargs``; a value
    given for one is an error that says why and what to do instead.

    For cells built on a baseline that set some of its arguments themselves
    (a stable cell's projection, the spectral GRU's ``reset_after``).
    """
    for key, why in fixed.items():
        if kwargs.pop(key, None) is not None:
            raise ValueError(
                f"{owner} sets `{key}` itself ({why}); remove the argument, or use the "
                "plain baseline cell (keras_rnnzoo.cells.RNNCell / LSTMCell / GRUCell) "
                "for a free choice.")


def without(config, keys):
    """``config`` less the arguments a derived cell fixes (see ``pop_fixed``)."""
    return {k: v for k, v in config.items() if k not in keys}


class _Baseline(ZooCell):
    """Arguments shared by the baselines: the bias switch."""

    def __init__(self, units, use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", **kwargs):
        super().__init__(units, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        if not isinstance(use_bias, bool):
            raise ValueError(f"`use_bias` must be True or False; got {use_bias!r}.")
        self.use_bias = use_bias

    def build_weights(self, input_shape, blocks, bias_shape=None, bias_initializer=None):
        self.check_step_input_shape(input_shape)
        h = self.units
        self.kernel = self.add_cell_weight("kernel", "kernel", (input_shape[-1], blocks * h))
        self.recurrent_kernel = self.add_cell_weight("recurrent", "recurrent_kernel",
                                                     (h, blocks * h))
        if self.use_bias:
            self.bias = self.add_cell_weight("bias", "bias", bias_shape or (blocks * h,),
                                             initializer=bias_initializer)

    def get_config(self):
        config = super().get_config()
        config["use_bias"] = self.use_bias
        return config


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class RNNCell(_Baseline):
    """Elman RNN cell (``keras.layers.SimpleRNNCell``'s maths and weights)::

        h_t = act(x_t W_x + b + h_{t-1} W_h)

    Weights: ``kernel`` (d, H), ``recurrent_kernel`` (H, H), ``bias`` (H,).
    Defaults as Keras (Glorot-uniform, orthogonal, zeros); PyTorch's
    ``nn.RNN`` initialisation is ``initializers.TorchUniform(fan=units)`` for
    all three.

    Args:
        units: hidden size H.
        activation: default ``"tanh"``.
        use_bias: default True.
        kernel_initializer, recurrent_initializer, bias_initializer,
        dropout, recurrent_dropout, seed: Keras' variational dropout, one mask
            pair per sequence (``ZooCell``): x_t * m_x before W_x, h_{t-1} * m_h before W_h.
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: Keras' cell
            arguments.
        **kwargs: ``keras.layers.Layer`` arguments.

    Example:
        >>> import numpy as np
        >>> from keras_rnnzoo.cells import RNNCell
        >>> from keras_rnnzoo.layers import RNN
        >>> RNN(RNNCell(16))(np.zeros((2, 5, 3), "float32")).shape
        (2, 16)

    Reference:
        Elman, "Finding Structure in Time", Cognitive Science 14 (1990).
    """

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, **kwargs)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.build_weights(input_shape, 1)

    def step(self, projected, states, constants):
        h, wrap = split_state(states)
        h = self.activation(
            projected + ops.matmul(self.recurrent_input(h, constants), self.recurrent_kernel))
        return h, wrap(h)

    def get_config(self):
        config = super().get_config()
        config["activation"] = keras.activations.serialize(self.activation)
        return config


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class LSTMCell(_Baseline):
    """LSTM cell (``keras.layers.LSTMCell``'s maths and weights)::

        [a_i, a_f, a_u, a_o] = x_t W_x + b + h_{t-1} W_h     Keras block order
        c_t = sigma(a_f) * c_{t-1} + sigma(a_i) * tanh(a_u)
        h_t = sigma(a_o) * tanh(c_t)

    Weights: ``kernel`` (d, 4H), ``recurrent_kernel`` (H, 4H), ``bias``
    (4H,). ``unit_forget_bias=True`` (Keras' default) starts the forget block
    of the bias at 1 (Jozefowicz et al. 2015). PyTorch's ``nn.LSTM`` has
    the gate order i, f, g, o too, so its weights map block by block
    (transpose, and add its two biases).

    Args:
        units: hidden size H.
        unit_forget_bias: default True.
        use_bias, kernel_initializer, recurrent_initializer,
        bias_initializer: as in Keras.
        dropout, recurrent_dropout, seed: Keras' variational dropout, one mask
            pair per sequence (``ZooCell``): x_t * m_x before W_x, h_{t-1} * m_h before W_h (all four blocks).
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: Keras' cell
            arguments.
        **kwargs: ``keras.layers.Layer`` arguments.

    Example:
        >>> import numpy as np
        >>> from keras_rnnzoo.cells import LSTMCell
        >>> from keras_rnnzoo.layers import RNN
        >>> RNN(LSTMCell(16))(np.zeros((2, 5, 3), "float32")).shape
        (2, 16)

    Reference:
        Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural
        Computation 9 (1997), with the forget gate of Gers et al. (2000).
    """

    num_states = 2
    block_names = ("i", "f", "u", "o")

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _forget_one_bias(self, shape, dtype=None):
        h = self.units
        return ops.concatenate([
            self.bias_initializer((h,), dtype=dtype), ops.ones((h,), dtype=dtype),
            self.bias_initializer((2 * h,), dtype=dtype)])

    def build(self, input_shape):
        self.build_weights(input_shape, 4, bias_initializer=(
            self._forget_one_bias if self.unit_forget_bias else None))

    def step(self, projected, states, constants):
        h, c = states[0], states[1]
        a = projected + ops.matmul(self.recurrent_input(h, constants), self.recurrent_kernel)
        a_i, a_f, a_u, a_o = ops.split(a, 4, axis=-1)
        c = ops.sigmoid(a_f) * c + ops.sigmoid(a_i) * ops.tanh(a_u)
        h = ops.sigmoid(a_o) * ops.tanh(c)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class GRUCell(_Baseline):
    """GRU cell (``keras.layers.GRUCell``'s maths and weights).

    Blocks in Keras' order update z, reset r, candidate. With
    ``reset_after=True`` (default; the form of PyTorch's ``nn.GRU`` and
    cuDNN), ``bias`` is (2, 3H): row 0 for the input, row 1 for the
    recurrent projection::

        [x_z, x_r, x_h] = x_t W_x + b_x,   [u_z, u_r, u_h] = h_{t-1} W_h + b_h
        z_t = sigma(x_z + u_z),  r_t = sigma(x_r + u_r)
        h~_t = tanh(x_h + r_t * u_h)
        h_t = z_t * h_{t-1} + (1 - z_t) * h~_t

    With ``reset_after=False`` (Cho et al. 2014; ``bias`` (3H,)) the reset
    gate acts before the candidate matrix: h~_t = tanh(x_h + (r_t * h_{t-1})
    W_hh) -- the form ``SpectralGRUCell`` constrains.

    Args:
        units: hidden size H.
        reset_after: default True.
        use_bias, kernel_initializer, recurrent_initializer,
        bias_initializer: as in Keras.
        dropout, recurrent_dropout, seed: Keras' variational dropout, one mask
            pair per sequence (``ZooCell``): x_t * m_x before W_x, h_{t-1} * m_h before W_h (gates and
            candidate; z * h_{t-1} uses the unmasked state).
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: Keras' cell
            arguments.
        **kwargs: ``keras.layers.Layer`` arguments.

    Example:
        >>> import numpy as np
        >>> from keras_rnnzoo.cells import GRUCell
        >>> from keras_rnnzoo.layers import RNN
        >>> RNN(GRUCell(16))(np.zeros((2, 5, 3), "float32")).shape
        (2, 16)

    Reference:
        Cho et al., "Learning Phrase Representations using RNN
        Encoder-Decoder for Statistical Machine Translation", EMNLP 2014.
    """

    block_names = ("z", "r", "h")

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        if not isinstance(reset_after, bool):
            raise ValueError(f"`reset_after` must be True or False; got {reset_after!r}.")
        self.reset_after = reset_after

    def build(self, input_shape):
        bias_shape = (2, 3 * self.units) if self.reset_after else None
        self.build_weights(input_shape, 3, bias_shape=bias_shape)

    def input_bias(self):
        if self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def compute_sequence_constants(self):
        """Per forward pass: the recurrent bias row (reset after) or the gate
        and candidate column blocks of ``recurrent_kernel`` (reset before).
        A slice of a weight inside the loop costs a full-size gradient per
        step; the step itself splits instead of slicing (on TensorFlow a
        strided slice's gradient made the GRU step twice as slow)."""
        n, w = self.units, self.recurrent_kernel
        if self.reset_after:
            return {} if self.bias is None else {"recurrent_bias": self.bias[1]}
        return {"gates": w[:, :2 * n], "candidate": w[:, 2 * n:]}

    def step(self, a_x, states, constants):
        h, wrap = split_state(states)
        h_in = self.recurrent_input(h, constants)
        x_zr, x_h = ops.split(a_x, [2 * self.units], axis=-1)
        if self.reset_after:
            a_h = ops.matmul(h_in, self.recurrent_kernel)
            if "recurrent_bias" in constants:
                a_h = a_h + constants["recurrent_bias"]
            h_zr, h_h = ops.split(a_h, [2 * self.units], axis=-1)
            z, r = ops.split(ops.sigmoid(x_zr + h_zr), 2, axis=-1)
            cand = ops.tanh(x_h + r * h_h)
        else:
            z, r = ops.split(ops.sigmoid(x_zr + ops.matmul(h_in, constants["gates"])), 2,
                             axis=-1)
            cand = ops.tanh(x_h + ops.matmul(r * h_in, constants["candidate"]))
        h = z * h + (1.0 - z) * cand
        return h, wrap(h)

    def get_config(self):
        config = super().get_config()
        config["reset_after"] = self.reset_after
        return config
