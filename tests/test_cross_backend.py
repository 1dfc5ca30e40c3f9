"""Models saved on one backend load on another with the same outputs.

Every model of ``tests._export_model.MODELS`` -- each case of the test table
``tests._cells.ALL_CASES`` in ``keras.layers.RNN``, plus a few in the zoo's
fast-path ``keras_rnnzoo.layers.RNN`` -- is saved by one writer subprocess per
*other* backend (tensorflow, jax, torch), once per session. The running
backend then loads each ``.keras`` file (``keras.saving.load_model``) and each
``.weights.h5`` (``load_weights`` into a freshly built model) and must get the
same variables (names, shapes, values) and reproduce the writer's predictions
to 1e-5, so the suite on all three backends covers every (writer, reader) pair.
Two task-model presets (``save_to_preset`` / ``from_preset``) are checked the
same way.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
import pytest

import keras_rnnzoo  # noqa: F401
from keras_rnnzoo.layers import RNN
from tests._export_model import MODEL_IDS, MODELS, build_model, describe
from tests.conftest import BACKEND, REPO, to_numpy

BACKENDS = ["tensorflow", "jax", "torch"]
WRITERS = [b for b in BACKENDS if b != BACKEND]
TOL = dict(atol=1e-5, rtol=1e-5)


def _export_cache(writer):
    """Where ``writer``'s export of this exact source tree is kept, so that the
    three backends' runs of the suite (``dev.sh test``) export each writer once,
    not twice: keyed by the sha256 of every package and test-helper source and
    the versions, so any change to the code exports again."""
    digest = hashlib.sha256(f"{sys.version}|{keras.__version__}".encode())
    roots = [os.path.join(REPO, "keras_rnnzoo"), os.path.join(REPO, "tests")]
    for root in roots:
        for folder, dirs, files in sorted(os.walk(root)):
            dirs.sort()
            for name in sorted(files):
                if name.endswith((".py", ".json", ".h5")):
                    path = os.path.join(folder, name)
                    digest.update(os.path.relpath(path, REPO).encode())
                    with open(path, "rb") as f:
                        digest.update(f.read())
    return os.path.join(tempfile.gettempdir(), "keras-rnnzoo-test-exports",
                        digest.hexdigest()[:24], writer)


def _prune(root, keep, age_s=86400):
    """Remove the exports of other source trees older than a day."""
    if not os.path.isdir(root):
        return
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if path != keep and time.time() - os.path.getmtime(path) > age_s:
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module", params=WRITERS)
def exported(request):
    """(writer backend, folder, manifest): every model, saved by one subprocess on that backend.

    The writers run one after the other: side by side they measured no faster
    on the 2-core test machine under load (66.7 vs 61.1 s for jax + tensorflow).
    A writer's folder is reused by the other backends' runs of the suite when
    the sources are unchanged (:func:`_export_cache`); it is written to a
    temporary folder and renamed, so a half-written export is never reused.
    """
    if BACKEND not in BACKENDS:
        pytest.skip("cross-backend check runs on tensorflow, jax and torch")
    writer = request.param
    out = _export_cache(writer)
    if not os.path.exists(os.path.join(out, "manifest.json")):
        _prune(os.path.dirname(os.path.dirname(out)), keep=os.path.dirname(out))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{writer}-", dir=os.path.dirname(out))
        env = dict(os.environ, KERAS_BACKEND=writer, TF_CPP_MIN_LOG_LEVEL="3")
        proc = subprocess.run([sys.executable, "-m", "tests._export_model", tmp], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            pytest.fail(f"export on {writer} failed (rc {proc.returncode}):\n"
                        f"{proc.stderr[-4000:]}")
        try:
            os.rename(tmp, out)
        except OSError:  # another run renamed its export first: use that one
            shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(out, "manifest.json")) as f:
        manifest = json.load(f)
    assert manifest["backend"] == writer
    return writer, out, manifest["models"]


def test_writer_saved_every_model(exported):
    _, _, models = exported
    assert sorted(models) == sorted(MODEL_IDS)


@pytest.mark.parametrize("spec", MODELS, ids=MODEL_IDS)
def test_load_model_and_weights_saved_on_another_backend(exported, spec):
    writer, out, models = exported
    name = spec[0]
    path = os.path.join(out, name)
    x = np.load(os.path.join(out, "x.npy"))
    expected = np.load(f"{path}.npy")
    with np.load(f"{path}.vars.npz") as f:
        saved = [f[f"arr_{i}"] for i in range(len(f.files))]

    fresh = build_model(spec)
    # Same variables, names and shapes, in the same order on both backends.
    assert describe(fresh) == models[name], f"variables differ from the {writer} build"

    loaded = keras.saving.load_model(f"{path}.keras")
    assert describe(loaded) == models[name]
    for v, value in zip(loaded.weights, saved):
        np.testing.assert_array_equal(to_numpy(v), value, err_msg=f"{v.path} ({writer})")
    np.testing.assert_allclose(to_numpy(loaded(x)), expected, **TOL,
                               err_msg=f"load_model of {name} saved on {writer}")
    if spec[3] == "zoo":
        assert isinstance(loaded.layers[1], RNN) and loaded.layers[1].last_path == "fast"

    fresh.load_weights(f"{path}.weights.h5")
    for v, value in zip(fresh.weights, saved):
        np.testing.assert_array_equal(to_numpy(v), value, err_msg=f"{v.path} ({writer})")
    np.testing.assert_allclose(to_numpy(fresh(x)), expected, **TOL,
                               err_msg=f"load_weights of {name} saved on {writer}")


@pytest.mark.parametrize("name", ["preset_tagger", "preset_lm"])
def test_preset_saved_on_another_backend(exported, name):
    """A task-model preset (keras_rnnzoo.presets.save_to_preset) written on
    each other backend loads with from_preset and predicts the same (1e-5)."""
    from keras_rnnzoo import presets

    writer, out, _ = exported
    model = presets.from_preset(os.path.join(out, name))
    assert model.preset_metadata["backend"] == writer
    x = np.load(os.path.join(out, f"{name}.x.npy"))
    np.testing.assert_allclose(to_numpy(model(x)), np.load(os.path.join(out, f"{name}.npy")),
                               **TOL, err_msg=f"from_preset of {name} saved on {writer}")
