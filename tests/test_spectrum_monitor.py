import csv
import os

import keras
import numpy as np
import pytest

from keras_rnnzoo.callbacks import SpectrumMonitor
from keras_rnnzoo.cells import ASRNNCell
from keras_rnnzoo.cells import SpectralGRUCell
from keras_rnnzoo.cells import URLSTMCell
from tests.conftest import to_numpy


def _model(cell):
    inp = keras.Input((5, 3))
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.RNN(cell)(inp)))
    model.compile(keras.optimizers.SGD(0.5), "mse")
    return model


def _data(n=24):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 5, 3)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


@pytest.mark.parametrize("cell,blocks", [
    (lambda: SpectralGRUCell(4, delta=None), ["z", "r", "h"]),
    (lambda: URLSTMCell(4), ["f", "r", "u", "o"]),
    (lambda: keras.layers.LSTMCell(4), ["i", "f", "c", "o"]),
])
def test_logs_every_nth_step_and_matches_numpy_svd(tmp_path, cell, blocks):
    cell = cell()
    model = _model(cell)
    path = str(tmp_path / "spectrum.csv")
    monitor = SpectrumMonitor(every=2, log_dir=str(tmp_path))
    x, y = _data()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[monitor])  # 6 steps
    assert sorted({r["step"] for r in monitor.history}) == [2, 4, 6]
    last = {r["matrix"].split("/")[-1]: r for r in monitor.history if r["step"] == 6}
    assert sorted(last) == sorted(blocks)
    w = to_numpy(cell.recurrent_kernel)
    for j, name in enumerate(blocks):
        s = np.linalg.svd(w[:, 4 * j:4 * (j + 1)].astype(np.float64), compute_uv=False)
        np.testing.assert_allclose([last[name]["sigma_max"], last[name]["sigma_min"]],
                                   [s[0], s[-1]], rtol=1e-6)
    with open(path) as f:
        assert len(list(csv.DictReader(f))) == 3 * len(blocks)
    assert all(r["orth_error"] is None for r in monitor.history)
    assert sorted(os.listdir(tmp_path)) == ["spectrum.csv", "spectrum.json", "spectrum.png"]


def test_asrnn_reports_the_orthogonal_matrices_and_d():
    cell = ASRNNCell(4, saturation_scale_initializer="ones")
    model = _model(cell)
    spectra = SpectrumMonitor.spectra(model)
    name = cell.name
    np.testing.assert_allclose(spectra[f"{name}/W"], np.ones(4), atol=1e-5)
    np.testing.assert_allclose(spectra[f"{name}/U_f"], np.ones(4), atol=1e-5)
    np.testing.assert_allclose(spectra[f"{name}/D"], np.full(4, 1 + 1e-5), atol=1e-6)
    # ||W^T W - I||_F of the orthogonal maps, against NumPy on the cell's own matrices.
    errors = {k: e for k, (_, e) in SpectrumMonitor.spectra_and_errors(model).items()}
    assert errors[f"{name}/D"] is None
    for key, m in cell.recurrent_blocks().items():
        m = to_numpy(m).astype(np.float64)
        np.testing.assert_allclose(errors[f"{name}/{key}"], np.linalg.norm(m.T @ m - np.eye(4)),
                                   rtol=1e-9)
        assert errors[f"{name}/{key}"] < 1e-5


def test_bad_every_and_config():
    with pytest.raises(ValueError, match="`every`"):
        SpectrumMonitor(every=0)
    config = SpectrumMonitor(3, "runs/a").get_config()
    assert config == {"every": 3, "log_dir": "runs/a", "tensorboard": False, "plots": True}
    assert SpectrumMonitor.from_config(config).get_config() == config


def test_diverged_weights_give_nan_rows_not_an_error():
    cell = URLSTMCell(4)
    model = _model(cell)
    cell.recurrent_kernel.assign(np.full((4, 16), np.nan, "float32"))
    values = SpectrumMonitor.spectra(model)
    assert values and all(np.isnan(v).all() for v in values.values())
