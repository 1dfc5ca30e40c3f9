"""Sequential CIFAR-10: python training/seq_cifar.py --data-dir DIR

Trains one zoo cell (or a baseline) to classify CIFAR-10 images read one
pixel per step (Gu et al.): 1024 steps, row-major, each the RGB triple of a
pixel, uint8 / 255 (the paper's input normalisation is not available: [0, 1]
is this project's choice). Model: RNN(--cell) -> Dense(10) logits of the
last step (read-out He-normal, zero bias); loss cross-entropy, metric
accuracy.

Data: ``keras_rnnzoo.datasets.cifar.load_seq_cifar10`` from --data-dir
(default: the environment variable RNNZOO_DATA_DIR). No package registry
provides CIFAR-10: download the python version (cifar-10-python.tar.gz)
from https://www.cs.toronto.edu/~kriz/cifar.html and extract it into the
data directory (DATA_DIR/cifar-10-batches-py/), or prepare a TFDS cifar10
there online. Nothing is downloaded here.

Splits: --validation-size images (default 5,000) are carved from the 50,000
training images with a fixed seed (``runs.IMAGE_SPLIT_SEED``, the same for every --seed
and cell), --train-size (default: all the remaining 45,000) are taken from
the rest, disjoint; --test-size (default all 10,000) keeps the first test
images. The checkpoint of best validation accuracy (``best.weights.h5``, one
candidate per --log-every steps, by default one pass) is tested; the test
accuracy of the final weights is recorded too (``final_accuracy``).
--validation-size 0: no selection, the final weights are tested.

Leaves a preset in --output-dir, as training/pixel_mnist.py: ``config.json``,
``model.weights.h5`` (the best-validation weights), ``metadata.json``,
``metrics.csv``, ``best.weights.h5``, ``loss.png``, ``accuracy.png``,
``command.txt`` and ``backup/`` (for --resume).

Per-cell defaults (``keras_rnnzoo.presets.training_defaults("seq_cifar",
cell)``): Gu et al.'s Adam lr 1e-3, clip 1 for the gated cells and the
baselines, H 128; no sCIFAR-10 settings are published for the orthogonal
cells, which take their pMNIST ones (asrnn H 122, RMSprop alpha 0.99, lr
1e-3, clip 10, static exprnn mode, eps 0.01, a = b = 0.02; exprnn / dtriv /
scornn H 170, alpha 0.9, lr 1e-3, no clip; Cayley init, A at lr / 10).
Batch 64 and 100 passes (--passes, when --steps is not given): Gu et al.'s
"Adam, learning rate 0.001, batch size 64, 100 epochs", a sentence whose
section could not be identified (ur_gates.md 5).
On a CPU use e.g. ``--train-size 2000 --validation-size 500 --test-size 1000
--steps 300 --log-every 50``.
"""

import argparse
import os

# Keras reads its backend when first imported: take --backend before that.
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "torch"))
os.environ["KERAS_BACKEND"] = _pre.parse_known_args()[0].backend

import keras  # noqa: E402

from keras_rnnzoo import models  # noqa: E402
from keras_rnnzoo.datasets.batches import ArrayBatches  # noqa: E402
from keras_rnnzoo.datasets.cifar import load_seq_cifar10  # noqa: E402
from keras_rnnzoo.utils import runs  # noqa: E402

DEFAULT_PASSES = 100
CHANCE = 0.1


def parse_args(argv=None):
    parser = runs.training_parser(__doc__, cell="urlstm", steps=None, batch_size=64,
                                  log_every=None)
    parser.add_argument("--data-dir", default=None,
                        help="the data directory (DATA_DIR/cifar-10-batches-py/; default "
                             "$RNNZOO_DATA_DIR)")
    runs.image_classification_flags(parser, 50000, DEFAULT_PASSES)
    args = runs.parse_args(parser, "seq_cifar", argv, output_name=lambda a: (
        f"scifar_{a.cell}_{keras.backend.backend()}"))
    if args.data_dir is None:
        args.data_dir = os.environ.get("RNNZOO_DATA_DIR") or None
    return args


def load(args):
    """(train, valid, test) pairs; --steps (default --passes passes) and
    --log-every (default one pass) follow from the training subset."""
    try:
        train, test = load_seq_cifar10(args.data_dir)
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    return runs.image_splits(args, train, test)


def build_model(args):
    backbone = models.RNNBackbone(runs.build_cell(args), input_dim=3, sequence_length=1024)
    model = models.SequenceClassifier(
        backbone, num_classes=10,
        kernel_initializer=keras.initializers.VarianceScaling(
            2.0, mode="fan_in", distribution="untruncated_normal", seed=args.seed),
        name=f"scifar_{args.cell}")
    model.compile(runs.make_optimizer(args),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


def evaluate(model, data, batch_size):
    """{"accuracy", "loss"} of ``model`` on the pair ``data``."""
    return models.evaluate_classifier(model, *data, batch_size=batch_size)


def main(argv=None):
    args = parse_args(argv)
    train, valid, test = load(args)
    runs.setup(args)
    print(f"sequential CIFAR-10: {len(train[0])} training / {len(valid[0])} validation / "
          f"{len(test[0])} test images | cell={args.cell} H={args.hidden} | {args.optimizer} "
          f"lr={args.lr} clip={args.clipnorm} batch={args.batch_size} steps={args.steps} | "
          f"backend={keras.backend.backend()} | chance {CHANCE:.0%}")

    start = runs.start_epoch(args)
    data = runs.shard(ArrayBatches(train, args.batch_size, seed=args.seed,  # torch: this
                                   steps_per_epoch=args.log_every,  # process's rows
                                   start_epoch=start, epochs=runs.epochs(args)))
    with runs.scope():  # --distribute on TensorFlow: the strategy's variables
        model = build_model(args)
    callbacks = runs.callbacks(args, model, probe_batch=ArrayBatches(
        train, args.batch_size, seed=args.seed)[0])
    selecting = len(valid[0]) > 0
    if selecting:
        best = runs.best_checkpoint(args, "val_accuracy", "max")
        callbacks.append(best)
    # One indexed stream of batches for the whole run (shuffle=False: Keras'
    # shuffle draws from the global RNG, which a resumed run would restart).
    model.fit(data, epochs=runs.epochs(args), initial_epoch=start, steps_per_epoch=args.log_every,
              shuffle=False, verbose=runs.verbose(),
              validation_data=valid if selecting else None,
              validation_batch_size=args.batch_size, callbacks=callbacks)

    # the test accuracy of the best-validation weights, and of the final ones
    metrics = runs.selected_metrics(model, args, best if selecting else None,
                                    lambda m, d: evaluate(m, d, args.batch_size), test)
    final = {"accuracy": metrics["test"]["final_accuracy"]}
    runs.save_run(model, args, task="seq_cifar", metrics=metrics, evaluation={
        "function": "evaluate_classifier",
        "arguments": {"dataset": "cifar10", "test_size": len(test[0])}}, data={
        "dataset": "cifar10", "pixels": "1024 steps of RGB uint8 / 255, row-major",
        "train_size": len(train[0]), "validation_size": len(valid[0]),
        "test_size": len(test[0]), "split_seed": runs.IMAGE_SPLIT_SEED,
        "selection": "the weights of best validation accuracy" if selecting else
                     "the final weights",
        "files": "the CIFAR-10 python batches of --data-dir (user-supplied)"},
        description=f"{args.cell} H={args.hidden} on sequential CIFAR-10")
    title = f"sCIFAR-10: {args.cell} H={args.hidden} ({keras.backend.backend()})"
    runs.plot(args, "loss", title=f"{title}, training loss", log_y=False)
    if selecting:
        runs.plot(args, "val_accuracy", baseline=CHANCE, log_y=False, png_name="accuracy.png",
                  title=f"{title}, validation accuracy")
        print(f"best validation accuracy {metrics['valid']['accuracy']:.4f}: test accuracy "
              f"{metrics['test']['accuracy']:.4f} (final weights: {final['accuracy']:.4f})")
    else:
        print(f"test accuracy of the final weights {final['accuracy']:.4f}")


if __name__ == "__main__":
    main()
