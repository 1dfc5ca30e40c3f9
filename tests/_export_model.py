"""Run under another backend: build every zoo cell with fixed weights, save, record outputs.

python -m tests._export_model OUT_DIR   (KERAS_BACKEND chooses the backend)
"""

import os
import sys

import keras
import numpy as np

from tests._cells import CASES, fixed_weights


def build(cls, kwargs):
    inp = keras.Input((7, 3))
    h = keras.layers.RNN(cls(6, **kwargs), return_sequences=True)(inp)
    return keras.Model(inp, keras.layers.Dense(4)(h))


def main(out_dir):
    x = np.random.default_rng(42).normal(size=(4, 7, 3)).astype("float32")
    np.save(os.path.join(out_dir, "x.npy"), x)
    for i, (name, cls, kwargs) in enumerate(CASES):
        model = build(cls, kwargs)
        fixed_weights(model.layers[1].cell, seed=i)
        model.save(os.path.join(out_dir, f"{name}.keras"))
        model.save_weights(os.path.join(out_dir, f"{name}.weights.h5"))
        np.save(os.path.join(out_dir, f"{name}.npy"), keras.ops.convert_to_numpy(model(x)))


if __name__ == "__main__":
    main(sys.argv[1])
