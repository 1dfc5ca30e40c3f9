import keras
import numpy as np
import pytest

from keras_rnnzoo import optimizers
from tests.conftest import to_numpy


def _vars():
    a = keras.Variable(np.ones((3,), "float32"), name="recurrent_kernel")
    b = keras.Variable(np.ones((3,), "float32"), name="kernel")
    return a, b


@pytest.mark.parametrize("inside", [False, True])
def test_rmsprop_step_matches_formula_with_multiplier(inside):
    a, b = _vars()
    opt = optimizers.RMSprop(0.1, rho=0.9, epsilon=1e-3, epsilon_inside_sqrt=inside,
                             lr_multipliers={"recurrent_kernel": 0.1})
    g = np.array([0.5, -2.0, 1e-3], "float32")
    opt.apply_gradients([(keras.ops.convert_to_tensor(g), a), (keras.ops.convert_to_tensor(g), b)])
    v = 0.1 * g**2
    denom = np.sqrt(v + 1e-3) if inside else np.sqrt(v) + 1e-3
    np.testing.assert_allclose(to_numpy(b), 1 - 0.1 * g / denom, rtol=1e-5)
    np.testing.assert_allclose(to_numpy(a), 1 - 0.01 * g / denom, rtol=1e-5)


def test_global_clip_spans_both_groups():
    """One global norm over both groups, then each group's own rate."""
    a, b = _vars()
    opt = optimizers.RMSprop(1.0, rho=0.99, epsilon=1.0, global_clipnorm=1.0,
                             lr_multipliers={"recurrent_kernel": 0.1})
    ga = np.full((3,), 3.0, "float32")
    gb = np.full((3,), 4.0, "float32")
    opt.apply_gradients([(keras.ops.convert_to_tensor(ga), a), (keras.ops.convert_to_tensor(gb), b)])
    scale = 1.0 / np.sqrt(3 * 9.0 + 3 * 16.0)

    def step(g, lr):  # eps = 1 makes the step depend on the clipped magnitude
        g = g * scale
        return lr * g / (np.sqrt(0.01 * g**2) + 1.0)

    np.testing.assert_allclose(to_numpy(a), 1 - step(ga, 0.1), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(b), 1 - step(gb, 1.0), rtol=1e-5)


def test_adam_multiplier_scales_the_step():
    a, b = _vars()
    opt = optimizers.Adam(0.1, lr_multipliers={"recurrent_kernel": 0.25})
    g = keras.ops.convert_to_tensor(np.array([1.0, -1.0, 2.0], "float32"))
    opt.apply_gradients([(g, a), (g, b)])
    step_a, step_b = 1 - to_numpy(a), 1 - to_numpy(b)
    np.testing.assert_allclose(step_a, 0.25 * step_b, rtol=1e-5)


def test_path_matching_and_longest_key():
    opt = optimizers.RMSprop(1.0, lr_multipliers={"kernel": 2.0, "recurrent_kernel": 0.1})
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    rk = keras.Variable(np.zeros((2, 2)), name="recurrent_kernel")
    assert opt.multiplier_for(layer.kernel) == 2.0
    assert opt.multiplier_for(rk) == 0.1
    assert opt.multiplier_for(layer.bias) == 1.0


@pytest.mark.parametrize("cls", [optimizers.RMSprop, optimizers.Adam])
def test_serialisable(cls):
    opt = cls(3e-4, lr_multipliers={"recurrent_kernel": 0.1}, global_clipnorm=10.0)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(restored) is cls
    assert restored.lr_multipliers == {"recurrent_kernel": 0.1}
    assert restored.get_config() == opt.get_config()


def test_saved_model_keeps_optimizer_and_multipliers(tmp_path):
    from keras_rnnzoo.cells import ASRNNCell

    inp = keras.Input((4, 2))
    model = keras.Model(inp, keras.layers.RNN(ASRNNCell(3))(inp))
    model.compile(optimizers.RMSprop(1e-3, lr_multipliers={"recurrent_kernel": 0.1}), "mse")
    model.fit(np.ones((4, 4, 2)), np.zeros((4, 3)), verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.optimizer, optimizers.RMSprop)
    assert loaded.optimizer.lr_multipliers == {"recurrent_kernel": 0.1}
    assert int(to_numpy(loaded.optimizer.iterations)) == 1


@pytest.mark.parametrize(
    "kwargs,match",
    [({"lr_multipliers": [0.1]}, "lr_multipliers"),
     ({"lr_multipliers": {"recurrent_kernel": -1}}, "recurrent_kernel"),
     ({"rho": 1.5}, "rho")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        optimizers.RMSprop(1e-3, **kwargs)
