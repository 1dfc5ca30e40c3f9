"""Base of the callbacks that act every N optimiser steps."""

import os

import keras

from keras_rnnzoo.callbacks._logs import MonitorLog


def check_positive_int(value, name, fix=""):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{name}` must be a positive int; got {value!r}. {fix}".rstrip())


class PeriodicCallback(keras.callbacks.Callback):
    """Calls ``on_period(step)`` after every ``every``-th optimiser step.

    Steps are ``optimizer.iterations``, read as it is at the first batch of
    ``fit`` (after every callback's ``on_train_begin``: a state that
    ``keras.callbacks.BackupAndRestore`` restores counts, wherever it stands in
    the callback list), so a resumed run keeps its schedule, and again at the
    batch ends where a sample can be due (``steps_per_execution`` bounds the
    steps per batch end, so other batch ends cost nothing, not even a read).
    ``on_start(step)`` runs then, once per ``fit``.

    With ``model.compile(steps_per_execution=k)`` (TensorFlow, JAX) Keras
    calls the batch hooks once per k optimiser steps: ``on_period(step)``
    then runs once at the end of an execution that completed one or more
    multiples of ``every``; ``step`` is the optimiser step there (the step
    of the weights it sees) and ``sampled_step`` the latest multiple of
    ``every`` that execution completed (the same number when k divides
    ``every`` and the executions start at multiples of k). With k > ``every``
    the samples in between are not seen: one per execution is taken.
    """

    def __init__(self, every):
        super().__init__()
        self.every = every
        self._step = None
        self.sampled_step = None

    def _iterations(self):
        # ``self.model`` syncs the JAX trainer's state into the variables first.
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_begin(self, logs=None):
        self._step = None
        spe = getattr(self.model, "steps_per_execution", None)
        ok = isinstance(spe, int) and not isinstance(spe, bool) and spe >= 1
        self._steps_per_batch = spe if ok else None  # upper bound on steps per batch end
        self._batches = 0  # batch ends since the last read

    def on_train_batch_begin(self, batch, logs=None):
        if self._step is None:
            self._step = self._iterations()
            self._batches = 0
            self.on_start(self._step)

    def on_start(self, step):
        pass

    def on_train_batch_end(self, batch, logs=None):
        if self._step is None:
            return
        self._batches += 1
        due = (self._step // self.every + 1) * self.every  # the next sampled step
        bound = getattr(self, "_steps_per_batch", None)
        if bound is not None and self._step + bound * self._batches < due:
            return  # no sample can be due yet: no read (no JAX state sync)
        step = self._iterations()
        if bound is not None and step > self._step + bound * self._batches:
            self._steps_per_batch = None  # the bound does not hold here: read every batch end
        self._step, self._batches = step, 0
        if step >= due:
            self.sampled_step = step // self.every * self.every
            self.on_period(step)

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
