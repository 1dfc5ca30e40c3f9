"""TensorFlow fast paths.

``tf.linalg.expm`` is deliberately *not* used: its gradient fails under XLA
(``jit_compile=True``), so TensorFlow runs the portable Pade approximation of
``keras_rnnzoo.parametrizations.expm``, which compiles and differentiates.
"""

import tensorflow as tf

native_expm = None


def scan_steps(step, xs, states, constants, return_sequences, mask=None, zero_output=False):
    """``tf.while_loop`` over time; inputs and outputs in ``TensorArray``s.

    Same contract as the torch version. The per-step input is read from a
    ``TensorArray`` (not sliced from the (T, batch, F) tensor: the gradient of
    a slice is a full-size tensor per step, O(T^2) in the backward pass).
    Inside ``tf.function`` (``fit``) this is one graph loop, which XLA
    compiles under ``jit_compile=True``; it needs the static trip count.
    """
    time_major = tf.transpose(xs, [1, 0, 2])
    steps = time_major.shape[0] if time_major.shape[0] is not None else tf.shape(xs)[1]
    inputs = tf.TensorArray(xs.dtype, size=steps).unstack(time_major)
    if mask is not None:
        keep = tf.transpose(tf.cast(mask, tf.bool), [1, 0])[..., None]
        keep = tf.TensorArray(tf.bool, size=steps).unstack(keep)

    def body(t, last, states, *outputs):
        output, new_states = step(inputs.read(t), states, constants)
        new_states = list(new_states)
        if mask is not None:
            m_t = keep.read(t)
            previous = tf.zeros_like(output) if zero_output else states[0]
            output = tf.where(m_t, output, previous)
            new_states = [tf.where(m_t, n, s) for n, s in zip(new_states, states)]
        return (t + 1, output, new_states) + tuple(o.write(t, output) for o in outputs)

    loop_vars = (tf.constant(0), tf.zeros_like(states[0]), list(states))
    if return_sequences:
        loop_vars += (tf.TensorArray(states[0].dtype, size=steps),)
    result = tf.while_loop(lambda t, *_: t < steps, body, loop_vars, maximum_iterations=steps,
                           parallel_iterations=32, swap_memory=True)
    outputs = tf.transpose(result[3].stack(), [1, 0, 2]) if return_sequences else None
    return result[1], outputs, result[2]


def value_and_grad(fn, args):
    """``fn(*args)`` (a scalar) and its gradients w.r.t. every tensor in ``args``
    (``tf.GradientTape``; an input that ``fn`` does not use gets zeros)."""
    args = [tf.convert_to_tensor(a) for a in args]
    with tf.GradientTape() as tape:
        tape.watch(args)
        value = fn(*args)
    grads = tape.gradient(value, args, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return value, grads


def dense_gradient(gradient):
    """An ``IndexedSlices`` gradient (an embedding's) as a dense tensor, duplicate
    rows summed; ``keras.ops`` would treat its values as if they were the
    gradient (``ops.square`` of slices squares each duplicate separately)."""
    if isinstance(gradient, tf.IndexedSlices):
        return tf.convert_to_tensor(gradient)
    return gradient


def set_threads(threads):
    """``threads`` intra- and inter-op CPU threads; TensorFlow refuses the change
    (RuntimeError) once its runtime has started."""
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def data_parallel(num_devices=None):
    """A ``tf.distribute`` strategy over the local devices: ``MirroredStrategy``
    (the GPUs, else the CPU; ``num_devices`` > 1 on a CPU-only host splits the
    CPU into that many logical devices, which only works before TensorFlow
    starts), or ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` describes a
    cluster."""
    import os

    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [f"/gpu:{i}" for i in range(len(gpus))]
    else:
        if num_devices and num_devices > 1:
            cpu = tf.config.list_physical_devices("CPU")[0]
            try:
                tf.config.set_logical_device_configuration(
                    cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)
            except RuntimeError:  # already started: the existing logical devices count
                pass
        names = [d.name for d in tf.config.list_logical_devices("CPU")]
    if num_devices:
        if len(names) < num_devices:
            raise ValueError(f"--distribute {num_devices}: TensorFlow sees {len(names)} "
                             f"device(s) ({names}); split the CPU before TensorFlow starts.")
        names = names[:num_devices]
    return tf.distribute.MirroredStrategy(names)


def replica_sum(values):
    """``(sum over the replicas of values, replicas)`` inside a
    ``tf.distribute`` replica context of several replicas (one all-reduce; a
    ``None`` stays None), else ``(values, 1)``. Keras' TensorFlow optimiser
    sums the replicas' gradients only after clipping them; the zoo's
    optimisers and gradient monitor need the global gradient before."""
    ctx = tf.distribute.get_replica_context()
    replicas = 1 if ctx is None else ctx.num_replicas_in_sync
    if replicas == 1:
        return list(values), 1
    values = list(values)
    present = [i for i, v in enumerate(values) if v is not None]
    summed = ctx.all_reduce(tf.distribute.ReduceOp.SUM,
                            [dense_gradient(values[i]) for i in present])
    for i, s in zip(present, summed):
        values[i] = s
    return values, replicas
