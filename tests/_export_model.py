"""Run under another backend: build every test-table model with fixed weights, save, record outputs.

python -m tests._export_model OUT_DIR   (KERAS_BACKEND chooses the backend)

For every entry of ``MODELS`` it writes, in OUT_DIR:

* ``NAME.keras``       -- ``model.save``
* ``NAME.weights.h5``  -- ``model.save_weights``
* ``NAME.npy``         -- ``model(x)`` on the writing backend
* ``NAME.vars.npz``    -- every variable's value, in ``model.weights`` order

plus ``x.npy`` (the shared input) and ``manifest.json`` (per model, the
variable names -- last path component -- and shapes in ``model.weights``
order), so the reader can check that weight names match across backends.
"""

import json
import os
import sys

import keras
import numpy as np

from tests._cells import ALL_CASES, fixed_weights

UNITS, STEPS, FEATURES = 6, 7, 3

# A few table cases also wrapped in keras_rnnzoo.layers.RNN (the fast-path
# layer) instead of keras.layers.RNN: (case id, RNN keyword arguments).
ZOO_RNN = [
    ("urlstm", dict()),
    ("asrnn-cayley", dict(hoist_inputs=True)),
    ("gru", dict()),
    ("orth-dtriv", dict(go_backwards=True)),
]
_BY_ID = {c[0]: c for c in ALL_CASES}

# (model name, cell class, cell kwargs, wrapper, wrapper kwargs, seed):
# every case of the test table in keras.layers.RNN, plus ZOO_RNN.
MODELS = [(name, cls, kwargs, "keras", {}, i) for i, (name, cls, kwargs) in enumerate(ALL_CASES)]
MODELS += [(f"{name}@zoo-rnn", _BY_ID[name][1], _BY_ID[name][2], "zoo", rnn_kwargs,
            len(ALL_CASES) + j)
           for j, (name, rnn_kwargs) in enumerate(ZOO_RNN)]
MODEL_IDS = [m[0] for m in MODELS]


def build(cls, kwargs, wrapper="keras", rnn_kwargs=None):
    """Input(7, 3) -> RNN(cls(6, **kwargs), return_sequences) -> Dense(4)."""
    if wrapper == "keras":
        rnn = keras.layers.RNN
    else:
        from keras_rnnzoo.layers import RNN as rnn
    inp = keras.Input((STEPS, FEATURES))
    h = rnn(cls(UNITS, **kwargs), return_sequences=True, **(rnn_kwargs or {}))(inp)
    return keras.Model(inp, keras.layers.Dense(4)(h))


def build_model(spec):
    _, cls, kwargs, wrapper, rnn_kwargs, _ = spec
    return build(cls, kwargs, wrapper, rnn_kwargs)


def describe(model):
    """[(variable name, shape)] in model.weights order."""
    return [[v.path.split("/")[-1], list(v.shape)] for v in model.weights]


def inputs():
    return np.random.default_rng(42).normal(size=(4, STEPS, FEATURES)).astype("float32")


def preset_models():
    """{name: (task model, input)}: task models of keras_rnnzoo.models, saved as presets."""
    from keras_rnnzoo import cells, models

    keras.utils.set_random_seed(7)
    tagger = models.SequenceTagger(
        models.RNNBackbone(cells.ASRNNCell(UNITS, mode="dtriv"), input_dim=FEATURES),
        num_classes=5, output_steps=3)
    lm = models.LanguageModel(models.RNNBackbone(
        [cells.URLSTMCell(UNITS), cells.GRUCell(4)], num_layers=2, vocabulary_size=11,
        positional_encoding="sinusoidal", embedding_dim=4, dropout=0.1))
    tokens = np.random.default_rng(3).integers(0, 11, size=(4, STEPS)).astype("int32")
    return {"preset_tagger": (tagger, inputs()), "preset_lm": (lm, tokens)}


def main(out_dir):
    if keras.backend.backend() == "torch":
        import torch

        torch.set_num_threads(1)
    x = inputs()
    np.save(os.path.join(out_dir, "x.npy"), x)
    manifest = {}
    for spec in MODELS:
        name, seed = spec[0], spec[5]
        model = build_model(spec)
        fixed_weights(model.layers[1].cell, seed=seed)
        model.save(os.path.join(out_dir, f"{name}.keras"))
        model.save_weights(os.path.join(out_dir, f"{name}.weights.h5"))
        np.save(os.path.join(out_dir, f"{name}.npy"), keras.ops.convert_to_numpy(model(x)))
        np.savez(os.path.join(out_dir, f"{name}.vars.npz"),
                 *[keras.ops.convert_to_numpy(v) for v in model.weights])
        manifest[name] = describe(model)
    from keras_rnnzoo import presets

    for name, (model, x_in) in preset_models().items():
        model(x_in)
        for v in model.trainable_weights:  # away from the initialisers' values
            noise = np.random.default_rng(len(v.path)).normal(0, 0.1, v.shape)
            # asRNN's s away from 0: W_f = U_f diag(|s| + eps) stays well conditioned
            v.assign(1.0 + noise if v.path.endswith("saturation_scale") else v + noise)
        presets.save_to_preset(model, os.path.join(out_dir, name))
        np.save(os.path.join(out_dir, f"{name}.x.npy"), x_in)
        np.save(os.path.join(out_dir, f"{name}.npy"), keras.ops.convert_to_numpy(model(x_in)))
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"backend": keras.backend.backend(), "models": manifest}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
