"""Singular values of every recurrent matrix during training."""

import keras
import numpy as np

from keras_rnnzoo.callbacks._periodic import MonitorCallback
from keras_rnnzoo.utils.layers import iter_layers
from keras_rnnzoo.utils.plots import pyplot
from keras_rnnzoo.utils.plots import save_figure

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
class SpectrumMonitor(MonitorCallback):
    """Singular values of each recurrent matrix every ``every`` optimiser steps.

    For every cell in the model (zoo cells and Keras' SimpleRNN/GRU/LSTM
    cells) and every (H, H) gate block of its recurrent weight -- for the
    orthogonal cells the orthogonal matrices W (and U_f) themselves -- the
    singular values are computed in float64 NumPy after the optimiser step
    (after constraints). Each row: ``step``, ``matrix`` ("layer/block"),
    ``sigma_max``, ``sigma_min`` and, for the orthogonal maps of asRNN and
    the orthogonal RNN, ``orth_error`` = ||W^T W - I||_F (how far the
    parametrisation has drifted; float32 round-off is ~1e-6). For asRNN also
    D = diag(|s| + eps) as matrix "layer/D" (its range: the two sigma columns).

    Outputs with ``log_dir``: ``spectrum.csv`` / ``spectrum.json`` (atomic
    rewrites at every epoch end), ``spectrum.png`` (sigma_max and sigma_min
    trajectories, one panel per cell) at the end of training, and with
    ``tensorboard=True`` scalars ``spectrum/<matrix>/sigma_max`` (``sigma_min``,
    ``orth_error``) and a histogram of all singular values per matrix.

    Steps are counted by ``optimizer.iterations``; on the steps it does not
    sample the callback does nothing (on JAX it reads ``Callback.model``, which
    syncs the weights, only on sampled steps).

    Args:
        every: sample every this many optimiser steps (>= 1).
        log_dir: directory for the files, or None (rows only in ``history``).
        tensorboard: also write TensorBoard events to ``{log_dir}/tensorboard``.
        plots: draw ``spectrum.png`` at the end of training.

    Example:
        >>> monitor = SpectrumMonitor(every=10, log_dir="runs/x")
        >>> # model.fit(..., callbacks=[monitor]); monitor.history[-1]
    """

    log_name = "spectrum"

    def __init__(self, every=1, log_dir=None, tensorboard=False, plots=True):
        super().__init__(every, log_dir, tensorboard, plots)

    def on_period(self, step):
        rows, scalars, histograms = [], [], []
        for name, (values, orth_error) in self.spectra_and_errors(self.model).items():
            row = dict(step=step, matrix=name, sigma_max=float(values[0]),
                       sigma_min=float(values[-1]), orth_error=orth_error)
            rows.append(row)
            scalars += [(f"spectrum/{name}/sigma_max", row["sigma_max"]),
                        (f"spectrum/{name}/sigma_min", row["sigma_min"])]
            if orth_error is not None:
                scalars.append((f"spectrum/{name}/orth_error", orth_error))
            histograms.append((f"spectrum/{name}/singular_values", values))
        self.log.add(rows, scalars, histograms)

    @staticmethod
    def spectra(model):
        """{"layer/block": descending singular values} (D for asRNN)."""
        return {k: v for k, (v, _) in SpectrumMonitor.spectra_and_errors(model).items()}

    @staticmethod
    def spectra_and_errors(model):
        """{"layer/block": (descending singular values, ||M^T M - I||_F or None)}."""
        out = {}
        for layer in iter_layers(model):
            blocks = recurrent_blocks(layer) if hasattr(layer, "units") else {}
            orthogonal = hasattr(layer, "orthogonal_matrix")
            for name, m in blocks.items():
                m = np.asarray(keras.ops.convert_to_numpy(m), np.float64)
                if not np.all(np.isfinite(m)):  # a diverged run: report NaN, keep training
                    out[f"{layer.name}/{name}"] = (np.full(min(m.shape), np.nan),
                                                   np.nan if orthogonal else None)
                    continue
                error = (float(np.linalg.norm(m.T @ m - np.eye(m.shape[1])))
                         if orthogonal else None)
                out[f"{layer.name}/{name}"] = (np.linalg.svd(m, compute_uv=False), error)
            if hasattr(layer, "saturation_diagonal"):
                d = np.asarray(keras.ops.convert_to_numpy(layer.saturation_diagonal()))
                out[f"{layer.name}/D"] = (np.sort(d)[::-1].astype(np.float64), None)
        return out

    def plot(self, path):
        plt = pyplot()
        matrices = list(dict.fromkeys(r["matrix"] for r in self.log.rows))
        cells = list(dict.fromkeys(m.rsplit("/", 1)[0] for m in matrices))
        fig, axes = plt.subplots(len(cells), 1, figsize=(7, 3 * len(cells)), squeeze=False)
        for ax, cell in zip(axes[:, 0], cells):
            for matrix in (m for m in matrices if m.rsplit("/", 1)[0] == cell):
                rows = [r for r in self.log.rows if r["matrix"] == matrix]
                steps = [r["step"] for r in rows]
                line, = ax.plot(steps, [r["sigma_max"] for r in rows],
                                label=f"{matrix.rsplit('/', 1)[1]} sigma_max")
                ax.plot(steps, [r["sigma_min"] for r in rows], linestyle=":",
                        color=line.get_color(), label=f"{matrix.rsplit('/', 1)[1]} sigma_min")
            ax.set_title(f"singular values: {cell}")
            ax.set_xlabel("optimiser step")
            ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        save_figure(fig, path)
