"""A diverged step gives NaN weights and a NaN loss, never an exception, so that
keras.callbacks.TerminateOnNaN can stop the run (issue 15's bad-input rows: torch's
SVD in SpectralClip and TensorFlow's MatrixSolve in expm / Cayley raised)."""

import keras
import numpy as np
import pytest

from keras_rnnzoo import constraints, models, parametrizations
from keras_rnnzoo.cells import get_cell
from tests.conftest import to_numpy


def _with_nan(shape=(6, 6), where=(1, 2), value=np.nan):
    w = np.random.default_rng(0).normal(size=shape).astype("float32") * 3.0
    w[where] = value
    return w


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("bound_iterations", [5, None])
def test_spectral_clip_passes_non_finite_weights_through(value, bound_iterations):
    w = _with_nan(value=value)
    out = to_numpy(constraints.SpectralClip(1.8, bound_iterations=bound_iterations)(w))
    np.testing.assert_array_equal(out, w)  # returned as it is
    finite = _with_nan(value=0.0)  # and a finite block is still clipped
    clipped = to_numpy(constraints.SpectralClip(1.8, bound_iterations=bound_iterations)(finite))
    assert np.linalg.svd(clipped, compute_uv=False).max() <= 1.8 + 1e-4


@pytest.mark.parametrize("fn", [parametrizations.expm_pade, parametrizations.expm,
                                parametrizations.cayley])
def test_orthogonal_maps_give_nan_for_non_finite_input(fn):
    a = _with_nan()
    out = to_numpy(fn(a - a.T))
    assert out.shape == (6, 6) and np.isnan(out).all()
    good = to_numpy(fn(parametrizations.skew(_with_nan(value=0.0)) * 0.1))
    np.testing.assert_allclose(good.T @ good, np.eye(6), atol=1e-5)


@pytest.mark.parametrize("cell", ["asrnn", "stable_rnn"])  # the solve, the SVD
def test_a_diverged_run_stops_with_terminate_on_nan(cell):
    model = models.SequenceRegressor(models.RNNBackbone(get_cell(cell, 6), input_dim=3))
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.ones((4, 5, 3), "float32")
    y = np.ones((4, 1), "float32")
    model.predict(x, verbose=0)
    kernel = [v for v in model.trainable_weights if "recurrent_kernel" in v.path][0]
    value = to_numpy(kernel).copy()
    value[0, 1] = np.nan
    kernel.assign(value)
    history = model.fit(x, y, epochs=3, verbose=0,
                        callbacks=[keras.callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])
