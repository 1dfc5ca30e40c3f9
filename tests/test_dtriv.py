import keras
import numpy as np
import pytest

from keras_rnnzoo.callbacks import DtrivRetraction
from keras_rnnzoo.cells import ASRNNCell
from keras_rnnzoo.cells import OrthogonalRNNCell
from tests._cells import fixed_weights
from tests.conftest import to_numpy


def _cell(cls=ASRNNCell, mode="dtriv"):
    layer = keras.layers.RNN(cls(6, mode=mode))
    layer.build((None, 5, 3))
    fixed_weights(layer.cell)
    return layer


def test_chart_change_keeps_w_and_zeroes_a():
    layer = _cell()
    cell = layer.cell
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    before = {n: to_numpy(cell.orthogonal_matrix(n)) for n in ("recurrent_kernel", "saturation_kernel")}
    out_before = to_numpy(layer(x))
    cell.dtriv_chart_change()
    for name, w in before.items():
        np.testing.assert_allclose(to_numpy(cell.orthogonal_matrix(name)), w, atol=2e-6)
        assert not np.any(to_numpy(getattr(cell, name)))
    np.testing.assert_allclose(to_numpy(layer(x)), out_before, atol=1e-5)


def test_reprojection_restores_orthogonality():
    cell = _cell(OrthogonalRNNCell).cell
    drifted = to_numpy(cell.recurrent_base) + 1e-3 * np.random.default_rng(1).normal(size=(6, 6))
    cell.recurrent_base.assign(drifted.astype("float32"))
    cell.dtriv_reproject()
    b = to_numpy(cell.recurrent_base)
    np.testing.assert_allclose(b.T @ b, np.eye(6), atol=2e-6)
    np.testing.assert_allclose(b, drifted, atol=5e-3)  # nearest orthogonal matrix


def test_other_modes_ignore_chart_changes():
    cell = _cell(mode="exprnn").cell
    a = to_numpy(cell.recurrent_kernel)
    cell.dtriv_chart_change()
    cell.dtriv_reproject()
    np.testing.assert_allclose(to_numpy(cell.recurrent_kernel), a)


class _Spy(ASRNNCell):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events = []

    def dtriv_chart_change(self):
        self.events.append("change")
        super().dtriv_chart_change()

    def dtriv_reproject(self):
        self.events.append("reproject")
        super().dtriv_reproject()


def _fit(model, steps, callback, initial_epoch=0):
    x = np.zeros((steps * 2, 5, 3), "float32")
    model.fit(x, np.zeros((steps * 2, 2)), batch_size=2, epochs=initial_epoch + 1,
              initial_epoch=initial_epoch, verbose=0, callbacks=[callback])


def test_callback_schedule_follows_optimizer_iterations():
    spy = _Spy(4, mode="dtriv")
    inp = keras.Input((5, 3))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.RNN(spy)(inp)))
    model.compile("sgd", "mse")
    _fit(model, 7, DtrivRetraction(every=3, reproject_every=2))
    assert spy.events == ["change", "change", "reproject"]  # steps 3 and 6
    spy.events.clear()
    _fit(model, 6, DtrivRetraction(every=3, reproject_every=2), initial_epoch=1)  # steps 8..13
    assert spy.events == ["change", "change", "reproject"]  # steps 9 and 12 (4th change)


def test_callback_updates_reach_the_training_state():
    """On JAX the trainer keeps its own state: the callback's assignments must stick."""
    cell = ASRNNCell(4, mode="dtriv")
    inp = keras.Input((5, 3))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.RNN(cell)(inp)))
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).normal(size=(8, 5, 3)).astype("float32")
    model.fit(x, np.ones((8, 2)), batch_size=2, epochs=1, verbose=0,
              callbacks=[DtrivRetraction(every=4)])
    assert not np.any(to_numpy(cell.recurrent_kernel))  # reset at step 4, the last one
    assert not np.allclose(to_numpy(cell.recurrent_base), np.eye(4))


def test_config_and_bad_arguments():
    cb = DtrivRetraction(every=7, reproject_every=30)
    assert DtrivRetraction(**cb.get_config()).get_config() == cb.get_config()
    with pytest.raises(ValueError, match="`every`"):
        DtrivRetraction(every=0)
    with pytest.raises(ValueError, match="`reproject_every`"):
        DtrivRetraction(reproject_every=-1)
