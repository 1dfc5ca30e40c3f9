"""Copy (copying-memory) task: python training/copy_task.py --backend=torch

Trains one zoo cell (or a baseline) with ``model.fit`` on fresh batches and
writes into ``--output-dir``: ``metrics.csv`` (one row per --log-every
steps), ``loss.png`` (with the memoryless baseline), ``model.keras`` and
``command.txt``. Defaults are small (delay 30, 600 steps of asRNN at its
default H = 138: a few minutes on 2 CPU cores); ``--delay 100 --steps 1500``
is the CPU reproduction of benchmarks/results/.

Per-cell defaults (asrnn.md §6; override with the flags):
  asrnn   ASRNNCell(mode=dtriv, K=100, M=100), H 138, RMSprop a=0.9, lr 2e-4, A at 2e-5, clip 10
  exprnn  OrthogonalRNNCell(mode=exprnn), H 190, lr 2e-4 / 2e-5, no clip
  dtriv   OrthogonalRNNCell(mode=dtriv),  H 190, lr 2e-4 / 2e-5, no clip
  scornn  OrthogonalRNNCell(mode=cayley), H 190, lr 2e-4 / 2e-5, no clip
  lstm    keras LSTMCell, PyTorch init, forget bias 1, H 68, RMSprop a=0.9, lr 1e-3, clip 1
  rnn     keras SimpleRNNCell (Glorot / orthogonal / zero bias), H 64, RMSprop lr 1e-3, clip 1
  others  (UR-LSTM family, UR-GRU, GRUs, stable cells) H 128, Adam lr 1e-3, clip 1 (Gu et al.)

Gu et al.'s setting is convention C: --loss last (cross-entropy on the last K
outputs only, baseline ln 8).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training import _cells  # noqa: E402
from training import _common  # noqa: E402

BACKEND = _common.select_backend()

CELL_DEFAULTS = {
    "asrnn": dict(hidden=138, lr=2e-4, recurrent_lr=2e-5, clipnorm=10.0, optimizer="rmsprop"),
    "exprnn": dict(hidden=190, lr=2e-4, recurrent_lr=2e-5, clipnorm=0.0, optimizer="rmsprop"),
    "dtriv": dict(hidden=190, lr=2e-4, recurrent_lr=2e-5, clipnorm=0.0, optimizer="rmsprop"),
    "scornn": dict(hidden=190, lr=2e-4, recurrent_lr=2e-5, clipnorm=0.0, optimizer="rmsprop"),
    "lstm": dict(hidden=68, lr=1e-3, clipnorm=1.0, optimizer="rmsprop"),
    "rnn": dict(hidden=64, lr=1e-3, clipnorm=1.0, optimizer="rmsprop"),
}
OTHER_DEFAULTS = dict(hidden=128, lr=1e-3, clipnorm=1.0, optimizer="adam")


def parse_args(argv=None):
    p = _common.shared_parser(__doc__.splitlines()[0])
    _cells.add_cell_arguments(p, default="asrnn")
    p.set_defaults(steps=600)
    p.add_argument("--delay", type=int, default=30, help="L, blanks between data and marker")
    p.add_argument("--recall", type=int, default=10, help="K, symbols to remember")
    p.add_argument("--loss", choices=("all", "last"), default="all",
                   help="'all': convention A (asRNN); 'last': convention C (Gu et al.)")
    args = p.parse_args(argv)
    _common.check_positive(p, args, ["hidden", "steps", "batch-size", "lr", "delay", "recall",
                                     "recurrent-lr", "log-every", "dtriv-k", "dtriv-m"])
    args.delta = _cells.parse_delta(p, args.delta)
    for key, value in CELL_DEFAULTS.get(args.cell, OTHER_DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.output_dir is None:
        args.output_dir = os.path.join("runs", f"copy_{args.cell}_L{args.delay}_{BACKEND}")
    return args


def build_model(args):
    import keras

    from keras_rnnzoo import tasks
    from keras_rnnzoo.tasks.copy_memory import num_classes

    length = args.delay + 2 * args.recall
    inputs = keras.Input((length, 10), name="symbols")
    h = _cells.build_rnn(args, return_sequences=True)(inputs)
    if args.loss == "last":
        h = keras.layers.Cropping1D((length - args.recall, 0), name="last_k")(h)
    logits = keras.layers.Dense(
        num_classes(args.loss), name="readout", dtype="float32",
        kernel_initializer=keras.initializers.VarianceScaling(
            2.0, mode="fan_in", distribution="untruncated_normal", seed=args.seed))(h)
    model = keras.Model(inputs, logits, name=f"copy_{args.cell}")
    model.compile(_common.make_optimizer(args, _cells.lr_multipliers(args)),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[tasks.RecallAccuracy(args.recall)])
    return model


def main(argv=None):
    args = parse_args(argv)
    from keras_rnnzoo import tasks

    baseline = tasks.copy_memory_baseline(args.delay, args.recall, args.loss)
    print(f"copy task, convention {'A' if args.loss == 'all' else 'C'}: L={args.delay} K={args.recall}"
          f" | cell={args.cell} H={args.hidden} | backend={BACKEND} | memoryless baseline {baseline:.4f}")

    def make_data(start_epoch):
        return tasks.CopyMemoryBatches(args.batch_size, args.delay, args.recall, args.loss,
                                       steps_per_epoch=args.log_every, seed=args.seed,
                                       start_epoch=start_epoch)

    _, last = _common.train(
        args, BACKEND, build_model, make_data, baseline=baseline,
        title=f"copy task L={args.delay}: {args.cell} H={args.hidden} ({BACKEND})",
        extra_callbacks=lambda model: _cells.cell_callbacks(args, model))
    print(f"final: loss {float(last['loss']):.4f} ({float(last['loss']) / baseline:.3f} x baseline), "
          f"recall accuracy {float(last['recall_accuracy']):.3f}")


if __name__ == "__main__":
    main()
