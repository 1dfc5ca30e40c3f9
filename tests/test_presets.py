"""save_to_preset / from_preset, and the built-in presets reproduce their recorded metrics.

(Handles, the cache and downloads: test_preset_handles.py; presets written on
another backend: test_cross_backend.py.)
"""

import json
import os
import shutil

import numpy as np
import pytest

from keras_rnnzoo import cells, models, presets
from keras_rnnzoo.presets import PresetError
from tests.conftest import BACKEND, REPO, to_numpy

MUSIC_DIR = os.environ.get("RNNZOO_DATA_DIR") or os.path.join(
    os.path.dirname(REPO), "shared", "data", "music")


def tiny_tagger():
    model = models.SequenceTagger(models.RNNBackbone(cells.GRUCell(4), input_dim=3),
                                  num_classes=5)
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    model(x)
    return model, x


def test_save_and_load_a_preset(tmp_path):
    model, x = tiny_tagger()
    out = str(tmp_path / "p")
    written = presets.save_to_preset(model, out, metadata={"metrics": {"test": {"acc": 0.5}}})
    assert sorted(os.listdir(out)) == ["config.json", "metadata.json", "model.weights.h5"]
    with open(os.path.join(out, "config.json")) as f:
        assert "compile_config" not in json.load(f)
    assert written["task"] == "SequenceTagger" and written["parameter_count"] == model.count_params()
    loaded = presets.from_preset(out)
    assert type(loaded) is models.SequenceTagger
    np.testing.assert_allclose(to_numpy(loaded(x)), to_numpy(model(x)), atol=1e-6)
    assert loaded.preset_metadata["metrics"] == {"test": {"acc": 0.5}}
    # overrides replace the task model's arguments; load_weights=False: fresh weights
    fresh = presets.from_preset(out, load_weights=False, dropout=0.5)
    assert fresh.dropout == 0.5


def test_bad_presets_and_arguments_are_refused(tmp_path):
    model, _ = tiny_tagger()
    with pytest.raises(ValueError, match="written by save_to_preset itself"):
        presets.save_to_preset(model, str(tmp_path / "a"), metadata={"files": {}})
    with pytest.raises(ValueError, match="JSON-serialisable"):
        presets.save_to_preset(model, str(tmp_path / "a"), metadata={"x": object()})
    out = str(tmp_path / "p")
    presets.save_to_preset(model, out)
    with open(os.path.join(out, "model.weights.h5"), "ab") as f:
        f.write(b"0")  # damaged after saving
    with pytest.raises(PresetError, match="sha256"):
        presets.from_preset(out)
    with pytest.raises(PresetError, match="metadata.json"):
        presets.from_preset(str(tmp_path))  # not a preset
    presets.save_to_preset(model, out)  # saved again: loads
    with open(os.path.join(out, "metadata.json")) as f:
        metadata = json.load(f)
    metadata["keras_rnnzoo_version"] = "99.0.0"
    with open(os.path.join(out, "metadata.json"), "w") as f:
        json.dump(metadata, f)
    with pytest.raises(PresetError, match="upgrade"):
        presets.from_preset(out)
    with pytest.raises(ValueError, match="no recorded evaluation"):
        presets.evaluate_preset(model)


BUILTIN = sorted(presets.list_presets())


def test_the_builtin_presets_ship():
    expected = {"asrnn_copy_t100_h138", "exprnn_copy_t100_h190", "urlstm_copyc_t100_h128",
                "urlstm_adding_t200_h64", "gru_pe_reverse_l16_v1024_h128",
                "gru_reverse_l16_v1024_h128", "stable_rnn_jsb_h128",
                "spectral_gru_nottingham_h128"}
    assert expected <= set(BUILTIN)
    total = sum(os.path.getsize(os.path.join(entry["path"], name))
                for entry in presets._registry.BUILTIN_PRESETS.values()
                for name in os.listdir(entry["path"]))
    assert total < 5 * 2 ** 20, f"built-in presets take {total / 2 ** 20:.2f} MiB"
    for name, metadata in presets.list_presets().items():
        assert metadata["name"] == name and metadata["command"].startswith("python training/")
        assert metadata["metrics"] and metadata["evaluation"]


READERS = ("tensorflow", "jax", "torch")


def _default_tier_reader(name):
    """The one backend (not the training one) that re-evaluates ``name`` in the
    default tier; the slow tier re-evaluates every preset on every backend."""
    trained_on = presets.list_presets()[name]["backend"]
    others = [b for b in READERS if b != trained_on]
    return others[BUILTIN.index(name) % len(others)]


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=() if BACKEND == _default_tier_reader(n) else pytest.mark.slow)
    for n in BUILTIN])
def test_builtin_preset_reproduces_its_recorded_metrics(name):
    """Loaded on this backend (trained on torch or JAX), re-evaluated on data
    generated with the recorded fixed seed: the recorded numbers. The default
    tier re-evaluates each preset once, on a backend it was not trained on;
    the slow tier on every backend."""
    metadata = presets.list_presets()[name]
    if metadata["evaluation"]["function"] == "evaluate_music" and not os.path.isdir(MUSIC_DIR):
        pytest.skip(f"the music files are not in {MUSIC_DIR} (set RNNZOO_DATA_DIR)")
    model = presets.from_preset(name)
    again = presets.evaluate_preset(model, data_dir=MUSIC_DIR)
    assert sorted(again) == sorted(metadata["metrics"])
    for split, values in metadata["metrics"].items():
        for key, value in values.items():
            if "accuracy" in key:  # counts of right answers: equal up to a flip or two
                assert again[split][key] == pytest.approx(value, abs=2e-4), (split, key)
            else:
                assert again[split][key] == pytest.approx(value, rel=1e-4, abs=1e-6), (split, key)


def test_cli_verifies_a_builtin_preset(capsys):
    from keras_rnnzoo.presets import __main__ as cli

    name = BUILTIN[0]
    assert cli.main(["verify", name]) == 0
    assert "OK" in capsys.readouterr().out
    assert cli.main(["list"]) == 0
    assert name in capsys.readouterr().out


def test_a_copied_builtin_preset_loads_from_a_directory(tmp_path):
    name = "urlstm_adding_t200_h64"
    copy = str(tmp_path / name)
    shutil.copytree(presets._registry.BUILTIN_PRESETS[name]["path"], copy)
    model = models.SequenceRegressor.from_preset(copy)
    assert model.preset_metadata["name"] == name
    backbone = models.RNNBackbone.from_preset(copy)
    assert isinstance(backbone, models.RNNBackbone)


def test_readme_lists_the_builtin_presets():
    from keras_rnnzoo.presets.__main__ import markdown_table

    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    start = readme.index("<!-- presets table")
    start = readme.index("\n", start) + 1
    table = readme[start:readme.index("<!-- end presets table -->")]
    assert table == markdown_table(), (
        "regenerate the README's table: python -m keras_rnnzoo.presets list --markdown")
