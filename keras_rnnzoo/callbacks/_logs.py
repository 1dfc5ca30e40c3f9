"""Where the monitors put their numbers: memory, CSV + JSON, TensorBoard, PNG.

Every file is written whole to a temporary name beside it and renamed into
place, so a reader (or a crash) never sees half a file.
"""

import csv
import io
import json
import math
import os

import numpy as np

from keras_rnnzoo.utils.files import atomic_write


def _json_number(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


class TensorBoardWriter:
    """Scalars and histograms through ``tf.summary`` (any Keras backend).

    TensorBoard's event format is written by TensorFlow, which the zoo's
    environment has on every backend; without it the monitors refuse
    ``tensorboard=True`` with the fix in the message.
    """

    def __init__(self, log_dir):
        try:
            import tensorboard  # noqa: F401  (tf.summary's implementation)
            import tensorflow as tf
        except ImportError as e:
            raise ImportError(
                "`tensorboard=True` writes TensorBoard event files with TensorFlow's "
                "tf.summary: pip install tensorflow-cpu tensorboard (or "
                "'keras-rnnzoo[train,tensorflow]'), or pass tensorboard=False (the "
                "CSV/JSON logs need neither).") from e
        self._tf = tf
        with tf.device("/CPU:0"):
            self._writer = tf.summary.create_file_writer(log_dir)

    def write(self, step, scalars=(), histograms=()):
        tf = self._tf
        with tf.device("/CPU:0"), self._writer.as_default(step=int(step)):
            for tag, value in scalars:
                tf.summary.scalar(tag, float(value))
            for tag, values in histograms:
                values = np.asarray(values, np.float64)
                values = values[np.isfinite(values)]
                if values.size:
                    tf.summary.histogram(tag, values)
        self._writer.flush()

    def close(self):
        self._writer.close()


class MonitorLog:
    """The rows of one monitor, in memory and (with ``log_dir``) on disk.

    ``rows`` are flat dicts with a ``step`` key. ``save()`` rewrites
    ``{log_dir}/{name}.csv`` and ``{name}.json`` atomically; ``resume(step)``
    reloads the JSON rows of an earlier run up to ``step`` (a resumed run
    continues its files instead of overwriting them).
    """

    def __init__(self, log_dir, name, tensorboard=False):
        self.log_dir = log_dir
        self.name = name
        self.rows = []
        self.meta = {}
        self._tensorboard = tensorboard
        self._tb = None

    def path(self, suffix):
        return os.path.join(self.log_dir, f"{self.name}{suffix}") if self.log_dir else None

    def resume(self, step):
        """Keep the saved rows with ``row["step"] <= step`` (none without a file)."""
        self.rows = []
        path = self.path(".json")
        if path and os.path.exists(path):
            with open(path) as f:
                saved = json.load(f)
            self.rows = [r for r in saved.get("rows", []) if r["step"] <= step]

    def add(self, rows, scalars=(), histograms=()):
        self.rows.extend(rows)
        if self._tensorboard and self.log_dir and rows:
            if self._tb is None:
                self._tb = TensorBoardWriter(os.path.join(self.log_dir, "tensorboard"))
            self._tb.write(rows[0]["step"], scalars, histograms)

    def save(self):
        if not self.log_dir:
            return
        fields = []
        for row in self.rows:
            fields.extend(k for k in row if k not in fields)
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=fields or ["step"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write(self.path(".csv"), text.getvalue())
        payload = {"meta": self.meta,
                   "rows": [{k: _json_number(v) for k, v in r.items()} for r in self.rows]}
        atomic_write(self.path(".json"), json.dumps(payload, separators=(",", ":"),
                                                       allow_nan=False))

    def close(self):
        if self._tb is not None:
            self._tb.close()
            self._tb = None
