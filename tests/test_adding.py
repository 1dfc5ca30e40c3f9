import keras
import numpy as np
import pytest

from keras_rnnzoo import tasks
from tests.conftest import to_numpy


@pytest.mark.parametrize("length", [2, 7, 200])
def test_indicator_structure_and_targets(length):
    x, y = tasks.adding(300, length, seed=1)
    assert x.shape == (300, length, 2) and y.shape == (300, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    values, indicator = x[..., 0], x[..., 1]
    assert np.all((values >= 0) & (values < 1))
    assert set(np.unique(indicator)) <= {0.0, 1.0}
    half = length // 2  # first half = the first floor(N/2) positions
    np.testing.assert_array_equal(indicator[:, :half].sum(1), 1)
    np.testing.assert_array_equal(indicator[:, half:].sum(1), 1)
    np.testing.assert_allclose(y[:, 0], (values * indicator).sum(1), rtol=1e-6)


def test_marker_positions_cover_both_halves():
    x, _ = tasks.adding(4000, 10, seed=0)
    first = x[:, :5, 1].argmax(1)
    second = x[:, 5:, 1].argmax(1)
    assert set(first) == set(range(5)) and set(second) == set(range(5))


def test_pure_function_of_seed():
    a = tasks.adding(3, 20, seed=(1, 2))
    b = tasks.adding(3, 20, seed=(1, 2))
    c = tasks.adding(3, 20, seed=(1, 3))
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_baseline_of_the_predict_one_model():
    assert tasks.ADDING_BASELINE == tasks.adding_baseline() == pytest.approx(1 / 6)
    _, y = tasks.adding(40000, 50, seed=3)
    mse = float(to_numpy(keras.losses.MeanSquaredError()(y, np.ones_like(y))))
    assert mse == pytest.approx(1 / 6, abs=0.005)


def test_batches_are_fresh_resumable_and_fit():
    ds = tasks.AddingBatches(8, 12, steps_per_epoch=2, seed=7)
    first = ds[0][0]
    assert len(ds) == 2 and not np.array_equal(first, ds[1][0])
    ds.on_epoch_end()
    assert not np.array_equal(first, ds[0][0])
    resumed = tasks.AddingBatches(8, 12, steps_per_epoch=2, seed=7, start_epoch=1)
    np.testing.assert_array_equal(resumed[0][0], ds[0][0])
    model = keras.Sequential([keras.Input((12, 2)), keras.layers.SimpleRNN(4), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    history = model.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize(
    "kwargs,match",
    [(dict(num_samples=2, length=1), "`length`"), (dict(num_samples=2, length=0), "`length`"),
     (dict(num_samples=0, length=10), "`num_samples`"), (dict(num_samples=2, length=10.0), "`length`"),
     (dict(num_samples=True, length=10), "`num_samples`")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tasks.adding(**kwargs)
    if kwargs["num_samples"] not in (0, True):
        with pytest.raises(ValueError, match=match):
            tasks.AddingBatches(4, kwargs["length"])
