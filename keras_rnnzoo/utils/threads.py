"""CPU thread counts of the current Keras backend."""

import keras


def set_threads(threads):
    """Use ``threads`` CPU threads in the current backend's ops (None or 0: leave
    the backend's choice).

    torch: ``torch.set_num_threads``; TensorFlow: its intra- and inter-op
    pools (call before TensorFlow runs its first op); JAX: nothing can be
    changed once JAX has started (set ``XLA_FLAGS`` before importing it).
    """
    if not threads:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise ValueError(f"`threads` must be a positive integer, or None or 0 for the "
                         f"backend's choice; got {threads!r}.")
    name = keras.backend.backend()
    if name == "torch":
        from keras_rnnzoo.backend import torch as impl
    elif name == "tensorflow":
        from keras_rnnzoo.backend import tensorflow as impl
    elif name == "jax":
        from keras_rnnzoo.backend import jax as impl
    else:  # numpy / openvino: no thread setting
        return
    impl.set_threads(threads)
