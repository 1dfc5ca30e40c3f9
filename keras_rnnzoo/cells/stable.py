"""Stable recurrent models (Miller & Hardt 2019): projected RNN and LSTM."""

import numbers

import keras
from keras import ops

from keras_rnnzoo.cells._base import check_choice
from keras_rnnzoo.cells._base import project_now
from keras_rnnzoo.cells.baselines import LSTMCell
from keras_rnnzoo.cells.baselines import RNNCell
from keras_rnnzoo.cells.baselines import pop_fixed
from keras_rnnzoo.cells.baselines import without
from keras_rnnzoo.constraints import SpectralClip
from keras_rnnzoo.constraints import StableLSTMProjection
from keras_rnnzoo.initializers import TorchUniform

AUTHOR_SCALES = (0.395, 0.155, 0.099, 0.395)
AUTHOR_INPUT_FORGET_SCALE = 0.25


def _torch_defaults(units):
    if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units <= 0:
        return {}  # ZooCell reports the bad `units`.
    units = int(units)
    return {"kernel_initializer": TorchUniform(fan=units),
            "recurrent_initializer": TorchUniform(fan=units),
            "bias_initializer": TorchUniform(fan=units, terms=2)}


def _projections(constrain, axis, recurrent_scales, input_forget_scale):
    """(kernel, recurrent) constraints of the stable LSTM (None, None if off)."""
    if not constrain:
        return None, None
    kernel = None
    if input_forget_scale is not None:
        kernel = StableLSTMProjection(scales=(None, input_forget_scale, None, None), axis=axis)
    return kernel, StableLSTMProjection(scales=recurrent_scales, axis=axis)


def _with_defaults(units, kwargs):
    for key, value in _torch_defaults(units).items():
        if kwargs.get(key) is None:
            kwargs[key] = value
    return kwargs


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class StableRNNCell(RNNCell):
    """Stable (contractive) tanh RNN: sigma_max(W_hh) <= lambda after every step.

    Update equation (PyTorch ``nn.RNN``)::

        h_t = tanh(W_hh h_{t-1} + W_xh x_t + b)

    tanh is 1-Lipschitz, so ||W_hh||_2 <= lambda < 1 makes the recurrence
    lambda-contractive. After each optimiser step the singular values of
    W_hh above lambda are clipped to lambda (``constraints.SpectralClip``, the
    author's SVD projection; the SVD is skipped when a cheap bound already
    holds). lambda = 1 (the author's code) still admits orthogonal W_hh, i.e.
    the boundary of the stable set.

    Weights: ``kernel`` (d, H) = W_xh^T, ``recurrent_kernel`` (H, H) = W_hh^T
    (same singular values), ``bias`` (H,). Initialisation: PyTorch's
    U(+-1/sqrt(H)) (bias: the sum of PyTorch's two bias vectors).

    Deviation from the author's code: the projection is also applied once
    after ``build`` (a PyTorch-initialised W_hh starts with sigma_max ~ 1.15),
    so the model is stable from step 0. ``constrain=False`` gives the same
    cell without the projection (the unstable counterpart).

    Args:
        units: hidden size H.
        max_singular_value: lambda > 0 (default 1.0).
        constrain: apply the projection (default True).
        use_bias: default True.
        kernel_initializer, recurrent_initializer, bias_initializer: default
            PyTorch's.
        dropout, recurrent_dropout, seed: Keras' variational dropout, one mask
            pair per sequence (``ZooCell``): x_t * m_x before W_xh, h_{t-1} * m_h before W_hh.
        kernel_constraint, bias_constraint, *_regularizer: Keras' cell
            arguments (``recurrent_constraint`` is the projection).
        **kwargs: ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: (batch, d). states: [h_{t-1}]. training: unused.

    Returns:
        (h_t, [h_t]).

    Example:
        >>> import keras, numpy as np
        >>> from keras_rnnzoo.cells import StableRNNCell
        >>> layer = keras.layers.RNN(StableRNNCell(16))
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 16)

    Reference:
        Miller & Hardt, "Stable Recurrent Models", ICLR 2019
        (arXiv:1805.10369), section 2.
    """

    _fixed = {
        "activation": "the contraction argument needs a 1-Lipschitz tanh",
        "recurrent_constraint": "W_hh is projected to sigma_max <= max_singular_value after "
                                "every step; set `max_singular_value`, or constrain=False",
    }

    def __init__(self, units, max_singular_value=1.0, constrain=True, use_bias=True, **kwargs):
        if isinstance(max_singular_value, bool) or not isinstance(
                max_singular_value, (int, float)) or not max_singular_value > 0:
            raise ValueError(
                f"`max_singular_value` (lambda) must be a number > 0; got "
                f"{max_singular_value!r}. Use 1.0 (the paper) or less for a strict contraction."
            )
        pop_fixed(type(self).__name__, kwargs, self._fixed)
        constraint = SpectralClip(float(max_singular_value)) if constrain else None
        super().__init__(units, activation="tanh", use_bias=bool(use_bias),
                         recurrent_constraint=constraint, **_with_defaults(units, kwargs))
        self.max_singular_value = float(max_singular_value)
        self.constrain = bool(constrain)

    def build(self, input_shape):
        super().build(input_shape)
        project_now(self.recurrent_kernel)

    def get_config(self):
        config = without(super().get_config(), self._fixed)
        config.update({"max_singular_value": self.max_singular_value,
                       "constrain": self.constrain})
        return config


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class StableLSTMCell(LSTMCell):
    """LSTM kept stable by Miller & Hardt's block L1 normalisation.

    Update equations (Keras block order input, forget, candidate, output)::

        [a_i, a_f, a_u, a_o] = x_t W_x + h_{t-1} W_h + b
        i_t = sigma(a_i),  f_t = sigma(a_f),  o_t = sigma(a_o),  u_t = tanh(a_u)
        c_t = f_t * c_{t-1} + i_t * u_t
        h_t = o_t * tanh(c_t)

    After every optimiser step (and once after ``build``) each block M of the
    recurrent kernel is rescaled to M <- c_M M / sum|M| with the author's
    constants c = 0.395 (W_hi), 0.155 (W_hf), 0.099 (W_hu), 0.395 (W_ho), and
    the forget block of the input kernel to c = 0.25 (W_xf); W_xi, W_xu, W_xo
    are free (``constraints.StableLSTMProjection``). Always applied, not only
    when violated, as in the author's code (so small blocks are enlarged).

    **Axis (decision).** The author's code sums |M| over the output index of
    PyTorch's (out, in) weight -- Keras axis 1 within each (H, H) block,
    ``axis="author"``, the default, because the published constants were
    used with it. The paper's text says "rows" (the l-inf operator norm),
    Keras axis 0: ``axis="linf"``.

    Deviations: the projection is applied once after ``build`` (the author
    projects only after optimiser steps); the forget-gate bias offset of the
    author's JSB fork (10 + 10) is available as ``forget_bias=20.0`` but not
    the default. ``constrain=False`` gives the same LSTM without projection.
    Unlike the author's JSB script (whose ``nn.LSTM`` without
    ``batch_first`` saw T sequences of length 1), this LSTM recurs over time.

    Args:
        units: hidden size H.
        axis: ``"author"`` (default) or ``"linf"``.
        recurrent_scales: c for the (i, f, u, o) blocks of the recurrent kernel.
        input_forget_scale: c of W_xf (None leaves the input kernel free).
        forget_bias: constant added to the forget block of the initial bias.
        constrain: apply the projection (default True).
        kernel_initializer, recurrent_initializer, bias_initializer: default
            PyTorch's U(+-1/sqrt(H)).
        dropout, recurrent_dropout, seed: Keras' variational dropout, one mask
            pair per sequence (``ZooCell``): x_t * m_x before W_x, h_{t-1} * m_h before W_h (all four blocks).
        bias_constraint, *_regularizer: Keras' cell arguments
            (``kernel_constraint`` and ``recurrent_constraint`` are the projection).
        **kwargs: ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: (batch, d). states: [h_{t-1}, c_{t-1}]. training: unused.

    Returns:
        (h_t, [h_t, c_t]).

    Example:
        >>> import keras, numpy as np
        >>> from keras_rnnzoo.cells import StableLSTMCell
        >>> layer = keras.layers.RNN(StableLSTMCell(16))
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 16)

    Reference:
        Miller & Hardt, "Stable Recurrent Models", ICLR 2019
        (arXiv:1805.10369), section 4 and appendix.
    """

    _fixed = {
        "unit_forget_bias": "the forget-gate offset is `forget_bias`",
        "kernel_constraint": "the forget block W_xf is L1-normalised to `input_forget_scale`; "
                             "set it, or input_forget_scale=None to leave the kernel free",
        "recurrent_constraint": "every recurrent block is L1-normalised to `recurrent_scales`; "
                                "set them, or constrain=False",
    }

    def __init__(self, units, axis="author", recurrent_scales=AUTHOR_SCALES,
                 input_forget_scale=AUTHOR_INPUT_FORGET_SCALE, forget_bias=0.0,
                 constrain=True, **kwargs):
        check_choice("axis", axis, ("author", "linf"),
                     "'author' normalises as the author's code, 'linf' as the paper's text.")
        if isinstance(recurrent_scales, str) or len(recurrent_scales) != 4:
            raise ValueError(
                f"`recurrent_scales` needs one L1 constant per LSTM block (input, forget, "
                f"candidate, output); got {recurrent_scales!r}. The author's values are "
                f"{AUTHOR_SCALES}."
            )
        pop_fixed(type(self).__name__, kwargs, self._fixed)
        if forget_bias and not kwargs.get("use_bias", True):
            raise ValueError(f"`forget_bias={forget_bias}` offsets the forget block of the bias, "
                             f"but `use_bias=False` has none: drop one of the two.")
        # Validates the scales now, not at build time.
        projections = _projections(constrain, axis, recurrent_scales, input_forget_scale)
        super().__init__(units, unit_forget_bias=False, kernel_constraint=projections[0],
                         recurrent_constraint=projections[1], **_with_defaults(units, kwargs))
        self.axis = axis
        self.recurrent_scales = tuple(recurrent_scales)
        self.input_forget_scale = input_forget_scale
        self.forget_bias = float(forget_bias)
        self.constrain = bool(constrain)

    def build(self, input_shape):
        super().build(input_shape)
        h = self.units
        if self.forget_bias:
            offset = ops.concatenate([ops.zeros((h,)), ops.full((h,), self.forget_bias),
                                      ops.zeros((2 * h,))])
            self.bias.assign(self.bias + ops.cast(offset, self.bias.dtype))
        project_now(self.kernel)
        project_now(self.recurrent_kernel)

    def get_config(self):
        config = without(super().get_config(), self._fixed)
        config.update({"axis": self.axis, "recurrent_scales": list(self.recurrent_scales),
                       "input_forget_scale": self.input_forget_scale,
                       "forget_bias": self.forget_bias, "constrain": self.constrain})
        return config
