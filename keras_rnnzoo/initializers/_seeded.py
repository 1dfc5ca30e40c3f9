"""Shared base: NumPy-drawn, seedable, serialisable initialisers."""

import keras
import numpy as np


class SeededInitializer(keras.initializers.Initializer):
    """Draws with NumPy from ``seed``.

    With an integer seed every call returns the same values, like Keras'
    built-in initialisers with a fixed seed. With ``seed=None`` each call draws
    a fresh seed from NumPy's global generator, so that
    ``keras.utils.set_random_seed`` makes whole models reproducible.
    """

    def __init__(self, seed=None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"`seed` must be an int or None; got {seed!r}.")
        self.seed = seed

    def _rng(self):
        if self.seed is None:
            return np.random.default_rng(np.random.randint(0, 2**31 - 1))
        return np.random.default_rng(self.seed)

    def _draw(self, shape, rng):
        raise NotImplementedError

    def __call__(self, shape, dtype=None):
        values = self._draw(tuple(int(d) for d in shape), self._rng())
        return keras.ops.convert_to_tensor(
            values, dtype=dtype or keras.backend.floatx()
        )

    def get_config(self):
        return {"seed": self.seed}
