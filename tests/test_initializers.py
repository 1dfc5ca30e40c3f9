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


def test_torch_uniform_bounds():
    one = to_numpy(initializers.TorchUniform(fan=25, seed=0)((4000,)))
    assert one.min() >= -0.2 and one.max() <= 0.2 and one.min() < -0.19
    two = to_numpy(initializers.TorchUniform(fan=25, terms=2, seed=0)((4000,)))
    assert two.min() >= -0.4 and two.max() <= 0.4 and np.abs(two).max() > 0.3
    default = to_numpy(initializers.TorchUniform(seed=0)((100, 3)))
    assert np.abs(default).max() <= 0.1


def test_bad_arguments():
    with pytest.raises(ValueError, match="square"):
        initializers.Henaff()((3, 4))
    with pytest.raises(ValueError, match="`fan`"):
        initializers.TorchUniform(fan=0)
    with pytest.raises(ValueError, match="`terms`"):
        initializers.TorchUniform(terms=0)
    with pytest.raises(ValueError, match="`seed`"):
        initializers.Cayley(seed="x")
