"""Adding task: python training/adding_task.py --backend=torch --cell urlstm

Trains one zoo cell (``--cell``, every zoo cell and baseline) on fresh batches
of the adding problem (Gu et al.'s generator: two channels, value and
indicator; target the sum of the two marked values; MSE of the output at the
last step; memoryless baseline 1/6) and leaves a preset in ``--output-dir``
(``config.json``, ``model.weights.h5``, ``metadata.json`` with the MSE on
fresh data), plus ``metrics.csv``, ``loss.png`` (with the baseline),
``command.txt`` and ``backup/`` (for --resume).

Defaults (targets.md, Gu et al. small configuration): N = 200, H = 64, Adam
lr 1e-3, global clip 1, batch 64, 2,000 steps. Orthogonal cells use RMSprop
with their papers' defaults (lr 2e-4, A at 2e-5, asRNN clip 10) unless
overridden (``keras_rnnzoo.presets.training_defaults("adding", cell)``).
"""

import argparse
import os

# Keras reads its backend when first imported: take --backend before that.
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "torch"))
os.environ["KERAS_BACKEND"] = _pre.parse_known_args()[0].backend

import keras  # noqa: E402

from keras_rnnzoo import models  # noqa: E402
from keras_rnnzoo import tasks  # noqa: E402
from keras_rnnzoo.utils import runs  # noqa: E402


def parse_args(argv=None):
    parser = runs.training_parser(__doc__, cell="urlstm", steps=2000, hidden=64, batch_size=64)
    parser.add_argument("--length", type=runs.number(int, 2, strict=False), default=200,
                        help="N, sequence length (>= 2: one marker in each half)")
    return runs.parse_args(parser, "adding", argv, output_name=lambda a: (
        f"adding_{a.cell}_N{a.length}_{keras.backend.backend()}"))


def build_model(args):
    backbone = models.RNNBackbone(runs.build_cell(args), input_dim=2,
                                  sequence_length=args.length)
    model = models.SequenceRegressor(backbone, name=f"adding_{args.cell}")
    model.compile(runs.make_optimizer(args), "mse", metrics=None)
    return model


def main(argv=None):
    args = parse_args(argv)
    runs.setup(args)
    baseline = tasks.adding_baseline()
    print(f"adding task: N={args.length} | cell={args.cell} H={args.hidden} | "
          f"backend={keras.backend.backend()} | memoryless baseline {baseline:.4f}")

    def batches(start):
        return tasks.AddingBatches(args.batch_size, args.length, steps_per_epoch=args.log_every,
                                   seed=args.seed, start_epoch=start, epochs=runs.epochs(args))

    start = runs.start_epoch(args)
    data = runs.shard(batches(start))  # --distribute on torch: this process's rows
    with runs.scope():  # --distribute on TensorFlow: the strategy's variables
        model = build_model(args)
    # One indexed stream of fresh batches for the whole run (shuffle=False: Keras'
    # shuffle draws from the global RNG, which a resumed run would restart).
    model.fit(data, epochs=runs.epochs(args), initial_epoch=start, steps_per_epoch=args.log_every,
              shuffle=False, verbose=runs.verbose(),
              callbacks=runs.callbacks(args, model, probe_batch=batches(0)[0]))

    evaluation = {"function": "evaluate_adding", "arguments": {"length": args.length}}
    test = models.evaluate_adding(model, **evaluation["arguments"])
    runs.save_run(model, args, task="adding", metrics={"test": test}, evaluation=evaluation,
                  data={"length": args.length,
                        "test": "fresh sequences, keras_rnnzoo.models.evaluate_adding"},
                  description=f"{args.cell} H={args.hidden} on the adding problem, "
                              f"N={args.length}")
    runs.plot(args, "loss", baseline=baseline,
              title=f"adding task N={args.length}: {args.cell} H={args.hidden} "
                    f"({keras.backend.backend()})")
    print(f"fresh data: MSE {test['mse']:.4f} ({test['mse'] / baseline:.3f} x baseline)")


if __name__ == "__main__":
    main()
