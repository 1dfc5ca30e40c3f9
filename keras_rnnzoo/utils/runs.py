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
BEST_WEIGHTS = "best.weights.h5"
RUN_FILES = ("metrics", "command", "config", "model", "metadata", "eval", "loss", "nll_per_frame",
             "best", "accuracy", "bpc", "perplexity", "slot_f1",
             "gradient_norms", "hidden_gradients", "spectrum", BACKUP_DIR, "tensorboard")
# The cell and optimiser flags a task's table may set (presets.training_defaults);
# these values where neither it nor the command line does (--asrnn-b: --asrnn-a).
CELL_FLAG_FALLBACKS = dict(rmsprop_rho=0.9, asrnn_mode="dtriv", epsilon=1e-5,
                           orthogonal_init="henaff", asrnn_a=0.0)
# Flags that are not hyper-parameters (not recorded in a preset, not rerun by --preset).
_NOT_RECORDED = ("backend", "output_dir", "resume", "overwrite", "preset", "threads",
                 "tensorboard", "monitor", "monitor_every", "data_dir", "no_verify",
                 "distribute")
_REPLICAS = []  # the run's keras_rnnzoo.utils.distribution.Replicas, set by setup()


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
    p.add_argument("--rmsprop-rho", type=number(float, 0.0, maximum=1.0), default=None,
                   help="RMSprop alpha (default: per task and cell, else 0.9)")
    p.add_argument("--adam-beta2", type=number(float, 0.0, maximum=1.0), default=0.999)
    p.add_argument("--adam-epsilon", type=positive_float, default=1e-7)
    p.add_argument("--seed", type=number(int, 0, strict=False), default=0)
    p.add_argument("--mixed-precision", choices=("off", "bf16", "fp16"), default="off")
    p.add_argument("--distribute", type=positive_int, nargs="?", const=0, default=None,
                   metavar="N",
                   help="data parallel over the local devices (N: that many; on a CPU-only "
                        "host N virtual CPU devices on jax / tensorflow); torch: launch with "
                        "torchrun --nproc-per-node N. --batch-size stays the global batch")
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
    p.add_argument("--monitor", "--monitors", nargs="*", choices=MONITORS, default=None,
                   help="switch on monitors (alone: all three; under torchrun write "
                        "--monitors: torchrun reads --monitor as its --monitor-interval): gradients -> gradient_norms.*, "
                        "hidden (dL/dh_t on the first training batch) -> hidden_gradients.*, "
                        "spectrum (singular values) -> spectrum.*; plus TensorBoard events "
                        "in OUTPUT_DIR/tensorboard")
    p.add_argument("--monitor-every", type=positive_int, default=10,
                   help="steps between monitor samples")
    # cell flags
    p.set_defaults(lstm_forget_bias=lstm_forget_bias)
    p.add_argument("--recurrent-lr", type=positive_float, default=None,
                   help="learning rate of the orthogonal free parameters (default: per cell)")
    p.add_argument("--asrnn-mode", choices=("exprnn", "dtriv", "cayley"), default=None,
                   help="default: per task (the asRNN code's: copy dtriv, MNIST and PTB "
                        "exprnn), else dtriv")
    p.add_argument("--dtriv-k", type=number(int, 0, allow=("infty", "inf", "none")),
                   default=100,
                   help="K: steps between chart changes; 'infty': one change at the start, "
                        "then a static base (the official K='infty')")
    p.add_argument("--dtriv-m", type=positive_int, default=100,
                   help="M: chart changes between re-projections")
    p.add_argument("--epsilon", type=nonnegative_float, default=None,
                   help="asRNN eps in D = |s| + eps (0 needs --asrnn-a > 0; default: per "
                        "task, else 1e-5)")
    p.add_argument("--asrnn-a", type=nonnegative_float, default=None,
                   help="asRNN: s ~ U(a, b) at the start (the official a: copy 0, MNIST 0.02, "
                        "PTB-c 0.8; default: per task, else 0)")
    p.add_argument("--asrnn-b", type=nonnegative_float, default=None,
                   help="asRNN: the official b (copy 0, MNIST 0.02, PTB-c 3; at least a; "
                        "default: per task, else a)")
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
    p.add_argument("--orthogonal-init", choices=("henaff", "cayley"), default=None,
                   help="initialiser of A of W_hh (orthogonal cells): henaff (copy task), "
                        "cayley (the asRNN code's MNIST and PTB); default: per task, else "
                        "henaff")
    p.add_argument("--dropout", type=number(float, 0.0, strict=False, maximum=1.0), default=0.0,
                   help="the cell's input dropout (Keras' `dropout`: one mask per sequence)")
    p.add_argument("--recurrent-dropout", type=number(float, 0.0, strict=False, maximum=1.0),
                   default=0.0, help="the cell's recurrent-state dropout (Keras' "
                                     "`recurrent_dropout`)")
    p.add_argument("--weight-decay", type=nonnegative_float, default=0.0,
                   help="decoupled weight decay of the optimiser (Keras' `weight_decay`); 0: none")
    return p


def preset_settings(handle):
    """The hyper-parameters of a preset or a paper recipe (``--preset``), as flag defaults."""
    from keras_rnnzoo import presets
    from keras_rnnzoo.presets._recipes import RECIPES

    if handle in RECIPES:
        return dict(RECIPES[handle][1])
    return dict(presets.preset_metadata(handle).get("hyperparameters") or {})


def _preset_script(handle):
    from keras_rnnzoo.presets._recipes import RECIPES

    return f" (it is a recipe of training/{RECIPES[handle][0]})" if handle in RECIPES else \
        " (a preset of another task?)"


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
                         f"script{_preset_script(known.preset)}")
        parser.set_defaults(**recorded)
    args = parser.parse_args(argv)
    table = presets.training_defaults(task, args.cell)
    for key, value in {**CELL_FLAG_FALLBACKS, **table}.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.asrnn_b is None:
        args.asrnn_b = args.asrnn_a
    if args.asrnn_b < args.asrnn_a:
        parser.error(f"--asrnn-b {args.asrnn_b:g} is below --asrnn-a {args.asrnn_a:g}: s ~ "
                     f"U(a, b) needs a <= b")
    if args.cell in ORTHOGONAL_CELLS and args.recurrent_lr is None:
        args.recurrent_lr = args.lr / 10  # the papers' rule: A of W_hh at lr / 10
    if args.steps is not None and args.log_every is not None:
        check_steps(parser, args)
    if args.output_dir is None and output_name is not None:
        args.output_dir = os.path.join("runs", output_name(args))
    check_distribute(parser, args)
    if is_chief():  # the other processes only read the chief's directory
        check_output_dir(parser, args)
    if args.resume and args.steps is not None and args.log_every is not None \
            and _backup_epoch(args) >= epochs(args):
        parser.error(f"--resume: the run in {args.output_dir} has made its "
                     f"{_backup_epoch(args) * args.log_every} steps (--steps {args.steps}): "
                     f"pass a larger --steps to continue it")
    return args


def is_chief():
    """True in the process that writes the run's files (the only one without
    ``--distribute``; process 0 of a launched group)."""
    if _REPLICAS:
        return _REPLICAS[0].is_chief
    from keras_rnnzoo.utils import distribution

    return distribution.launched_processes()[0] == 0


def check_distribute(parser, args):
    """``--distribute`` against the launcher: torch runs one process per
    replica (torchrun); the global ``--batch-size`` must split over them."""
    import keras

    from keras_rnnzoo.utils import distribution

    index, count = distribution.launched_processes()
    backend = keras.backend.backend()
    if getattr(args, "distribute", None) is None:
        if count > 1:
            parser.error(f"this process is {index} of {count} launched together (torchrun / "
                         f"a cluster) but --distribute is not given: each process would "
                         f"train its own model; add --distribute")
        return
    if backend == "torch" and count == 1 and "WORLD_SIZE" not in os.environ:
        parser.error(f"--distribute on the torch backend runs one process per replica: "
                     f"launch with torchrun --nproc-per-node N {os.path.basename(sys.argv[0])} "
                     f"--backend torch --distribute ...")
    if backend == "tensorflow" and getattr(parser, "rnnzoo_stateful", False):
        parser.error("--distribute: a stateful language model needs its state per replica, "
                     "which tf.distribute's mirrored variables do not hold (Keras' stateful "
                     "RNN checks the batch of one replica against the global state); use "
                     "--backend jax or torch for a distributed language model")
    replicas = args.distribute or (count if backend == "torch" else None)
    if backend == "torch" and args.distribute and args.distribute != count:
        parser.error(f"--distribute {args.distribute}: torchrun started {count} processes "
                     f"(--nproc-per-node); give the same number or --distribute alone")
    if replicas and args.batch_size % replicas:
        parser.error(f"--batch-size {args.batch_size} (the global batch) does not split over "
                     f"{replicas} replicas: use a multiple of {replicas}")


def replicas():
    """The run's :class:`keras_rnnzoo.utils.distribution.Replicas` (after :func:`setup`)."""
    if not _REPLICAS:
        from keras_rnnzoo.utils import distribution

        return distribution.single()
    return _REPLICAS[0]


def scope():
    """Build and compile the model inside it (``--distribute`` on TensorFlow:
    the strategy's scope; nothing elsewhere)."""
    return replicas().scope()


def shard(batches):
    """A training stream of global batches as this process feeds it
    (``--distribute`` on torch: its rows of each batch)."""
    return replicas().shard_batches(batches)


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
    or choose another ``--output-dir``; refuse a directory a running run holds."""
    from keras_rnnzoo.utils.files import lock_holder

    out = args.output_dir
    holder = lock_holder(out) if os.path.isdir(out) else None
    if holder:
        parser.error(f"--output-dir {out} is in use by a running run (process {holder['pid']} "
                     f"on {holder.get('host')}): wait for it to end, or choose another "
                     f"--output-dir")
    earlier = _run_entries(out)
    if args.resume:
        if args.overwrite:
            parser.error("--resume and --overwrite exclude each other")
        if not os.path.isdir(os.path.join(out, BACKUP_DIR)):
            parser.error(f"--resume: no backup in {os.path.join(out, BACKUP_DIR)} to resume "
                         f"from; run once without --resume")
        from keras_rnnzoo.utils.files import damaged

        backup = os.path.join(out, BACKUP_DIR)
        record = os.path.join(backup, "training_metadata.json")
        weights = os.path.join(backup, "latest.weights.h5")
        why = damaged(record, "json")
        if why:
            fix = (f"copy {record}.bkp and {weights}.bkp (the backup before) over them and "
                   f"resume, or start again with --overwrite" if os.path.exists(record + ".bkp")
                   else "start again with --overwrite")
            parser.error(f"--resume: {record} is damaged ({why}): {fix}")
        why = damaged(weights, "hdf5")
        if why and (not os.path.exists(weights + ".bkp") or damaged(weights + ".bkp", "hdf5")):
            parser.error(f"--resume: {weights} is damaged ({why}) and no readable backup "
                         f"before it ({weights}.bkp) is left: start again with --overwrite")
    elif earlier and not args.overwrite:
        parser.error(f"--output-dir {out} holds an earlier run ({', '.join(earlier[:4])}"
                     f"{', ...' if len(earlier) > 4 else ''}): pass --resume to continue it, "
                     f"--overwrite to replace it, or choose another --output-dir")


def setup(args):
    """Threads, replicas (``--distribute``), precision policy and seed; with
    ``--overwrite``, the earlier run's files go (only now, after every flag
    was checked). Under ``--distribute`` only the chief writes, the other
    processes print nothing, and all wait for the chief's directory."""
    import keras

    from keras_rnnzoo import utils
    from keras_rnnzoo.utils import distribution

    utils.set_threads(args.threads)
    distribute = getattr(args, "distribute", None)
    _REPLICAS[:] = [distribution.single() if distribute is None
                    else distribution.data_parallel(distribute or None)]
    try:
        replicas().local_batch_size(args.batch_size)
    except ValueError as e:
        raise SystemExit(f"--batch-size: {e}") from None
    if not is_chief():
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 -- the chief prints the run
    if distribute is not None:
        print(f"--distribute: {replicas().describe()}, global batch {args.batch_size}")
    policy = {"off": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}
    keras.mixed_precision.set_dtype_policy(policy[args.mixed_precision])
    keras.utils.set_random_seed(args.seed)
    if is_chief():
        from keras_rnnzoo.utils.files import DirectoryLockedError, hold_directory_lock

        try:  # one run per directory, also of two started at once; released at exit
            hold_directory_lock(args.output_dir)
        except DirectoryLockedError as e:
            raise SystemExit(f"error: --output-dir: {e}") from None
        if args.overwrite:
            for name in _run_entries(args.output_dir):
                path = os.path.join(args.output_dir, name)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        os.makedirs(args.output_dir, exist_ok=True)
        utils.write_command(args.output_dir)
    replicas().barrier()


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
    if args.resume and os.path.exists(path) and is_chief():
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
                    lstm_forget_bias=args.lstm_forget_bias,
                    orthogonal_init=getattr(args, "orthogonal_init", "henaff"),
                    dropout=getattr(args, "dropout", 0.0),
                    recurrent_dropout=getattr(args, "recurrent_dropout", 0.0),
                    saturation_range=(getattr(args, "asrnn_a", 0.0),
                                      getattr(args, "asrnn_b", 0.0)))


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
    if getattr(args, "weight_decay", 0.0):
        clip["weight_decay"] = args.weight_decay
    if args.optimizer == "adam":
        return optimizers.Adam(lr, beta_2=args.adam_beta2, epsilon=args.adam_epsilon,
                               lr_multipliers=multipliers, **clip)
    if args.optimizer == "sgd":
        return optimizers.SGD(lr, lr_multipliers=multipliers, **clip)
    return optimizers.RMSprop(lr, rho=args.rmsprop_rho, lr_multipliers=multipliers, **clip)


def verbose():
    """``fit``'s ``verbose``: the progress bar on a terminal, one plain line
    per epoch (``--log-every`` steps) otherwise (CI, nohup, a pipe)."""
    if not is_chief():
        return 0
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

    class RestoreOnly(keras.callbacks.BackupAndRestore):
        """The chief's backup, restored at the start of ``fit`` but never
        written (the processes other than the chief under ``--distribute``)."""

        def on_epoch_end(self, epoch, logs=None):
            pass

        def on_train_batch_end(self, batch, logs=None):
            pass

        def on_train_end(self, logs=None):
            pass

    return RunLog, ResumeCheck, RestoreOnly


def _previous_seconds(args):
    path = os.path.join(args.output_dir, METRICS_FILE)
    if not (args.resume and os.path.exists(path)):
        return 0.0
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return float(rows[-1]["seconds"]) if rows else 0.0


def callbacks(args, model, probe_batch=None, probes=None, epoch_metrics=()):
    """The run's callbacks, in the order they must run:

    the monitors (``--monitor``; first, so that the optimiser variable the
    gradient monitor adds exists when the backup is restored), the
    ``epoch_metrics`` (callbacks that add entries to the epoch logs, e.g. a
    validation score: before everything that reads them), the
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
    chief = is_chief()
    chosen = MONITORS if args.monitor == [] else (args.monitor or ())
    monitor_kwargs = dict(log_dir=out, tensorboard=True) if chief else {}
    cbs = list(replicas().callbacks())
    replicas().prepare(model)
    if "gradients" in chosen:  # every process: its optimiser variable is in the backup
        cbs.append(zoo_callbacks.GradientNormMonitor(args.monitor_every, probes=probes,
                                                     **monitor_kwargs))
    if "hidden" in chosen and chief:
        cbs.append(zoo_callbacks.HiddenGradientMonitor(probe_batch, args.monitor_every,
                                                       **monitor_kwargs))
    if "spectrum" in chosen and chief:
        cbs.append(zoo_callbacks.SpectrumMonitor(args.monitor_every, **monitor_kwargs))
    RunLog, ResumeCheck, RestoreOnly = _keras_callbacks()
    cbs.extend(epoch_metrics)
    cbs.append(RunLog(args.log_every, _previous_seconds(args)))
    if chief:
        cbs.append(keras.callbacks.CSVLogger(os.path.join(out, METRICS_FILE), append=True))
    cbs.append((keras.callbacks.BackupAndRestore if chief else RestoreOnly)(
        os.path.join(out, BACKUP_DIR), double_checkpoint=True, delete_checkpoint=False))
    cbs.append(ResumeCheck(_backup_epoch(args) * args.log_every, args.log_every,
                           os.path.join(out, BACKUP_DIR)))
    if any(getattr(layer, "mode", None) == "dtriv" for layer in iter_layers(model)):
        cbs.append(zoo_callbacks.DtrivRetraction(every=args.dtriv_k,
                                                 reproject_every=args.dtriv_m))
    if args.tensorboard and chief:
        cbs.append(keras.callbacks.TensorBoard(os.path.join(out, "tensorboard")))
    return cbs


IMAGE_SPLIT_SEED = 5544
"""Seed of the image scripts' validation / training-subset carve (not --seed)."""


def image_classification_flags(parser, num_train, passes, passes_note=""):
    """The split and length flags of the pixel-classification scripts
    (``training/pixel_mnist.py``, ``training/seq_cifar.py``)."""
    parser.add_argument("--train-size", type=positive_int, default=None,
                        help="train on this many of the training images (a fixed-seed subset, "
                             "disjoint from the validation images; default: all the rest)")
    parser.add_argument("--validation-size", type=number(int, 0, strict=False), default=5000,
                        help=f"validation images carved from the {num_train:,} training images "
                             f"(fixed seed); the checkpoint of best validation accuracy is "
                             f"tested; 0: none, the final weights are tested")
    parser.add_argument("--test-size", type=positive_int, default=None,
                        help="test on the first N test images (default: all 10,000)")
    parser.add_argument("--passes", type=positive_int, default=passes,
                        help=f"passes over the training images when --steps is not given"
                             f"{passes_note}")


def carve(num_images, validation_size, train_size, seed=IMAGE_SPLIT_SEED):
    """Indices (train, valid) into the training images: valid first, then the
    training subset from the rest, both from one fixed-seed permutation."""
    if validation_size >= num_images:
        raise SystemExit(f"error: --validation-size {validation_size} leaves no training images "
                         f"of the {num_images}: use a smaller --validation-size")
    import numpy as np

    order = np.random.default_rng(seed).permutation(num_images)
    rest = order[validation_size:]
    if train_size is not None and train_size > len(rest):
        raise SystemExit(f"error: --train-size {train_size} exceeds the {len(rest)} training "
                         f"images left after --validation-size {validation_size}: use "
                         f"--train-size <= {len(rest)}")
    return np.sort(rest[:train_size]), np.sort(order[:validation_size])


def steps_from_passes(args, examples, passes):
    """--steps (default ``passes`` passes over ``examples`` training examples,
    rounded up to whole --log-every epochs) and --log-every (default one pass,
    or the gcd with --steps)."""
    if examples < args.batch_size:
        raise SystemExit(f"error: --batch-size {args.batch_size} exceeds the {examples} "
                         f"training examples: use a smaller --batch-size or more data")
    steps_per_pass = examples // args.batch_size
    if args.steps is None:
        args.steps = passes * steps_per_pass
        if args.log_every is not None:
            args.steps = math.ceil(args.steps / args.log_every) * args.log_every
    if args.log_every is None:
        args.log_every = math.gcd(args.steps, steps_per_pass)
        if args.log_every < min(args.steps, steps_per_pass):
            print(f"note: --log-every {args.log_every} (the gcd of --steps {args.steps} and the "
                  f"{steps_per_pass} steps of a pass): the validation set is scored every "
                  f"{args.log_every} steps; pass --log-every to choose")
    return steps_per_pass


def image_splits(args, train, test):
    """``((x, y), (x_test, y_test))`` -> the (train, valid, test) pairs of the
    image flags, and --steps / --log-every from the training subset."""
    (x, y), (x_test, y_test) = train, test
    train_idx, valid_idx = carve(len(x), args.validation_size, args.train_size)
    if args.test_size is not None and args.test_size > len(x_test):
        raise SystemExit(f"error: --test-size {args.test_size} exceeds the {len(x_test)} test "
                         f"images: use --test-size <= {len(x_test)}")
    steps_from_passes(args, len(train_idx), args.passes)
    test_idx = slice(None, args.test_size)
    return ((x[train_idx], y[train_idx]), (x[valid_idx], y[valid_idx]),
            (x_test[test_idx], y_test[test_idx]))


def selected_metrics(model, args, best, evaluate, test):
    """Test the final weights, then the best-validation ones (``best``: the
    :func:`best_checkpoint` callback, or None) unless they are the same:
    ``{"test": {..., final_<metric>}, "valid": {<best monitored>}}``."""
    import numpy as np

    final = evaluate(model, test)
    final_weights = model.get_weights()
    metrics = {"test": dict(final)}
    if best is not None and load_best(model, args):
        metrics["valid"] = {best.monitor.replace("val_", ""): float(best.best)}
        if not all(np.array_equal(a, b) for a, b in zip(final_weights, model.get_weights())):
            metrics["test"] = evaluate(model, test)
    metrics["test"].update({f"final_{k}": v for k, v in final.items()})
    return metrics


def language_model_flags(parser, defaults):
    """The flags of the language-model scripts (``training/ptb.py``,
    ``training/wikitext.py``); ``defaults`` names the per-level defaults of
    --bptt and --embedding-dim in their help."""
    parser.rnnzoo_stateful = True  # check_distribute: no stateful model under tf.distribute
    parser.add_argument("--data-dir", default=None,
                        help="the data directory (default: $RNNZOO_DATA_DIR)")
    parser.add_argument("--bptt", type=positive_int, default=None,
                        help=f"truncated-BPTT window (default: {defaults['bptt']})")
    parser.add_argument("--embedding-dim", type=positive_int, default=None,
                        help=f"embedding size (default: {defaults['embedding_dim']})")
    parser.add_argument("--input-scale", type=positive_float, default=1.0,
                        help="multiply the embedding output by this (Kanai et al.: 0.01)")
    parser.add_argument("--output-dropout", type=number(float, 0.0, strict=False,
                                                             maximum=1.0), default=0.0,
                        help="dropout on the RNN output before the read-out")
    parser.add_argument("--eval-batch-size", type=positive_int, default=10,
                        help="columns of the validation/test evaluation (asRNN: 10)")
    parser.add_argument("--train-tokens", type=positive_int, default=None,
                        help="train on the first N tokens of the training split (CPU runs)")
    parser.add_argument("--valid-tokens", type=positive_int, default=None,
                        help="score the first N validation tokens after each --log-every "
                             "steps (the final scores use the whole splits)")
    parser.add_argument("--lr-plateau-factor", type=number(float, 0.0, maximum=1.0),
                        default=None, help="scale the lr by this when the validation loss "
                                           "does not improve (asRNN: 0.5); default: off")
    parser.add_argument("--lr-plateau-patience", type=number(int, 0, strict=False),
                        default=0, help="evaluations without improvement before scaling")
    parser.add_argument("--lr-decay", type=number(float, 1.0, strict=False), default=1.0,
                        help="divide the lr by this after every --log-every steps from "
                             "--lr-decay-start on (Kanai et al.: 1.1 per epoch after 10)")
    parser.add_argument("--lr-decay-start", type=number(int, 0, strict=False), default=0,
                        help="--log-every periods at the full lr before --lr-decay applies")


def language_model_windows(args, tokens):
    """The training stream of a language-model run: the first --train-tokens
    of ``tokens``, its windows per pass, --steps (default one pass, rounded up
    to whole --log-every epochs) and --log-every (default the gcd with one
    pass). Returns ``(train_tokens, windows_per_pass)``."""
    from keras_rnnzoo.datasets import LanguageModelBatches

    train = tokens[:args.train_tokens] if args.train_tokens else tokens
    try:
        windows = LanguageModelBatches(train, args.batch_size, args.bptt).windows_per_pass
    except ValueError as e:
        raise SystemExit(f"error: --batch-size / --bptt / --train-tokens: {e}") from None
    if args.steps is None:
        args.steps = windows if args.log_every is None else \
            math.ceil(windows / args.log_every) * args.log_every
    if args.log_every is None:
        args.log_every = math.gcd(args.steps, windows)
    return train, windows


def language_model_callbacks(args, windows_per_pass):
    """A language-model run's schedule, after :func:`callbacks`: the state reset
    at each pass (``ResetStates``), ``--lr-decay`` (a function of the epoch
    index, so a resumed run keeps it), ``--lr-plateau-factor`` (Keras'
    ``ReduceLROnPlateau`` on ``val_loss``) and the best-validation checkpoint."""
    import keras

    from keras_rnnzoo import callbacks as zoo_callbacks

    out = [zoo_callbacks.ResetStates(windows_per_pass)]
    if args.lr_decay != 1.0:
        out.append(keras.callbacks.LearningRateScheduler(
            lambda epoch, lr: args.lr / args.lr_decay ** max(0, epoch - args.lr_decay_start + 1)))
    if args.lr_plateau_factor:
        out.append(keras.callbacks.ReduceLROnPlateau(
            "val_loss", factor=args.lr_plateau_factor, patience=args.lr_plateau_patience))
    out.append(best_checkpoint(args, "val_loss", "min"))
    return out


def best_checkpoint(args, monitor, mode="max"):
    """A callback keeping the weights of the best ``monitor`` (a validation
    metric of the epoch logs) in ``OUTPUT_DIR/best.weights.h5``, as Keras'
    ``ModelCheckpoint(save_best_only=True, save_weights_only=True)`` does, but
    written to a temporary file and renamed, so a kill never leaves a
    half-written checkpoint. ``.best`` and ``.monitor`` are its state.

    Append it after :func:`callbacks` (the logs then hold the validation
    metrics). On ``--resume`` the best value so far comes from ``metrics.csv``
    (the rows kept by :func:`start_epoch`), so a resumed run keeps the best
    checkpoint of the whole run, not of its second part.
    """
    import keras

    if mode not in ("max", "min"):
        raise ValueError(f"`mode` must be 'max' or 'min'; got {mode!r}.")
    path = os.path.join(args.output_dir, BEST_WEIGHTS)
    best = None
    metrics_path = os.path.join(args.output_dir, METRICS_FILE)
    if args.resume and os.path.exists(metrics_path) and os.path.exists(path):
        with open(metrics_path, newline="") as f:
            values = [float(r[monitor]) for r in csv.DictReader(f)
                      if r.get(monitor) not in (None, "", "NA")]
        values = [v for v in values if math.isfinite(v)]
        if values:
            best = max(values) if mode == "max" else min(values)

    class BestCheckpoint(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.monitor, self.mode, self.best = monitor, mode, best

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get(self.monitor)
            if value is None:
                raise KeyError(f"best_checkpoint: the epoch logs have no {self.monitor!r} (keys "
                               f"{sorted(logs or {})}): compute it before this callback.")
            value = float(value)
            if not math.isfinite(value):
                return
            if self.best is None or (value > self.best if self.mode == "max"
                                     else value < self.best):
                self.best = value
                if not is_chief():
                    return
                tmp = path[:-len(".weights.h5")] + ".tmp.weights.h5"
                self.model.save_weights(tmp, overwrite=True)
                os.replace(tmp, path)

    return BestCheckpoint()


def load_best(model, args):
    """Load ``OUTPUT_DIR/best.weights.h5`` (:func:`best_checkpoint`) into
    ``model``; False (weights unchanged) when no epoch improved on the start."""
    path = os.path.join(args.output_dir, BEST_WEIGHTS)
    if not os.path.exists(path):
        return False
    model.load_weights(path)
    return True


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
        "training_replicas": replicas().num_replicas,
    }
    if is_chief():
        presets.save_to_preset(model, args.output_dir, metadata=metadata)
    replicas().barrier()  # the preset exists for every process from here on
    print(f"wrote the preset {args.output_dir} (keras_rnnzoo.presets.from_preset"
          f"({args.output_dir!r}))")
    return metadata


def plot(args, key, baseline=None, title="", log_y=True, png_name=None):
    """``key`` of ``metrics.csv`` against the step, into ``OUTPUT_DIR/<key>.png``."""
    from keras_rnnzoo.utils import plot_metrics

    png = os.path.join(args.output_dir, png_name or f"{key}.png")
    if not is_chief():
        return png
    plot_metrics({args.cell: os.path.join(args.output_dir, METRICS_FILE)}, png, key,
                 baseline=baseline, title=title, log_y=log_y)
    print(f"wrote {png}")
    return png
