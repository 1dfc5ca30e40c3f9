"""Backend-specific fast paths, chosen in one place.

Everything outside this package is portable Keras 3 code. Each backend file
offers optional fast paths; every one has a portable fallback elsewhere in the
package that gives the same numbers (checked in ``tests/test_parametrizations.py``
and ``tests/test_rnn_layer.py``).

* ``native_expm(x)``: the framework's own matrix exponential, or ``None``.
* ``scan_steps(step, xs, states, constants, return_sequences, mask, zero_output)``: the
  time loop of ``keras_rnnzoo.layers.RNN`` (a lean eager loop on torch,
  ``jax.lax.scan``, ``tf.while_loop``), or ``None``; the fallback is
  ``keras.layers.RNN``'s own loop.
* ``value_and_grad(fn, args)``: ``fn(*args)`` and its gradients w.r.t. the
  tensors ``args`` with the framework's own reverse mode (Keras 3 has no
  portable gradient API); the gradient monitors use it. No fallback exists:
  on another backend the monitors say so.
* ``dense_gradient(g)``: a sparse gradient (TensorFlow's ``IndexedSlices``)
  as a dense tensor; the identity elsewhere.
* ``replica_sum(values)``: ``(sum over the replicas, replicas)`` inside a
  TensorFlow replica context of several replicas, else ``(values, 1)``.
* ``data_parallel(num_devices)``: the backend's data-parallel engine
  (``keras_rnnzoo.utils.distribution`` calls it).
* ``set_threads(n)``: the framework's CPU thread pools (a no-op on JAX, whose
  pool is fixed at start); ``keras_rnnzoo.utils.set_threads`` calls it.

"""

import keras

_BACKEND = keras.backend.backend()

if _BACKEND == "jax":
    from keras_rnnzoo.backend import jax as _impl
elif _BACKEND == "torch":
    from keras_rnnzoo.backend import torch as _impl
elif _BACKEND == "tensorflow":
    from keras_rnnzoo.backend import tensorflow as _impl
else:  # numpy / openvino: portable code only.
    _impl = None

native_expm = getattr(_impl, "native_expm", None)
scan_steps = getattr(_impl, "scan_steps", None)
value_and_grad = getattr(_impl, "value_and_grad", None)
dense_gradient = getattr(_impl, "dense_gradient", lambda gradient: gradient)
replica_sum = getattr(_impl, "replica_sum", lambda values: (list(values), 1))

__all__ = ["dense_gradient", "native_expm", "replica_sum", "scan_steps", "value_and_grad"]
