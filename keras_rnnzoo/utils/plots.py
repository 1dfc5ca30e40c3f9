"""PNG plots written atomically, on matplotlib's file-only Agg backend."""

import csv
import io
import os

from keras_rnnzoo.utils.files import atomic_write


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend."""
    try:
        import matplotlib
    except ImportError as e:  # pragma: no cover - matplotlib is in the [train] extra
        raise ImportError(
            "The plots need matplotlib: pip install 'keras-rnnzoo[train]' "
            "(or pip install matplotlib); the monitors also take plots=False.") from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path):
    """``fig.savefig`` (PNG) through a temporary file + rename; closes the figure."""
    plt = pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write(path, buffer.getvalue(), mode="wb")


def _read_rows(path):
    if not os.path.exists(path):  # nothing logged yet: an empty curve
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def plot_metrics(series, png_path, key, baseline=None, title="", log_y=True):
    """Plot column ``key`` over column ``step`` of several CSV files into one PNG.

    ``series``: {label: path of a metrics.csv} (a training script's log);
    ``baseline``: a horizontal line (the task's memoryless loss), or None;
    ``log_y``: a log-scale y axis.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, metrics_csv in series.items():
        rows = _read_rows(metrics_csv)
        ax.plot([int(r["step"]) for r in rows], [float(r[key]) for r in rows], label=label)
    if baseline is not None:
        ax.axhline(baseline, color="gray", linestyle="--",
                   label=f"memoryless baseline ({baseline:.4f})")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel(key)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, png_path)
