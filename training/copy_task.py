"""Copy (copying-memory) task: python training/copy_task.py --backend=torch

Trains one zoo cell (or a baseline) with ``model.fit`` on fresh batches and
writes into ``--output-dir``: ``metrics.csv`` (one row per --log-every
steps), ``loss.png`` (with the memoryless baseline), ``model.keras`` and
``command.txt``. Defaults are small (delay 30, 600 steps of asRNN H = 64:
a few minutes on 2 CPU cores); ``--delay 100 --hidden 138 --steps 1500`` is
the CPU reproduction of benchmarks/results/.

Per-cell defaults (asrnn.md §6; override with the flags):
  asrnn   ASRNNCell(mode=dtriv, K=100, M=100), H 138, RMSprop a=0.9, lr 2e-4, A at 2e-5, clip 10
  exprnn  OrthogonalRNNCell(mode=exprnn), H 190, lr 2e-4 / 2e-5, no clip
  dtriv   OrthogonalRNNCell(mode=dtriv),  H 190, lr 2e-4 / 2e-5, no clip
  scornn  OrthogonalRNNCell(mode=cayley), H 190, lr 2e-4 / 2e-5, no clip
  lstm    keras LSTMCell, PyTorch init, forget bias 1, H 68, RMSprop a=0.9, lr 1e-3, clip 1
  rnn     keras SimpleRNNCell (Glorot / orthogonal / zero bias), H 64, RMSprop lr 1e-3, clip 1
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training import _common  # noqa: E402

BACKEND = _common.select_backend()

CELL_DEFAULTS = {
    "asrnn": dict(hidden=138, lr=2e-4, recurrent_lr=2e-5, clipnorm=10.0),
    "exprnn": dict(hidden=190, lr=2e-4, recurrent_lr=2e-5, clipnorm=0.0),
    "dtriv": dict(hidden=190, lr=2e-4, recurrent_lr=2e-5, clipnorm=0.0),
    "scornn": dict(hidden=190, lr=2e-4, recurrent_lr=2e-5, clipnorm=0.0),
    "lstm": dict(hidden=68, lr=1e-3, recurrent_lr=None, clipnorm=1.0),
    "rnn": dict(hidden=64, lr=1e-3, recurrent_lr=None, clipnorm=1.0),
}
ORTHOGONAL = ("asrnn", "exprnn", "dtriv", "scornn")


def parse_args(argv=None):
    p = _common.shared_parser(__doc__.splitlines()[0])
    p.set_defaults(cell="asrnn", steps=600, hidden=None)
    p.add_argument("--delay", type=int, default=30, help="L, blanks between data and marker")
    p.add_argument("--recall", type=int, default=10, help="K, symbols to remember")
    p.add_argument("--loss", choices=("all", "last"), default="all",
                   help="'all': convention A (asRNN); 'last': convention C (Gu et al.)")
    p.add_argument("--recurrent-lr", type=float, default=None,
                   help="learning rate of the orthogonal free parameter A (default: per cell)")
    p.add_argument("--rmsprop-rho", type=float, default=0.9, help="RMSprop alpha")
    p.add_argument("--asrnn-mode", choices=("exprnn", "dtriv", "cayley"), default="dtriv")
    p.add_argument("--dtriv-k", type=int, default=100, help="K: steps between chart changes")
    p.add_argument("--dtriv-m", type=int, default=100, help="M: chart changes between re-projections")
    p.add_argument("--epsilon", type=float, default=1e-5, help="asRNN eps")
    args = p.parse_args(argv)
    if args.cell not in CELL_DEFAULTS:
        p.error(f"--cell must be one of {', '.join(CELL_DEFAULTS)}; got {args.cell!r}")
    _common.check_positive(p, args, ["hidden", "steps", "batch-size", "lr", "delay", "recall",
                                     "recurrent-lr", "log-every", "dtriv-k", "dtriv-m"])
    for key, value in CELL_DEFAULTS[args.cell].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.output_dir is None:
        args.output_dir = os.path.join("runs", f"copy_{args.cell}_L{args.delay}_{BACKEND}")
    return args


def build_cell(args):
    import keras

    from keras_rnnzoo import cells, initializers

    if args.cell == "asrnn":
        return cells.ASRNNCell(args.hidden, mode=args.asrnn_mode, epsilon=args.epsilon,
                               recurrent_initializer=initializers.Henaff(seed=args.seed))
    if args.cell in ("exprnn", "dtriv", "scornn"):
        mode = {"exprnn": "exprnn", "dtriv": "dtriv", "scornn": "cayley"}[args.cell]
        return cells.OrthogonalRNNCell(args.hidden, mode=mode,
                                       recurrent_initializer=initializers.Henaff(seed=args.seed))
    if args.cell == "lstm":
        init = initializers.TorchUniform(fan=args.hidden, seed=args.seed)
        return keras.layers.LSTMCell(
            args.hidden, kernel_initializer=init, recurrent_initializer=init,
            unit_forget_bias=True,
            bias_initializer=initializers.TorchUniform(fan=args.hidden, terms=2, seed=args.seed))
    return keras.layers.SimpleRNNCell(args.hidden)


def build_model(args):
    import keras

    from keras_rnnzoo import optimizers, tasks
    from keras_rnnzoo.tasks.copy_memory import num_classes

    length = args.delay + 2 * args.recall
    inputs = keras.Input((length, 10), name="symbols")
    h = keras.layers.RNN(build_cell(args), return_sequences=True, name="rnn")(inputs)
    if args.loss == "last":
        h = keras.layers.Cropping1D((length - args.recall, 0), name="last_k")(h)
    logits = keras.layers.Dense(
        num_classes(args.loss), name="readout", dtype="float32",
        kernel_initializer=keras.initializers.VarianceScaling(
            2.0, mode="fan_in", distribution="untruncated_normal", seed=args.seed))(h)
    model = keras.Model(inputs, logits, name=f"copy_{args.cell}")
    clip = {"global_clipnorm": args.clipnorm} if args.clipnorm and args.clipnorm > 0 else {}
    multipliers = ({"recurrent_kernel": args.recurrent_lr / args.lr}
                   if args.cell in ORTHOGONAL else None)
    optimizer = optimizers.RMSprop(args.lr, rho=args.rmsprop_rho, lr_multipliers=multipliers, **clip)
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[tasks.RecallAccuracy(args.recall)])
    return model


def main(argv=None):
    args = parse_args(argv)
    import keras

    import keras_rnnzoo  # noqa: F401  (registers the serialisable classes)
    from keras_rnnzoo import callbacks, tasks

    _common.set_threads(BACKEND, args.threads)
    _common.set_precision(args.mixed_precision)
    keras.utils.set_random_seed(args.seed)
    os.makedirs(args.output_dir, exist_ok=True)
    model_path = os.path.join(args.output_dir, "model.keras")
    metrics_path = os.path.join(args.output_dir, "metrics.csv")

    start_step = 0
    if args.resume:
        if not os.path.exists(model_path):
            sys.exit(f"--resume: no {model_path} to resume from; run once without --resume.")
        model = keras.saving.load_model(model_path)
        start_step = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    else:
        for stale in (metrics_path, model_path):
            if os.path.exists(stale):
                os.remove(stale)
        model = build_model(args)
    _common.write_command(args.output_dir)

    if start_step % args.log_every:
        sys.exit(f"--resume: saved step {start_step} is not a multiple of --log-every {args.log_every}.")
    start_epoch = start_step // args.log_every
    epochs = -(-args.steps // args.log_every)
    baseline = tasks.copy_memory_baseline(args.delay, args.recall, args.loss)
    print(f"copy task, convention {'A' if args.loss == 'all' else 'C'}: L={args.delay} K={args.recall}"
          f" | cell={args.cell} H={args.hidden} | backend={BACKEND} | memoryless baseline {baseline:.4f}")
    data = tasks.CopyMemoryBatches(args.batch_size, args.delay, args.recall, args.loss,
                                   steps_per_epoch=args.log_every, seed=args.seed,
                                   start_epoch=start_epoch)
    cbs = [_common.make_logger_callback(args.output_dir, epochs * args.log_every, args.log_every,
                                        start_step, model_path)]
    if any(getattr(c, "mode", None) == "dtriv" for c in [model.get_layer("rnn").cell]):
        cbs.append(callbacks.DtrivRetraction(every=args.dtriv_k, reproject_every=args.dtriv_m))
    if start_epoch < epochs:
        model.fit(data, epochs=epochs, initial_epoch=start_epoch, verbose=0, callbacks=cbs)
    _common.save_model_atomic(model, model_path)

    png_path = os.path.join(args.output_dir, "loss.png")
    _common.plot_curves({args.cell: metrics_path}, png_path, "loss", baseline=baseline,
                        title=f"copy task L={args.delay}: {args.cell} H={args.hidden} ({BACKEND})")
    last = _common.read_metrics(metrics_path)[-1]
    print(f"final: loss {float(last['loss']):.4f} ({float(last['loss']) / baseline:.3f} x baseline), "
          f"recall accuracy {float(last['recall_accuracy']):.3f}")
    print(f"wrote {metrics_path}\nwrote {png_path}\nwrote {model_path}\n"
          f"wrote {os.path.join(args.output_dir, 'command.txt')}")


if __name__ == "__main__":
    main()
