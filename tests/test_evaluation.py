"""Tasks are data: metrics in keras_rnnzoo.metrics, evaluation in keras_rnnzoo.models."""

import keras
import numpy as np
import pytest

from keras_rnnzoo import metrics
from keras_rnnzoo import models
from keras_rnnzoo import tasks
from tests.conftest import to_numpy


def test_tasks_export_no_metric_loss_or_evaluation():
    for name in tasks.__all__:
        obj = getattr(tasks, name)
        assert not name.startswith("evaluate"), name
        if isinstance(obj, type):
            assert not issubclass(obj, (keras.metrics.Metric, keras.losses.Loss)), name
    for name in metrics.__all__:
        assert not hasattr(tasks, name), name
    assert not hasattr(tasks.MoritaTask, "evaluate")


@pytest.mark.parametrize("cls", ["RecallAccuracy", "FrameNLL", "NLLPerFrame",
                                 "MaskedTokenAccuracy"])
def test_registered_names_are_stable(cls):
    # saved .keras files refer to these names; moving the classes must not change them
    assert keras.saving.get_registered_name(getattr(metrics, cls)) == f"keras_rnnzoo>{cls}"


@pytest.mark.parametrize("loss", ["all", "last"])
def test_evaluate_copy_memory_matches_numpy(loss):
    delay, recall, n = 6, 3, 40
    length = delay + 2 * recall
    inputs = keras.Input((length, 10))
    h = inputs if loss == "all" else keras.layers.Cropping1D((length - recall, 0))(inputs)
    dense = keras.layers.Dense(9 if loss == "all" else 10)
    model = keras.Model(inputs, dense(h))
    w, b = (to_numpy(v).astype(np.float64) for v in dense.weights)
    got = models.evaluate_copy_memory(model, delay, recall, loss, num_samples=n, seed=5,
                                      batch_size=16)
    x, y = tasks.copy_memory(n, delay, recall, loss, seed=5)
    if loss == "last":
        x = x[:, -recall:]
    logits = x @ w + b
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -np.take_along_axis(logp, y[..., None], -1)[..., 0]
    accuracy = np.mean(logits[:, -recall:].argmax(-1) == y[:, -recall:])
    assert got["loss"] == pytest.approx(nll.mean(), rel=1e-5)
    assert got["recall_accuracy"] == pytest.approx(accuracy)
    assert set(got) == {"loss", "recall_accuracy"}
    # the default seed is fixed: two calls see the same data
    first = models.evaluate_copy_memory(model, delay, recall, loss, num_samples=8)
    assert models.evaluate_copy_memory(model, delay, recall, loss, num_samples=8) == first


def test_evaluate_adding_matches_numpy():
    length, n = 10, 40
    dense = keras.layers.Dense(1)
    inputs = keras.Input((length, 2))
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    w, b = (to_numpy(v).astype(np.float64) for v in dense.weights)
    got = models.evaluate_adding(model, length, num_samples=n, seed=3, batch_size=16)
    x, y = tasks.adding(n, length, seed=3)
    pred = x.reshape(n, -1) @ w + b
    assert got == {"mse": pytest.approx(np.mean((pred - y) ** 2), rel=1e-5)}
    with pytest.raises(ValueError, match="one prediction per sequence"):
        models.evaluate_adding(keras.Sequential([keras.Input((length, 2)), keras.layers.Dense(1)]),
                               length, num_samples=4)
