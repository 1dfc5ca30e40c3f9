import math

import keras
import numpy as np
import pytest

from keras_rnnzoo.layers import PositionalEncoding
from keras_rnnzoo.layers import TokenEmbedding
from keras_rnnzoo.layers import sinusoidal_table
from tests.conftest import gradient
from tests.conftest import to_numpy


def _pe_of(layer, length, embed_dim):
    """The PE half of a concat layer's output on zero embeddings."""
    out = to_numpy(layer(np.zeros((2, length, embed_dim), "float32")))
    assert out.shape == (2, length, 2 * embed_dim)
    np.testing.assert_array_equal(out[0], out[1])
    return out[0, :, embed_dim:]


def _keras_hub_style(length, d):
    """Transformer / keras_hub SinePositionEncoding: interleaved, unnormalised."""
    pe = np.zeros((length, d))
    t = np.arange(length)[:, None]
    i = np.arange(d // 2)[None, :]
    angle = t / np.power(10000.0, 2 * i / d)
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle)
    return pe


def test_unit_norm_and_first_position():
    d = 16
    pe = _pe_of(PositionalEncoding(), 50, d)
    np.testing.assert_allclose(np.linalg.norm(pe, axis=-1), 1.0, atol=1e-6)
    expected0 = np.concatenate([np.zeros(d // 2), np.ones(d // 2)]) / math.sqrt(d / 2)
    np.testing.assert_allclose(pe[0], expected0, atol=1e-7)
    np.testing.assert_allclose(sinusoidal_table(50, d), pe, atol=1e-6)
    layer = PositionalEncoding(max_length=60)
    layer(np.zeros((1, 5, d), "float32"))
    np.testing.assert_allclose(to_numpy(layer.encoding(50)), pe, atol=1e-6)


def test_is_keras_hub_encoding_permuted_and_rescaled():
    length, d = 40, 12
    hub = _keras_hub_style(length, d)
    expected = np.concatenate([hub[:, 0::2], hub[:, 1::2]], axis=-1) / math.sqrt(d / 2)
    np.testing.assert_allclose(_pe_of(PositionalEncoding(), length, d), expected, atol=2e-5)


def test_concat_and_add():
    e = np.random.default_rng(0).standard_normal((3, 9, 8)).astype("float32")
    cat = to_numpy(PositionalEncoding(merge="concat")(e))
    assert cat.shape == (3, 9, 16)
    np.testing.assert_array_equal(cat[..., :8], e)
    add = to_numpy(PositionalEncoding(merge="add")(e))
    np.testing.assert_allclose(add, e + sinusoidal_table(9, 8)[None], atol=1e-6)
    wide = PositionalEncoding(width=6)
    assert to_numpy(wide(e)).shape == (3, 9, 14)
    assert wide.compute_output_shape((None, 9, 8)) == (None, 9, 14)


def test_dynamic_time_dimension():
    tokens = keras.Input((None,), dtype="int32")
    h = PositionalEncoding()(TokenEmbedding(5, 4, seed=0)(tokens))
    model = keras.Model(tokens, h)
    for length in (3, 7):
        out = to_numpy(model(np.zeros((2, length), "int32")))
        np.testing.assert_allclose(out[0, :, 4:], sinusoidal_table(length, 4), atol=1e-6)


def test_learnable_table_is_trainable_and_gets_gradient():
    layer = PositionalEncoding(kind="learnable", max_length=10, seed=3)
    e = np.ones((2, 6, 4), "float32")
    layer.build(e.shape)
    assert len(layer.trainable_weights) == 1 and tuple(layer.table.shape) == (10, 4)
    table = to_numpy(layer.table)
    assert 0.5 < table.std() < 1.6  # N(0, 1)
    coeffs = keras.ops.convert_to_tensor(np.arange(1, 2 * 6 * 8 + 1, dtype="float32").reshape(2, 6, 8))

    def loss(t):
        out, _ = layer.stateless_call([t], [], e)
        return keras.ops.sum(out * coeffs)

    grad = gradient(loss, table)
    assert np.all(grad[:6] != 0) and np.all(grad[6:] == 0)  # positions 6..9 unused


def test_random_table_unit_norm_fixed_and_seeded():
    e = np.zeros((1, 7, 6), "float32")
    a = PositionalEncoding(kind="random", max_length=7, seed=1)
    pe = _pe_of(a, 7, 6)
    np.testing.assert_allclose(np.linalg.norm(pe, axis=-1), 1.0, atol=1e-6)
    assert not a.trainable_weights and len(a.non_trainable_weights) == 1
    b = PositionalEncoding(kind="random", max_length=7, seed=1)
    c = PositionalEncoding(kind="random", max_length=7, seed=2)
    np.testing.assert_array_equal(_pe_of(b, 7, 6), pe)
    assert not np.allclose(_pe_of(c, 7, 6), pe)
    assert to_numpy(a(e[:, :4])).shape == (1, 4, 12)  # shorter sequences use a prefix


def test_dummy_kind_copies_the_embedding():
    e = np.random.default_rng(1).standard_normal((2, 5, 4)).astype("float32")
    cat = to_numpy(PositionalEncoding(kind="dummy")(e))
    np.testing.assert_array_equal(cat, np.concatenate([e, e], axis=-1))
    np.testing.assert_allclose(to_numpy(PositionalEncoding(kind="dummy", merge="add")(e)), 2 * e)


@pytest.mark.parametrize("learnable", [True, False])
def test_dummy_token_row_gradient(learnable):
    emb = TokenEmbedding(vocab_size=5, output_dim=3, learnable_dummy=learnable, seed=0)
    assert emb.dummy_id == 5
    ids = np.array([[0, 2, 5, 5]])
    out = to_numpy(emb(ids))
    table = to_numpy(emb.embeddings)
    assert table.shape == (6, 3)
    if learnable:
        np.testing.assert_array_equal(out[0, 2], table[5])
        assert np.any(table[5] != 0)
    else:
        np.testing.assert_array_equal(out[0, 2:], 0.0)
        np.testing.assert_array_equal(table[5], 0.0)

    coeffs = keras.ops.convert_to_tensor(np.arange(1, 13, dtype="float32").reshape(1, 4, 3))

    def loss(w):
        values, _ = emb.stateless_call([w], [], ids)
        # the zero term densifies TensorFlow's IndexedSlices gradient of a gather
        return keras.ops.sum(values * coeffs) + 0.0 * keras.ops.sum(w)

    grad = gradient(loss, table)
    assert np.any(grad[5] != 0) == learnable
    assert np.all(grad[0] != 0) and np.all(grad[1] == 0)


def _small_model(kind="learnable", learnable_dummy=True):
    tokens = keras.Input((8,), dtype="int32")
    e = TokenEmbedding(6, 4, learnable_dummy=learnable_dummy)(tokens)
    x = PositionalEncoding(kind=kind, max_length=8)(e)
    h = keras.layers.RNN(keras.layers.GRUCell(5), return_sequences=True)(x)
    return keras.Model(tokens, keras.layers.Dense(6)(h))


def test_config_round_trip_and_save_load(tmp_path):
    layer = PositionalEncoding(kind="random", merge="add", max_length=12, width=None, seed=4, name="pe")
    config = layer.get_config()
    for key in ("kind", "merge", "max_length", "width", "seed"):
        assert key in config
    assert PositionalEncoding.from_config(config).get_config() == config
    emb = TokenEmbedding(7, 3, learnable_dummy=False, seed=2)
    assert TokenEmbedding.from_config(emb.get_config()).get_config() == emb.get_config()

    model = _small_model(kind="learnable", learnable_dummy=False)
    x = np.random.default_rng(2).integers(0, 7, (3, 8))
    expected = to_numpy(model(x))
    path = str(tmp_path / "pe.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(to_numpy(loaded(x)), expected, atol=1e-6)


@pytest.mark.parametrize("kind", ["sinusoidal", "learnable"])
def test_mixed_bfloat16(kind):
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    model = _small_model(kind=kind)
    out = to_numpy(keras.ops.cast(model(np.full((2, 8), 6)), "float32"))
    assert np.all(np.isfinite(out))
    for layer in model.layers[1:3]:
        assert all(w.dtype == "float32" for w in layer.weights)
    pe = PositionalEncoding()
    assert keras.backend.standardize_dtype(pe(np.zeros((1, 4, 4), "float32")).dtype) == "bfloat16"


@pytest.mark.parametrize(
    "kwargs,match",
    [(dict(kind="rotary"), "`kind`"), (dict(merge="mul"), "`merge`"),
     (dict(kind="learnable"), "`max_length`"), (dict(kind="random"), "`max_length`"),
     (dict(width=5), "odd PE width"), (dict(max_length=0), "`max_length`"),
     (dict(seed=1.5), "`seed`")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PositionalEncoding(**kwargs)


def test_bad_shapes():
    e = np.zeros((1, 6, 5), "float32")
    with pytest.raises(ValueError, match="odd PE width"):
        PositionalEncoding()(e)  # d_e = 5 is odd
    with pytest.raises(ValueError, match="merge='add'"):
        PositionalEncoding(merge="add", width=4)(np.zeros((1, 6, 6), "float32"))
    with pytest.raises(ValueError, match="dummy"):
        PositionalEncoding(kind="dummy", width=4)(np.zeros((1, 6, 6), "float32"))
    with pytest.raises(ValueError, match="exceeds `max_length`"):
        PositionalEncoding(kind="learnable", max_length=4)(np.zeros((1, 6, 6), "float32"))
    layer = PositionalEncoding(kind="random", max_length=6)
    layer(np.zeros((1, 6, 4), "float32"))
    with pytest.raises(ValueError, match="exceeds `max_length`"):
        layer(np.zeros((1, 7, 4), "float32"))


@pytest.mark.parametrize(
    "kwargs,match",
    [(dict(vocab_size=1, output_dim=4), "`vocab_size`"), (dict(vocab_size=0, output_dim=4), "`vocab_size`"),
     (dict(vocab_size=8, output_dim=0), "`output_dim`"),
     (dict(vocab_size=8, output_dim=4, learnable_dummy=1), "`learnable_dummy`")],
)
def test_token_embedding_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TokenEmbedding(**kwargs)
