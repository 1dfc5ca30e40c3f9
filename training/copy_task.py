"""Copy (copying-memory) task: python training/copy_task.py --backend=torch

Trains one zoo cell (or a baseline) on fresh batches of the copy task and
leaves a preset in ``--output-dir`` (``from_preset(OUTPUT_DIR)`` loads it):
``config.json``, ``model.weights.h5``, ``metadata.json`` (recall accuracy on
fresh data, the command, the hyper-parameters), plus ``metrics.csv`` (Keras'
CSVLogger: one row per --log-every steps), ``loss.png`` (with the memoryless
baseline), ``command.txt`` and ``backup/`` (for --resume). Defaults are small
(delay 30, 600 steps of asRNN at H = 138: a few minutes on 2 CPU cores);
``--delay 100 --steps 1500`` is the CPU reproduction of benchmarks/results/.

Model: one-hot symbols (L + 2K steps of 10) -> RNN(--cell) -> Dense logits at
every step (9 classes, convention A: asRNN) or at the last K steps (10
classes, --loss last: convention C, Gu et al., baseline ln 8); read-out
weights He-normal (PyTorch's kaiming init of the papers' code). Per-cell
defaults (``keras_rnnzoo.presets.training_defaults("copy_memory", cell)``):
asrnn H 138, RMSprop alpha 0.9, lr 2e-4, A at 2e-5, clip 10 (dtriv K = M = 100);
exprnn / dtriv / scornn H 190, lr 2e-4 / 2e-5, no clip; lstm H 68 (forget
bias 1) and rnn H 64, RMSprop lr 1e-3, clip 1; the other cells H 128, Adam
lr 1e-3, clip 1 (Gu et al.).
"""

import argparse
import os

# Keras reads its backend when first imported: take --backend before that.
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "torch"))
os.environ["KERAS_BACKEND"] = _pre.parse_known_args()[0].backend

import keras  # noqa: E402

from keras_rnnzoo import metrics  # noqa: E402
from keras_rnnzoo import models  # noqa: E402
from keras_rnnzoo import tasks  # noqa: E402
from keras_rnnzoo.utils import runs  # noqa: E402


def parse_args(argv=None):
    parser = runs.training_parser(__doc__, cell="asrnn", steps=600)
    parser.add_argument("--delay", type=runs.positive_int, default=30,
                        help="L, blanks between data and marker")
    parser.add_argument("--recall", type=runs.positive_int, default=10,
                        help="K, symbols to remember")
    parser.add_argument("--loss", choices=("all", "last"), default="all",
                        help="'all': convention A (asRNN); 'last': convention C (Gu et al.)")
    return runs.parse_args(parser, "copy_memory", argv, output_name=lambda a: (
        f"copy_{a.cell}_L{a.delay}_{keras.backend.backend()}"))


def build_model(args):
    length = args.delay + 2 * args.recall
    backbone = models.RNNBackbone(runs.build_cell(args), input_dim=10, sequence_length=length)
    model = models.SequenceTagger(
        backbone, num_classes=9 if args.loss == "all" else 10,  # symbols 0-8; +1 blank (C)
        output_steps=args.recall if args.loss == "last" else None,
        kernel_initializer=keras.initializers.VarianceScaling(
            2.0, mode="fan_in", distribution="untruncated_normal", seed=args.seed),
        name=f"copy_{args.cell}")
    model.compile(runs.make_optimizer(args),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[metrics.RecallAccuracy(args.recall)])
    return model


def main(argv=None):
    args = parse_args(argv)
    runs.setup(args)
    baseline = tasks.copy_memory_baseline(args.delay, args.recall, args.loss)
    print(f"copy task, convention {'A' if args.loss == 'all' else 'C'}: L={args.delay} "
          f"K={args.recall} | cell={args.cell} H={args.hidden} | backend="
          f"{keras.backend.backend()} | memoryless baseline {baseline:.4f}")

    # Data: fresh batches; batch i of epoch e is drawn from (seed, e, i).
    def batches(start):
        return tasks.CopyMemoryBatches(args.batch_size, args.delay, args.recall, args.loss,
                                       steps_per_epoch=args.log_every, seed=args.seed,
                                       start_epoch=start, epochs=runs.epochs(args))

    start = runs.start_epoch(args)
    data = runs.shard(batches(start))  # --distribute on torch: this process's rows
    with runs.scope():  # --distribute on TensorFlow: the strategy's variables
        model = build_model(args)
    # One indexed stream of fresh batches for the whole run (shuffle=False: Keras'
    # shuffle draws from the global RNG, which a resumed run would restart).
    model.fit(data, epochs=runs.epochs(args), initial_epoch=start, steps_per_epoch=args.log_every,
              shuffle=False, verbose=runs.verbose(),
              callbacks=runs.callbacks(args, model, probe_batch=batches(0)[0]))

    evaluation = {"function": "evaluate_copy_memory",
                  "arguments": {"delay": args.delay, "recall": args.recall, "loss": args.loss}}
    test = models.evaluate_copy_memory(model, **evaluation["arguments"])
    runs.save_run(model, args, task="copy_memory", metrics={"test": test},
                  evaluation=evaluation,
                  data={"delay": args.delay, "recall": args.recall, "loss": args.loss,
                        "test": "fresh sequences, keras_rnnzoo.models.evaluate_copy_memory"},
                  description=f"{args.cell} H={args.hidden} on the copy task, delay "
                              f"{args.delay}, convention {'A' if args.loss == 'all' else 'C'}")
    runs.plot(args, "loss", baseline=baseline,
              title=f"copy task L={args.delay}: {args.cell} H={args.hidden} "
                    f"({keras.backend.backend()})")
    print(f"fresh data: loss {test['loss']:.4f} ({test['loss'] / baseline:.3f} x baseline), "
          f"recall accuracy {test['recall_accuracy']:.3f}")


if __name__ == "__main__":
    main()
