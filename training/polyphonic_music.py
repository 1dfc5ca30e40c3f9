"""Polyphonic music (JSB, ...): python training/polyphonic_music.py --dataset jsb --data-dir DIR

Trains one zoo cell (``--cell``, every zoo cell and baseline) on one of the
four Boulanger-Lewandowski piano-roll data sets. Model (Miller & Hardt's JSB
task): [x --input-scale] -> RNN(--cell, all steps) -> Dense(88) logits
(float32). Inputs are frames 1 ... T-1 of a sequence, targets frames 2 ... T;
--batch-size 1 (default) is one sequence per step, as in the paper. Each pass
over the training split is shuffled from --seed. Loss: binary cross-entropy
from logits summed over the 88 keys (the NLL of a frame), then (the padding
mask as sample weight) --loss-reduction sum: summed over the frames of the
batch, as in Miller & Hardt's fork of locuslab/TCN, whose lr 0.05 and clip 5
assume this scale; mean: averaged over the real frames. Either way the
metric ``nll_per_frame`` is the frame-weighted NLL per frame of the training
frames since the last logged row.

The data files are not shipped: put the standard ``JSB_Chorales.mat``,
``Nottingham.mat``, ``MuseData.mat`` or ``Piano_midi.mat`` into --data-dir
(default: the environment variable RNNZOO_DATA_DIR); their sha256 is checked.

Leaves a preset in --output-dir (``config.json``, ``model.weights.h5``,
``metadata.json`` with the valid and test NLL per frame), plus ``metrics.csv``
(loss and nll_per_frame, one row per --log-every steps: default one pass over
the training split), ``loss.png`` (the training loss), ``nll_per_frame.png``
(with the memoryless Bernoulli floor of the training split), ``command.txt``,
``backup/`` and ``eval.json`` (NLL per frame on the valid and test splits
beside their Bernoulli floors).

Initialisation (--init): ``default`` is each cell's own (the stable cells:
PyTorch's U(+-1/sqrt(H)) with the summed bias b_ih + b_hh; --cell rnn: Keras'
SimpleRNN init) and a Keras Dense read-out (Glorot uniform, zero bias).
``author`` is the initialisation of Miller & Hardt's code (millerjohnp/TCN,
poly_music/model.py), for --cell stable_rnn, stable_lstm, rnn, lstm or gru
(the cells behind nn.RNN / nn.LSTM / nn.GRU): PyTorch's default for every
weight and both biases, then ``bias[n//4:n//2] = 10`` in each of b_ih and b_hh
(n = the bias length), and a read-out with weight U(-0.1, 0.1) and zero bias.
What the slice hits depends on the cell: LSTM (n = 4H, blocks i, f, g, o) the
forget block, an effective forget bias 20; RNN (n = H) units H/4 ... H/2 - 1,
whose tanh starts saturated at 1; GRU (n = 3H, PyTorch blocks r, z, n) the
reset gate of units 3H/4 ... H - 1 and the update gate of units 0 ... H/2 - 1
(update gate ~ 1: those units hold h = 0 at first), 10 in each bias row of
the zoo's (2, 3H) GRU bias.

Defaults (Miller & Hardt's JSB RNN row of Table 2, with H = 128 instead of
1,024 for CPU runs): stable_rnn, SGD lr 0.05, global clip 5, batch 1, 10 passes
over the training split. Kanai et al. (Nottingham, spectral_gru) scale the input
by 0.01: --input-scale 0.01.
"""

import argparse
import json
import math
import os

# Keras reads its backend when first imported: take --backend before that.
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "torch"))
os.environ["KERAS_BACKEND"] = _pre.parse_known_args()[0].backend

import keras  # noqa: E402

from keras_rnnzoo import metrics  # noqa: E402
from keras_rnnzoo import models  # noqa: E402
from keras_rnnzoo import tasks  # noqa: E402
from keras_rnnzoo.cells import AUTHOR_INIT_CELLS  # noqa: E402
from keras_rnnzoo.cells import sub_seed  # noqa: E402
from keras_rnnzoo.utils import atomic_write  # noqa: E402
from keras_rnnzoo.utils import runs  # noqa: E402

NUM_KEYS = 88
DEFAULT_PASSES = 10


def parse_args(argv=None):
    parser = runs.training_parser(__doc__, cell="stable_rnn", steps=None, hidden=128,
                                  batch_size=1, log_every=None)
    parser.set_defaults(lr=0.05, clipnorm=5.0, optimizer="sgd")
    parser.add_argument("--dataset", choices=list(tasks.MUSIC_DATASETS), default="jsb")
    parser.add_argument("--data-dir", default=None,
                        help="directory with the standard .mat files (default: $RNNZOO_DATA_DIR)")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip the sha256 check of the data file (test fixtures only)")
    parser.add_argument("--input-scale", type=runs.positive_float, default=1.0,
                        help="multiply the piano roll by this (Kanai et al.: 0.01)")
    parser.add_argument("--loss-reduction", choices=("sum", "mean"), default="sum",
                        help="sum: NLL summed over the frames of a batch (Miller & Hardt's code); "
                             "mean: NLL per real frame")
    parser.add_argument("--init", choices=("default", "author"), default="default",
                        help="default: each cell's initialisation and a Glorot readout; author: "
                             "Miller & Hardt's code (PyTorch init, bias[n/4:n/2] = 10 in both "
                             "b_ih and b_hh, readout U(-0.1, 0.1) with zero bias; only for "
                             "--cell " + ", ".join(AUTHOR_INIT_CELLS) + ")")
    parser.add_argument("--pad-multiple", type=runs.positive_int, default=16,
                        help="pad each batch's length to a multiple of this (masked: the loss is "
                             "unchanged; bounds recompilations on JAX/TensorFlow)")
    args = runs.parse_args(parser, "music", argv, output_name=lambda a: (
        f"music_{a.dataset}_{a.cell}_{keras.backend.backend()}"))
    if args.init == "author" and args.cell not in AUTHOR_INIT_CELLS:
        parser.error(f"--init author is Miller & Hardt's initialisation of nn.RNN / nn.LSTM / "
                     f"nn.GRU: use it with --cell {', '.join(AUTHOR_INIT_CELLS)}; got --cell "
                     f"{args.cell}")
    if args.data_dir is None:
        args.data_dir = os.environ.get("RNNZOO_DATA_DIR") or None
    if args.data_dir is None:
        parser.error("--data-dir not given and RNNZOO_DATA_DIR not set: the data files are not "
                     "shipped with keras-rnnzoo or any package; supply the standard "
                     "Boulanger-Lewandowski files (JSB_Chorales.mat, Nottingham.mat, "
                     "MuseData.mat, Piano_midi.mat) in a directory and pass it with --data-dir")
    return args


def load(args):
    """The (train, valid, test) sequences; --steps (default 10 passes) and --log-every
    (default one pass) follow from the training split."""
    try:
        splits = tasks.load_music(args.dataset, args.data_dir, verify=not args.no_verify)
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    steps_per_pass = math.ceil(len(splits[0]) / args.batch_size)
    if args.steps is None:
        args.steps = DEFAULT_PASSES * steps_per_pass
    if args.log_every is None:
        args.log_every = math.gcd(args.steps, steps_per_pass)
    return splits


def build_model(args):
    backbone = models.RNNBackbone(
        runs.build_cell(args), input_dim=NUM_KEYS,
        input_scale=None if args.input_scale == 1.0 else args.input_scale)
    readout = {}
    if args.init == "author":  # decoder.weight.uniform_(-0.1, 0.1), decoder.bias.zero_()
        readout = dict(kernel_initializer=keras.initializers.RandomUniform(
            -0.1, 0.1, seed=sub_seed(args.seed, 3)), bias_initializer="zeros")
    model = models.FramePredictor(backbone, num_notes=NUM_KEYS,
                                  name=f"music_{args.dataset}_{args.cell}", **readout)
    reduction = "sum" if args.loss_reduction == "sum" else "mean_with_sample_weight"
    model.compile(runs.make_optimizer(args), metrics.FrameNLL(reduction=reduction),
                  metrics=None, weighted_metrics=[metrics.NLLPerFrame()])
    return model


def main(argv=None):
    args = parse_args(argv)
    train, valid, test = load(args)
    runs.setup(args)
    floors = {split: tasks.bernoulli_floor(train, seqs)
              for split, seqs in (("train", train), ("valid", valid), ("test", test))}
    passes = args.steps / math.ceil(len(train) / args.batch_size)
    print(f"music {args.dataset}: {len(train)}/{len(valid)}/{len(test)} sequences | "
          f"cell={args.cell} H={args.hidden} | {args.optimizer} lr={args.lr} clip={args.clipnorm} "
          f"batch={args.batch_size} steps={args.steps} ({passes:.2f} passes) | backend="
          f"{keras.backend.backend()} | Bernoulli floor train {floors['train']:.4f}, valid "
          f"{floors['valid']:.4f}, test {floors['test']:.4f} nats/frame")

    def batches(start):
        return tasks.MusicBatches(train, batch_size=args.batch_size, seed=args.seed,
                                  steps_per_epoch=args.log_every, start_epoch=start,
                                  epochs=runs.epochs(args), pad_multiple=args.pad_multiple)

    start = runs.start_epoch(args)
    data = runs.shard(batches(start))  # --distribute on torch: this process's rows
    with runs.scope():  # --distribute on TensorFlow: the strategy's variables
        model = build_model(args)
    # One indexed stream of fresh batches for the whole run (shuffle=False: Keras'
    # shuffle draws from the global RNG, which a resumed run would restart).
    model.fit(data, epochs=runs.epochs(args), initial_epoch=start, steps_per_epoch=args.log_every,
              shuffle=False, verbose=runs.verbose(),
              callbacks=runs.callbacks(args, model, probe_batch=batches(0)[0]))

    result = {"valid": {"nll_per_frame": models.evaluate_music(model, valid)},
              "test": {"nll_per_frame": models.evaluate_music(model, test)}}
    evaluation = {"function": "evaluate_music",
                  "arguments": {"dataset": args.dataset, "splits": ["valid", "test"]}}
    runs.save_run(model, args, task="music", metrics=result, evaluation=evaluation,
                  data={"dataset": args.dataset, "bernoulli_floor": floors,
                        "files": "the standard Boulanger-Lewandowski .mat files (not shipped)"},
                  description=f"{args.cell} H={args.hidden} on {args.dataset} (NLL per frame)")
    path = os.path.join(args.output_dir, "eval.json")
    atomic_write(path, json.dumps({
        "dataset": args.dataset, "cell": args.cell, "hidden": args.hidden,
        "backend": keras.backend.backend(), "steps": args.steps, "batch_size": args.batch_size,
        "input_scale": args.input_scale, "loss_reduction": args.loss_reduction,
        "init": args.init, "valid_nll_per_frame": result["valid"]["nll_per_frame"],
        "test_nll_per_frame": result["test"]["nll_per_frame"],
        **{f"bernoulli_floor_{k}": v for k, v in floors.items()}}, indent=1) + "\n")
    title = f"{args.dataset}: {args.cell} H={args.hidden} ({keras.backend.backend()})"
    runs.plot(args, "loss", title=f"{title}, loss ({args.loss_reduction} over frames)",
              baseline=floors["train"] if args.loss_reduction == "mean" else None, log_y=False)
    runs.plot(args, "nll_per_frame", baseline=floors["train"], log_y=False,
              title=f"{title}, training NLL per frame")
    print(f"NLL per frame: valid {result['valid']['nll_per_frame']:.4f} (Bernoulli floor "
          f"{floors['valid']:.4f}), test {result['test']['nll_per_frame']:.4f} (Bernoulli floor "
          f"{floors['test']:.4f})\nwrote {path}")


if __name__ == "__main__":
    main()
