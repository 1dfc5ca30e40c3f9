"""JAX fast paths."""

import jax
import jax.scipy.linalg


def native_expm(x):
    """``jax.scipy.linalg.expm`` (differentiable, compiles under ``jit``)."""
    return jax.scipy.linalg.expm(x)


def scan_steps(step, xs, states, constants, return_sequences):
    """``jax.lax.scan`` over time: one traced step, compiled once.

    Same contract as the torch version; the carry is (last output, states),
    the last output starting as zeros shaped like ``states[0]`` (a zoo cell's
    output is its first state).
    """
    import jax.numpy as jnp

    def body(carry, x_t):
        output, new_states = step(x_t, carry[1], constants)
        return (output, list(new_states)), (output if return_sequences else None)

    init = (jnp.zeros_like(states[0]), list(states))
    (last, states), outputs = jax.lax.scan(body, init, jnp.swapaxes(xs, 0, 1))
    return last, (jnp.swapaxes(outputs, 0, 1) if return_sequences else None), states


def value_and_grad(fn, args):
    """``fn(*args)`` (a scalar) and its gradients w.r.t. every tensor in ``args``.

    The framework's own reverse mode (``jax.value_and_grad``); ``fn`` must be
    functional in ``args`` (Keras' ``stateless_call`` makes a model so).
    """
    return jax.value_and_grad(lambda a: fn(*a))(list(args))
