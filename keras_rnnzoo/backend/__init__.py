"""Backend-specific fast paths, chosen in one place.

Everything outside this package is portable Keras 3 code. Each backend file
offers optional fast paths; every one has a portable fallback elsewhere in the
package that gives the same numbers (checked in ``tests/test_backend.py``).

* ``native_expm(x)``: the framework's own matrix exponential, or ``None``.
* ``keras_internals``: the single place that leans on Keras internals.
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

__all__ = ["native_expm"]
