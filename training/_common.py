"""Shared plumbing of the training scripts: flags, backend selection, outputs.

``--backend`` must be read before Keras is imported, so scripts call
``select_backend()`` first and import Keras afterwards.
"""

import argparse
import csv
import os
import shlex
import shutil
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")
MONITORS = ("gradients", "hidden", "spectrum")
MONITOR_FILES = ("gradient_norms", "hidden_gradients", "spectrum")


def select_backend(argv=None):
    """Set KERAS_BACKEND from ``--backend`` (default: torch) before Keras loads."""
    argv = sys.argv[1:] if argv is None else argv
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--backend", choices=BACKENDS, default=os.environ.get("KERAS_BACKEND", "torch"))
    known, _ = pre.parse_known_args(argv)
    os.environ["KERAS_BACKEND"] = known.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return known.backend


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def shared_parser(description):
    """The flags every training script accepts (spec api.md)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--backend", choices=BACKENDS, default="torch")
    p.add_argument("--cell", required=False)
    p.add_argument("--hidden", type=int, default=None, help="hidden size H (default: per cell)")
    p.add_argument("--steps", type=int, default=None, help="optimiser steps")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: per cell)")
    p.add_argument("--clipnorm", type=float, default=None,
                   help="global gradient-norm clip; <= 0 disables (default: per cell)")
    p.add_argument("--optimizer", choices=("rmsprop", "adam", "sgd"), default=None,
                   help="default: per script and cell")
    p.add_argument("--rmsprop-rho", type=float, default=0.9, help="RMSprop alpha")
    p.add_argument("--adam-beta2", type=float, default=0.999)
    p.add_argument("--adam-epsilon", type=float, default=1e-7)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mixed-precision", choices=("off", "bf16", "fp16"), default="off")
    p.add_argument("--output-dir", default=None)
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --output-dir from its saved model")
    p.add_argument("--log-every", type=int, default=25, help="steps per logged row")
    p.add_argument("--monitor", nargs="*", choices=MONITORS, default=None,
                   help="switch on monitors (alone: all three): gradients -> gradient_norms.*, "
                        "hidden (dL/dh_t on the first training batch) -> hidden_gradients.*, "
                        "spectrum (singular values) -> spectrum.*; plus TensorBoard events "
                        "in OUTPUT_DIR/tensorboard")
    p.add_argument("--monitor-every", type=positive_int, default=10,
                   help="steps between monitor samples")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for the backend (default: the backend's choice)")
    return p


def check_positive(parser, args, names):
    for name in names:
        value = getattr(args, name.replace("-", "_"))
        if value is not None and value <= 0:
            parser.error(f"--{name} must be > 0; got {value}")


def set_threads(backend, threads):
    if not threads:
        return
    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def set_precision(mode):
    import keras

    policy = {"off": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}[mode]
    keras.mixed_precision.set_dtype_policy(policy)


def atomic_write_text(path, text):
    """Write ``text`` to ``path`` through a temporary file + rename (call after
    ``select_backend``: it imports the package)."""
    from keras_rnnzoo.callbacks._logs import atomic_write

    atomic_write(path, text)


def save_model_atomic(model, path):
    import keras

    tmp = path[: -len(".keras")] + f".tmp{os.getpid()}.keras"
    keras.saving.save_model(model, tmp)
    os.replace(tmp, path)


def write_command(output_dir):
    line = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    path = os.path.join(output_dir, "command.txt")
    previous = open(path).read() if os.path.exists(path) else ""
    atomic_write_text(path, previous + line + "\n")


def read_metrics(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def make_logger_callback(output_dir, total_steps, steps_per_row, start_step, model_path,
                         save_every_rows=4):
    """Progress bar over all steps, one CSV row per ``steps_per_row`` steps, checkpoints."""
    import keras

    class _Logger(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.csv_path = os.path.join(output_dir, "metrics.csv")
            self.step = start_step
            self.bar = keras.utils.Progbar(total_steps, unit_name="step")
            self.t0 = time.time()
            self.rows = 0

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            logs = logs or {}
            self.bar.stateful_metrics = set(logs)
            self.bar.update(self.step, values=[(k, float(v)) for k, v in logs.items()],
                            finalize=self.step >= total_steps)

        def on_epoch_end(self, epoch, logs=None):
            logs = {k: float(v) for k, v in (logs or {}).items()}
            row = {"step": self.step, "seconds": round(time.time() - self.t0, 2), **logs}
            new = not os.path.exists(self.csv_path)
            with open(self.csv_path, "a", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(row))
                if new:
                    w.writeheader()
                w.writerow(row)
            self.rows += 1
            if self.rows % save_every_rows == 0:
                save_model_atomic(self.model, model_path)

    return _Logger()


def plot_curves(series, png_path, key, baseline=None, title="", log_y=True):
    """Plot column ``key`` of several metrics.csv files ({label: path}) into one PNG."""
    from keras_rnnzoo.callbacks._logs import pyplot
    from keras_rnnzoo.callbacks._logs import save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, metrics_csv in series.items():
        rows = read_metrics(metrics_csv)
        ax.plot([int(r["step"]) for r in rows], [float(r[key]) for r in rows], label=label)
    if baseline is not None:
        ax.axhline(baseline, color="gray", linestyle="--", label=f"memoryless baseline ({baseline:.4f})")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel(key)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, png_path)


def monitors(args, probe_batch, probes=None):
    """The callbacks ``--monitor`` asks for, writing into ``--output-dir``.

    ``probe_batch`` (x, y[, sample_weight]) is HiddenGradientMonitor's fixed
    batch; ``probes`` ({name: batch}) extra GradientNormMonitor sources.
    """
    from keras_rnnzoo import callbacks

    chosen = MONITORS if args.monitor == [] else (args.monitor or ())
    kwargs = dict(log_dir=args.output_dir, tensorboard=True)
    out = []
    if "gradients" in chosen:
        out.append(callbacks.GradientNormMonitor(args.monitor_every, probes=probes, **kwargs))
    if "hidden" in chosen:
        out.append(callbacks.HiddenGradientMonitor(probe_batch, args.monitor_every, **kwargs))
    if "spectrum" in chosen:
        out.append(callbacks.SpectrumMonitor(args.monitor_every, **kwargs))
    return out


def train(args, backend, build_model, make_data, *, baseline, title, plot_key="loss",
          extra_callbacks=None, log_y=True, probes=None):
    """Build (or with --resume, load) the model, fit it with logging, save, plot.

    ``build_model(args)`` returns a compiled model; ``make_data(start_epoch)``
    a ``PyDataset`` of ``args.log_every`` batches per epoch (one CSV row per
    epoch); ``extra_callbacks(model)`` more callbacks. Returns the model and
    the last metrics row.
    """
    import keras

    import keras_rnnzoo  # noqa: F401  (registers the serialisable classes)

    set_threads(backend, args.threads)
    set_precision(args.mixed_precision)
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
        if start_step % args.log_every:
            sys.exit(f"--resume: saved step {start_step} is not a multiple of "
                     f"--log-every {args.log_every}.")
    else:
        stale = [metrics_path, model_path, os.path.join(args.output_dir, "command.txt")] + [
            os.path.join(args.output_dir, name + ext)
            for name in MONITOR_FILES for ext in (".csv", ".json", ".png")]
        for path in stale:
            if os.path.exists(path):
                os.remove(path)
        shutil.rmtree(os.path.join(args.output_dir, "tensorboard"), ignore_errors=True)
        model = build_model(args)
    write_command(args.output_dir)
    start_epoch = start_step // args.log_every
    epochs = -(-args.steps // args.log_every)
    cbs = [make_logger_callback(args.output_dir, epochs * args.log_every, args.log_every,
                                start_step, model_path)]
    cbs += list(extra_callbacks(model)) if extra_callbacks else []
    if args.monitor is not None:
        cbs += monitors(args, make_data(0)[0], probes() if probes else None)
    if start_epoch < epochs:
        model.fit(make_data(start_epoch), epochs=epochs, initial_epoch=start_epoch, verbose=0,
                  callbacks=cbs)
    save_model_atomic(model, model_path)
    png_path = os.path.join(args.output_dir, f"{plot_key}.png")
    plot_curves({args.cell: metrics_path}, png_path, plot_key, baseline=baseline, title=title,
                log_y=log_y)
    print(f"wrote {metrics_path}\nwrote {png_path}\nwrote {model_path}\n"
          f"wrote {os.path.join(args.output_dir, 'command.txt')}")
    return model, read_metrics(metrics_path)[-1]


def make_optimizer(args, lr_multipliers=None, learning_rate=None):
    """--optimizer at --lr (or a schedule), global clip --clipnorm (<= 0: none)."""
    from keras_rnnzoo import optimizers

    lr = args.lr if learning_rate is None else learning_rate
    clip = {"global_clipnorm": args.clipnorm} if args.clipnorm and args.clipnorm > 0 else {}
    if args.optimizer == "adam":
        return optimizers.Adam(lr, beta_2=args.adam_beta2, epsilon=args.adam_epsilon,
                               lr_multipliers=lr_multipliers, **clip)
    if args.optimizer == "sgd":
        return optimizers.SGD(lr, lr_multipliers=lr_multipliers, **clip)
    return optimizers.RMSprop(lr, rho=args.rmsprop_rho, lr_multipliers=lr_multipliers,
                              **clip)
