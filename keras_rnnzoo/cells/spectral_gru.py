"""GRU with spectral clipping of the candidate matrix (Kanai et al. 2017)."""

import keras

from keras_rnnzoo.cells._base import project_now
from keras_rnnzoo.cells.baselines import GRUCell
from keras_rnnzoo.cells.baselines import pop_fixed
from keras_rnnzoo.cells.baselines import without
from keras_rnnzoo.constraints import SpectralClip


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class SpectralGRUCell(GRUCell):
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

    This is the zoo's ``GRUCell(reset_after=False)``, i.e.
    ``keras.layers.GRUCell(reset_after=False)`` (same weight layout:
    ``kernel`` (d, 3H), ``recurrent_kernel`` (H, 3H), blocks z, r, h~, and
    ``bias`` (3H,) with ``use_bias=True``), plus the constraint
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
        dropout, recurrent_dropout, seed: Keras' variational dropout, one mask
            pair per sequence (``ZooCell``): x_t * m_x before W_x, h_{t-1} * m_h before W_hz, W_hr and, with
            the reset gate, before W_hh: r_t * (h_{t-1} * m_h).
        kernel_constraint, bias_constraint, kernel_regularizer,
            recurrent_regularizer, bias_regularizer: Keras' cell arguments
            (``recurrent_constraint`` and ``reset_after`` are the cell's own).
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

    # Reset before W_hh, and the clip set by `delta`.
    _fixed = {
        "reset_after": "Kanai et al.'s GRU applies the reset gate before W_hh",
        "recurrent_constraint": "W_hh's singular values are clipped at 2 - delta after every "
                                "step; set `delta` (None: no clipping)",
    }

    def __init__(self, units, delta=0.2, use_bias=False, **kwargs):
        if delta is not None and (isinstance(delta, bool) or not isinstance(delta, (int, float))
                                  or not 0.0 < delta < 2.0):
            raise ValueError(
                f"`delta` must be a number in (0, 2) (singular values of W_hh are clipped at "
                f"2 - delta), or None for no clipping; got {delta!r}. The usual value is 0.2."
            )
        pop_fixed(type(self).__name__, kwargs, self._fixed)
        delta = None if delta is None else float(delta)
        constraint = None if delta is None else SpectralClip(2.0 - delta, num_blocks=3, blocks=[2])
        super().__init__(units, reset_after=False, use_bias=use_bias,
                         recurrent_constraint=constraint, **kwargs)
        self.delta = delta

    @property
    def max_singular_value(self):
        return None if self.delta is None else 2.0 - self.delta

    def build(self, input_shape):
        super().build(input_shape)
        project_now(self.recurrent_kernel)

    def candidate_matrix(self):
        """W_hh^T, the constrained (H, H) block of ``recurrent_kernel``."""
        return self.recurrent_kernel[:, 2 * self.units:]

    def get_config(self):
        config = without(super().get_config(), self._fixed)
        config["delta"] = self.delta
        return config
