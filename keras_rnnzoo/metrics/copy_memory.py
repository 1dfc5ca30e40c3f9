"""Metric of the copying-memory task (:mod:`keras_rnnzoo.tasks.copy_memory`)."""

import keras


def _recall_accuracy(y_true, y_pred, recall):
    y_true = keras.ops.cast(y_true[:, -recall:], "int32")
    y_pred = keras.ops.argmax(y_pred[:, -recall:, :], axis=-1)
    return keras.ops.mean(
        keras.ops.cast(keras.ops.equal(y_true, keras.ops.cast(y_pred, "int32")), "float32"),
        axis=-1,
    )


# Registered as "keras_rnnzoo>RecallAccuracy" (saved models refer to that name).
@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class RecallAccuracy(keras.metrics.MeanMetricWrapper):
    """Arg-max accuracy on the last ``recall`` positions (chance 1/8).

    Args:
        recall: K.
        name: metric name.
    """

    def __init__(self, recall=10, name="recall_accuracy", dtype=None):
        super().__init__(_recall_accuracy, name=name, dtype=dtype, recall=recall)
        self.recall = recall

    def get_config(self):
        return {"recall": self.recall, "name": self.name, "dtype": self.dtype}
