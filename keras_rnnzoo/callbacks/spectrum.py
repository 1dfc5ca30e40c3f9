"""Singular values of every recurrent matrix during training."""

import csv
import os

import keras
import numpy as np

from keras_rnnzoo.callbacks._periodic import PeriodicCallback
from keras_rnnzoo.callbacks._periodic import check_positive_int
from keras_rnnzoo.callbacks._walk import iter_layers

# Gate-block names of Keras' own cells (block order of their recurrent_kernel).
_KERAS_BLOCKS = {"SimpleRNNCell": ("hh",), "GRUCell": ("z", "r", "h"),
                 "LSTMCell": ("i", "f", "c", "o")}


def recurrent_blocks(cell):
    """{name: (H, H) matrix} of a zoo cell or a Keras SimpleRNN/GRU/LSTM cell."""
    if hasattr(cell, "recurrent_blocks"):
        return cell.recurrent_blocks()
    names = _KERAS_BLOCKS.get(type(cell).__name__)
    if names is None or getattr(cell, "recurrent_kernel", None) is None:
        return {}
    w = keras.ops.convert_to_tensor(cell.recurrent_kernel)
    n = cell.units
    return {name: w[:, j * n:(j + 1) * n] for j, name in enumerate(names)}


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class SpectrumMonitor(PeriodicCallback):
    """Logs sigma_max and sigma_min of each recurrent matrix every ``every`` steps.

    For every cell in the model (zoo cells and Keras' SimpleRNN/GRU/LSTM
    cells) and every (H, H) gate block of its recurrent weight -- for the
    orthogonal cells the orthogonal matrices W (and U_f) themselves -- the
    singular values are computed in float64 NumPy after the optimiser step
    (after constraints). For asRNN also the range of D = diag(|s| + eps).
    Rows go to ``history`` and, with ``path``, to a CSV file (columns step,
    matrix, sigma_max, sigma_min), appended row by row.

    Steps are counted by ``optimizer.iterations``; on the steps it does not
    sample the callback does nothing (on JAX it reads ``Callback.model``, which
    syncs the weights, only on sampled steps).

    Args:
        every: sample every this many optimiser steps (>= 1).
        path: CSV file to append to, or None.

    Example:
        >>> monitor = SpectrumMonitor(every=10, path="runs/x/spectrum.csv")
        >>> # model.fit(..., callbacks=[monitor]); monitor.history[-1]
    """

    def __init__(self, every=1, path=None):
        check_positive_int(every, "every", "It is the number of steps between samples.")
        super().__init__(every)
        self.path = path
        self.history = []

    def on_period(self, step):
        rows = [dict(step=step, matrix=name, sigma_max=values[0], sigma_min=values[-1])
                for name, values in self.spectra(self.model).items()]
        self.history.extend(rows)
        if self.path and rows:
            new = not os.path.exists(self.path)
            with open(self.path, "a", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                if new:
                    writer.writeheader()
                writer.writerows(rows)

    @staticmethod
    def spectra(model):
        """{"layer/cell/block": descending singular values} (D for asRNN)."""
        out = {}
        for layer in iter_layers(model):
            blocks = recurrent_blocks(layer) if hasattr(layer, "units") else {}
            for name, m in blocks.items():
                m = np.asarray(keras.ops.convert_to_numpy(m), np.float64)
                out[f"{layer.name}/{name}"] = np.linalg.svd(m, compute_uv=False)
            if hasattr(layer, "saturation_diagonal"):
                d = np.asarray(keras.ops.convert_to_numpy(layer.saturation_diagonal()))
                out[f"{layer.name}/D"] = np.sort(d)[::-1]
        return out

    def get_config(self):
        return {"every": self.every, "path": self.path}
