"""Gate-bias initialisers: uniform gate initialisation (UGI) and chrono.

UGI: Gu, Gulcehre, Paine, Hoffman & Pascanu, "Improving the Gating Mechanism
of Recurrent Neural Networks", ICML 2020 (arXiv:1910.09890).
Chrono: Tallec & Ollivier, "Can recurrent neural networks warp time?",
ICLR 2018.
"""

import keras
import numpy as np

from keras_rnnzoo.initializers._seeded import SeededInitializer


def _check_vector(name, shape):
    if len(shape) != 1:
        raise ValueError(
            f"{name} initialises a gate-bias vector of shape (units,); got shape "
            f"{shape}. Use it for the forget-gate bias only."
        )


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class UniformGate(SeededInitializer):
    """UGI: b_j = logit(u_j), u_j ~ U[1/H, 1 - 1/H] i.i.d., so sigma(b) is uniform.

    At initialisation the gate activations sigma(b_j) are spread uniformly over
    [1/H, 1 - 1/H], i.e. the units' characteristic times 1/(1 - f) cover
    [1, H]. The biases lie in [logit(1/H), logit(1 - 1/H)] (H = 64: +-4.14).

    Args:
        units: H in the interval; ``None`` uses the length of the vector
            (the paper's d is the hidden size).
        seed: int or None.

    Example:
        >>> b_f = UniformGate(seed=0)((64,))

    Reference:
        Gu et al., "Improving the Gating Mechanism of Recurrent Neural
        Networks", ICML 2020, section 3 (uniform gate initialisation).
    """

    def __init__(self, units=None, seed=None):
        super().__init__(seed=seed)
        if units is not None and (isinstance(units, bool) or not isinstance(units, int) or units < 2):
            raise ValueError(
                f"`units` must be an int >= 2 (UGI draws from [1/H, 1 - 1/H], empty for "
                f"H = 1) or None; got {units!r}."
            )
        self.units = units

    def _draw(self, shape, rng):
        _check_vector("UniformGate", shape)
        h = self.units if self.units is not None else shape[0]
        if h < 2:
            raise ValueError(
                f"UniformGate needs H >= 2 (the interval [1/H, 1 - 1/H] is empty for "
                f"H = 1); got a vector of length {h}. Pass `units` >= 2."
            )
        u = rng.uniform(1.0 / h, 1.0 - 1.0 / h, size=shape)
        return np.log(u / (1.0 - u))

    def get_config(self):
        return {"units": self.units, "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class Chrono(SeededInitializer):
    """Chrono initialisation: b_f = ln(u), u ~ U[1, T_max - 1].

    Used for the forget gate; the input gate gets -b_f (the cells do this
    themselves). T_max is the longest dependency to be expected.

    Args:
        max_timescale: T_max >= 2. Gu et al. set T_max proportional to the
            hidden size when it is not tuned; the constant is not known, the
            zoo's cells default to T_max = H.
        seed: int or None.

    Example:
        >>> b_f = Chrono(max_timescale=200, seed=0)((64,))

    Reference:
        Tallec & Ollivier, "Can recurrent neural networks warp time?",
        ICLR 2018, section 4.
    """

    def __init__(self, max_timescale, seed=None):
        super().__init__(seed=seed)
        if isinstance(max_timescale, bool) or not isinstance(max_timescale, (int, float)) \
                or not max_timescale >= 2:
            raise ValueError(
                f"`max_timescale` (T_max of chrono initialisation) must be a number >= 2; "
                f"got {max_timescale!r}. Use the longest expected dependency, e.g. the "
                "sequence length."
            )
        self.max_timescale = max_timescale

    def _draw(self, shape, rng):
        _check_vector("Chrono", shape)
        return np.log(rng.uniform(1.0, self.max_timescale - 1.0, size=shape))

    def get_config(self):
        return {"max_timescale": self.max_timescale, "seed": self.seed}
