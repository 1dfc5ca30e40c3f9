"""Weights saved on one backend load on another with the same outputs.

Each backend's run loads what the *next* backend in the cycle
tensorflow -> jax -> torch -> tensorflow saved, so the full suite covers
every backend as a writer and as a reader.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_rnnzoo  # noqa: F401
from tests._cells import CASES, IDS
from tests._export_model import build
from tests.conftest import BACKEND, REPO, to_numpy

CYCLE = ["tensorflow", "jax", "torch"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    if BACKEND not in CYCLE:
        pytest.skip("cross-backend check runs on tensorflow, jax and torch")
    writer = CYCLE[(CYCLE.index(BACKEND) + 1) % 3]
    out = str(tmp_path_factory.mktemp(f"from_{writer}"))
    env = dict(os.environ, KERAS_BACKEND=writer, TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run([sys.executable, "-m", "tests._export_model", out], cwd=REPO, env=env,
                   check=True, timeout=600)
    return out


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_load_model_and_weights_saved_on_another_backend(exported, case):
    name, cls, kwargs = case
    x = np.load(os.path.join(exported, "x.npy"))
    expected = np.load(os.path.join(exported, f"{name}.npy"))
    loaded = keras.saving.load_model(os.path.join(exported, f"{name}.keras"))
    np.testing.assert_allclose(to_numpy(loaded(x)), expected, atol=2e-5)
    fresh = build(cls, kwargs)
    fresh.load_weights(os.path.join(exported, f"{name}.weights.h5"))
    np.testing.assert_allclose(to_numpy(fresh(x)), expected, atol=2e-5)
