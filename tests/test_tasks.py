import math

import keras
import numpy as np
import pytest

from keras_rnnzoo import metrics
from keras_rnnzoo import tasks
from tests.conftest import to_numpy


def test_convention_a_layout():
    x, y = tasks.copy_memory(5, delay=12, recall=4, loss="all", seed=3)
    tokens = x.argmax(-1)
    assert x.shape == (5, 20, 10) and y.shape == (5, 20) and x.dtype == np.float32
    data = tokens[:, :4]
    assert np.all((data >= 1) & (data <= 8))
    assert np.all(tokens[:, 4:16] == 0) and np.all(tokens[:, 16] == 9) and np.all(tokens[:, 17:] == 0)
    assert np.all(y[:, :16] == 0) and np.array_equal(y[:, 16:], data)


def test_convention_c_layout():
    x, y = tasks.copy_memory(5, delay=12, recall=4, loss="last", seed=3)
    tokens = x.argmax(-1)
    assert y.shape == (5, 4) and np.array_equal(y, tokens[:, :4])
    assert np.all(tokens[:, 4:16] == 0) and np.all(tokens[:, 16:] == 9)


def test_pure_function_of_seed():
    a = tasks.copy_memory(3, 10, seed=(1, 2))
    b = tasks.copy_memory(3, 10, seed=(1, 2))
    c = tasks.copy_memory(3, 10, seed=(1, 3))
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[1], c[1])


@pytest.mark.parametrize("delay,expected", [(50, 0.2971), (100, 0.1733), (1000, 0.02039), (2000, 0.01029)])
def test_baseline_table(delay, expected):
    assert abs(tasks.copy_memory_baseline(delay) - expected) < 5e-5
    assert tasks.copy_memory_baseline(delay, loss="last") == pytest.approx(math.log(8))


@pytest.mark.parametrize("loss", ["all", "last"])
def test_memoryless_predictor_scores_the_baseline(loss):
    """Blank with certainty where the target is blank, uniform 1..8 at recall steps."""
    delay, recall = 30, 10
    x, y = tasks.copy_memory(64, delay, recall, loss=loss, seed=0)
    classes = 9 if loss == "all" else 10
    probs = np.full(y.shape + (classes,), 1e-12)
    if loss == "all":
        probs[:, :-recall, 0] = 1.0
    probs[:, -recall:, 1:9] = 1.0 / 8
    ce = keras.losses.SparseCategoricalCrossentropy()(y, probs)
    assert float(to_numpy(ce)) == pytest.approx(tasks.copy_memory_baseline(delay, recall, loss), rel=1e-5)


def test_batches_are_fresh_and_resumable():
    ds = tasks.CopyMemoryBatches(4, 10, steps_per_epoch=3, seed=7)
    first = ds[0][1]
    assert not np.array_equal(first, ds[1][1])
    ds.on_epoch_end()
    assert not np.array_equal(first, ds[0][1])
    resumed = tasks.CopyMemoryBatches(4, 10, steps_per_epoch=3, seed=7, start_epoch=1)
    assert np.array_equal(resumed[0][1], ds[0][1])
    assert len(ds) == 3


def test_recall_accuracy():
    metric = metrics.RecallAccuracy(recall=2)
    y = np.array([[0, 0, 3, 4]])
    logits = np.zeros((1, 4, 9), "float32")
    logits[0, 2, 3] = logits[0, 3, 1] = 1.0  # one right, one wrong
    logits[0, 0, 5] = 1.0  # blank positions do not count
    metric.update_state(y, logits)
    assert float(to_numpy(metric.result())) == pytest.approx(0.5)
    clone = metrics.RecallAccuracy.from_config(metric.get_config())
    assert clone.recall == 2


@pytest.mark.parametrize(
    "kwargs,match",
    [(dict(num_samples=2, delay=0), "`delay`"), (dict(num_samples=2, delay=5, recall=0), "`recall`"),
     (dict(num_samples=2, delay=5, loss="mean"), "`loss`"), (dict(num_samples=0, delay=5), "`num_samples`")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tasks.copy_memory(**kwargs)
