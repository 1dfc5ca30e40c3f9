"""What the ``training/`` scripts share: flags, the run directory, Keras' callbacks.

A script reads top to bottom (keras-io style)::

    parser = runs.training_parser(__doc__, cell="asrnn", steps=600)   # + its task flags
    args = runs.parse_args(parser, "copy_memory")   # --preset, per-cell defaults, checks
    runs.setup(args)                                # threads, precision, seed, output dir
    start = runs.start_epoch(args)                  # 0, or the epoch --resume continues
    data = tasks.CopyMemoryBatches(..., start_epoch=start, epochs=runs.epochs(args))
    model = models.SequenceTagger(models.RNNBackbone(runs.build_cell(args), input_dim=10), 9)
    model.compile(runs.make_optimizer(args), loss, metrics=[...])
    model.fit(data, epochs=runs.epochs(args), initial_epoch=start,
              steps_per_epoch=args.log_every, shuffle=False, verbose=runs.verbose(),
              callbacks=runs.callbacks(args, model))
    test = models.evaluate_copy_memory(model, ...)
    runs.save_run(model, args, task="copy_memory", metrics={"test": test}, evaluation=...)

One Keras epoch is ``--log-every`` optimiser steps: one row of
``metrics.csv`` (Keras' ``CSVLogger``, with ``step`` and ``seconds`` columns),
one line of progress, one backup (Keras' ``BackupAndRestore`` in
``OUTPUT_DIR/backup``: ``--resume`` continues from the last completed epoch
with the same data, weights and optimiser state, so an interrupted run ends
with the weights of an uninterrupted one).
"""

import argparse
import csv
import json
import math
import os
import shutil
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")
MONITORS = ("gradients", "hidden", "spectrum")
BACKUP_DIR = "backup"
METRICS_FILE = "metrics.csv"
# The names (before the first dot) of a run's files and folders: --overwrite removes them.
RUN_FILES = ("metrics", "command", "config", "model", "metadata", "eval", "loss", "nll_per_frame",
             "gradient_norms", "hidden_gradients", "spectrum", BACKUP_DIR, "tensorboard")
# Flags that are not hyper-parameters (not recorded in a preset, not rerun by --preset).
_NOT_RECORDED = ("backend", "output_dir", "resume", "overwrite", "preset", "threads",
                 "tensorboard", "monitor", "monitor_every", "data_dir", "no_verify")


def number(kind, minimum=None, strict=True, maximum=None, allow=()):
    """An argparse ``type``: ``kind`` (int or float), finite, above ``minimum``
    (``strict``: >, else >=) and below ``maximum``; a word in ``allow`` gives None.
    Bad values end in argparse's usage error naming the flag."""
    def parse(text):
        if str(text).lower() in allow:
            return None
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {'an integer' if kind is int else 'a number'}"
                                             f"; got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be finite; got {text!r}")
        if minimum is not None and (value <= minimum if strict else value < minimum):
            raise argparse.ArgumentTypeError(
                f"must be {'>' if strict else '>='} {minimum:g}; got {text!r}")
        if maximum is not None and value >= maximum:
            raise argparse.ArgumentTypeError(f"must be < {maximum:g}; got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


positive_int = number(int, 0)
positive_float = number(float, 0.0)
nonnegative_float = number(float, 0.0, strict=False)


def training_parser(description, *, cell, steps, hidden=None, batch_size=128, log_every=25,
                    lstm_forget_bias=1.0):
    """The flags every training script takes (its own task flags are added by the script).

    ``lstm_forget_bias``: the forget bias of ``--cell lstm`` in this script
    (None: PyTorch's ``nn.LSTM`` default, no offset).
    """
    from keras_rnnzoo.cells import CELL_NAMES

    p = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    p.add_argument("--backend", choices=BACKENDS, default="torch",
                   help="read before Keras is imported")
    p.add_argument("--preset", default=None,
                   help="rerun the recorded settings of this preset (a built-in name or a run "
                        "directory); flags given beside it replace its values")
    names = dict(CELL_NAMES)
    names["lstm"] = ("LSTMCell (Keras' LSTM maths), PyTorch's nn.LSTM init (no forget bias "
                     "offset)" if lstm_forget_bias is None else
                     f"LSTMCell (Keras' LSTM maths), PyTorch init, forget bias "
                     f"{lstm_forget_bias:g}")
    p.add_argument("--cell", choices=list(CELL_NAMES), default=cell,
                   help="; ".join(f"{k}: {v}" for k, v in names.items()))
    p.add_argument("--hidden", type=positive_int, default=hidden,
                   help="hidden size H (default: per cell)")
    p.add_argument("--steps", type=positive_int, default=steps, help="optimiser steps")
    p.add_argument("--log-every", type=positive_int, default=log_every,
                   help="steps per metrics.csv row, progress line and backup (divides --steps)")
    p.add_argument("--batch-size", type=positive_int, default=batch_size)
    p.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate (default: per cell)")
    p.add_argument("--clipnorm", type=nonnegative_float, default=None,
                   help="global gradient-norm clip; 0 disables (default: per cell)")
    p.add_argument("--optimizer", choices=("rmsprop", "adam", "sgd"), default=None,
                   help="default: per script and cell")
    p.add_argument("--rmsprop-rho", type=number(float, 0.0, maximum=1.0), default=0.9,
                   help="RMSprop alpha")
    p.add_argument("--adam-beta2", type=number(float, 0.0, maximum=1.0), default=0.999)
    p.add_argument("--adam-epsilon", type=positive_float, default=1e-7)
    p.add_argument("--seed", type=number(int, 0, strict=False), default=0)
    p.add_argument("--mixed-precision", choices=("off", "bf16", "fp16"), default="off")
    p.add_argument("--output-dir", default=None,
                   help="the run's directory; it ends as a preset (from_preset(OUTPUT_DIR))")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --output-dir from its last backup (also to more "
                        "--steps)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier run in --output-dir (otherwise refused)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU threads for the backend (default: the backend's choice)")
    p.add_argument("--tensorboard", action="store_true",
                   help="Keras' TensorBoard callback into OUTPUT_DIR/tensorboard")
    p.add_argument("--monitor", nargs="*", choices=MONITORS, default=None,
                   help="switch on monitors (alone: all three): gradients -> gradient_norms.*, "
                        "hidden (dL/dh_t on the first training batch) -> hidden_gradients.*, "
                        "spectrum (singular values) -> spectrum.*; plus TensorBoard events "
                        "in OUTPUT_DIR/tensorboard")
    p.add_argument("--monitor-every", type=positive_int, default=10,
                   help="steps between monitor samples")
    # cell flags
    p.set_defaults(lstm_forget_bias=lstm_forget_bias)
    p.add_argument("--recurrent-lr", type=positive_float, default=None,
                   help="learning rate of the orthogonal free parameters (default: per cell)")
    p.add_argument("--asrnn-mode", choices=("exprnn", "dtriv", "cayley"), default="dtriv")
    p.add_argument("--dtriv-k", type=number(int, 0, allow=("infty", "inf", "none")),
                   default=100,
                   help="K: steps between chart changes; 'infty': one change at the start, "
                        "then a static base (the official K='infty')")
    p.add_argument("--dtriv-m", type=positive_int, default=100,
                   help="M: chart changes between re-projections")
    p.add_argument("--epsilon", type=positive_float, default=1e-5, help="asRNN eps (> 0)")
    p.add_argument("--delta", type=number(float, 0.0, maximum=2.0, allow=("none",)),
                   default=0.2,
                   help="spectral_gru: clip sigma(W_hh) at 2 - delta, delta in (0, 2); 'none' "
                        "disables")
    p.add_argument("--chrono-tmax", type=number(float, 2.0, strict=False), default=None,
                   help="T_max >= 2 of chrono initialisation (default: H)")
    p.add_argument("--stable-axis", choices=("author", "linf"), default="author")
    p.add_argument("--unconstrained", action="store_true",
                   help="stable_rnn / stable_lstm without their projection (the unstable "
                        "counterpart with the same maths and initialisation)")
    return p


def preset_settings(handle):
    """The recorded hyper-parameters of a preset (``--preset``), as flag defaults."""
    from keras_rnnzoo import presets

    return dict(presets.preset_metadata(handle).get("hyperparameters") or {})


def parse_args(parser, task, argv=None, output_name=None):
    """Parse flags: ``--preset`` settings first, then the flags given, then the
    per-cell defaults of ``task`` (``presets.training_defaults``). Bad values
    end in an argparse error (exit 2) before anything is written."""
    from keras_rnnzoo import presets
    from keras_rnnzoo.cells import ORTHOGONAL_CELLS

    argv = sys.argv[1:] if argv is None else list(argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--preset", default=None)
    known, _ = pre.parse_known_args(argv)
    if known.preset:
        try:
            recorded = preset_settings(known.preset)
        except (OSError, ValueError) as e:
            parser.error(f"--preset: {e}")
        flags = vars(parser.parse_args([]))
        unknown = sorted(k for k in recorded if k not in flags)
        if unknown:
            parser.error(f"--preset {known.preset}: settings {unknown} are not flags of this "
                         f"script (a preset of another task?)")
        parser.set_defaults(**recorded)
    args = parser.parse_args(argv)
    for key, value in presets.training_defaults(task, args.cell).items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.cell in ORTHOGONAL_CELLS and args.recurrent_lr is None:
        args.recurrent_lr = args.lr / 10  # the papers' rule: A of W_hh at lr / 10
    if args.steps is not None and args.log_every is not None:
        check_steps(parser, args)
    if args.output_dir is None and output_name is not None:
        args.output_dir = os.path.join("runs", output_name(args))
    check_output_dir(parser, args)
    return args


def check_steps(parser, args):
    """``--steps`` must be a whole number of ``--log-every`` epochs."""
    if args.steps % args.log_every:
        parser.error(f"--steps {args.steps} is not a multiple of --log-every {args.log_every} "
                     f"(one metrics row, progress line and backup per --log-every steps): "
                     f"e.g. --steps {args.steps - args.steps % args.log_every or args.log_every}"
                     f" or --log-every {math.gcd(args.steps, args.log_every)}")


def _run_entries(directory):
    if not os.path.isdir(directory):
        return []
    names = set(os.listdir(directory))
    return sorted(n for n in names if n.split(".")[0] in RUN_FILES)


def check_output_dir(parser, args):
    """Refuse to destroy an earlier run: ``--resume`` it, ``--overwrite`` it,
    or choose another ``--output-dir``."""
    out = args.output_dir
    earlier = _run_entries(out)
    if args.resume:
        if args.overwrite:
            parser.error("--resume and --overwrite exclude each other")
        if not os.path.isdir(os.path.join(out, BACKUP_DIR)):
            parser.error(f"--resume: no backup in {os.path.join(out, BACKUP_DIR)} to resume "
                         f"from; run once without --resume")
    elif earlier and not args.overwrite:
        parser.error(f"--output-dir {out} holds an earlier run ({', '.join(earlier[:4])}"
                     f"{', ...' if len(earlier) > 4 else ''}): pass --resume to continue it, "
                     f"--overwrite to replace it, or choose another --output-dir")


def setup(args):
    """Threads, precision policy and seed; with ``--overwrite``, the earlier
    run's files go (only now, after every flag was checked)."""
    import keras

    from keras_rnnzoo import utils

    utils.set_threads(args.threads)
    policy = {"off": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}
    keras.mixed_precision.set_dtype_policy(policy[args.mixed_precision])
    keras.utils.set_random_seed(args.seed)
    if args.overwrite:
        for name in _run_entries(args.output_dir):
            path = os.path.join(args.output_dir, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    os.makedirs(args.output_dir, exist_ok=True)
    utils.write_command(args.output_dir)


def epochs(args):
    """Keras epochs of the run: ``--steps / --log-every``."""
    return args.steps // args.log_every


def _backup_epoch(args):
    """The epoch Keras' BackupAndRestore recorded (its ``training_metadata.json``);
    0 without --resume."""
    path = os.path.join(args.output_dir, BACKUP_DIR, "training_metadata.json")
    if not (args.resume and os.path.exists(path)):  # killed before its first backup: epoch 0
        return 0
    with open(path) as f:
        return int(json.load(f)["epoch"])


def start_epoch(args):
    """The epoch a ``--resume`` continues from (the last backup's), else 0; the
    rows of ``metrics.csv`` from that epoch on (written after the backup) go."""
    epoch = _backup_epoch(args)
    path = os.path.join(args.output_dir, METRICS_FILE)
    if args.resume and os.path.exists(path):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        keep = [r for r in rows if int(r["epoch"]) < epoch]
        if rows and len(keep) != len(rows):
            from keras_rnnzoo.utils import atomic_write

            text = ",".join(rows[0]) + "\n" + "".join(
                ",".join(r[k] for k in rows[0]) + "\n" for r in keep)
            atomic_write(path, text)
    return epoch


def build_cell(args):
    """The cell of ``--cell`` and the cell flags (``keras_rnnzoo.cells.get_cell``)."""
    from keras_rnnzoo.cells import get_cell

    return get_cell(args.cell, args.hidden, seed=args.seed, asrnn_mode=args.asrnn_mode,
                    epsilon=args.epsilon, delta=args.delta, chrono_tmax=args.chrono_tmax,
                    stable_axis=args.stable_axis, constrain=not args.unconstrained,
                    init=getattr(args, "init", "default"),
                    lstm_forget_bias=args.lstm_forget_bias)


def make_optimizer(args, learning_rate=None):
    """``--optimizer`` at ``--lr`` (or a schedule), global clip ``--clipnorm``
    (0: none); the orthogonal cells' A at ``--recurrent-lr``."""
    from keras_rnnzoo import optimizers
    from keras_rnnzoo.cells import ORTHOGONAL_CELLS

    lr = args.lr if learning_rate is None else learning_rate
    multipliers = None
    if args.cell in ORTHOGONAL_CELLS and args.recurrent_lr is not None:
        multipliers = {"recurrent_kernel": args.recurrent_lr / args.lr}
    clip = {"global_clipnorm": args.clipnorm} if args.clipnorm else {}
    if args.optimizer == "adam":
        return optimizers.Adam(lr, beta_2=args.adam_beta2, epsilon=args.adam_epsilon,
                               lr_multipliers=multipliers, **clip)
    if args.optimizer == "sgd":
        return optimizers.SGD(lr, lr_multipliers=multipliers, **clip)
    return optimizers.RMSprop(lr, rho=args.rmsprop_rho, lr_multipliers=multipliers, **clip)


def verbose():
    """``fit``'s ``verbose``: the progress bar on a terminal, one plain line
    per epoch (``--log-every`` steps) otherwise (CI, nohup, a pipe)."""
    return 1 if sys.stdout.isatty() else 2


def _keras_callbacks():
    import keras

    class RunLog(keras.callbacks.Callback):
        """Adds ``step`` (optimiser steps so far) and ``seconds`` (of training,
        continued across resumes) to each epoch's logs, before CSVLogger."""

        def __init__(self, steps_per_epoch, seconds):
            super().__init__()
            self.steps_per_epoch = steps_per_epoch
            self.offset = seconds

        def on_train_begin(self, logs=None):
            self.t0 = time.time()

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["step"] = (epoch + 1) * self.steps_per_epoch
                logs["seconds"] = round(self.offset + time.time() - self.t0, 2)

    class ResumeCheck(keras.callbacks.Callback):
        """After BackupAndRestore: the state of the recorded epoch came back.

        Keras writes a backup's weights, then its ``training_metadata.json``;
        a run killed between the two leaves the weights one epoch ahead of the
        record. Its double checkpoint (``latest.weights.h5.bkp``) then holds
        the recorded epoch's weights: those are loaded instead.
        """

        def __init__(self, expected, steps_per_epoch, backup_dir):
            super().__init__()
            self.expected = expected
            self.steps_per_epoch = steps_per_epoch
            self.backup_dir = backup_dir

        def _iterations(self):
            return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

        def on_train_begin(self, logs=None):
            got = self._iterations()
            previous = os.path.join(self.backup_dir, "latest.weights.h5.bkp")
            if got == self.expected + self.steps_per_epoch and os.path.exists(previous):
                self.model.load_weights(previous)
                got = self._iterations()
            if got != self.expected:
                raise RuntimeError(
                    f"--resume: the backup holds {self.expected} optimiser steps but the "
                    f"optimiser restarted at step {got}: Keras skipped its saved state (the "
                    f"run's flags changed, e.g. --monitor or --optimizer); resume with the "
                    f"flags of the interrupted run (OUTPUT_DIR/command.txt).")

    return RunLog, ResumeCheck


def _previous_seconds(args):
    path = os.path.join(args.output_dir, METRICS_FILE)
    if not (args.resume and os.path.exists(path)):
        return 0.0
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return float(rows[-1]["seconds"]) if rows else 0.0


def callbacks(args, model, probe_batch=None, probes=None):
    """The run's callbacks, in the order they must run:

    the monitors (``--monitor``; first, so that the optimiser variable the
    gradient monitor adds exists when the backup is restored), the
    ``step``/``seconds`` columns, ``CSVLogger`` (appending), ``BackupAndRestore``
    (after the row is written: a run killed between the two re-runs that
    epoch and :func:`start_epoch` drops its row), the resume check,
    ``DtrivRetraction`` for dtriv cells (after the restore: the first chart
    change only at step 0), ``TensorBoard`` (``--tensorboard``).
    """
    import keras

    from keras_rnnzoo import callbacks as zoo_callbacks
    from keras_rnnzoo.utils import iter_layers

    out = args.output_dir
    chosen = MONITORS if args.monitor == [] else (args.monitor or ())
    monitor_kwargs = dict(log_dir=out, tensorboard=True)
    cbs = []
    if "gradients" in chosen:
        cbs.append(zoo_callbacks.GradientNormMonitor(args.monitor_every, probes=probes,
                                                     **monitor_kwargs))
    if "hidden" in chosen:
        cbs.append(zoo_callbacks.HiddenGradientMonitor(probe_batch, args.monitor_every,
                                                       **monitor_kwargs))
    if "spectrum" in chosen:
        cbs.append(zoo_callbacks.SpectrumMonitor(args.monitor_every, **monitor_kwargs))
    RunLog, ResumeCheck = _keras_callbacks()
    cbs.append(RunLog(args.log_every, _previous_seconds(args)))
    cbs.append(keras.callbacks.CSVLogger(os.path.join(out, METRICS_FILE), append=True))
    cbs.append(keras.callbacks.BackupAndRestore(os.path.join(out, BACKUP_DIR),
                                                double_checkpoint=True, delete_checkpoint=False))
    cbs.append(ResumeCheck(_backup_epoch(args) * args.log_every, args.log_every,
                           os.path.join(out, BACKUP_DIR)))
    if any(getattr(layer, "mode", None) == "dtriv" for layer in iter_layers(model)):
        cbs.append(zoo_callbacks.DtrivRetraction(every=args.dtriv_k,
                                                 reproject_every=args.dtriv_m))
    if args.tensorboard:
        cbs.append(keras.callbacks.TensorBoard(os.path.join(out, "tensorboard")))
    return cbs


def hyperparameters(args):
    """The flags that define a run (what ``--preset`` reruns)."""
    return {k: v for k, v in sorted(vars(args).items()) if k not in _NOT_RECORDED}


def save_run(model, args, *, task, metrics, evaluation=None, data=None, description=None):
    """End of a run: its output directory becomes a preset (``save_to_preset``)
    recording the metrics (``{split: {name: value}}``), how to recompute them
    (``evaluation``), the data, the exact command and the hyper-parameters."""
    import keras

    from keras_rnnzoo import presets
    from keras_rnnzoo.utils.files import command_line

    metadata = {
        "name": os.path.basename(os.path.normpath(args.output_dir)),
        "description": description,
        "data": {"task": task, **(data or {})},
        "metrics": metrics,
        "evaluation": evaluation,
        "command": command_line(),
        "hyperparameters": hyperparameters(args),
        "training_backend": keras.backend.backend(),
    }
    presets.save_to_preset(model, args.output_dir, metadata=metadata)
    print(f"wrote the preset {args.output_dir} (keras_rnnzoo.presets.from_preset"
          f"({args.output_dir!r}))")
    return metadata


def plot(args, key, baseline=None, title="", log_y=True, png_name=None):
    """``key`` of ``metrics.csv`` against the step, into ``OUTPUT_DIR/<key>.png``."""
    from keras_rnnzoo.utils import plot_metrics

    png = os.path.join(args.output_dir, png_name or f"{key}.png")
    plot_metrics({args.cell: os.path.join(args.output_dir, METRICS_FILE)}, png, key,
                 baseline=baseline, title=title, log_y=log_y)
    print(f"wrote {png}")
    return png
