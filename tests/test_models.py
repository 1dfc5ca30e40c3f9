"""keras_rnnzoo.models: RNNBackbone options, the five task heads, configs, saving, presets.

Tiny sizes throughout (H 4, T 4, batch 2): the default tier runs this file once per backend.
"""

import os

import keras
import numpy as np
import pytest

from keras_rnnzoo import cells
from keras_rnnzoo import metrics
from keras_rnnzoo import presets
from keras_rnnzoo.layers import TokenEmbedding
from keras_rnnzoo.models import FramePredictor
from keras_rnnzoo.models import LanguageModel
from keras_rnnzoo.models import RNNBackbone
from keras_rnnzoo.models import SequenceClassifier
from keras_rnnzoo.models import SequenceRegressor
from keras_rnnzoo.models import SequenceTagger
from keras_rnnzoo.models import Task
from tests.conftest import to_numpy

H, T, B, F, V, C = 4, 4, 2, 4, 7, 3


def _features(f=F, seed=0):
    return np.random.default_rng(seed).normal(size=(B, T, f)).astype("float32")


def _tokens(seed=0):
    return np.random.default_rng(seed).integers(0, V, size=(B, T)).astype("int32")


def _make(head):
    """(model, x, y, sample_weight, expected output shape) for one head."""
    rng = np.random.default_rng(1)
    if head == "classifier":
        model = SequenceClassifier(RNNBackbone(cells.GRUCell(H), input_dim=F), num_classes=C)
        return model, _features(), rng.integers(0, C, size=(B,)), None, (B, C)
    if head == "tagger":
        model = SequenceTagger(RNNBackbone(cells.GRUCell(H), input_dim=F), num_classes=C)
        return model, _features(), rng.integers(0, C, size=(B, T)), None, (B, T, C)
    if head == "tagger_k":
        model = SequenceTagger(RNNBackbone(cells.GRUCell(H), input_dim=F), num_classes=C,
                               output_steps=2)
        return model, _features(), rng.integers(0, C, size=(B, 2)), None, (B, 2, C)
    if head == "lm":
        model = LanguageModel(RNNBackbone(cells.GRUCell(H), vocabulary_size=V))
        return model, _tokens(), rng.integers(0, V, size=(B, T)), None, (B, T, V)
    if head == "regressor":
        model = SequenceRegressor(RNNBackbone(cells.get_cell("urlstm", H), input_dim=F), units=2)
        return model, _features(), rng.normal(size=(B, 2)).astype("float32"), None, (B, 2)
    if head == "frames":
        # The inputs are piano-roll frames in practice; F keys keep the build cheap.
        model = FramePredictor(RNNBackbone(cells.GRUCell(H), input_dim=F))
        x = (rng.random((B, T, F)) < 0.5).astype("float32")
        y = (rng.random((B, T, 88)) < 0.1).astype("float32")
        sw = np.ones((B, T), "float32")
        sw[1, -1] = 0.0  # one padded frame
        return model, x, y, sw, (B, T, 88)
    raise AssertionError(head)


HEADS = ["classifier", "tagger", "tagger_k", "lm", "regressor", "frames"]


@pytest.mark.parametrize("head", HEADS)
def test_head_shape_train_config_and_keras_file(head, tmp_path):
    model, x, y, sw, shape = _make(head)
    out = to_numpy(model(x))
    assert out.shape == shape
    assert isinstance(model.backbone, RNNBackbone)
    assert model.get_layer("readout").dtype_policy.compute_dtype == "float32"

    # get_config / from_config: same class, same predictions with the same weights.
    clone = type(model).from_config(model.get_config())
    assert type(clone) is type(model) and isinstance(clone.backbone, RNNBackbone)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(to_numpy(clone(x)), out, rtol=1e-5, atol=1e-6)

    # .keras round trip.
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model) and isinstance(loaded.backbone, RNNBackbone)
    np.testing.assert_allclose(to_numpy(loaded(x)), out, rtol=1e-5, atol=1e-6)

    # compile() with the defaults: the task's loss.
    model.compile()
    assert isinstance(model.loss, _DEFAULT_LOSS[head])
    if head in _TRAINED:
        _train_one_step(model, x, y, sw)


_DEFAULT_LOSS = {"classifier": keras.losses.SparseCategoricalCrossentropy,
                 "tagger": keras.losses.SparseCategoricalCrossentropy,
                 "tagger_k": keras.losses.SparseCategoricalCrossentropy,
                 "lm": keras.losses.SparseCategoricalCrossentropy,
                 "regressor": keras.losses.MeanSquaredError,
                 "frames": metrics.FrameNLL}
# A compiled train step costs ~2 s on JAX: the default tier trains the frame
# predictor (the zoo's own loss, sample weights, weighted metric); the slow tier
# trains the other heads (Keras' cross-entropy and MSE).
_TRAINED = ("frames",)


def _train_one_step(model, x, y, sw):
    if isinstance(model, FramePredictor):
        logs = model.train_on_batch(x, y, sample_weight=sw, return_dict=True)
        assert "nll_per_frame" in logs and np.isfinite(logs["nll_per_frame"])
    else:
        if isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy):
            assert model.loss.from_logits
        logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])


@pytest.mark.slow
@pytest.mark.parametrize("head", [h for h in HEADS if h not in _TRAINED])
def test_default_compile_trains_one_step(head):
    model, x, y, sw, _ = _make(head)
    model.compile()
    _train_one_step(model, x, y, sw)


def test_readout_is_float32_under_mixed_precision():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    model = SequenceTagger(RNNBackbone(cells.GRUCell(H), input_dim=F), num_classes=C)
    out = model(_features())
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    assert model.get_layer("readout").dtype_policy.compute_dtype == "float32"
    assert keras.backend.standardize_dtype(model.backbone(_features()).dtype) == "bfloat16"


@pytest.mark.parametrize("dummy_token", [True, False])
def test_token_inputs(dummy_token):
    backbone = RNNBackbone(cells.GRUCell(H), vocabulary_size=V, dummy_token=dummy_token,
                           embedding_dim=5)
    embedding = backbone.get_layer("embedding")
    if dummy_token:
        assert isinstance(embedding, TokenEmbedding)
        assert tuple(embedding.embeddings.shape) == (V + 1, 5)
        x = np.full((B, T), V, "int32")  # the dummy id is a valid input
    else:
        assert isinstance(embedding, keras.layers.Embedding)
        assert not isinstance(embedding, TokenEmbedding)
        assert tuple(embedding.embeddings.shape) == (V, 5)
        x = _tokens()
    assert tuple(backbone.get_layer("rnn").input.shape) == (None, None, 5)
    out = to_numpy(backbone(x))
    assert out.shape == (B, T, H) and np.all(np.isfinite(out))
    assert backbone.hidden_dim == H


def test_sinusoidal_positional_encoding_concat_doubles_width():
    backbone = RNNBackbone(cells.GRUCell(H), input_dim=F, positional_encoding="sinusoidal")
    assert tuple(backbone.get_layer("rnn").input.shape)[-1] == 2 * F
    assert backbone.get_layer("positional_encoding") is not None
    assert to_numpy(backbone(_features())).shape == (B, T, H)
    tokens = RNNBackbone(cells.GRUCell(H), vocabulary_size=V, positional_encoding="sinusoidal")
    assert tuple(tokens.get_layer("rnn").input.shape)[-1] == 2 * H  # embedding_dim = H


def test_two_layers_from_one_cell_and_from_a_list():
    cell = cells.GRUCell(H)
    copied = RNNBackbone(cell, num_layers=2, input_dim=F)
    first, second = copied.get_layer("rnn"), copied.get_layer("rnn_1")
    assert [layer.name for layer in copied.rnn_layers] == ["rnn", "rnn_1"]
    assert first.cell is not second.cell
    assert type(first.cell) is type(second.cell)
    assert first.cell.get_config() == second.cell.get_config()
    assert to_numpy(copied(_features())).shape == (B, T, H)

    mixed = RNNBackbone([cells.GRUCell(H), cells.URLSTMCell(H + 1)], num_layers=2, input_dim=F)
    assert isinstance(mixed.get_layer("rnn").cell, cells.GRUCell)
    assert isinstance(mixed.get_layer("rnn_1").cell, cells.URLSTMCell)
    assert tuple(mixed.get_layer("rnn_1").input.shape)[-1] == H
    assert mixed.hidden_dim == H + 1
    assert to_numpy(mixed(_features())).shape == (B, T, H + 1)
    clone = RNNBackbone.from_config(mixed.get_config())
    assert isinstance(clone.get_layer("rnn_1").cell, cells.URLSTMCell)


def test_dropout_between_layers():
    backbone = RNNBackbone(cells.GRUCell(H), num_layers=2, input_dim=F, dropout=0.5, seed=3)
    layer = backbone.get_layer("dropout_1")
    assert isinstance(layer, keras.layers.Dropout) and layer.rate == 0.5
    x = _features()
    np.testing.assert_allclose(to_numpy(backbone(x)), to_numpy(backbone(x)))  # off at inference
    no_dropout = RNNBackbone(cells.GRUCell(H), num_layers=2, input_dim=F)
    assert "dropout_1" not in [layer.name for layer in no_dropout.layers]


def test_input_scale():
    scaled = RNNBackbone(cells.GRUCell(H), input_dim=F, input_scale=0.01)
    layer = scaled.get_layer("input_scale")
    assert isinstance(layer, keras.layers.Rescaling)
    plain = RNNBackbone(cells.GRUCell(H), input_dim=F)
    plain.set_weights(scaled.get_weights())
    x = _features() * 100.0
    np.testing.assert_allclose(to_numpy(scaled(x)), to_numpy(plain(x * 0.01)),
                               rtol=1e-5, atol=1e-6)


def test_stateful_language_model_continues_and_resets():
    backbone = RNNBackbone(cells.GRUCell(H), vocabulary_size=V, stateful=True, batch_size=B)
    model = LanguageModel(backbone)
    x = _tokens()
    fresh = to_numpy(model(x))
    second = to_numpy(model(x))
    assert not np.allclose(fresh, second, atol=1e-6)  # the state carried over
    model.reset_states()
    np.testing.assert_allclose(to_numpy(model(x)), fresh, rtol=1e-5, atol=1e-6)


_ERRORS = {
    "both_inputs": (lambda: RNNBackbone(cells.GRUCell(H), input_dim=F, vocabulary_size=V),
                    "exactly one of `input_dim`"),
    "no_inputs": (lambda: RNNBackbone(cells.GRUCell(H)), "exactly one of `input_dim`"),
    "stateful_no_batch": (lambda: RNNBackbone(cells.GRUCell(H), input_dim=F, stateful=True),
                          "`stateful=True` needs a fixed `batch_size`"),
    "three_cells_two_layers": (
        lambda: RNNBackbone([cells.GRUCell(H)] * 3, num_layers=2, input_dim=F),
        "list of 3 cells but `num_layers` is 2"),
    "not_a_cell": (lambda: RNNBackbone(keras.layers.Dense(H), input_dim=F),
                   "`cell` must be an RNN cell"),
    "bad_positional_encoding": (
        lambda: RNNBackbone(cells.GRUCell(H), input_dim=F, positional_encoding="rotary"),
        "`positional_encoding` must be one of"),
    "dropout_range": (lambda: RNNBackbone(cells.GRUCell(H), input_dim=F, dropout=1.0),
                      r"`dropout` must be a rate in \[0, 1\)"),
    "dummy_token_features": (
        lambda: RNNBackbone(cells.GRUCell(H), input_dim=F, dummy_token=True),
        "`dummy_token=True` is for token inputs"),
    "lm_on_features": (lambda: LanguageModel(RNNBackbone(cells.GRUCell(H), input_dim=F)),
                       "needs a backbone over tokens"),
    "one_class": (lambda: SequenceClassifier(RNNBackbone(cells.GRUCell(H), input_dim=F),
                                             num_classes=1),
                  "`num_classes` must be an int >= 2"),
    "plain_model_backbone": (lambda: SequenceClassifier(_plain_model(), num_classes=C),
                             "`backbone` must be a keras_rnnzoo.models.RNNBackbone.*Functional"),
}


def _plain_model():
    inputs = keras.Input((T, F))
    return keras.Model(inputs, keras.layers.Dense(H)(inputs))


@pytest.mark.parametrize("case", sorted(_ERRORS))
def test_errors(case):
    build, match = _ERRORS[case]
    with pytest.raises(ValueError, match=match):
        build()


def test_presets_round_trip(tmp_path):
    model, x, _, _, _ = _make("classifier")
    out = to_numpy(model(x))
    directory = os.path.join(tmp_path, "classifier")
    presets.save_to_preset(model, directory)

    for loaded in (Task.from_preset(directory), SequenceClassifier.from_preset(directory)):
        assert type(loaded) is SequenceClassifier
        np.testing.assert_allclose(to_numpy(loaded(x)), out, rtol=1e-5, atol=1e-6)
    backbone = RNNBackbone.from_preset(directory)
    assert isinstance(backbone, RNNBackbone)
    np.testing.assert_allclose(to_numpy(backbone(x)), to_numpy(model.backbone(x)),
                               rtol=1e-5, atol=1e-6)

    tagger, _, _, _, _ = _make("tagger_k")
    tagger_dir = os.path.join(tmp_path, "tagger")
    presets.save_to_preset(tagger, tagger_dir)
    with pytest.raises(ValueError, match="SequenceTagger.*SequenceClassifier"):
        SequenceClassifier.from_preset(tagger_dir)
