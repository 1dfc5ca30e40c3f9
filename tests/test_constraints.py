import inspect
import json

import keras
import numpy as np
import pytest

from keras_rnnzoo.constraints import MaxAbs
from keras_rnnzoo.constraints import SpectralClip
from keras_rnnzoo.constraints import StableLSTMProjection
from keras_rnnzoo.constraints import spectral_norm_bound
from tests.conftest import BACKEND
from tests.conftest import to_numpy

PATHS = [None, 0, 5]  # bound_iterations: always SVD, Frobenius bound, default bound


def _with_singular_values(rng, m, n, sv):
    r = len(sv)
    u, _ = np.linalg.qr(rng.normal(size=(m, r)))
    v, _ = np.linalg.qr(rng.normal(size=(n, r)))
    return ((u * np.asarray(sv, np.float64)) @ v.T).astype("float32")


def _sv(x):
    return np.linalg.svd(np.asarray(x, np.float64), compute_uv=False)


def _gru_kernel(rng, h, candidate_sv):
    w = rng.normal(scale=2.0, size=(h, 3 * h)).astype("float32")
    w[:, 2 * h:] = _with_singular_values(rng, h, h, candidate_sv)
    return w


@pytest.mark.parametrize("bound_iterations", PATHS)
def test_spectral_clip_clips_only_the_large_singular_values(bound_iterations):
    rng = np.random.default_rng(0)
    w = _gru_kernel(rng, 8, [3.0, 2.2, 1.79, 1.2, 0.7, 0.3, 0.1, 0.01])
    out = to_numpy(SpectralClip(1.8, num_blocks=3, blocks=[2],
                                bound_iterations=bound_iterations)(w))
    assert out.dtype == np.float32
    before, after = _sv(w[:, 16:]), _sv(out[:, 16:])
    assert after.max() <= 1.8 + 1e-5
    np.testing.assert_allclose(after[:2], 1.8, atol=1e-5)
    np.testing.assert_allclose(after[2:], before[2:], atol=1e-5)
    assert np.array_equal(out[:, :16], w[:, :16])  # z and r blocks bit-identical


def test_spectral_clip_whole_matrix_and_several_blocks():
    rng = np.random.default_rng(1)
    for shape in [(6, 6), (4, 9), (9, 4)]:
        w = (3.0 * rng.normal(size=shape)).astype("float32")
        out = to_numpy(SpectralClip(1.0, bound_iterations=None)(w))
        assert _sv(out).max() <= 1.0 + 1e-5
    w = rng.normal(scale=3.0, size=(5, 20)).astype("float32")
    out = to_numpy(SpectralClip(1.0, num_blocks=4, blocks=[0, 3])(w))
    for i in range(4):
        block, orig = out[:, 5 * i:5 * i + 5], w[:, 5 * i:5 * i + 5]
        if i in (0, 3):
            assert _sv(block).max() <= 1.0 + 1e-5
        else:
            assert np.array_equal(block, orig)


@pytest.mark.parametrize("bound_iterations", PATHS)
def test_spectral_clip_is_the_identity_inside_the_set(bound_iterations):
    rng = np.random.default_rng(2)
    # a decaying spectrum well inside: the default bound certifies it (SVD skipped)
    w = _gru_kernel(rng, 8, [1.2, 0.6, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01])
    out = to_numpy(SpectralClip(1.8, 3, [2], bound_iterations=bound_iterations)(w))
    np.testing.assert_array_equal(out, w)
    # right at the boundary: the bound cannot certify it, the SVD path runs
    w[:, 16:] = _with_singular_values(rng, 8, 8, [1.79] * 3 + [1.0] * 5)
    out = to_numpy(SpectralClip(1.8, 3, [2], bound_iterations=bound_iterations)(w))
    np.testing.assert_allclose(out, w, atol=1e-6)


def test_bound_path_equals_forced_svd_path():
    rng = np.random.default_rng(3)
    svd = SpectralClip(1.0, num_blocks=2, bound_iterations=None)
    bounds = [SpectralClip(1.0, num_blocks=2, bound_iterations=k) for k in (0, 5)]
    for scale in (0.05, 0.4, 3.0):
        w = (scale * rng.normal(size=(7, 14))).astype("float32")
        ref = to_numpy(svd(w))
        for c in bounds:
            np.testing.assert_allclose(to_numpy(c(w)), ref, atol=1e-6, rtol=0)
    w = (0.05 * rng.normal(size=(7, 14))).astype("float32")
    assert float(to_numpy(spectral_norm_bound(w[:, :7], 5))) < 1.0  # the shortcut really ran


def _bound_cases():
    rng = np.random.default_rng(4)
    yield "gaussian square", rng.normal(size=(16, 16)).astype("float32")
    yield "gaussian wide", rng.normal(size=(5, 17)).astype("float32")
    yield "gaussian tall", rng.normal(size=(17, 5)).astype("float32")
    yield "rank one", _with_singular_values(rng, 12, 12, [2.5])
    yield "equal top three", _with_singular_values(rng, 12, 12, [1.5, 1.5, 1.5, 0.2])
    yield "near-degenerate top", _with_singular_values(rng, 12, 12, [1.0, 1.0 - 1e-6, 0.999, 0.5])
    yield "orthogonal", _with_singular_values(rng, 10, 10, [1.0] * 10)
    yield "tiny", (1e-25 * rng.normal(size=(6, 6))).astype("float32")
    yield "huge", (1e25 * rng.normal(size=(6, 6))).astype("float32")
    yield "single entry", np.array([[0.0, -3.0], [0.0, 0.0]], "float32")
    for i in range(6):  # random shapes and spectra, top two within 1e-3
        m, n = rng.integers(2, 24, size=2)
        sv = np.sort(rng.pareto(1.0 + i, size=min(m, n)))[::-1] + 1e-3
        sv[1] = sv[0] * (1 - 1e-3)
        yield f"random {i}", _with_singular_values(rng, m, n, sv)


@pytest.mark.parametrize("name,w", list(_bound_cases()), ids=[n for n, _ in _bound_cases()])
def test_bound_is_a_certified_upper_bound(name, w):
    sv = _sv(w)
    rank = max(int(np.sum(sv > sv[0] * 1e-5)), 1)
    for k in (0, 1, 2, 5, 8):
        bound = float(to_numpy(spectral_norm_bound(w, k)))
        assert bound >= sv[0], (name, k, bound, sv[0])
        assert bound <= sv[0] * rank ** (1.0 / 2 ** (k + 1)) * (1 + 1e-3), (name, k)
    assert float(to_numpy(spectral_norm_bound(np.zeros((3, 4), "float32"), 5))) == 0.0


def _fit(model, x, y, jit_compile, lr=2.0):
    model.compile(keras.optimizers.SGD(lr), "mse", jit_compile=jit_compile)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_spectral_clip_inside_model_fit(jit_compile):
    if jit_compile and BACKEND == "torch":
        pytest.skip("jit_compile=True is checked on jax and tensorflow")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = x @ rng.normal(scale=3.0, size=(4, 12)).astype("float32")
    dense = keras.layers.Dense(12, use_bias=False, kernel_initializer="zeros",
                               kernel_constraint=SpectralClip(0.5, num_blocks=3, blocks=[2]))
    model = keras.Sequential([keras.Input((4,)), dense])
    _fit(model, x, y, jit_compile)
    k = to_numpy(dense.kernel)
    assert np.all(np.isfinite(k))
    assert _sv(k[:, :4]).max() > 1.0  # the large steps moved the free blocks far
    assert 0.49 < _sv(k[:, 8:]).max() <= 0.5 + 1e-5


@pytest.mark.parametrize("axis,sum_axis", [("author", 1), ("linf", 0)])
def test_stable_lstm_projection_block_norms(axis, sum_axis):
    rng = np.random.default_rng(6)
    h = 5
    w = rng.normal(size=(h, 4 * h)).astype("float32")
    w[0, :] = 0.0  # an all-zero row stays zero (epsilon guard)
    out = to_numpy(StableLSTMProjection(axis=axis)(w))
    assert np.all(np.isfinite(out))
    for i, c in enumerate((0.395, 0.155, 0.099, 0.395)):
        norms = np.abs(out[:, i * h:(i + 1) * h]).sum(axis=sum_axis)
        if sum_axis == 1:
            np.testing.assert_allclose(norms[1:], c, rtol=1e-6)
            assert np.all(norms[0] == 0)
        else:
            np.testing.assert_allclose(norms, c, rtol=1e-6)
    kernel = rng.normal(size=(3, 4 * h)).astype("float32")
    out = to_numpy(StableLSTMProjection((None, 0.25, None, None), axis=axis)(kernel))
    np.testing.assert_allclose(np.abs(out[:, h:2 * h]).sum(axis=sum_axis), 0.25, rtol=1e-6)
    for i in (0, 2, 3):
        assert np.array_equal(out[:, i * h:(i + 1) * h], kernel[:, i * h:(i + 1) * h])
    # always applied: a small block is enlarged to its constant
    small = 1e-3 * rng.normal(size=(h, h)).astype("float32")
    out = to_numpy(StableLSTMProjection((0.4,), axis=axis)(small))
    np.testing.assert_allclose(np.abs(out).sum(axis=sum_axis), 0.4, rtol=1e-6)


def test_stable_lstm_projection_inside_lstm_fit():
    rng = np.random.default_rng(7)
    h = 3
    lstm = keras.layers.LSTM(h, kernel_constraint=StableLSTMProjection((None, 0.25, None, None)),
                             recurrent_constraint=StableLSTMProjection())
    model = keras.Sequential([keras.Input((4, 2)), lstm])
    x = rng.normal(size=(8, 4, 2)).astype("float32")
    model.compile(keras.optimizers.SGD(1.0), "mse")
    model.fit(x, rng.normal(size=(8, h)).astype("float32"), batch_size=8, epochs=1, verbose=0)
    rec, ker = to_numpy(lstm.cell.recurrent_kernel), to_numpy(lstm.cell.kernel)
    for i, c in enumerate((0.395, 0.155, 0.099, 0.395)):
        np.testing.assert_allclose(np.abs(rec[:, i * h:(i + 1) * h]).sum(axis=1), c, rtol=1e-5)
    np.testing.assert_allclose(np.abs(ker[:, h:2 * h]).sum(axis=1), 0.25, rtol=1e-5)


def test_max_abs():
    w = np.array([[-3.0, -0.5, 0.0], [0.75, 2.0, 0.25]], "float32")
    np.testing.assert_array_equal(to_numpy(MaxAbs()(w)), [[-1.0, -0.5, 0.0], [0.75, 1.0, 0.25]])
    np.testing.assert_array_equal(to_numpy(MaxAbs(0.5)(w)), [[-0.5, -0.5, 0.0], [0.5, 0.5, 0.25]])


CONSTRAINTS = [
    SpectralClip(1.8, num_blocks=3, blocks=[2]),
    SpectralClip(1.0, bound_iterations=None),
    SpectralClip(2.0, num_blocks=3, bound_iterations=0),
    StableLSTMProjection(),
    StableLSTMProjection((None, 0.25, None, None), axis="linf", epsilon=1e-9),
    MaxAbs(0.5),
]


@pytest.mark.parametrize("constraint", CONSTRAINTS, ids=lambda c: type(c).__name__)
def test_config_round_trip(constraint):
    config = constraint.get_config()
    assert set(config) == set(inspect.signature(type(constraint).__init__).parameters) - {"self"}
    serialized = keras.constraints.serialize(constraint)
    json.dumps(serialized)
    restored = keras.constraints.deserialize(serialized)
    assert type(restored) is type(constraint) and restored.get_config() == config
    saved = keras.saving.serialize_keras_object(constraint)
    restored = keras.saving.deserialize_keras_object(saved)
    assert restored.get_config() == config
    layer = keras.layers.Dense(12, kernel_constraint=constraint)
    restored = keras.layers.Dense.from_config(layer.get_config()).kernel_constraint
    assert type(restored) is type(constraint) and restored.get_config() == config


@pytest.mark.parametrize("factory,name", [
    (lambda: SpectralClip(0.0), "max_value"),
    (lambda: SpectralClip(-1.0), "max_value"),
    (lambda: SpectralClip("1.8"), "max_value"),
    (lambda: SpectralClip(float("inf")), "max_value"),
    (lambda: SpectralClip(1.0, num_blocks=0), "num_blocks"),
    (lambda: SpectralClip(1.0, num_blocks=2.0), "num_blocks"),
    (lambda: SpectralClip(1.0, num_blocks=3, blocks=[3]), "blocks"),
    (lambda: SpectralClip(1.0, num_blocks=3, blocks=[1, 1]), "blocks"),
    (lambda: SpectralClip(1.0, num_blocks=3, blocks=[]), "blocks"),
    (lambda: SpectralClip(1.0, num_blocks=3, blocks=2), "blocks"),
    (lambda: SpectralClip(1.0, bound_iterations=-1), "bound_iterations"),
    (lambda: SpectralClip(1.0, bound_iterations=2.5), "bound_iterations"),
    (lambda: spectral_norm_bound(np.eye(2), iterations=-1), "iterations"),
    (lambda: StableLSTMProjection(axis="rows"), "axis"),
    (lambda: StableLSTMProjection(scales=()), "scales"),
    (lambda: StableLSTMProjection(scales=0.25), "scales"),
    (lambda: StableLSTMProjection(scales=(0.1, -0.2, None, 0.1)), "scales"),
    (lambda: StableLSTMProjection(epsilon=0.0), "epsilon"),
    (lambda: MaxAbs(0), "value"),
    (lambda: MaxAbs(-1.0), "value"),
    # call-time shape errors
    (lambda: SpectralClip(1.0, num_blocks=3)(np.zeros((4, 8), "float32")), "num_blocks"),
    (lambda: StableLSTMProjection()(np.zeros((4, 10), "float32")), "scales"),
])
def test_bad_arguments_raise(factory, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        factory()


@pytest.mark.parametrize("constraint", [SpectralClip(1.0), StableLSTMProjection(),
                                        spectral_norm_bound])
def test_non_2d_weight_raises(constraint):
    with pytest.raises(ValueError, match=r"2-D weight.*\(2, 3, 4\)"):
        constraint(np.zeros((2, 3, 4), "float32"))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("constraint", [
    SpectralClip(1.0, num_blocks=3, blocks=[2]),
    SpectralClip(1.0, num_blocks=3, blocks=[2], bound_iterations=None),
    SpectralClip(10.0),  # inside: the bound path returns the input
    StableLSTMProjection((0.4, None, 0.3)),
    MaxAbs(0.5),
], ids=["clip-bound", "clip-svd", "clip-inside", "stable", "maxabs"])
def test_low_precision_weights_keep_their_dtype(dtype, constraint):
    rng = np.random.default_rng(8)
    w32 = rng.normal(size=(6, 18)).astype("float32")
    w = keras.ops.cast(w32, dtype)
    out = constraint(w)
    assert keras.backend.standardize_dtype(out.dtype) == dtype
    ref = to_numpy(constraint(to_numpy(keras.ops.cast(w, "float32"))))
    got = to_numpy(keras.ops.cast(out, "float32"))
    np.testing.assert_allclose(got, ref, rtol=2e-2, atol=2e-2)
