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


def _spy_model(steps_per_execution=1, units=4):
    spy = _Spy(units, mode="dtriv")
    inp = keras.Input((5, 3))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.RNN(spy)(inp)))
    model.compile("sgd", "mse", steps_per_execution=steps_per_execution)
    return spy, model


def _fit(model, steps, callbacks, initial_epoch=0, epochs=1, zeros=True):
    x = np.zeros((steps * 2, 5, 3), "float32")
    y = np.zeros((steps * 2, 2), "float32")
    if not zeros:
        x = np.random.default_rng(0).normal(size=x.shape).astype("float32")
        y = y + 1.0
    if not isinstance(callbacks, list):
        callbacks = [callbacks]
    model.fit(x, y, batch_size=2, epochs=initial_epoch + epochs,
              initial_epoch=initial_epoch, verbose=0, callbacks=callbacks)


def test_callback_schedule_follows_optimizer_iterations():
    spy, model = _spy_model()
    _fit(model, 7, DtrivRetraction(every=3, reproject_every=2))
    # changes at steps 0 (start of training), 3 and 6; the 2nd one re-projects.
    assert spy.events == ["change", "change", "reproject", "change"]
    spy.events.clear()
    _fit(model, 6, DtrivRetraction(every=3, reproject_every=2), initial_epoch=1)  # steps 8..13
    assert spy.events == ["change", "reproject", "change"]  # steps 9 (4th) and 12 (5th)


def test_first_chart_change_at_the_start_of_training():
    """Official dtriv: B <- exp(skew(A_init)), A <- 0 before the first step, once."""
    spy, model = _spy_model()
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    rng = np.random.default_rng(2)
    spy.recurrent_kernel.assign(rng.normal(size=(4, 4)).astype("float32"))
    w = to_numpy(spy.orthogonal_matrix("recurrent_kernel"))
    _fit(model, 3, DtrivRetraction(every=None))
    assert spy.events == ["change"]
    assert not np.any(to_numpy(spy.recurrent_kernel))
    np.testing.assert_allclose(to_numpy(spy.recurrent_base), w, atol=2e-6)
    _fit(model, 3, DtrivRetraction(every=None))  # resumed (iterations = 3): no change
    assert spy.events == ["change"]


@pytest.mark.parametrize("every", [None, float("inf"), "infty"])
def test_infinite_period_changes_the_chart_once(every):
    spy, model = _spy_model()
    cb = DtrivRetraction(every=every, reproject_every=1)
    assert cb.every is None and cb.get_config()["every"] is None
    _fit(model, 5, cb, zeros=False)
    assert spy.events == ["change", "reproject"]  # M = 1: every change re-projects
    assert np.any(to_numpy(spy.recurrent_kernel))  # trained after the change: a static base


class _Recorder(keras.callbacks.Callback):
    """After DtrivRetraction in the list: (optimiser step, chart changes so far) per batch end."""

    def __init__(self, spy):
        super().__init__()
        self.spy = spy
        self.rows = []

    def on_train_batch_end(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self.rows.append((step, self.spy.events.count("change")))


@pytest.mark.skipif(keras.backend.backend() == "torch",
                    reason="Keras' torch trainer only runs steps_per_execution=1 "
                           "(test_schedule_with_several_steps_per_batch_end covers torch)")
def test_callback_counts_steps_with_steps_per_execution():
    """K = 5, 4 steps per execution, 2 epochs of 11 steps (the last execution of each is short)."""
    spy, model = _spy_model(steps_per_execution=4)
    recorder = _Recorder(spy)
    _fit(model, 11, [DtrivRetraction(every=5, reproject_every=100), recorder], epochs=2)
    # due at steps 0, 5, 10, 15, 20; made at the first batch end at or after them.
    assert recorder.rows == [(4, 1), (8, 2), (11, 3), (15, 4), (19, 4), (22, 5)]


def test_schedule_with_several_steps_per_batch_end():
    """The schedule itself, on every backend: the optimiser steps are set by hand."""
    spy, model = _spy_model(steps_per_execution=4)
    cb = DtrivRetraction(every=3, reproject_every=2)
    cb.set_model(model)
    cb.on_train_begin()
    assert spy.events == ["change"]  # step 0
    counts = []
    for step in (4, 8, 12, 13):
        model.optimizer.iterations.assign(step)
        cb.on_train_batch_end(0)
        counts.append(spy.events.count("change"))
    # due at 0, 3, 6, 9, 12: all made, several at one batch end when they piled up.
    assert counts == [2, 3, 5, 5]
    assert spy.events.count("reproject") == 2  # after the 2nd and 4th changes


def test_schedule_survives_a_wrong_steps_per_execution_bound():
    """More steps than steps_per_execution between batch ends: late once, then exact."""
    spy, model = _spy_model()  # steps_per_execution = 1
    cb = DtrivRetraction(every=4)
    cb.set_model(model)
    cb.on_train_begin()
    counts = []
    for step in (3, 6, 9, 10, 11, 12):  # 3 steps per batch end
        model.optimizer.iterations.assign(step)
        cb.on_train_batch_end(0)
        counts.append(spy.events.count("change"))
    # the bound (1 step per batch end) says step 4 is not reached before the 4th
    # batch end; the read there finds step 10 and reads every batch end after that.
    assert counts == [1, 1, 1, 3, 3, 4]


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
    for every in (7, None):
        cb = DtrivRetraction(every=every, reproject_every=30)
        config = cb.get_config()
        assert config == {"every": every, "reproject_every": 30}
        assert DtrivRetraction(**config).get_config() == config
        assert DtrivRetraction.from_config(config).get_config() == config
    for bad in (0, -3, 2.5, True, "inf", "100", float("-inf")):
        with pytest.raises(ValueError, match=r"`every`.*every=None"):
            DtrivRetraction(every=bad)
    with pytest.raises(ValueError, match="`reproject_every`"):
        DtrivRetraction(reproject_every=-1)
    with pytest.raises(ValueError, match="`reproject_every`"):
        DtrivRetraction(reproject_every=None)
