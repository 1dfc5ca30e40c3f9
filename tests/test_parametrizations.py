import keras
import numpy as np
import pytest
import scipy.linalg

from keras_rnnzoo import parametrizations as P
from tests import reference as ref
from tests.conftest import gradient, to_numpy


def random_skew(n, norm1, seed):
    a = np.random.default_rng(seed).normal(size=(n, n))
    s = ref.skew(a)
    return s * (norm1 / np.abs(s).sum(axis=0).max())


def test_skew_uses_only_the_strict_upper_triangle():
    a = np.random.default_rng(0).normal(size=(5, 5)).astype("float32")
    s = to_numpy(P.skew(a))
    np.testing.assert_allclose(s, -s.T)
    np.testing.assert_allclose(s, ref.skew(a), atol=1e-7)
    b = a + np.tril(np.random.default_rng(1).normal(size=(5, 5))).astype("float32")
    np.testing.assert_allclose(to_numpy(P.skew(b)), s, atol=1e-7)


@pytest.mark.parametrize("fn", [P.expm, P.expm_pade], ids=["expm", "pade"])
@pytest.mark.parametrize("norm1", [1e-3, 0.5, 5.0, 20.0, 100.0])
def test_expm_matches_scipy(fn, norm1):
    s = random_skew(48, norm1, seed=int(norm1 * 10))
    out = to_numpy(fn(s.astype("float32")))
    assert out.dtype == np.float32
    expected = scipy.linalg.expm(s)
    rel = np.linalg.norm(out - expected) / np.linalg.norm(expected)
    assert rel <= 1e-5, rel


def test_expm_pade_on_general_matrices_and_batches():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 6, 6)) * np.array([0.1, 1.0, 4.0])[:, None, None]
    out = to_numpy(P.expm_pade(x.astype("float32")))
    for i in range(3):
        expected = scipy.linalg.expm(x[i])
        assert np.linalg.norm(out[i] - expected) / np.linalg.norm(expected) < 1e-5


@pytest.mark.parametrize("n,norm1", [(32, 2.0), (32, 30.0), (128, 100.0)])
def test_native_and_portable_expm_agree(n, norm1):
    s = random_skew(n, norm1, seed=7).astype("float32")
    np.testing.assert_allclose(to_numpy(P.expm(s)), to_numpy(P.expm_pade(s)), atol=2e-6)


def _orthogonality_error(w):
    w = to_numpy(w).astype("float64")
    return np.abs(w.T @ w - np.eye(w.shape[-1])).max()


@pytest.mark.parametrize("seed", [0, 1])
def test_expm_stays_orthogonal_at_large_norm(seed):
    """n = 128, ||S||_1 = 100: float32 torch.linalg.matrix_exp alone reached 2.2e-5."""
    s = random_skew(128, 100.0, seed=seed).astype("float32")
    a = np.triu(s, 1)  # a free parameter with skew(a) = s
    base = scipy.linalg.expm(random_skew(128, 10.0, seed=seed + 10)).astype("float32")
    outputs = {
        "expm": P.expm(s),
        "expm_pade": P.expm_pade(s),
        "orthogonal_from_free": P.orthogonal_from_free(a),
        "orthogonal_from_free(base)": P.orthogonal_from_free(a, base=base),
    }
    errors = {name: _orthogonality_error(w) for name, w in outputs.items()}
    assert max(errors.values()) <= 1e-5, errors


@pytest.mark.parametrize("native", [True, False], ids=["native", "pade"])
def test_expm_gradient_at_large_norm(native):
    """d/dt L(A + t E) at ||skew(A)||_1 = 100, n = 128, against scipy in float64."""
    rng = np.random.default_rng(8)
    a = np.triu(random_skew(128, 100.0, seed=8), 1)
    c = rng.normal(size=(128, 128))
    e = np.triu(rng.normal(size=(128, 128)), 1)
    c32 = keras.ops.convert_to_tensor(c.astype("float32"))
    auto = gradient(lambda x: keras.ops.sum(c32 * P.expm(P.skew(x), native=native)),
                    a.astype("float32"))
    assert auto.dtype == np.float32 and np.all(np.isfinite(auto))
    h = 1e-5
    numeric = (np.sum(c * scipy.linalg.expm(ref.skew(a + h * e)))
               - np.sum(c * scipy.linalg.expm(ref.skew(a - h * e)))) / (2 * h)
    np.testing.assert_allclose(np.sum(auto * e), numeric, rtol=1e-3)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="torch's own expm paths")
def test_torch_expm_paths_give_the_fallback_numbers():
    """Below the threshold the fast float32 path runs as it is; above it float64."""
    from keras_rnnzoo.backend import torch as torch_backend

    for norm1, exact in ((2.0, "float32"), (5.0, "float32"), (30.0, "float64")):
        s = keras.ops.convert_to_tensor(random_skew(64, norm1, seed=3).astype("float32"))
        out = to_numpy(torch_backend.native_expm(s))
        assert out.dtype == np.float32
        forced = {"float32": float("inf"), "float64": 0.0}
        np.testing.assert_array_equal(
            out, to_numpy(torch_backend.native_expm(s, max_float32_norm1=forced[exact])))
        np.testing.assert_allclose(out, to_numpy(P.expm_pade(s)), atol=2e-6)


def test_cayley_is_orthogonal_and_matches_formula():
    s = random_skew(16, 8.0, seed=2)
    out = to_numpy(P.cayley(s.astype("float32")))
    np.testing.assert_allclose(out, ref.cayley(s), atol=1e-5)
    np.testing.assert_allclose(out.T @ out, np.eye(16), atol=1e-5)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_float32_even_from_low_precision_inputs(dtype):
    s = random_skew(8, 2.0, seed=4)
    low = keras.ops.cast(s, dtype)
    for fn in (P.skew, P.expm, P.expm_pade, P.cayley):
        assert keras.backend.standardize_dtype(fn(low).dtype) == "float32"


@pytest.mark.parametrize(
    "map_fn,ref_fn",
    [("exp", scipy.linalg.expm), ("cayley", ref.cayley)],
)
def test_gradients_match_finite_differences(map_fn, ref_fn):
    n = 6
    rng = np.random.default_rng(11)
    a = rng.normal(size=(n, n))
    c = rng.normal(size=(n, n))

    def loss_ref(a64):
        return float(np.sum(c * ref_fn(ref.skew(a64))))

    numeric = np.zeros_like(a)
    h = 1e-6
    for i in range(n):
        for j in range(n):
            e = np.zeros_like(a)
            e[i, j] = h
            numeric[i, j] = (loss_ref(a + e) - loss_ref(a - e)) / (2 * h)

    c32 = keras.ops.convert_to_tensor(c.astype("float32"))
    for native in (True, False):
        if map_fn == "exp":
            fn = lambda x: keras.ops.sum(c32 * P.expm(P.skew(x), native=native))  # noqa: E731
        else:
            fn = lambda x: keras.ops.sum(c32 * P.cayley(P.skew(x)))  # noqa: E731
        auto = gradient(fn, a.astype("float32"))
        np.testing.assert_allclose(auto, numeric, atol=2e-4, rtol=1e-3)


def test_orthogonal_from_free_with_base():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(6, 6)).astype("float32")
    base = scipy.linalg.expm(ref.skew(rng.normal(size=(6, 6))))
    out = to_numpy(P.orthogonal_from_free(a, map="exp", base=base.astype("float32")))
    np.testing.assert_allclose(out, ref.orthogonal(a, "dtriv", base), atol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="square"):
        P.expm(np.zeros((3, 4), "float32"))
    with pytest.raises(ValueError, match="`map`"):
        P.orthogonal_from_free(np.zeros((3, 3)), map="svd")
