"""Gradient monitors against independent gradients (NumPy BPTT and the backend's autodiff)."""

import json
import os

import keras
import numpy as np
import pytest

from keras_rnnzoo import cells
from keras_rnnzoo import layers
from keras_rnnzoo.callbacks import GradientNormMonitor
from keras_rnnzoo.callbacks import HiddenGradientMonitor
from keras_rnnzoo.callbacks import SpectrumMonitor
from keras_rnnzoo.callbacks import probe_gradients
from tests import reference
from tests.conftest import BACKEND
from tests.conftest import to_numpy

T, D, H = 6, 3, 4


def _data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, T, D)).astype("float32"),
            rng.normal(size=(n, 1)).astype("float32"))


def _model(cell=None, lr=0.1, **rnn_kwargs):
    keras.utils.set_random_seed(3)
    inp = keras.Input((T, D))
    rnn = layers.RNN(cell or cells.RNNCell(H), **rnn_kwargs)
    model = keras.Model(inp, keras.layers.Dense(1, name="head")(rnn(inp)))
    model.compile(keras.optimizers.SGD(lr), "mse")
    return model, rnn


def autodiff_grads(model, x, y):
    """d mean((model(x) - y)^2) / d trainable variables, with the backend's own autodiff,
    written here without the package's helpers."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, [v.value for v in model.trainable_variables])
        return [tf.convert_to_tensor(g).numpy() for g in grads]  # embeddings: IndexedSlices
    if BACKEND == "torch":
        import torch

        loss = torch.mean(torch.square(model(x) - torch.as_tensor(y)))
        grads = torch.autograd.grad(loss, [v.value for v in model.trainable_variables])
        return [g.detach().numpy() for g in grads]
    import jax
    import jax.numpy as jnp

    non_trainable = [v.value for v in model.non_trainable_variables]

    def loss_fn(values):
        y_pred, _ = model.stateless_call(values, non_trainable, x)
        return jnp.mean(jnp.square(y_pred - y))

    return [np.asarray(g) for g in jax.grad(loss_fn)([v.value for v in model.trainable_variables])]


def _rows(history, source="train"):
    out = {}
    for r in history:
        if r["source"] == source:
            out.setdefault(r["step"], {})[r["variable"]] = r["norm"]
    return out


def test_train_norms_equal_the_applied_gradients(tmp_path):
    """Replay SGD with independent autodiff: every sampled step's norms match (<= 1e-5)."""
    model, _ = _model(lr=0.1)
    x, y = _data()
    weights = [to_numpy(v).astype(np.float64) for v in model.trainable_variables]
    names = [v.path for v in model.trainable_variables]
    n_opt_vars = len(model.optimizer.variables)
    monitor = GradientNormMonitor(every=2, log_dir=str(tmp_path))
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[monitor])

    replay = keras.models.clone_model(model)
    replay.compile(keras.optimizers.SGD(0.1), "mse")
    expected = {}
    for step in range(1, 7):
        for v, w in zip(replay.trainable_variables, weights):
            v.assign(w.astype("float32"))
        batch = slice(4 * ((step - 1) % 3), 4 * ((step - 1) % 3) + 4)
        grads = [g.astype(np.float64) for g in autodiff_grads(replay, x[batch], y[batch])]
        if step % 2 == 0:
            norms = {n: np.linalg.norm(g) for n, g in zip(names, grads)}
            norms["global"] = np.sqrt(sum(np.sum(g ** 2) for g in grads))
            expected[step] = norms
        weights = [w - 0.1 * g for w, g in zip(weights, grads)]

    got = _rows(monitor.history)
    assert sorted(got) == [2, 4, 6]
    for step, norms in expected.items():
        assert sorted(got[step]) == sorted(norms)
        for name, value in norms.items():
            np.testing.assert_allclose(got[step][name], value, rtol=1e-5, atol=1e-7,
                                       err_msg=f"step {step} {name}")
    # The optimiser is restored: same variables, saves, and trains again without the monitor.
    assert len(model.optimizer.variables) == n_opt_vars
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    keras.saving.load_model(path)
    # Files: CSV + JSON rewritten atomically (no temporary left), PNG at the end.
    saved = json.load(open(tmp_path / "gradient_norms.json"))
    assert len(saved["rows"]) == len(monitor.history) and saved["meta"]["variables"] == names
    assert sorted(os.listdir(tmp_path)) == ["gradient_norms.csv", "gradient_norms.json",
                                            "gradient_norms.png", "m.keras"]


def test_sparse_embedding_gradients_and_mixed_float16():
    """An Embedding's gradient (IndexedSlices on TensorFlow) is densified before its norm;
    under mixed_float16 (a LossScaleOptimizer) the recorded norms are the unscaled ones."""
    tokens = np.random.default_rng(1).integers(0, 20, size=(8, T))
    y = np.random.default_rng(2).normal(size=(8, 1)).astype("float32")
    norms = {}
    for policy in ("float32", "mixed_float16"):
        keras.mixed_precision.set_dtype_policy(policy)
        keras.utils.set_random_seed(5)
        inp = keras.Input((T,), dtype="int32")
        h = layers.RNN(cells.RNNCell(H))(keras.layers.Embedding(20, D)(inp))
        model = keras.Model(inp, keras.layers.Dense(1, dtype="float32")(h))
        model.compile(keras.optimizers.SGD(0.1), "mse")
        if policy == "float32":
            expected = [np.linalg.norm(g) for g in autodiff_grads(model, tokens, y)]
        monitor = GradientNormMonitor(every=1)
        model.fit(tokens, y, batch_size=8, epochs=1, verbose=0, callbacks=[monitor])
        norms[policy] = [r["norm"] for r in monitor.history if r["variable"] != "global"]
    keras.mixed_precision.set_dtype_policy("float32")
    np.testing.assert_allclose(norms["float32"], expected, rtol=1e-5)
    np.testing.assert_allclose(norms["mixed_float16"], expected, rtol=2e-2)


def test_probe_gradients_and_hidden_gradients_match_numpy_bptt():
    model, rnn = _model()
    x, y = _data(5)
    w = [to_numpy(v) for v in (rnn.cell.kernel, rnn.cell.recurrent_kernel, rnn.cell.bias)]
    head = model.get_layer("head")
    loss_ref, grads_ref, hidden_ref = reference.rnn_dense_mse_gradients(
        x, y, w, to_numpy(head.kernel), to_numpy(head.bias))
    loss, grads, hidden = probe_gradients(model, x, y, hidden_layer=rnn)
    np.testing.assert_allclose(loss, loss_ref, rtol=1e-5)
    for v, g in zip(model.trainable_variables, grads.values()):
        key = ("dense_" if v.path.startswith("head") else "") + v.path.split("/")[-1]
        np.testing.assert_allclose(g, grads_ref[key], atol=1e-5, err_msg=v.path)
    np.testing.assert_allclose(hidden, hidden_ref, atol=1e-5)
    # Through fit: lr 0 keeps the weights, so every sample equals the reference.
    model.compile(keras.optimizers.SGD(0.0), "mse")
    monitor = HiddenGradientMonitor((x, y), every=1)
    model.fit(x, y, batch_size=5, epochs=2, verbose=0, callbacks=[monitor])
    expected = np.sqrt(np.sum(hidden_ref ** 2, axis=(0, 2)))
    np.testing.assert_allclose(HiddenGradientMonitor((x, y)).hidden_gradient_norms(model),
                               expected, rtol=1e-5)  # also outside fit
    for step in (1, 2):
        got = [r["norm"] for r in monitor.history if r["step"] == step]
        np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize("make_cell", [lambda: cells.URLSTMCell(H), lambda: cells.GRUCell(H),
                                       lambda: cells.ASRNNCell(H)])
def test_hidden_gradients_equal_a_hand_unrolled_loop(make_cell):
    """dL/dh_t from the layer's perturbation equals the gradient through the cell's own
    ``call`` unrolled by hand, with the perturbation added by hand (backend autodiff)."""
    model, rnn = _model(make_cell())
    x, y = _data(3)
    _, _, hidden = probe_gradients(model, x, y, hidden_layer=rnn)
    cell, head = rnn.cell, model.get_layer("head")

    def loss_of_deltas(delta):
        states = [keras.ops.zeros((3, H)) for _ in range(cell.num_states)]
        for t in range(T):
            h, states = cell(keras.ops.convert_to_tensor(x[:, t]), states)
            h = h + delta[:, t]
            states = [h, *list(states)[1:]]
        out = head(h)
        return keras.ops.mean(keras.ops.square(keras.ops.subtract(out, y)))

    from tests.conftest import gradient

    expected = gradient(loss_of_deltas, np.zeros((3, T, H), "float32"))
    np.testing.assert_allclose(hidden, expected, atol=1e-6)
    # A zero perturbation changes nothing; the layer forgets it after the block.
    with rnn.hidden_perturbation(keras.ops.zeros((3, T, H))):
        perturbed = to_numpy(model(x))
    np.testing.assert_allclose(perturbed, to_numpy(model(x)), atol=1e-6)
    assert rnn._hidden_delta is None


def test_probe_sources_and_tensorboard(tmp_path):
    model, _ = _model(cells.GRUCell(H))
    x, y = _data()
    probes = {"first": (x[:4], y[:4]), "last": (x[8:], y[8:])}
    monitor = GradientNormMonitor(every=3, probes=probes, train=False, log_dir=str(tmp_path),
                                  tensorboard=True)
    spectrum = SpectrumMonitor(every=3, log_dir=str(tmp_path), tensorboard=True)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
              callbacks=[monitor, spectrum])
    assert {r["source"] for r in monitor.history} == {"first", "last"}
    assert sorted({r["step"] for r in monitor.history}) == [3, 6]
    expected = autodiff_grads(model, x[8:], y[8:])
    got = _rows(monitor.history, "last")[6]
    for v, g in zip(model.trainable_variables, expected):
        np.testing.assert_allclose(got[v.path], np.linalg.norm(g), rtol=1e-5)
    events = os.listdir(tmp_path / "tensorboard")
    assert events and all(e.startswith("events.out.tfevents") for e in events)
    assert {"spectrum.csv", "spectrum.json", "spectrum.png"} <= set(os.listdir(tmp_path))


def test_resume_keeps_earlier_rows(tmp_path):
    model, _ = _model()
    x, y = _data()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0,
              callbacks=[GradientNormMonitor(every=1, log_dir=str(tmp_path))])
    resumed = GradientNormMonitor(every=1, log_dir=str(tmp_path))
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[resumed])
    assert sorted({r["step"] for r in resumed.history}) == [1, 2, 3, 4, 5, 6]


def test_bad_arguments_and_config():
    with pytest.raises(ValueError, match="`probes`"):
        GradientNormMonitor(probes=[1, 2])
    with pytest.raises(ValueError, match=r"probes\['a'\]"):
        GradientNormMonitor(probes={"a": np.zeros(3)})
    with pytest.raises(ValueError, match="Nothing to monitor"):
        GradientNormMonitor(train=False)
    with pytest.raises(ValueError, match="`every`"):
        HiddenGradientMonitor(every=0)
    with pytest.raises(ValueError, match="needs `log_dir`"):
        SpectrumMonitor(tensorboard=True)
    model, _ = _model()
    x, y = _data()
    with pytest.raises(ValueError, match="needs `probe="):
        model.fit(x, y, verbose=0, callbacks=[HiddenGradientMonitor()])
    inp = keras.Input((T, D))
    plain = keras.Model(inp, keras.layers.Dense(1)(keras.layers.RNN(cells.RNNCell(H))(inp)))
    plain.compile("sgd", "mse")
    with pytest.raises(ValueError, match="no keras_rnnzoo.layers.RNN"):
        plain.fit(x, y, verbose=0, callbacks=[HiddenGradientMonitor((x, y))])
    for monitor in (GradientNormMonitor(5, log_dir="runs/a", train=True),
                    HiddenGradientMonitor((x, y), every=2, layer="rnn"),
                    SpectrumMonitor(4, log_dir="runs/b", tensorboard=True, plots=False)):
        config = monitor.get_config()
        assert type(monitor).from_config(config).get_config() == config
        assert keras.saving.get_registered_object(
            f"keras_rnnzoo>{type(monitor).__name__}") is type(monitor)
