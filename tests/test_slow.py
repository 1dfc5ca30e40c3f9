"""Slow tier: `bash dev.sh test-slow` (pytest -m slow on every backend)."""

import keras
import numpy as np
import pytest

from keras_rnnzoo import metrics, optimizers, tasks
from keras_rnnzoo.callbacks import DtrivRetraction
from keras_rnnzoo.cells import ASRNNCell, OrthogonalRNNCell
from tests.conftest import BACKEND

pytestmark = pytest.mark.slow


@pytest.mark.skipif(BACKEND != "torch", reason="TF and JAX run jit_compile in the default tier")
def test_torch_compile_fit_step():
    inp = keras.Input((6, 3))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.RNN(ASRNNCell(4))(inp)))
    model.compile(optimizers.RMSprop(1e-3), "mse", jit_compile=True)
    history = model.fit(np.ones((4, 6, 3), "float32"), np.zeros((4, 2)), verbose=0)
    assert np.isfinite(history.history["loss"][-1])


@pytest.mark.parametrize("cell", [ASRNNCell(64, mode="dtriv"), OrthogonalRNNCell(64)],
                         ids=["asrnn-dtriv", "exprnn"])
def test_orthogonal_cells_learn_a_short_copy_task(cell):
    delay, recall = 10, 5
    inp = keras.Input((delay + 2 * recall, 10))
    out = keras.layers.Dense(9)(keras.layers.RNN(cell, return_sequences=True)(inp))
    model = keras.Model(inp, out)
    model.compile(optimizers.RMSprop(2e-3, lr_multipliers={"recurrent_kernel": 0.1},
                                     global_clipnorm=10.0),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[metrics.RecallAccuracy(recall)])
    data = tasks.CopyMemoryBatches(64, delay, recall, steps_per_epoch=100, seed=0)
    model.fit(data, epochs=4, verbose=0, callbacks=[DtrivRetraction(every=50)])
    x, y = tasks.copy_memory(256, delay, recall, seed=123)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert loss < 0.5 * tasks.copy_memory_baseline(delay, recall), loss
    assert accuracy > 0.5, accuracy
