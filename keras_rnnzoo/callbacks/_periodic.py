"""Base of the callbacks that act every N optimiser steps."""

import os

import keras

from keras_rnnzoo.callbacks._logs import MonitorLog


def check_positive_int(value, name, fix=""):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{name}` must be a positive int; got {value!r}. {fix}".rstrip())


class PeriodicCallback(keras.callbacks.Callback):
    """Calls ``on_period(step)`` after every ``every``-th optimiser step.

    Steps are counted from ``optimizer.iterations`` as it is at the first
    batch of ``fit`` (after every callback's ``on_train_begin``: a state that
    ``keras.callbacks.BackupAndRestore`` restores counts, wherever it stands in
    the callback list), so a resumed run keeps its schedule; other steps cost
    nothing. ``on_start(step)`` runs then, once per ``fit``.
    """

    def __init__(self, every):
        super().__init__()
        self.every = every
        self._step = None

    def on_train_begin(self, logs=None):
        self._step = None

    def on_train_batch_begin(self, batch, logs=None):
        if self._step is None:
            self._step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            self.on_start(self._step)

    def on_start(self, step):
        pass

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.every == 0:
            self.on_period(self._step)

    def on_period(self, step):
        raise NotImplementedError


class MonitorCallback(PeriodicCallback):
    """A periodic callback whose rows go to a ``MonitorLog`` (memory, files, TensorBoard).

    Files are ``{log_dir}/{name}.csv`` / ``.json`` (rewritten atomically at
    every epoch end and at the end of training) and ``{name}.png`` (at the end
    of training, with ``plots=True``); TensorBoard events under
    ``{log_dir}/tensorboard``. A run that resumes from a saved optimiser step
    keeps the rows saved up to that step.
    """

    log_name = None

    def __init__(self, every, log_dir=None, tensorboard=False, plots=True):
        check_positive_int(every, "every", "It is the number of optimiser steps between samples.")
        if log_dir is not None and not isinstance(log_dir, (str, os.PathLike)):
            raise ValueError(f"`log_dir` must be a directory path or None; got {log_dir!r}.")
        if tensorboard and log_dir is None:
            raise ValueError("`tensorboard=True` needs `log_dir` (the events go to "
                             "{log_dir}/tensorboard).")
        super().__init__(every)
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self.tensorboard = bool(tensorboard)
        self.plots = bool(plots)
        self.log = MonitorLog(self.log_dir, self.log_name, self.tensorboard)

    @property
    def history(self):
        return self.log.rows

    def on_start(self, step):
        self.log.resume(step)

    def on_epoch_end(self, epoch, logs=None):
        if self._step is not None:
            self.log.save()

    def on_train_end(self, logs=None):
        if self._step is not None:  # no batch ran: the saved files stay as they are
            self.log.save()
        self.log.close()
        if self.plots and self.log_dir and self.log.rows:
            self.plot(os.path.join(self.log_dir, f"{self.log_name}.png"))

    def plot(self, path):
        """Draw the rows into the PNG ``path`` (written atomically)."""
        raise NotImplementedError

    def get_config(self):
        return {"every": self.every, "log_dir": self.log_dir, "tensorboard": self.tensorboard,
                "plots": self.plots}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
