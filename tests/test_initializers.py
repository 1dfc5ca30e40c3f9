import keras
import numpy as np
import pytest
import scipy.linalg

from keras_rnnzoo import initializers
from tests import reference as ref
from tests.conftest import to_numpy


@pytest.mark.parametrize("cls", [initializers.Henaff, initializers.Cayley])
@pytest.mark.parametrize("n", [6, 7])
def test_block_diagonal_skew_with_rotation_eigenvalues(cls, n):
    a = to_numpy(cls(seed=3)((n, n)))
    s = ref.skew(a)
    thetas = np.array([s[2 * k, 2 * k + 1] for k in range(n // 2)])
    mask = np.zeros((n, n), bool)
    for k in range(n // 2):
        mask[2 * k, 2 * k + 1] = mask[2 * k + 1, 2 * k] = True
    assert not np.any(s[~mask])
    if cls is initializers.Henaff:
        assert np.all(np.abs(thetas) <= np.pi)
    else:
        assert np.all((thetas <= 0) & (thetas >= -1.0))  # -tan(u/2), u in [0, pi/2]
    eig = np.linalg.eigvals(scipy.linalg.expm(s))
    expected = np.concatenate([np.exp(1j * thetas), np.exp(-1j * thetas), np.ones(n % 2)])
    np.testing.assert_allclose(np.sort_complex(eig), np.sort_complex(expected), atol=1e-6)


def test_seeded_and_serialisable():
    init = initializers.Henaff(seed=5)
    np.testing.assert_array_equal(to_numpy(init((4, 4))), to_numpy(init((4, 4))))
    clone = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert type(clone) is initializers.Henaff and clone.seed == 5
    t = initializers.TorchUniform(fan=16, terms=2, seed=1)
    clone = keras.initializers.deserialize(keras.initializers.serialize(t))
    assert clone.get_config() == {"fan": 16, "terms": 2, "seed": 1}
    t = initializers.TorchUniform(fan=16, terms=2, seed=1, fill=[(2, 4, 20.0)])
    clone = keras.initializers.deserialize(keras.initializers.serialize(t))
    assert clone.fill == ((2, 4, 20.0),)
    np.testing.assert_array_equal(to_numpy(clone((8,))), to_numpy(t((8,))))


def test_torch_uniform_bounds():
    one = to_numpy(initializers.TorchUniform(fan=25, seed=0)((4000,)))
    assert one.min() >= -0.2 and one.max() <= 0.2 and one.min() < -0.19
    two = to_numpy(initializers.TorchUniform(fan=25, terms=2, seed=0)((4000,)))
    assert two.min() >= -0.4 and two.max() <= 0.4 and np.abs(two).max() > 0.3
    default = to_numpy(initializers.TorchUniform(seed=0)((100, 3)))
    assert np.abs(default).max() <= 0.1


def test_torch_uniform_2d_bias_rows_are_single_uniforms():
    """(2, 3H) (the reset-after GRU: rows b_ih, b_hh): every entry one U(+-1/sqrt(fan))."""
    bias = to_numpy(initializers.TorchUniform(fan=16, seed=0)((2, 3000)))
    assert bias.shape == (2, 3000) and np.abs(bias).max() <= 0.25
    for row in bias:
        assert np.abs(row).max() > 0.249
        assert np.var(row) == pytest.approx(0.25 ** 2 / 3, rel=0.05)  # uniform, not triangular
    assert abs(np.corrcoef(bias)[0, 1]) < 0.05


def test_torch_uniform_fill_overwrites_ranges_of_the_last_axis():
    one = to_numpy(initializers.TorchUniform(fan=4, terms=2, fill=[(4, 8, 20.0)], seed=0)((16,)))
    np.testing.assert_array_equal(one[4:8], 20.0)
    assert np.abs(np.delete(one, range(4, 8))).max() <= 1.0
    rows = to_numpy(initializers.TorchUniform(fan=4, fill=[(0, 2, 10.0), (5, 6, -1.0)],
                                              seed=0)((2, 6)))
    np.testing.assert_array_equal(rows[:, :2], 10.0)
    np.testing.assert_array_equal(rows[:, 5], -1.0)
    assert np.abs(rows[:, 2:5]).max() <= 0.5
    assert initializers.TorchUniform(fill=[]).fill == ()
    with pytest.raises(ValueError, match="does not fit"):
        initializers.TorchUniform(fan=4, fill=[(4, 9, 1.0)])((8,))


@pytest.mark.parametrize("fill", ["abc", [(1, 2)], [(2, 2, 1.0)], [(-1, 2, 1.0)],
                                  [(0.5, 2, 1.0)], [(0, 2, float("nan"))], [(0, 2, "x")], 3])
def test_torch_uniform_rejects_a_bad_fill(fill):
    with pytest.raises(ValueError, match="`fill`"):
        initializers.TorchUniform(fill=fill)


def test_bad_arguments():
    with pytest.raises(ValueError, match="square"):
        initializers.Henaff()((3, 4))
    with pytest.raises(ValueError, match="`fan`"):
        initializers.TorchUniform(fan=0)
    with pytest.raises(ValueError, match="`terms`"):
        initializers.TorchUniform(terms=0)
    with pytest.raises(ValueError, match="`seed`"):
        initializers.Cayley(seed="x")
