"""Train tiny copy-task models on one replica with batch 2B, then data parallel
on 2 replicas (batch B each, the same global batches), and save both runs'
losses, weights and monitor rows (tests/test_distribution.py).

    KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=2 \
        python tests/_distributed_run.py OUT.npz asrnn stable_lstm spectral_gru
    KERAS_BACKEND=tensorflow python tests/_distributed_run.py OUT.npz ...
    KERAS_BACKEND=torch torchrun --nproc-per-node 2 tests/_distributed_run.py OUT.npz ...

Every run: the zoo's RMSprop with the learning-rate multiplier of W_hh's free
parameter and a global clip (active: the gradients' norms are above it),
GradientNormMonitor and SpectrumMonitor on every
step, DtrivRetraction every 2 steps for asRNN in dtriv mode.
"""

import os
import sys

import keras
import numpy as np

from keras_rnnzoo import callbacks as zoo_callbacks
from keras_rnnzoo import cells
from keras_rnnzoo import models
from keras_rnnzoo import optimizers
from keras_rnnzoo import tasks
from keras_rnnzoo.utils import distribution

GLOBAL_BATCH, STEPS, DELAY, RECALL = 8, 4, 3, 2


def train(name, replicas):
    keras.utils.set_random_seed(7)
    with replicas.scope():
        # asRNN: s ~ U(0.5, 1.5), so that U_f matters (at s = 0, D = eps and the
        # loss hardly depends on U_f: RMSprop then amplifies rounding noise).
        cell = cells.get_cell(name, 6, seed=3, asrnn_mode="dtriv", saturation_range=(0.5, 1.5))
        backbone = models.RNNBackbone(cell, input_dim=10, sequence_length=DELAY + 2 * RECALL)
        model = models.SequenceTagger(backbone, num_classes=9)
        model.compile(optimizers.RMSprop(1e-2, lr_multipliers={"recurrent_kernel": 0.1},
                                         global_clipnorm=0.5),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    replicas.prepare(model)
    data = replicas.shard_batches(tasks.CopyMemoryBatches(
        GLOBAL_BATCH, DELAY, RECALL, steps_per_epoch=1, seed=11, epochs=STEPS))
    gradients = zoo_callbacks.GradientNormMonitor(1)
    spectrum = zoo_callbacks.SpectrumMonitor(1)
    cbs = replicas.callbacks() + [gradients, spectrum]
    if name == "asrnn":
        cbs.append(zoo_callbacks.DtrivRetraction(every=2, reproject_every=1))
    history = model.fit(data, epochs=STEPS, steps_per_epoch=1, shuffle=False, verbose=0,
                        callbacks=cbs)
    out = {"loss": np.asarray(history.history["loss"])}
    for i, w in enumerate(model.weights):  # by position: layer names are auto-numbered
        out[f"w{i}:{w.name}"] = np.asarray(keras.ops.convert_to_numpy(w))
    out["gradient_norms"] = np.asarray([r["norm"] for r in gradients.history])
    out["spectrum"] = np.asarray([[r["sigma_max"], r["sigma_min"]] for r in spectrum.history])
    return out


def main(path, names):
    backend = keras.backend.backend()
    # TensorFlow: the logical devices exist before the runtime starts (the reference
    # runs on the default strategy); JAX, torch: the reference runs first.
    parallel = distribution.data_parallel(2) if backend == "tensorflow" else None
    results = {}
    for name in names:
        for key, value in train(name, distribution.single()).items():
            results[f"{name}/one/{key}"] = value
    if parallel is None:
        parallel = distribution.data_parallel(2)
    assert parallel.num_replicas == 2, parallel.describe()
    for name in names:
        for key, value in train(name, parallel).items():
            results[f"{name}/two/{key}"] = value
    if parallel.is_chief:
        tmp = path + ".tmp.npz"
        np.savez(tmp, **results)
        os.replace(tmp, path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
