"""The papers' training recipes: every one parses with its script's flags."""

import importlib

import pytest

from keras_rnnzoo import presets
from keras_rnnzoo.presets import __main__ as presets_cli
from keras_rnnzoo.presets._recipes import RECIPES


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_is_flags_of_its_script(name, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNZOO_DATA_DIR", str(tmp_path))  # parse only: no data is read
    script, settings, description = RECIPES[name]
    assert name.endswith("_paper") and description
    module = importlib.import_module("training." + script[:-3])
    args = module.parse_args(["--preset", name, "--output-dir", str(tmp_path / "run")])
    for key, value in settings.items():
        assert getattr(args, key) == value, key
    # a flag beside the recipe wins
    args = module.parse_args(["--preset", name, "--hidden", "7",
                              "--output-dir", str(tmp_path / "run")])
    assert args.hidden == 7


def test_a_recipe_is_not_a_loadable_preset_and_is_listed(capsys):
    with pytest.raises(presets.PresetError, match="training recipe.*--preset"):
        presets.from_preset("asrnn_pmnist_h122_paper")
    assert presets_cli.main(["list", "--recipes"]) == 0
    table = capsys.readouterr().out
    assert all(f"`{name}`" in table for name in RECIPES)


def test_a_recipe_of_another_script_is_refused(tmp_path, capsys):
    from training import ptb

    with pytest.raises(SystemExit):
        ptb.parse_args(["--preset", "asrnn_pmnist_h122_paper", "--output-dir", str(tmp_path)])
    assert "recipe of training/pixel_mnist.py" in capsys.readouterr().err
