"""Adding problem (Hochreiter & Schmidhuber 1997; the layout of Gu et al. 2020).

Input: N steps of two channels, a value ~ U[0, 1] and an indicator that is 1
at exactly two steps: one uniformly chosen among the first floor(N/2) steps
and one among the remaining steps. Target: the sum of the two marked values,
scored by the MSE of the output at the final step. Predicting the mean 1
scores Var(v_1 + v_2) = 2/12 = 1/6 (the memoryless baseline). The evaluation
of a model on fresh data is :func:`keras_rnnzoo.models.evaluate_adding`.
"""

import numpy as np

from keras_rnnzoo.tasks._batches import SeededBatches

ADDING_BASELINE = 1.0 / 6.0
INPUT_SIZE = 2


def _check(num_samples, length):
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"`num_samples` must be an int >= 1; got {num_samples!r}.")
    if isinstance(length, bool) or not isinstance(length, int) or length < 2:
        raise ValueError(
            f"`length` (N) must be an int >= 2 (one marker in each half); got {length!r}."
        )


def adding(num_samples, length, seed=0):
    """Draw an adding-problem batch; a pure function of its arguments.

    Args:
        num_samples: batch size (>= 1).
        length: N, the number of time steps (>= 2); 200 for training and 1000
            for evaluation in Gu et al.
        seed: int or a sequence of ints (NumPy ``default_rng`` seed); ``None``
            draws fresh entropy.

    Returns:
        ``(x, y)``: x float32 of shape (num_samples, N, 2) (channel 0: values
        U[0, 1]; channel 1: indicator, one 1 in the first floor(N/2) steps and
        one in the rest); y float32 of shape (num_samples, 1), the sum of the
        two marked values.

    Example:
        >>> x, y = adding(4, 200, seed=0)
        >>> x.shape, y.shape
        ((4, 200, 2), (4, 1))

    Reference:
        A. Gu, C. Gulcehre, T. Paine, M. Hoffman, R. Pascanu, *Improving the
        Gating Mechanism of Recurrent Neural Networks*, ICML 2020; generator of
        ``HazyResearch/hippo-code``.
    """
    _check(num_samples, length)
    rng = np.random.default_rng(seed)
    half = length // 2
    values = rng.uniform(0.0, 1.0, size=(num_samples, length)).astype(np.float32)
    first = rng.integers(0, half, size=num_samples)
    second = rng.integers(half, length, size=num_samples)
    rows = np.arange(num_samples)
    indicator = np.zeros((num_samples, length), dtype=np.float32)
    indicator[rows, first] = 1.0
    indicator[rows, second] = 1.0
    x = np.stack([values, indicator], axis=-1)
    y = (values[rows, first] + values[rows, second])[:, None].astype(np.float32)
    return x, y


def adding_baseline():
    """MSE of the memoryless predictor (always 1): Var(v_1 + v_2) = 1/6."""
    return ADDING_BASELINE


class AddingBatches(SeededBatches):
    """Fresh adding-problem batches for ``model.fit``, reproducible from ``seed``.

    Batch ``i`` of epoch ``e`` is ``adding(batch_size, length, seed=(seed, e,
    i))``, so every step sees new data and a resumed run (``start_epoch``)
    sees the same data it would have seen.

    Args:
        batch_size, length, seed: as in :func:`adding` (``seed`` an int).
        steps_per_epoch: batches per epoch.
        start_epoch: epoch index of the first epoch (for resuming).
        epochs: None, or one past the last epoch: the whole run as one indexed
            stream (see ``SeededBatches``; what the training scripts use).

    Example:
        >>> ds = AddingBatches(32, 200, steps_per_epoch=10, seed=1)
        >>> x, y = ds[0]
    """

    def __init__(self, batch_size, length, steps_per_epoch=100, seed=0, start_epoch=0,
                 epochs=None):
        _check(batch_size, length)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"`seed` must be an int; got {seed!r}.")
        super().__init__(steps_per_epoch, seed, start_epoch, epochs)
        self.batch_size = batch_size
        self.length = length

    def draw(self, seed):
        return adding(self.batch_size, self.length, seed=seed)
