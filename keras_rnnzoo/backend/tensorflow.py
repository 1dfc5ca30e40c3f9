"""TensorFlow fast paths.

``tf.linalg.expm`` is deliberately *not* used: its gradient fails under XLA
(``jit_compile=True``), so TensorFlow runs the portable Pade approximation of
``keras_rnnzoo.parametrizations.expm``, which compiles and differentiates.
"""

native_expm = None
