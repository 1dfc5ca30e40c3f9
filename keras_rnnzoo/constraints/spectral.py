"""Spectral-norm clipping of (blocks of) a 2-D weight, with an SVD-free shortcut.

References:
    Kanai, Fujiwara & Iwamura, "Preventing Gradient Explosions in Gated
    Recurrent Units" (NeurIPS 2017): clip sigma_max of the GRU candidate matrix
    W_hh to 2 - delta after every step.
    Miller & Hardt, "Stable Recurrent Models" (ICLR 2019): clip sigma_max of the
    vanilla RNN's W_hh to 1 after every step.
"""

import numbers

import keras
from keras import ops

# Relative margin added to the bound so that float32 rounding of the products
# cannot push it below the true sigma_1 (the rounding error of a product of
# Frobenius-normalised matrices is ~sqrt(n) * 2**-24, far below this).
_BOUND_MARGIN = 1e-4
_TINY = 1e-30


def _frobenius(x):
    return ops.sqrt(ops.sum(ops.square(x)))


def _check_2d(shape, who):
    if len(shape) != 2:
        raise ValueError(
            f"{who} expects a 2-D weight (for example a kernel or recurrent_kernel "
            f"of shape (in, units)); got shape {shape}. Apply it to a 2-D weight only."
        )


def spectral_norm_bound(w, iterations=5):
    """A certified upper bound of the largest singular value of a 2-D ``w``.

    With ``X = w / ||w||_F`` and ``M = X^T X`` (or ``X X^T``, the smaller),
    ``iterations = k >= 1`` matrix products give
    ``||M^(2^(k-1))||_F^(1/2^k) * ||w||_F = (sum_i sigma_i^(2^(k+1)))^(1/2^(k+1))``,
    which is >= sigma_1 (Frobenius >= spectral norm) and at most
    ``sigma_1 * rank^(1/2^(k+1))`` (1.10 x sigma_1 for rank 512 at k = 5; much
    tighter when the spectrum decays). ``iterations=0`` is ``||w||_F``. The
    matrix is first scaled by max|w| and the products are renormalised after
    every squaring with the scale kept as a logarithm, so nothing over- or
    underflows. Computed in float32 with a relative margin of 1e-4 for
    rounding. Traceable (``keras.ops`` only, no branching).

    Args:
        w: 2-D tensor or variable, any float dtype.
        iterations: int >= 0, the number of matrix products.

    Returns:
        A float32 scalar tensor.

    Example:
        >>> b = spectral_norm_bound(keras.random.normal((64, 64)), iterations=5)
    """
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"`iterations` must be an int >= 0; got {iterations!r}.")
    x = ops.cast(ops.convert_to_tensor(w), "float32")
    shape = tuple(x.shape)
    _check_2d(shape, "spectral_norm_bound")
    amax = ops.maximum(ops.max(ops.abs(x)), _TINY)  # scale first: no over/underflow in x**2
    x = x / amax
    fro_unit = _frobenius(x)
    fro = amax * fro_unit
    if iterations == 0:
        return fro * (1.0 + _BOUND_MARGIN)
    x = x / ops.maximum(fro_unit, _TINY)
    m = ops.matmul(ops.transpose(x), x) if shape[1] <= shape[0] else ops.matmul(x, ops.transpose(x))
    log_scale = ops.zeros((), "float32")  # the product represented is exp(log_scale) * m
    for _ in range(iterations - 1):
        s = ops.maximum(_frobenius(m), _TINY)
        m = m / s
        log_scale = 2.0 * (log_scale + ops.log(s))
        m = ops.matmul(m, m)
    log_norm = log_scale + ops.log(ops.maximum(_frobenius(m), _TINY))
    bound = ops.minimum(fro * ops.exp(log_norm / float(2**iterations)), fro)
    return bound * (1.0 + _BOUND_MARGIN)


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class SpectralClip(keras.constraints.Constraint):
    """Clip the singular values of (gate blocks of) a 2-D weight at ``max_value``.

    The last axis is split into ``num_blocks`` equal blocks (Keras gate layout:
    a recurrent_kernel (H, G*H) holds G blocks of shape (H, H)); every block in
    ``blocks`` is projected onto {sigma_max <= max_value} independently, the
    other blocks are returned bit-identical. The projection is
    W <- U diag(min(sigma, max_value)) V^T: singular values below max_value are
    kept (to float32 rounding of the rebuild, ~1e-7 max_value), and a block
    already inside the set is returned exactly. (Subtracting the excess,
    W - U diag(sigma - max_value)_+ V^T, would touch fewer entries but loses
    ~eps sigma_1 to cancellation after a large step: not used.)

    The SVD is skipped (``keras.ops.cond``) when :func:`spectral_norm_bound`
    with ``bound_iterations`` products certifies sigma_max <= max_value; the
    block is then returned unchanged. Both paths give the same weights.
    Computed in float32, cast back to the weight's dtype. Traceable: runs inside
    the compiled train step (jax.jit, tf.function, XLA) where Keras' optimizer
    applies constraints, right after each update.

    Args:
        max_value: positive number, the largest allowed singular value
            (2 - delta = 1.8 for Kanai et al.'s GRU; 1.0 for the stable RNN).
        num_blocks: positive int, number of equal blocks along the last axis
            (3 for a GRU recurrent_kernel, 4 for an LSTM, 1 for a plain matrix).
        blocks: list of block indices in [0, num_blocks) to clip; None clips
            every block.
        bound_iterations: int >= 0, matrix products of the SVD-skipping bound
            (0: the Frobenius norm); None always runs the SVD.

    Example:
        >>> # GRU (reset_after=False), blocks (z, r, h~): clip only W_hh.
        >>> layer = keras.layers.GRU(
        ...     64, reset_after=False, use_bias=False,
        ...     recurrent_constraint=SpectralClip(1.8, num_blocks=3, blocks=[2]))

    Reference:
        Kanai, Fujiwara & Iwamura, NeurIPS 2017 (spec spectral_gru.md §3);
        Miller & Hardt, ICLR 2019 (spec stable.md §3, RNN projection).
    """

    def __init__(self, max_value, num_blocks=1, blocks=None, bound_iterations=5):
        if (isinstance(max_value, bool) or not isinstance(max_value, numbers.Real)
                or not max_value > 0 or max_value == float("inf")):
            raise ValueError(
                f"`max_value` must be a positive finite number; got {max_value!r}.")
        if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks < 1:
            raise ValueError(
                f"`num_blocks` must be a positive int (the number of gate blocks along the "
                f"last axis, e.g. 3 for a GRU recurrent_kernel); got {num_blocks!r}.")
        if blocks is not None:
            if isinstance(blocks, (str, bytes)) or not hasattr(blocks, "__iter__"):
                raise ValueError(
                    f"`blocks` must be None or a list of block indices; got {blocks!r}.")
            blocks = list(blocks)
            bad = [b for b in blocks if isinstance(b, bool) or not isinstance(b, int)
                   or not 0 <= b < num_blocks]
            if not blocks or bad or len(set(blocks)) != len(blocks):
                raise ValueError(
                    f"`blocks` must be None or a non-empty list of distinct ints in "
                    f"[0, num_blocks={num_blocks}); got {blocks!r}.")
        if bound_iterations is not None and (
                isinstance(bound_iterations, bool) or not isinstance(bound_iterations, int)
                or bound_iterations < 0):
            raise ValueError(
                f"`bound_iterations` must be an int >= 0, or None to always run the SVD; "
                f"got {bound_iterations!r}.")
        self.max_value = float(max_value)
        self.num_blocks = num_blocks
        self.blocks = blocks
        self.bound_iterations = bound_iterations

    def _svd_clip(self, x):
        # Rebuild U min(s, c) V^T rather than subtracting the excess from x:
        # after a large step (sigma_1 >> c) the subtraction cancels
        # catastrophically (error ~ eps sigma_1), the rebuild's error is
        # ~ eps c. A block with nothing to clip is returned exactly.
        # A block with a NaN or inf (a diverged step) is returned as it is, so the
        # loss turns NaN and keras.callbacks.TerminateOnNaN can stop the run:
        # the SVD sees zeros there instead (torch's raises on non-finite input).
        entries = ops.isfinite(x)
        u, s, vh = ops.svd(ops.where(entries, x, 0.0), full_matrices=False)
        clipped = ops.matmul(u * ops.minimum(s, self.max_value)[None, :], vh)
        return ops.where(ops.logical_and(ops.all(entries), ops.max(s) > self.max_value),
                         clipped, x)

    def _clip(self, x):
        if self.bound_iterations is None:
            return self._svd_clip(x)
        bound = spectral_norm_bound(x, self.bound_iterations)
        return ops.cond(bound <= self.max_value, lambda: x, lambda: self._svd_clip(x))

    def __call__(self, w):
        x = ops.convert_to_tensor(w)
        shape = tuple(x.shape)
        _check_2d(shape, "SpectralClip")
        if shape[-1] % self.num_blocks:
            raise ValueError(
                f"The weight's last axis ({shape[-1]}, shape {shape}) is not divisible by "
                f"`num_blocks`={self.num_blocks}. Set `num_blocks` to the number of gate "
                f"blocks of this weight (3 for a GRU recurrent_kernel, 4 for an LSTM).")
        dtype = x.dtype
        width = shape[-1] // self.num_blocks
        clipped = range(self.num_blocks) if self.blocks is None else self.blocks
        parts = []
        for i in range(self.num_blocks):
            block = x[:, i * width:(i + 1) * width] if self.num_blocks > 1 else x
            if i in clipped:
                block = ops.cast(self._clip(ops.cast(block, "float32")), dtype)
            parts.append(block)
        return parts[0] if self.num_blocks == 1 else ops.concatenate(parts, axis=-1)

    def get_config(self):
        return {"max_value": self.max_value, "num_blocks": self.num_blocks,
                "blocks": self.blocks, "bound_iterations": self.bound_iterations}
