"""Adding task: python training/adding_task.py --backend=torch --cell urlstm

Trains one zoo cell (``--cell``, every zoo cell and baseline) with
``model.fit`` on fresh batches of the adding problem (Gu et al.'s generator:
two channels, value and indicator; target the sum of the two marked values;
MSE of the output at the last step; memoryless baseline 1/6). Writes
``metrics.csv`` (one row per --log-every steps), ``loss.png`` (with the
baseline), ``model.keras`` and ``command.txt`` into ``--output-dir``.

Defaults (targets.md, Gu et al. small configuration): N = 200, H = 64, Adam
lr 1e-3, global clip 1, batch 64, 2,000 steps. Orthogonal cells use RMSprop
with their papers' defaults (lr 2e-4, A at 2e-5, asRNN clip 10) unless
overridden.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training import _cells  # noqa: E402
from training import _common  # noqa: E402

BACKEND = _common.select_backend()

ORTHOGONAL_DEFAULTS = dict(lr=2e-4, recurrent_lr=2e-5, optimizer="rmsprop")


def parse_args(argv=None):
    p = _common.shared_parser(__doc__.splitlines()[0])
    _cells.add_cell_arguments(p, default="urlstm")
    p.set_defaults(steps=2000, batch_size=64, hidden=64)
    p.add_argument("--length", type=int, default=200, help="N, sequence length")
    args = p.parse_args(argv)
    _common.check_positive(p, args, ["hidden", "steps", "batch-size", "lr", "recurrent-lr",
                                     "log-every", "dtriv-k", "dtriv-m"])
    if args.length < 2:
        p.error(f"--length must be >= 2 (one marker in each half); got {args.length}")
    args.delta = _cells.parse_delta(p, args.delta)
    defaults = dict(lr=1e-3, clipnorm=1.0, optimizer="adam")
    if args.cell in _cells.ORTHOGONAL:
        defaults.update(ORTHOGONAL_DEFAULTS, clipnorm=10.0 if args.cell == "asrnn" else 0.0)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.output_dir is None:
        args.output_dir = os.path.join("runs", f"adding_{args.cell}_N{args.length}_{BACKEND}")
    return args


def build_model(args):
    import keras

    inputs = keras.Input((args.length, 2), name="value_and_marker")
    h = _cells.build_rnn(args)(inputs)
    out = keras.layers.Dense(1, name="readout", dtype="float32")(h)
    model = keras.Model(inputs, out, name=f"adding_{args.cell}")
    model.compile(_common.make_optimizer(args, _cells.lr_multipliers(args)), "mse")
    return model


def main(argv=None):
    args = parse_args(argv)
    from keras_rnnzoo import tasks

    baseline = tasks.adding_baseline()
    print(f"adding task: N={args.length} | cell={args.cell} H={args.hidden} | backend={BACKEND}"
          f" | memoryless baseline {baseline:.4f}")

    def make_data(start_epoch):
        return tasks.AddingBatches(args.batch_size, args.length, steps_per_epoch=args.log_every,
                                   seed=args.seed, start_epoch=start_epoch)

    _, last = _common.train(
        args, BACKEND, build_model, make_data, baseline=baseline,
        title=f"adding task N={args.length}: {args.cell} H={args.hidden} ({BACKEND})",
        extra_callbacks=lambda model: _cells.cell_callbacks(args, model))
    print(f"final: MSE {float(last['loss']):.4f} ({float(last['loss']) / baseline:.3f} x baseline)")


if __name__ == "__main__":
    main()
