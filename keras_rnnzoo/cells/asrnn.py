"""Adaptive-saturated RNN (asRNN)."""

import math
import numbers

import keras
from keras import ops

from keras_rnnzoo.cells._base import split_state
from keras_rnnzoo.cells._orthogonal import OrthogonalRecurrentCell


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class ASRNNCell(OrthogonalRecurrentCell):
    """Cell of the adaptive-saturated RNN (asRNN).

    Update equations (column vectors, as in the paper)::

        a_t   = W_xh x_t + W_hh h_{t-1} + b
        h_t   = W_f^-1 tanh(W_f a_t) = D^-1 U_f^T tanh(U_f D a_t)
        W_f   = U_f D,   D = diag(|s| + eps)
        W_hh  = (B . phi(skew(A)))^T,   U_f = B_f . phi(skew(A_f))
        skew(A) = triu(A, 1) - triu(A, 1)^T

    phi is the matrix exponential (modes ``"exprnn"`` and ``"dtriv"``) or the
    Cayley map (I + S)^-1 (I - S) (mode ``"cayley"``); B, B_f are the dtriv
    bases (identity outside mode ``"dtriv"``). Weights (Keras row layout,
    ``x @ kernel``): ``kernel`` = W_xh^T (d, H), ``bias`` = b (H,),
    ``recurrent_kernel`` = A (H, H), ``saturation_kernel`` = A_f (H, H),
    ``saturation_scale`` = s (H,), and in dtriv mode the non-trainable
    ``recurrent_base`` = B and ``saturation_base`` = B_f. The code computes the
    row form h_t = tanh(a_t D U_f^T) U_f D^-1 with a_t = x_t kernel + b +
    h_{t-1} W, W = B . phi(skew(A)) (so W = W_hh^T).

    W, D U_f^T and U_f D^-1 depend only on the weights: inside
    ``keras.layers.RNN`` they are computed once per forward pass, before the
    time loop (in float32, then cast to ``compute_dtype``), never per step.

    Mode ``"dtriv"`` needs ``keras_rnnzoo.callbacks.DtrivRetraction`` in
    ``fit`` to move the base every K steps; without it the cell behaves as
    ``"exprnn"``. In mode ``"cayley"`` the last ``rho`` coordinates of h_{t-1}
    are sign-flipped before W_hh (scoRNN's W = Cayley(S) D_+-), see
    ``OrthogonalRNNCell``.

    Deviations from the official code (``ndminhkhoi46/asRNN``):

    * Row layout and the dtriv translation side: the zoo's recurrent matrix is
      W = B exp(S), S = skew(A), applied as h @ W; the official code applies
      its matrix as an ``nn.Linear`` weight, i.e. W = exp(-S) B^T in row form.
      So an official A ports as its transpose (skew(A^T) = -skew(A)) only
      while B = I; once the base moves, the zoo's base is B^T and its S is
      -B S B^T.
    * Any accurate float32 expm is used (native torch/JAX, Pade-13 on
      TensorFlow) instead of the official custom-backward expm: same function.
    * The sign flip of mode ``"cayley"`` is applied to h_{t-1} before W_hh, as
      in the official code (``hidden.mm(D)`` before the cell, i.e. W_hh D_+-,
      scoRNN's W = Cayley(A) D form).
    * |s| is computed as s * sign(s), whose derivative is 0 at s = 0 on every
      backend (the official torch code's behaviour; JAX's own ``abs`` has
      derivative 1 there, TensorFlow's and torch's 0). With the copy-task
      defaults (s initialised to 0) s therefore does not train and D stays at
      eps: the cell is almost a linear orthogonal RNN, as in the official code.
    * Mixed precision: W_f and W_f^-1 = U_f D^-1 (entries up to 1/eps = 1e5
      with the copy defaults, beyond float16's 65504) stay float32, and the
      saturation tanh(a D U_f^T) U_f D^-1 runs in float32 before h_t is cast
      to ``compute_dtype``; the recurrent and input matmuls run in the compute
      dtype. Rounded to bfloat16, W and the saturation maps are no longer
      orthogonal / inverse (at H = 128 the step map's singular values span
      0.997..1.002, spectral radius 1 + 1.6e-3) and ||h_t|| drifts by ~7e-4 per
      step (x1.9 at T = 1000, benchmarks/results/precision_drift.md).
      ``recurrent_dtype="float32"`` computes a_t = projected + h_{t-1} W and the
      saturation in float32 from the float32 maps (the state stays in
      ``compute_dtype``): drift ~1e-6 per step (worst start 1e-5), ||h_1000||
      within 1.3 % of float32. Not in the official code (float32 only).

    Dropout (``dropout``, ``recurrent_dropout``): x_t * m_x before W_xh and
    h_{t-1} * m_h before W_hh, one mask pair per sequence (``ZooCell``).

    Args:
        units: hidden size H (> 0).
        mode: ``"exprnn"``, ``"dtriv"`` or ``"cayley"``; U_f uses the same mode.
        epsilon: eps >= 0 added to |s|, finite (copy default 1e-5; MNIST 0.01;
            PTB 0 with s ~ U(0.8, 3)). eps = 0 is refused with an
            initialiser that can draw s = 0 (the default zeros): D would be
            singular.
        rho: mode ``"cayley"`` only: number of -1 entries of D_+-
            (default ``units // 2``, the copy/pMNIST setting).
        kernel_initializer: W_xh (default ``"orthogonal"``).
        recurrent_initializer: A (default ``Henaff()``; ``Cayley()`` for
            MNIST/PTB).
        saturation_kernel_initializer: A_f (default zeros, so U_f = I).
        saturation_scale_initializer: s ~ U(a, b) (default zeros: a = b = 0,
            the copy setting; MNIST uses ``RandomUniform(0.02, 0.02)``).
        bias_initializer: b (default zeros).
        recurrent_dtype: None (default: the compute dtype) or ``"float32"``:
            under a mixed policy, h_{t-1} W and the saturation run in float32
            (see Mixed precision above); no effect under float32.
        dropout, recurrent_dropout, seed: Keras' variational dropout, one mask
            pair per sequence (``ZooCell``): x_t * m_x before W_xh, h_{t-1} * m_h before W_hh.
        kernel_regularizer, bias_regularizer, kernel_constraint,
            bias_constraint: Keras' cell arguments. ``recurrent_constraint``
            and ``recurrent_regularizer`` are refused: W is orthogonal for
            every A (the error says what to use instead).
        **kwargs: ``keras.layers.Layer`` arguments (name, dtype, ...).

    Call arguments:
        inputs: (batch, d) step input.
        states: [h_{t-1}] with h of shape (batch, H).
        training: unused.

    Returns:
        (h_t, [h_t]).

    Example:
        >>> import keras, numpy as np
        >>> from keras_rnnzoo.cells import ASRNNCell
        >>> layer = keras.layers.RNN(ASRNNCell(32), return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 32)

    Reference:
        Nguyen-Duy, Pham & Nguyen, "Adaptive-saturated RNN: Remember more with
        less instability", ICLR 2023 Tiny Papers (arXiv:2304.11790).
    """

    _extra_initializers = ("saturation_kernel", "saturation_scale")

    def __init__(
        self,
        units,
        mode="exprnn",
        epsilon=1e-5,
        rho=None,
        kernel_initializer="orthogonal",
        recurrent_initializer=None,
        saturation_kernel_initializer="zeros",
        saturation_scale_initializer="zeros",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(
            units=units,
            mode=mode,
            rho=rho,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            **kwargs,
        )
        if (isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real)
                or not math.isfinite(epsilon) or not epsilon >= 0):
            raise ValueError(
                f"`epsilon` must be a finite number >= 0 (added to |s| in D = diag(|s| + "
                f"eps); an infinite eps makes D infinite); got {epsilon!r}. The copy task "
                "uses 1e-5."
            )
        self.epsilon = float(epsilon)
        self.saturation_kernel_initializer = keras.initializers.get(
            saturation_kernel_initializer
        )
        self.saturation_scale_initializer = keras.initializers.get(
            saturation_scale_initializer
        )
        if self.epsilon == 0 and _may_draw_zero(self.saturation_scale_initializer):
            raise ValueError(
                "`epsilon=0` with this `saturation_scale_initializer` "
                f"({type(self.saturation_scale_initializer).__name__}) can start s at 0, "
                "where D = diag(|s| + eps) is singular and W_f^-1 infinite (NaN outputs). "
                "Use epsilon > 0 (e.g. 1e-5), or an initialiser away from 0, e.g. "
                "keras.initializers.RandomUniform(0.8, 3.0) (the PTB setting).")

    def build(self, input_shape):
        self.build_common(input_shape)
        self.add_orthogonal("saturation_kernel", self.saturation_kernel_initializer)
        self.saturation_scale = self.add_weight(
            name="saturation_scale",
            shape=(self.units,),
            initializer=self.saturation_scale_initializer,
            autocast=False,
        )
        self.bias = self.add_cell_weight("bias", "bias", (self.units,))

    def saturation_diagonal(self):
        """d = |s| + eps (float32), the diagonal of D."""
        s = ops.cast(self.saturation_scale, "float32")
        # |s| with derivative 0 at s = 0 on every backend (jax.numpy.abs has 1).
        return s * ops.sign(s) + self.epsilon

    def compute_sequence_constants(self):
        u_f = self.orthogonal_matrix("saturation_kernel")
        d = self.saturation_diagonal()
        constants = {
            "recurrent": self.recurrent_matrix(),
            # a D U_f^T: the row form of W_f a.
            "to_saturation": ops.expand_dims(d, -1) * ops.transpose(u_f),
            # tanh(.) U_f D^-1: the row form of W_f^-1 tanh(.).
            "from_saturation": u_f / ops.expand_dims(d, 0),
        }
        dtypes = {"recurrent": self.recurrent_compute_dtype,
                  "to_saturation": self.saturation_dtype,
                  "from_saturation": self.saturation_dtype}
        return {k: ops.cast(v, dtypes[k]) for k, v in constants.items()}

    @property
    def saturation_dtype(self):
        """float32 under float16 (W_f^-1 overflows float16) and with
        ``recurrent_dtype="float32"``, else ``compute_dtype``."""
        if self.compute_dtype == "float16" or self.recurrent_dtype == "float32":
            return "float32"
        return self.compute_dtype

    def step(self, projected, states, constants):
        h, wrap = split_state(states)
        c = constants
        a = self.recurrent_preactivation(projected, h, c)
        if self.saturation_dtype != self.recurrent_compute_dtype:
            a = ops.cast(a, self.saturation_dtype)
        h = ops.matmul(ops.tanh(ops.matmul(a, c["to_saturation"])), c["from_saturation"])
        if self.saturation_dtype != self.compute_dtype:
            h = ops.cast(h, self.compute_dtype)
        return h, wrap(h)

    def get_config(self):
        config = super().get_config()
        config["epsilon"] = self.epsilon
        return config


def _may_draw_zero(initializer):
    """True when ``initializer`` can give s = 0 (zeros, a zero constant, a range
    or a distribution around 0): eps = 0 then makes D singular."""
    name = type(initializer).__name__
    config = initializer.get_config() if hasattr(initializer, "get_config") else {}
    if name == "Zeros":
        return True
    if name == "Constant":
        return float(config.get("value", 0.0)) == 0.0
    if name == "RandomUniform":
        return config.get("minval", -0.05) <= 0.0 <= config.get("maxval", 0.05)
    # Normal and other distributions around 0, or unknown: D may be singular.
    return name in ("RandomNormal", "TruncatedNormal", "GlorotUniform", "GlorotNormal",
                    "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
                    "VarianceScaling", "Orthogonal", "Identity")

