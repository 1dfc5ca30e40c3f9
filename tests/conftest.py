import os

import keras
import numpy as np
import pytest

BACKEND = keras.backend.backend()

if BACKEND == "torch":
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _reset_policy_and_seed():
    keras.utils.set_random_seed(1234)
    keras.mixed_precision.set_dtype_policy("float32")
    yield
    keras.mixed_precision.set_dtype_policy("float32")


def gradient(fn, x):
    """d fn(x) / dx for a scalar fn, with the current backend's autodiff."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        return np.asarray(tape.gradient(y, x))
    if BACKEND == "jax":
        import jax

        return np.asarray(jax.grad(fn)(keras.ops.convert_to_tensor(x)))
    if BACKEND == "torch":
        import torch

        x = torch.tensor(np.asarray(x), requires_grad=True)
        fn(x).backward()
        return x.grad.numpy()
    pytest.skip(f"no autodiff helper for backend {BACKEND}")


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
