"""GRU with spectral clipping of the candidate matrix (Kanai et al. 2017)."""

import keras
from keras import ops

from keras_rnnzoo.cells._base import ZooCell
from keras_rnnzoo.cells._base import project_now
from keras_rnnzoo.cells._base import split_state
from keras_rnnzoo.constraints import SpectralClip


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class SpectralGRUCell(ZooCell):
    """GRU whose candidate matrix W_hh is kept at sigma_1(W_hh) <= 2 - delta.

    Update equations (column vectors; reset applied before W_hh)::

        z_t  = sigma(W_xz x_t + W_hz h_{t-1} + b_z)       update gate
        r_t  = sigma(W_xr x_t + W_hr h_{t-1} + b_r)       reset gate
        h~_t = tanh(W_xh x_t + W_hh (r_t * h_{t-1}) + b_h)
        h_t  = z_t * h_{t-1} + (1 - z_t) * h~_t

    After every optimiser step the singular values of W_hh above 2 - delta are
    clipped to 2 - delta (projected SGD; W_hz, W_hr and the input weights are
    free). Why 2: with x = 0 and no bias, h = 0 is a fixed point with Jacobian
    1/2 I + 1/4 W_hh, contractive while ||W_hh||_2 < 2; crossing 2 is the
    bifurcation that produces exploding gradients.

    This is ``keras.layers.GRUCell(reset_after=False)`` (same weight layout:
    ``kernel`` (d, 3H), ``recurrent_kernel`` (H, 3H), blocks z, r, h~, and
    ``bias`` (3H,) with ``use_bias=True``) plus the constraint
    ``constraints.SpectralClip(2 - delta, num_blocks=3, blocks=[2])`` on
    ``recurrent_kernel``: the block stores W_hh^T, whose singular values are
    those of W_hh. The constraint skips the SVD on steps where a cheap upper
    bound of sigma_1 already holds. ``delta=None`` gives the same GRU without
    clipping (the paper's baseline).

    Deviations / decisions (no official code; spec spectral_gru.md §6):
    delta = 0.2 by default (the re-implementation's threshold 1.8); no
    biases by default (the re-implementation has none, matching the
    analysis); ``recurrent_kernel`` initialised orthogonal as in Keras' GRU
    (the (H, 3H) matrix has orthonormal rows, so every block has sigma <= 1;
    the re-implementation makes W_hh itself orthogonal, sigma = 1); the
    projection is also applied once after ``build`` so that any initialiser
    starts inside the constraint set.

    Args:
        units: hidden size H.
        delta: in (0, 2); the threshold is 2 - delta. None: no clipping.
        use_bias: add b_z, b_r, b_h (default False).
        kernel_initializer: default ``"glorot_uniform"``.
        recurrent_initializer: default ``"orthogonal"``.
        bias_initializer: default ``"zeros"``.
        **kwargs: ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: (batch, d). states: [h_{t-1}]. training: unused.

    Returns:
        (h_t, [h_t]).

    Example:
        >>> import keras, numpy as np
        >>> from keras_rnnzoo.cells import SpectralGRUCell
        >>> layer = keras.layers.RNN(SpectralGRUCell(16, delta=0.2))
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 16)

    Reference:
        Kanai, Fujiwara & Iwamura, "Preventing Gradient Explosions in Gated
        Recurrent Units", NeurIPS 2017.
    """

    block_names = ("z", "r", "h")

    def __init__(self, units, delta=0.2, use_bias=False, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", **kwargs):
        super().__init__(units, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        if delta is not None and (isinstance(delta, bool) or not isinstance(delta, (int, float))
                                  or not 0.0 < delta < 2.0):
            raise ValueError(
                f"`delta` must be a number in (0, 2) (singular values of W_hh are clipped at "
                f"2 - delta), or None for no clipping; got {delta!r}. The usual value is 0.2."
            )
        self.delta = None if delta is None else float(delta)
        self.use_bias = bool(use_bias)

    @property
    def max_singular_value(self):
        return None if self.delta is None else 2.0 - self.delta

    def build(self, input_shape):
        self.check_step_input_shape(input_shape)
        h = self.units
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], 3 * h),
                                      initializer=self.kernel_initializer)
        constraint = None
        if self.delta is not None:
            constraint = SpectralClip(self.max_singular_value, num_blocks=3, blocks=[2])
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(h, 3 * h),
            initializer=self.recurrent_initializer, constraint=constraint)
        project_now(self.recurrent_kernel)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(3 * h,),
                                        initializer=self.bias_initializer)

    def candidate_matrix(self):
        """W_hh^T, the constrained (H, H) block of ``recurrent_kernel``."""
        return self.recurrent_kernel[:, 2 * self.units:]

    def call(self, inputs, states, training=False):
        h, wrap = split_state(states)
        n = self.units
        a_x = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            a_x = a_x + self.bias
        w = self.recurrent_kernel
        a_g = a_x[:, :2 * n] + ops.matmul(h, w[:, :2 * n])
        z = ops.sigmoid(a_g[:, :n])
        r = ops.sigmoid(a_g[:, n:])
        cand = ops.tanh(a_x[:, 2 * n:] + ops.matmul(r * h, w[:, 2 * n:]))
        h = z * h + (1.0 - z) * cand
        return h, wrap(h)

    def get_config(self):
        config = super().get_config()
        config.update({"delta": self.delta, "use_bias": self.use_bias})
        return config
