"""JAX fast paths."""

import jax.scipy.linalg


def native_expm(x):
    """``jax.scipy.linalg.expm`` (differentiable, compiles under ``jit``)."""
    return jax.scipy.linalg.expm(x)
