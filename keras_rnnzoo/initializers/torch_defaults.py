"""PyTorch's default initialisation, for faithful ports of PyTorch code."""

import keras
import numpy as np

from keras_rnnzoo.initializers._seeded import SeededInitializer


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class TorchUniform(SeededInitializer):
    """U(-1/sqrt(fan), 1/sqrt(fan)), PyTorch's default for RNN and Linear weights.

    Args:
        fan: the n in 1/sqrt(n). PyTorch's ``nn.RNN``/``nn.LSTM``/``nn.GRU``
            use the hidden size for *every* weight and bias: pass
            ``fan=units``. ``None`` uses ``shape[0]``, the fan-in of a Keras
            kernel (``nn.Linear``'s rule).
        terms: number of independent draws summed. PyTorch RNNs have two bias
            vectors (b_ih + b_hh); a Keras cell has one, so ``terms=2`` gives
            the same (triangular) distribution of the effective bias.
        seed: int or None.

    Example:
        >>> init = TorchUniform(fan=64, terms=2, seed=0)
        >>> bias = init((256,))
    """

    def __init__(self, fan=None, terms=1, seed=None):
        super().__init__(seed=seed)
        if fan is not None and (not isinstance(fan, int) or fan <= 0):
            raise ValueError(f"`fan` must be a positive int or None; got {fan!r}.")
        if not isinstance(terms, int) or terms < 1:
            raise ValueError(f"`terms` must be an int >= 1; got {terms!r}.")
        self.fan = fan
        self.terms = terms

    def _draw(self, shape, rng):
        fan = self.fan if self.fan is not None else (shape[0] if shape else 1)
        bound = 1.0 / np.sqrt(fan)
        return sum(rng.uniform(-bound, bound, size=shape) for _ in range(self.terms))

    def get_config(self):
        return {"fan": self.fan, "terms": self.terms, "seed": self.seed}
