"""skew, expm, cayley: the orthogonal parametrisations of expRNN, dtriv and scoRNN.

References:
    Lezcano-Casado & Martinez-Rubio, "Cheap Orthogonal Constraints in Neural
    Networks" (ICML 2019; expRNN). Lezcano-Casado, "Trivializations for
    Gradient-Based Optimization on Manifolds" (NeurIPS 2019; dtriv).
    Helfrich, Willmott & Ye, "Orthogonal Recurrent Neural Networks with Scaled
    Cayley Transform" (ICML 2018; scoRNN).
    Higham, "The Scaling and Squaring Method for the Matrix Exponential
    Revisited" (SIAM J. Matrix Anal. Appl. 2005) for the Pade-13 scheme.
"""


from keras import ops

from keras_rnnzoo import backend as _zoo_backend

# Pade(13, 13) numerator coefficients b_0 ... b_13 (Higham 2005, Table 2.3 scheme).
_PADE13 = (
    64764752532480000.0,
    32382376266240000.0,
    7771770303897600.0,
    1187353796428800.0,
    129060195264000.0,
    10559470521600.0,
    670442572800.0,
    33522128640.0,
    1323241920.0,
    40840800.0,
    960960.0,
    16380.0,
    182.0,
    1.0,
)
_THETA13 = 5.371920351148152  # largest 1-norm for which Pade-13 is accurate.
# Masked squarings: enough for 1-norms up to theta13 * 2**24 (about 9e7).
_MAX_SQUARINGS = 24


def _float32(x):
    return ops.cast(ops.convert_to_tensor(x), "float32")


def _check_square(x, name):
    shape = tuple(x.shape)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(
            f"`{name}` expects a square matrix (or a batch of them) with shape "
            f"(..., n, n); got shape {shape}. Pass a square matrix."
        )


def skew(a):
    """Skew-symmetric matrix from the strict upper triangle of ``a``.

    S = triu(A, 1) - triu(A, 1)^T. Only the strict upper triangle of ``a``
    matters, as in expRNN's code, so the free parameter has n(n-1)/2 degrees
    of freedom. Returns float32.
    """
    a = _float32(a)
    _check_square(a, "a")
    upper = ops.triu(a, k=1)
    return upper - ops.swapaxes(upper, -1, -2)


def _finite_solve(a, b, x):
    """``solve(a, b)``, or NaN where ``x`` (the map's input) is not finite: a
    diverged step gives NaN weights, not TensorFlow's "Input matrix is not
    invertible" from ``MatrixSolve`` (so ``TerminateOnNaN`` can stop the run)."""
    finite = ops.all(ops.isfinite(x))
    eye = ops.eye(a.shape[-1], dtype=a.dtype)
    r = ops.solve(ops.where(finite, a, eye), ops.where(finite, b, eye))
    return ops.where(finite, r, float("nan"))


def expm_pade(x):
    """Matrix exponential by Pade-13 scaling and squaring, written in ``keras.ops``.

    Portable (compiles under XLA, ``jax.jit`` and eager torch) and
    differentiable on every backend. The number of squarings s is computed as
    a tensor from the 1-norm; the squarings are applied as ``_MAX_SQUARINGS``
    masked steps so that no data-dependent loop is needed. This is the
    fallback of :func:`expm` and the path TensorFlow always takes.
    """
    a = _float32(x)
    _check_square(a, "x")
    n = a.shape[-1]
    eye = ops.eye(n, dtype="float32")
    norm1 = ops.max(ops.sum(ops.abs(ops.stop_gradient(a)), axis=-2), axis=-1)
    s = ops.ceil(ops.log2(ops.maximum(norm1, 1e-30) / _THETA13))
    s = ops.clip(s, 0.0, float(_MAX_SQUARINGS))
    scale = ops.power(2.0, -s)
    a = a * ops.expand_dims(ops.expand_dims(scale, -1), -1)
    b = _PADE13
    a2 = ops.matmul(a, a)
    a4 = ops.matmul(a2, a2)
    a6 = ops.matmul(a4, a2)
    u_inner = ops.matmul(a6, b[13] * a6 + b[11] * a4 + b[9] * a2)
    u = ops.matmul(a, u_inner + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v_inner = ops.matmul(a6, b[12] * a6 + b[10] * a4 + b[8] * a2)
    v = v_inner + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    r = _finite_solve(v - u, v + u, x)
    s = ops.expand_dims(ops.expand_dims(s, -1), -1)
    for i in range(_MAX_SQUARINGS):
        r = ops.where(s > i, ops.matmul(r, r), r)
    return r


def expm(x, native=True):
    """Matrix exponential exp(x), computed in float32.

    Every path keeps exp(S) of a skew S orthogonal in float32: max
    |W^T W - I| <= 1e-5 at ||S||_1 = 100, n = 128 (measured: about 3e-8 on
    torch, 1.5e-6 on JAX, 4e-6 with :func:`expm_pade`).

    Args:
        x: square matrix (or batch), any float dtype.
        native: use the backend's own expm where it is differentiable and
            compiles (``torch.linalg.matrix_exp``, ``jax.scipy.linalg.expm``);
            ``False`` forces the portable :func:`expm_pade`. TensorFlow always
            uses the portable one (the gradient of ``tf.linalg.expm`` fails
            under XLA). On torch, inputs with a 1-norm above about 6 (where
            torch's float32 ``matrix_exp`` needs a second squaring and drifts
            off the orthogonal group) are exponentiated in float64 and cast
            back.

    Returns:
        float32 tensor of the same shape.
    """
    x = _float32(x)
    _check_square(x, "x")
    if native and _zoo_backend.native_expm is not None:
        return _zoo_backend.native_expm(x)
    return expm_pade(x)


def cayley(s):
    """Cayley map (I + S)^-1 (I - S), computed in float32.

    For skew-symmetric S the result is orthogonal with no eigenvalue -1
    (scoRNN therefore multiplies by a +-1 diagonal; see ``OrthogonalRNNCell``).
    """
    s = _float32(s)
    _check_square(s, "s")
    eye = ops.eye(s.shape[-1], dtype="float32")
    return _finite_solve(eye + s, eye - s, s)


_MAPS = {"exp": expm, "cayley": cayley}


def orthogonal_from_free(a, map="exp", base=None):
    """W = B . phi(skew(A)): the orthogonal matrix of a free parameter A.

    Args:
        a: free parameter, shape (n, n).
        map: ``"exp"`` (expRNN, dtriv) or ``"cayley"`` (scoRNN-style).
        base: optional dtriv base B (orthogonal, shape (n, n)); identity if None.

    Returns:
        float32 orthogonal matrix.
    """
    if map not in _MAPS:
        raise ValueError(f"`map` must be one of {sorted(_MAPS)}; got {map!r}.")
    w = _MAPS[map](skew(a))
    if base is not None:
        w = ops.matmul(_float32(base), w)
    return w


