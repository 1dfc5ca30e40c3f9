"""Reverse ordering and Morita's other tasks: python training/reverse_ordering.py --pe sinusoidal

Model (Morita 2024): TokenEmbedding (V real tokens + a learnable dummy token
for the output phase, d_e = --embed-dim) -> PositionalEncoding (--pe, merged
by --pe-merge) -> RNN(--cell) -> Dense(V); loss = mean cross-entropy over the
output positions only (the task mask as sample weight). Initialisation as in
Morita's code, PyTorch's defaults: embedding N(0, 1); --cell gru / lstm as
nn.GRU / nn.LSTM (every weight and both biases U(+-1/sqrt(H)), no forget-bias
offset); the read-out as nn.Linear (weight and bias U(+-1/sqrt(H))). Adam (beta_2 0.98,
eps 1e-9: the official code), lr warm-up over --warmup steps then cosine
decay, global clip 1. Every training batch is fresh and never equals one of
the 1,024 held-out test sequences.

Writes into --output-dir: ``metrics.csv`` (training loss and masked token
accuracy per --log-every steps), ``loss.png`` (with the baseline ln V),
``model.keras``, ``command.txt`` and ``eval.json`` (held-out token accuracy,
full-sequence accuracy, mean Damerau-Levenshtein distance; per group for
dual_frequency, per length for variable_length).

Defaults: the small CPU configuration of targets.md (GRU, H = d_e = 128,
L = 32, V = 1024, batch 128, 2,000 steps, 100 warm-up steps).
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training import _cells  # noqa: E402
from training import _common  # noqa: E402

BACKEND = _common.select_backend()

TASKS = ("reverse", "sort", "dual_frequency", "predecessor_query", "delayed_sum",
         "variable_length")
PE_KINDS = ("none", "sinusoidal", "learnable", "random", "dummy")


def parse_args(argv=None):
    p = _common.shared_parser(__doc__.splitlines()[0])
    _cells.add_cell_arguments(p, default="gru", lstm_forget_bias=None)  # nn.LSTM
    p.set_defaults(steps=2000, hidden=128, lr=1e-3, clipnorm=1.0, optimizer="adam",
                   adam_beta2=0.98, adam_epsilon=1e-9)
    p.add_argument("--task", choices=TASKS, default="reverse")
    p.add_argument("--vocab", type=int, default=1024, help="V, number of real tokens")
    p.add_argument("--length", type=int, default=32,
                   help="L (delayed_sum: half length; variable_length: maximum length)")
    p.add_argument("--pe", choices=PE_KINDS, default="sinusoidal")
    p.add_argument("--pe-merge", choices=("concat", "add"), default="concat")
    p.add_argument("--embed-dim", type=int, default=None, help="d_e (default: --hidden)")
    p.add_argument("--warmup", type=int, default=100, help="linear warm-up steps")
    p.add_argument("--rarity", type=float, default=0.125, help="dual_frequency: rare-token rate")
    args = p.parse_args(argv)
    _common.check_positive(p, args, ["hidden", "steps", "batch-size", "lr", "recurrent-lr",
                                     "log-every", "length", "embed-dim", "dtriv-k", "dtriv-m"])
    if args.vocab <= 1:
        p.error(f"--vocab must be >= 2 (V real tokens); got {args.vocab}")
    if args.warmup < 0 or args.warmup >= args.steps:
        p.error(f"--warmup must be in [0, --steps); got {args.warmup}")
    if args.pe == "sinusoidal" and (args.embed_dim or args.hidden) % 2:
        p.error(f"--pe sinusoidal needs an even --embed-dim (sines and cosines); "
                f"got {args.embed_dim or args.hidden}")
    args.delta = _cells.parse_delta(p, args.delta)
    args.embed_dim = args.embed_dim or args.hidden
    if args.cell in _cells.ORTHOGONAL and args.recurrent_lr is None:
        args.recurrent_lr = args.lr / 10
    if args.output_dir is None:
        args.output_dir = os.path.join(
            "runs", f"{args.task}_V{args.vocab}_{args.cell}_pe-{args.pe}_{BACKEND}")
    return args


def make_task(args):
    from keras_rnnzoo import tasks

    extra = {"rarity": args.rarity} if args.task == "dual_frequency" else {}
    try:
        return tasks.make_task(args.task, args.vocab, length=args.length, seed=args.seed, **extra)
    except ValueError as e:
        sys.exit(f"error: {e}")


def build_model(args, task):
    import keras

    from keras_rnnzoo import initializers, layers, tasks

    tokens = keras.Input((task.input_length,), dtype="int32", name="tokens")
    x = layers.TokenEmbedding(args.vocab, args.embed_dim, seed=args.seed, name="embedding")(tokens)
    if args.pe != "none":
        x = layers.PositionalEncoding(args.pe, merge=args.pe_merge, max_length=task.input_length,
                                      seed=args.seed, name="positional_encoding")(x)
    h = _cells.build_rnn(args, return_sequences=True)(x)
    # nn.Linear's default: weight and bias U(+-1/sqrt(fan_in)), fan_in = H
    logits = keras.layers.Dense(
        task.num_classes, name="readout", dtype="float32",
        kernel_initializer=initializers.TorchUniform(seed=_cells.sub_seed(args.seed, 3)),
        bias_initializer=initializers.TorchUniform(
            fan=args.hidden, seed=_cells.sub_seed(args.seed, 4)))(h)
    model = keras.Model(tokens, logits, name=f"{args.task}_{args.cell}_pe_{args.pe}")
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, decay_steps=args.steps - args.warmup,
        warmup_target=args.lr, warmup_steps=args.warmup)
    optimizer = _common.make_optimizer(args, _cells.lr_multipliers(args), learning_rate=schedule)
    model.compile(optimizer, tasks.masked_cross_entropy(),
                  weighted_metrics=[tasks.MaskedTokenAccuracy(name="token_accuracy")])
    return model


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return [None if v != v else v for v in value.tolist()] if value.ndim else value.item()
    return value


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


def main(argv=None):
    args = parse_args(argv)
    task = make_task(args)
    baseline = task.baseline()
    print(f"{args.task}: V={args.vocab} L={args.length} (input {task.input_length} steps) | "
          f"cell={args.cell} H={args.hidden} d_e={args.embed_dim} pe={args.pe} | "
          f"backend={BACKEND} | baseline {baseline:.4f} nats")

    model, _ = _common.train(
        args, BACKEND, lambda a: build_model(a, task),
        lambda start_epoch: task.batches(args.batch_size, steps_per_epoch=args.log_every,
                                         start_epoch=start_epoch),
        baseline=baseline,
        title=f"{args.task} V={args.vocab}: {args.cell}, PE {args.pe} ({BACKEND})",
        extra_callbacks=lambda m: _cells.cell_callbacks(args, m),
        probes=lambda: group_probes(task, args.batch_size))
    result = task.evaluate(model)
    result.update(task=args.task, vocab=args.vocab, length=args.length, pe=args.pe,
                  cell=args.cell, steps=args.steps, baseline=baseline)
    path = os.path.join(args.output_dir, "eval.json")
    _common.atomic_write_text(path, json.dumps(_jsonable(result), indent=1) + "\n")
    print(f"held-out: token accuracy {result['token_accuracy']:.4f}, full-sequence accuracy "
          f"{result['sequence_accuracy']:.4f}, Damerau-Levenshtein "
          f"{result['damerau_levenshtein']:.2f}\nwrote {path}")


if __name__ == "__main__":
    main()
