"""Miller & Hardt's block L1 normalisation of the LSTM weights (stable LSTM)."""

import numbers

import keras
from keras import ops

from keras_rnnzoo.constraints.spectral import _check_2d

_AXES = {"author": 1, "linf": 0}


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class StableLSTMProjection(keras.constraints.Constraint):
    """Rescale each LSTM gate block to a fixed L1 norm: M <- c M / max(sum|M|, epsilon).

    The last axis of the 2-D weight is split into ``len(scales)`` equal blocks
    (Keras LSTM order: input, forget, candidate, output). Every block whose
    scale ``c`` is not None is rescaled **at every call**, not only when a bound
    is violated (as in the author's code; this also enlarges small blocks);
    blocks whose scale is None are returned bit-identical.

    Axes. PyTorch stores a block as M (out x in) and the author's code divides
    by ``colsum(|M|)_k = sum_j |M_jk|`` (sum over the *output* index j, fixed
    input unit k). A Keras kernel holds the transpose, M^T (in x out), so:

    * ``axis="author"`` sums over **Keras axis 1** (the output axis) within each
      H-wide block: every row of the Keras block gets L1 norm c. This bounds the
      ℓ1 operator norm ||M||_1 (max column sum in PyTorch layout).
    * ``axis="linf"`` sums over **Keras axis 0** (the input axis): every column
      of the Keras block gets L1 norm c, i.e. the ℓ∞ operator norm ||M||_∞ (max
      row sum of M, the paper text's "rows") equals c.

    Computed in float32, cast back to the weight's dtype.

    Args:
        scales: sequence with one entry per gate block, each None (block
            untouched) or a positive number. The default is the author's
            recurrent-kernel constants (W_hi, W_hf, W_hu, W_ho); use
            ``(None, 0.25, None, None)`` for the input kernel (only W_xf).
        axis: ``"author"`` (default, the author's PyTorch code) or ``"linf"``
            (the paper's ℓ∞ / row convention), see above.
        epsilon: positive number, lower bound of the divisor (an all-zero row
            or column stays zero).

    Example:
        >>> layer = keras.layers.LSTM(
        ...     64,
        ...     kernel_constraint=StableLSTMProjection((None, 0.25, None, None)),
        ...     recurrent_constraint=StableLSTMProjection())

    Reference:
        Miller & Hardt, "Stable Recurrent Models", ICLR 2019; the projection of
        the author's code, spec stable.md §3 and §7.
    """

    def __init__(self, scales=(0.395, 0.155, 0.099, 0.395), axis="author", epsilon=1e-12):
        if isinstance(scales, (str, bytes)) or not hasattr(scales, "__len__") or not len(scales):
            raise ValueError(
                f"`scales` must be a non-empty sequence with one entry (None or a positive "
                f"number) per gate block, e.g. (0.395, 0.155, 0.099, 0.395); got {scales!r}.")
        bad = [c for c in scales if c is not None and (
            isinstance(c, bool) or not isinstance(c, numbers.Real) or not 0 < c < float("inf"))]
        if bad:
            raise ValueError(
                f"Every entry of `scales` must be None or a positive finite number; got "
                f"{list(scales)!r}.")
        if axis not in _AXES:
            raise ValueError(
                f"`axis` must be \"author\" (Keras axis 1, the author's code) or \"linf\" "
                f"(Keras axis 0, the paper's ℓ∞ rows); got {axis!r}.")
        if (isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real)
                or not epsilon > 0):
            raise ValueError(f"`epsilon` must be a positive number; got {epsilon!r}.")
        self.scales = [None if c is None else float(c) for c in scales]
        self.axis = axis
        self.epsilon = float(epsilon)

    def __call__(self, w):
        x = ops.convert_to_tensor(w)
        shape = tuple(x.shape)
        _check_2d(shape, "StableLSTMProjection")
        n = len(self.scales)
        if shape[-1] % n:
            raise ValueError(
                f"The weight's last axis ({shape[-1]}, shape {shape}) is not divisible by "
                f"len(`scales`)={n}. Give `scales` one entry per gate block (4 for an LSTM).")
        dtype = x.dtype
        width = shape[-1] // n
        axis = _AXES[self.axis]
        parts = []
        for i, c in enumerate(self.scales):
            block = x[:, i * width:(i + 1) * width] if n > 1 else x
            if c is not None:
                b32 = ops.cast(block, "float32")
                norms = ops.sum(ops.abs(b32), axis=axis, keepdims=True)
                block = ops.cast(b32 * (c / ops.maximum(norms, self.epsilon)), dtype)
            parts.append(block)
        return parts[0] if n == 1 else ops.concatenate(parts, axis=-1)

    def get_config(self):
        return {"scales": list(self.scales), "axis": self.axis, "epsilon": self.epsilon}
