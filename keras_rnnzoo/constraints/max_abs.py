"""Entry-wise clamp to [-value, value] (the stable char-LM input clamp)."""

import numbers

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class MaxAbs(keras.constraints.Constraint):
    """Clamp every entry of the weight to [-value, value].

    Args:
        value: positive number, the largest allowed absolute value.

    Example:
        >>> emb = keras.layers.Embedding(50, 400, embeddings_constraint=MaxAbs(1.0))

    Reference:
        Miller & Hardt, "Stable Recurrent Models", ICLR 2019: the char-rnn code
        clamps every input-embedding entry to [-1, 1] after each step (spec
        stable.md §3).
    """

    def __init__(self, value=1.0):
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not 0 < value < float("inf")):
            raise ValueError(f"`value` must be a positive finite number; got {value!r}.")
        self.value = float(value)

    def __call__(self, w):
        x = ops.convert_to_tensor(w)
        return ops.cast(ops.clip(x, -self.value, self.value), x.dtype)

    def get_config(self):
        return {"value": self.value}
