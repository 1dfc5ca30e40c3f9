"""JAX fast paths."""

import jax
import jax.scipy.linalg


def native_expm(x):
    """``jax.scipy.linalg.expm`` (differentiable, compiles under ``jit``)."""
    return jax.scipy.linalg.expm(x)


def scan_steps(step, xs, states, constants, return_sequences, mask=None, zero_output=False):
    """``jax.lax.scan`` over time: one traced step, compiled once.

    Same contract as the torch version; the carry is (last output, states),
    the last output starting as zeros shaped like ``states[0]`` (a zoo cell's
    output is its first state). A ``mask`` (batch, T) is scanned with the
    inputs.
    """
    import jax.numpy as jnp

    def body(carry, scanned):
        states = carry[1]
        if mask is None:
            output, new_states = step(scanned, states, constants)
            new_states = list(new_states)
        else:
            x_t, m_t = scanned
            new_output, new_states = step(x_t, states, constants)
            previous = jnp.zeros_like(new_output) if zero_output else states[0]
            output = jnp.where(m_t, new_output, previous)
            new_states = [jnp.where(m_t, n, s) for n, s in zip(new_states, states)]
        return (output, new_states), (output if return_sequences else None)

    scanned = jnp.swapaxes(xs, 0, 1)
    if mask is not None:
        scanned = (scanned, jnp.swapaxes(jnp.asarray(mask, bool), 0, 1)[..., None])
    init = (jnp.zeros_like(states[0]), list(states))
    (last, states), outputs = jax.lax.scan(body, init, scanned)
    return last, (jnp.swapaxes(outputs, 0, 1) if return_sequences else None), states


def value_and_grad(fn, args):
    """``fn(*args)`` (a scalar) and its gradients w.r.t. every tensor in ``args``.

    The framework's own reverse mode (``jax.value_and_grad``); ``fn`` must be
    functional in ``args`` (Keras' ``stateless_call`` makes a model so).
    """
    return jax.value_and_grad(lambda a: fn(*a))(list(args))


def set_threads(threads):
    """Nothing: XLA's CPU thread pool is fixed when JAX starts; limit it before
    importing JAX with ``XLA_FLAGS`` (``--xla_cpu_multi_thread_eigen=false
    intra_op_parallelism_threads=1`` for one thread)."""
    del threads


def data_parallel(num_devices=None):
    """Install ``keras.distribution.DataParallel`` over the local devices.

    Several hosts: each process is started with Keras' variables
    ``KERAS_DISTRIBUTION_JOB_ADDRESSES`` (comma-separated ``host:port``, the
    first the coordinator), ``KERAS_DISTRIBUTION_NUM_PROCESSES`` and
    ``KERAS_DISTRIBUTION_PROCESS_ID``; ``keras.distribution.initialize`` then
    calls ``jax.distributed.initialize``. ``num_devices``: use that many
    devices (on a CPU-only host, that many virtual CPU devices, through
    ``XLA_FLAGS=--xla_force_host_platform_device_count``, which only works
    before JAX starts). Returns ``(replicas, process_index, process_count)``.
    """
    import os

    import keras

    if int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1")) > 1:
        keras.distribution.initialize()
    flag = "--xla_force_host_platform_device_count"
    if num_devices and num_devices > 1 and flag not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}={num_devices}"
    devices = keras.distribution.list_devices()
    if num_devices:
        if len(devices) < num_devices:
            raise ValueError(
                f"--distribute {num_devices}: JAX sees {len(devices)} device(s) ({devices}). On "
                f"a CPU host, set XLA_FLAGS={flag}={num_devices} before JAX starts.")
        devices = devices[:num_devices]
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return len(devices), jax.process_index(), jax.process_count()
