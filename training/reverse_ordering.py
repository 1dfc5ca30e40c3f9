"""Reverse ordering and Morita's other tasks: python training/reverse_ordering.py --pe sinusoidal

Model (Morita 2024): TokenEmbedding (V real tokens + a learnable dummy token
for the output phase, d_e = --embed-dim) -> PositionalEncoding (--pe, merged
by --pe-merge) -> RNN(--cell) -> Dense(V) at every step; loss = mean
cross-entropy over the output positions only (the task mask as sample
weight). Initialisation as in Morita's code, PyTorch's defaults: embedding
N(0, 1); --cell gru / lstm as nn.GRU / nn.LSTM (every weight and both biases
U(+-1/sqrt(H)), no forget-bias offset); the read-out as nn.Linear (weight and
bias U(+-1/sqrt(H))). Adam (beta_2 0.98, eps 1e-9: the official code), lr
warm-up over --warmup steps then cosine decay, global clip 1. Every training
batch is fresh and never equals one of the 1,024 held-out test sequences.

Leaves a preset in --output-dir (``config.json``, ``model.weights.h5``,
``metadata.json`` with the held-out metrics), plus ``metrics.csv`` (training
loss and masked token accuracy per --log-every steps), ``loss.png`` (with the
baseline ln V), ``command.txt``, ``backup/`` and ``eval.json`` (held-out token
accuracy, full-sequence accuracy, mean Damerau-Levenshtein distance; per group
for dual_frequency, per length for variable_length).

Defaults: the small CPU configuration of targets.md (GRU, H = d_e = 128,
L = 32, V = 1024, batch 128, 2,000 steps, 100 warm-up steps).
"""

import argparse
import json
import os

# Keras reads its backend when first imported: take --backend before that.
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "torch"))
os.environ["KERAS_BACKEND"] = _pre.parse_known_args()[0].backend

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_rnnzoo import initializers  # noqa: E402
from keras_rnnzoo import metrics  # noqa: E402
from keras_rnnzoo import models  # noqa: E402
from keras_rnnzoo import tasks  # noqa: E402
from keras_rnnzoo.cells import sub_seed  # noqa: E402
from keras_rnnzoo.utils import atomic_write  # noqa: E402
from keras_rnnzoo.utils import runs  # noqa: E402

PE_KINDS = ("none", "sinusoidal", "learnable", "random", "dummy")


def parse_args(argv=None):
    parser = runs.training_parser(__doc__, cell="gru", steps=2000, hidden=128,
                                  lstm_forget_bias=None)  # nn.LSTM's init
    parser.set_defaults(lr=1e-3, clipnorm=1.0, optimizer="adam", adam_beta2=0.98,
                        adam_epsilon=1e-9)
    parser.add_argument("--task", choices=tasks.MORITA_TASKS, default="reverse")
    parser.add_argument("--vocab", type=runs.number(int, 2, strict=False), default=1024,
                        help="V >= 2, number of real tokens")
    parser.add_argument("--length", type=runs.positive_int, default=32,
                        help="L (delayed_sum: half length; variable_length: maximum length)")
    parser.add_argument("--pe", choices=PE_KINDS, default="sinusoidal")
    parser.add_argument("--pe-merge", choices=("concat", "add"), default="concat")
    parser.add_argument("--embed-dim", type=runs.positive_int, default=None,
                        help="d_e (default: --hidden)")
    parser.add_argument("--warmup", type=runs.number(int, 0, strict=False), default=100,
                        help="linear warm-up steps, < --steps")
    parser.add_argument("--rarity", type=runs.number(float, 0.0, maximum=1.0), default=0.125,
                        help="dual_frequency: rare-token rate")
    args = runs.parse_args(parser, "reverse_ordering", argv, output_name=lambda a: (
        f"{a.task}_V{a.vocab}_{a.cell}_pe-{a.pe}_{keras.backend.backend()}"))
    args.embed_dim = args.embed_dim or args.hidden
    if args.warmup >= args.steps:
        parser.error(f"--warmup must be in [0, --steps); got {args.warmup}")
    if args.pe == "sinusoidal" and args.embed_dim % 2:
        parser.error(f"--pe sinusoidal needs an even --embed-dim (sines and cosines); "
                     f"got {args.embed_dim}")
    try:
        args.task_object = make_task(args)
    except ValueError as e:
        parser.error(str(e))
    return args


def task_arguments(args):
    extra = {"rarity": args.rarity} if args.task == "dual_frequency" else {}
    return dict(name=args.task, vocab_size=args.vocab, length=args.length, seed=args.seed,
                **extra)


def make_task(args):
    return tasks.make_task(**task_arguments(args))


def build_model(args, task):
    backbone = models.RNNBackbone(
        runs.build_cell(args), vocabulary_size=args.vocab, embedding_dim=args.embed_dim,
        dummy_token=True, positional_encoding=None if args.pe == "none" else args.pe,
        positional_merge=args.pe_merge, sequence_length=task.input_length, seed=args.seed)
    # nn.Linear's default: weight and bias U(+-1/sqrt(fan_in)), fan_in = H
    model = models.SequenceTagger(
        backbone, num_classes=task.num_classes, name=f"{args.task}_{args.cell}_pe_{args.pe}",
        kernel_initializer=initializers.TorchUniform(seed=sub_seed(args.seed, 3)),
        bias_initializer=initializers.TorchUniform(fan=args.hidden, seed=sub_seed(args.seed, 4)))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, decay_steps=args.steps - args.warmup,
        warmup_target=args.lr, warmup_steps=args.warmup)
    model.compile(runs.make_optimizer(args, learning_rate=schedule),
                  metrics.masked_cross_entropy(), metrics=None,
                  weighted_metrics=[metrics.MaskedTokenAccuracy(name="token_accuracy")])
    return model


def group_probes(task, batch_size):
    """dual_frequency: one held-out batch per group (frequent/rare target x
    context), the batches whose gradient norms ``--monitor gradients`` records."""
    if task.name != "dual_frequency":
        return None
    x, y, weight = task.test_set()
    group = task.test_info()["group"]
    probes = {}
    for g, name in enumerate(task.test_info()["group_names"]):
        index = np.flatnonzero(group == g)[:batch_size]
        probes[name] = (x[index], y[index], weight[index])
    return probes


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return [None if v != v else v for v in value.tolist()] if value.ndim else value.item()
    return value


def main(argv=None):
    args = parse_args(argv)
    task = args.task_object
    del args.task_object
    runs.setup(args)
    baseline = task.baseline()
    print(f"{args.task}: V={args.vocab} L={args.length} (input {task.input_length} steps) | "
          f"cell={args.cell} H={args.hidden} d_e={args.embed_dim} pe={args.pe} | "
          f"backend={keras.backend.backend()} | baseline {baseline:.4f} nats")

    def batches(start):
        return task.batches(args.batch_size, steps_per_epoch=args.log_every, start_epoch=start,
                            epochs=runs.epochs(args))

    start = runs.start_epoch(args)
    data = runs.shard(batches(start))  # --distribute on torch: this process's rows
    with runs.scope():  # --distribute on TensorFlow: the strategy's variables
        model = build_model(args, task)
    # One indexed stream of fresh batches for the whole run (shuffle=False: Keras'
    # shuffle draws from the global RNG, which a resumed run would restart).
    model.fit(data, epochs=runs.epochs(args), initial_epoch=start, steps_per_epoch=args.log_every,
              shuffle=False, verbose=runs.verbose(),
              callbacks=runs.callbacks(args, model, probe_batch=batches(0)[0],
                                       probes=group_probes(task, args.batch_size)))

    result = models.evaluate_sequences(model, task)
    summary = {k: result[k] for k in ("token_accuracy", "sequence_accuracy",
                                      "damerau_levenshtein")}
    evaluation = {"function": "evaluate_sequences", "arguments": {"task": task_arguments(args)}}
    runs.save_run(model, args, task=args.task, metrics={"test": summary}, evaluation=evaluation,
                  data={**task_arguments(args),
                        "test": "the task's 1,024 held-out sequences (never trained on)"},
                  description=f"{args.cell} H={args.hidden}, PE {args.pe}, on {args.task} with "
                              f"V={args.vocab}, L={args.length}")
    result.update(task=args.task, vocab=args.vocab, length=args.length, pe=args.pe,
                  cell=args.cell, steps=args.steps, baseline=baseline)
    path = os.path.join(args.output_dir, "eval.json")
    atomic_write(path, json.dumps(_jsonable(result), indent=1) + "\n")
    runs.plot(args, "loss", baseline=baseline,
              title=f"{args.task} V={args.vocab}: {args.cell}, PE {args.pe} "
                    f"({keras.backend.backend()})")
    print(f"held-out: token accuracy {result['token_accuracy']:.4f}, full-sequence accuracy "
          f"{result['sequence_accuracy']:.4f}, Damerau-Levenshtein "
          f"{result['damerau_levenshtein']:.2f}\nwrote {path}")


if __name__ == "__main__":
    main()
