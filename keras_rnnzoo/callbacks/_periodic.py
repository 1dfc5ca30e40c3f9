"""Base of the callbacks that act every N optimiser steps."""

import keras


def check_positive_int(value, name, fix=""):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{name}` must be a positive int; got {value!r}. {fix}".rstrip())


class PeriodicCallback(keras.callbacks.Callback):
    """Calls ``on_period(step)`` after every ``every``-th optimiser step.

    Steps are counted from ``optimizer.iterations`` at the start of ``fit``,
    so a resumed run keeps its schedule; other steps cost nothing.
    """

    def __init__(self, every):
        super().__init__()
        self.every = every
        self._step = None

    def on_train_begin(self, logs=None):
        self._step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.every == 0:
            self.on_period(self._step)

    def on_period(self, step):
        raise NotImplementedError
