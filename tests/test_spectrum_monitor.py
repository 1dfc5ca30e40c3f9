import csv

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
    monitor = SpectrumMonitor(every=2, path=path)
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


def test_asrnn_reports_the_orthogonal_matrices_and_d():
    cell = ASRNNCell(4, saturation_scale_initializer="ones")
    model = _model(cell)
    spectra = SpectrumMonitor.spectra(model)
    name = cell.name
    np.testing.assert_allclose(spectra[f"{name}/W"], np.ones(4), atol=1e-5)
    np.testing.assert_allclose(spectra[f"{name}/U_f"], np.ones(4), atol=1e-5)
    np.testing.assert_allclose(spectra[f"{name}/D"], np.full(4, 1 + 1e-5), atol=1e-6)


def test_bad_every_and_config():
    with pytest.raises(ValueError, match="`every`"):
        SpectrumMonitor(every=0)
    assert SpectrumMonitor(3, "a.csv").get_config() == {"every": 3, "path": "a.csv"}
