"""PyTorch's default initialisation, for faithful ports of PyTorch code."""

import math

import keras
import numpy as np

from keras_rnnzoo.initializers._seeded import SeededInitializer


def _check_fill(fill):
    """``fill`` as a tuple of (start, stop, value) triples, or a ValueError."""
    if fill is None:
        return None
    if isinstance(fill, (str, bytes)) or not hasattr(fill, "__iter__"):
        raise ValueError(f"`fill` must be a list of (start, stop, value) triples or None; "
                         f"got {fill!r}.")
    out = []
    for item in fill:
        if isinstance(item, (str, bytes)) or not hasattr(item, "__len__") or len(item) != 3:
            raise ValueError(f"each `fill` entry must be (start, stop, value); got {item!r}.")
        start, stop, value = item
        ints = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                   for v in (start, stop))
        if not ints or not 0 <= start < stop:
            raise ValueError(f"`fill` entry {item!r}: start and stop must be ints with "
                             f"0 <= start < stop.")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating,
                                                             np.integer)) \
                or not math.isfinite(value):
            raise ValueError(f"`fill` entry {item!r}: value must be a finite number.")
        out.append((int(start), int(stop), float(value)))
    return tuple(out)


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class TorchUniform(SeededInitializer):
    """U(-1/sqrt(fan), 1/sqrt(fan)), PyTorch's default for RNN and Linear weights.

    Every entry is an independent draw, whatever the shape. For a 2-D *bias*
    (the reset-after GRU's (2, 3H): row 0 = b_ih, row 1 = b_hh) pass ``fan``
    explicitly (``None`` would take ``shape[0]`` = 2) and keep ``terms=1``:
    each row is then one uniform PyTorch bias vector.

    Args:
        fan: the n in 1/sqrt(n). PyTorch's ``nn.RNN``/``nn.LSTM``/``nn.GRU``
            use the hidden size for *every* weight and bias: pass
            ``fan=units``. ``None`` uses ``shape[0]``, the fan-in of a Keras
            kernel (``nn.Linear``'s rule).
        terms: number of independent draws summed per entry. PyTorch RNNs
            have two bias vectors (b_ih + b_hh); a Keras cell with *one* bias
            vector (RNN, LSTM, reset-before GRU) stores their sum, so
            ``terms=2`` gives the same (triangular) distribution of the
            effective bias. Not for a bias that keeps both vectors as rows.
        fill: optional list of ``(start, stop, value)``: entries
            ``[start, stop)`` along the last axis (of every row) are set to
            ``value`` after the draw, like PyTorch's
            ``bias.data[start:stop].fill_(value)``. For a summed bias
            (``terms=2``) give the sum of the two PyTorch values.
        seed: int or None.

    Example:
        >>> init = TorchUniform(fan=64, terms=2, seed=0)
        >>> bias = init((256,))
        >>> author = TorchUniform(fan=64, terms=2, fill=[(64, 128, 20.0)], seed=0)
        >>> float(author((256,))[64])
        20.0
    """

    def __init__(self, fan=None, terms=1, seed=None, fill=None):
        super().__init__(seed=seed)
        if fan is not None and (isinstance(fan, bool) or not isinstance(fan, int) or fan <= 0):
            raise ValueError(f"`fan` must be a positive int or None; got {fan!r}.")
        if isinstance(terms, bool) or not isinstance(terms, int) or terms < 1:
            raise ValueError(f"`terms` must be an int >= 1; got {terms!r}.")
        self.fan = fan
        self.terms = terms
        self.fill = _check_fill(fill)

    def _draw(self, shape, rng):
        fan = self.fan if self.fan is not None else (shape[0] if shape else 1)
        bound = 1.0 / np.sqrt(fan)
        values = sum(rng.uniform(-bound, bound, size=shape) for _ in range(self.terms))
        for start, stop, value in self.fill or ():
            if not shape or stop > shape[-1]:
                raise ValueError(f"`fill` range [{start}, {stop}) does not fit the last axis "
                                 f"of shape {shape}.")
            values[..., start:stop] = value
        return values

    def get_config(self):
        config = {"fan": self.fan, "terms": self.terms, "seed": self.seed}
        if self.fill is not None:  # configs without it stay as before
            config["fill"] = [list(f) for f in self.fill]
        return config
