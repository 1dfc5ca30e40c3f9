"""Adaptive-saturated RNN (asRNN)."""

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

    * Row layout: the official code applies ``nn.Linear``-style weights
      (h W^T); here W is applied as h @ W, so a torch free parameter A ports as
      its transpose (skew(A^T) = -skew(A)).
    * Any accurate float32 expm is used (native torch/JAX, Pade-13 on
      TensorFlow) instead of the official custom-backward expm: same function.
    * The sign flip of mode ``"cayley"`` is applied to h_{t-1} before W_hh; its
      exact position in the official code was not recorded (spec asrnn.md §9).

    Note: with the copy-task defaults (s initialised to 0) |s| has zero
    gradient at 0 on every framework, so D stays at eps and the cell is almost
    a linear orthogonal RNN, as in the official code.

    Args:
        units: hidden size H (> 0).
        mode: ``"exprnn"``, ``"dtriv"`` or ``"cayley"``; U_f uses the same mode.
        epsilon: eps >= 0 added to |s| (copy default 1e-5; MNIST 0.01; PTB 0).
        rho: mode ``"cayley"`` only: number of -1 entries of D_+-
            (default ``units // 2``, the copy/pMNIST setting).
        kernel_initializer: W_xh (default ``"orthogonal"``).
        recurrent_initializer: A (default ``Henaff()``; ``Cayley()`` for
            MNIST/PTB).
        saturation_kernel_initializer: A_f (default zeros, so U_f = I).
        saturation_scale_initializer: s ~ U(a, b) (default zeros: a = b = 0,
            the copy setting; MNIST uses ``RandomUniform(0.02, 0.02)``).
        bias_initializer: b (default zeros).
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
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon >= 0:
            raise ValueError(
                f"`epsilon` must be a number >= 0 (added to |s| in D = diag(|s| + eps)); "
                f"got {epsilon!r}."
            )
        self.epsilon = float(epsilon)
        self.saturation_kernel_initializer = keras.initializers.get(
            saturation_kernel_initializer
        )
        self.saturation_scale_initializer = keras.initializers.get(
            saturation_scale_initializer
        )

    def build(self, input_shape):
        self.build_common(input_shape)
        self.add_orthogonal("saturation_kernel", self.saturation_kernel_initializer)
        self.saturation_scale = self.add_weight(
            name="saturation_scale",
            shape=(self.units,),
            initializer=self.saturation_scale_initializer,
            autocast=False,
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.units,), initializer=self.bias_initializer
        )

    def saturation_diagonal(self):
        """d = |s| + eps (float32), the diagonal of D."""
        return ops.abs(ops.cast(self.saturation_scale, "float32")) + self.epsilon

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
        return {k: ops.cast(v, self.compute_dtype) for k, v in constants.items()}

    def step(self, projected, states, constants):
        h, wrap = split_state(states)
        c = constants
        a = projected + ops.matmul(h, c["recurrent"])
        h = ops.matmul(ops.tanh(ops.matmul(a, c["to_saturation"])), c["from_saturation"])
        return h, wrap(h)

    def get_config(self):
        config = super().get_config()
        config["epsilon"] = self.epsilon
        return config
