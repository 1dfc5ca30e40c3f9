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

Writes into --output-dir: ``metrics.csv`` (loss and nll_per_frame, one row
per --log-every steps), ``loss.png`` (the training loss), ``nll_per_frame.png``
(with the memoryless Bernoulli floor of the training split), ``model.keras``,
``command.txt`` and ``eval.json`` (NLL per frame on the valid and test splits
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

import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training import _cells  # noqa: E402
from training import _common  # noqa: E402

BACKEND = _common.select_backend()

DATASETS = ("jsb", "nottingham", "musedata", "piano_midi")
NUM_KEYS = 88
DEFAULT_PASSES = 10


def parse_args(argv=None):
    p = _common.shared_parser(__doc__.splitlines()[0])
    _cells.add_cell_arguments(p, default="stable_rnn")
    p.set_defaults(hidden=128, batch_size=1, lr=0.05, clipnorm=5.0, optimizer="sgd",
                   log_every=100)
    p.add_argument("--dataset", choices=DATASETS, default="jsb")
    p.add_argument("--data-dir", default=None,
                   help="directory with the standard .mat files (default: $RNNZOO_DATA_DIR)")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the sha256 check of the data file (test fixtures only)")
    p.add_argument("--input-scale", type=float, default=1.0,
                   help="multiply the piano roll by this (Kanai et al.: 0.01)")
    p.add_argument("--loss-reduction", choices=("sum", "mean"), default="sum",
                   help="sum: NLL summed over the frames of a batch (Miller & Hardt's code); "
                        "mean: NLL per real frame")
    p.add_argument("--init", choices=("default", "author"), default="default",
                   help="default: each cell's initialisation and a Glorot readout; author: "
                        "Miller & Hardt's code (PyTorch init, bias[n/4:n/2] = 10 in both "
                        "b_ih and b_hh, readout U(-0.1, 0.1) with zero bias; only for --cell "
                        + ", ".join(_cells.AUTHOR_INIT_CELLS) + ")")
    p.add_argument("--pad-multiple", type=int, default=16,
                   help="pad each batch's length to a multiple of this (masked: the loss is "
                        "unchanged; bounds recompilations on JAX/TensorFlow)")
    args = p.parse_args(argv)
    _common.check_positive(p, args, ["hidden", "steps", "batch-size", "lr", "recurrent-lr",
                                     "log-every", "dtriv-k", "dtriv-m", "input-scale",
                                     "pad-multiple"])
    args.delta = _cells.parse_delta(p, args.delta)
    if args.init == "author" and args.cell not in _cells.AUTHOR_INIT_CELLS:
        p.error(f"--init author is Miller & Hardt's initialisation of nn.RNN / nn.LSTM / nn.GRU: "
                f"use it with --cell {', '.join(_cells.AUTHOR_INIT_CELLS)}; got --cell {args.cell}")
    if args.data_dir is None:
        args.data_dir = os.environ.get("RNNZOO_DATA_DIR") or None
    if args.data_dir is None:
        p.error("--data-dir not given and RNNZOO_DATA_DIR not set: the data files are not "
                "shipped with keras-rnnzoo or any package; supply the standard "
                "Boulanger-Lewandowski files (JSB_Chorales.mat, Nottingham.mat, MuseData.mat, "
                "Piano_midi.mat) in a directory and pass it with --data-dir")
    if args.cell in _cells.ORTHOGONAL and args.recurrent_lr is None:
        args.recurrent_lr = args.lr / 10
    if args.output_dir is None:
        args.output_dir = os.path.join("runs", f"music_{args.dataset}_{args.cell}_{BACKEND}")
    return args


def build_model(args):
    import keras

    from keras_rnnzoo import tasks

    inputs = keras.Input((None, NUM_KEYS), name="piano_roll")
    x = inputs
    if args.input_scale != 1.0:
        x = keras.layers.Rescaling(args.input_scale, name="input_scale")(x)
    h = _cells.build_rnn(args, return_sequences=True)(x)
    readout = {}
    if args.init == "author":  # decoder.weight.uniform_(-0.1, 0.1), decoder.bias.zero_()
        readout = dict(kernel_initializer=keras.initializers.RandomUniform(
            -0.1, 0.1, seed=_cells.sub_seed(args.seed, 3)), bias_initializer="zeros")
    logits = keras.layers.Dense(NUM_KEYS, name="readout", dtype="float32", **readout)(h)
    model = keras.Model(inputs, logits, name=f"music_{args.dataset}_{args.cell}")
    reduction = "sum" if args.loss_reduction == "sum" else "mean_with_sample_weight"
    model.compile(_common.make_optimizer(args, _cells.lr_multipliers(args)),
                  tasks.FrameNLL(reduction=reduction), weighted_metrics=[tasks.NLLPerFrame()])
    return model


def load(args):
    from keras_rnnzoo import tasks

    try:
        return tasks.load_music(args.dataset, args.data_dir, verify=not args.no_verify)
    except (OSError, ValueError) as e:
        sys.exit(f"error: {e}")


def main(argv=None):
    args = parse_args(argv)
    from keras_rnnzoo import tasks

    train, valid, test = load(args)
    if args.steps is None:
        args.steps = DEFAULT_PASSES * math.ceil(len(train) / args.batch_size)
    floors = {split: tasks.bernoulli_floor(train, seqs)
              for split, seqs in (("train", train), ("valid", valid), ("test", test))}
    passes = args.steps / math.ceil(len(train) / args.batch_size)
    print(f"music {args.dataset}: {len(train)}/{len(valid)}/{len(test)} sequences | "
          f"cell={args.cell} H={args.hidden} | {args.optimizer} lr={args.lr} clip={args.clipnorm} "
          f"batch={args.batch_size} steps={args.steps} ({passes:.2f} passes) | backend={BACKEND} | "
          f"Bernoulli floor train {floors['train']:.4f}, valid {floors['valid']:.4f}, "
          f"test {floors['test']:.4f} nats/frame")

    def make_data(start_epoch):
        return tasks.MusicBatches(train, batch_size=args.batch_size, seed=args.seed,
                                  steps_per_epoch=args.log_every, start_epoch=start_epoch,
                                  pad_multiple=args.pad_multiple)

    title = f"{args.dataset}: {args.cell} H={args.hidden} ({BACKEND})"
    model, last = _common.train(
        args, BACKEND, build_model, make_data, log_y=False,
        baseline=floors["train"] if args.loss_reduction == "mean" else None,
        title=f"{title}, loss ({args.loss_reduction} over frames)",
        extra_callbacks=lambda m: _cells.cell_callbacks(args, m))
    png = os.path.join(args.output_dir, "nll_per_frame.png")
    _common.plot_curves({args.cell: os.path.join(args.output_dir, "metrics.csv")}, png,
                        "nll_per_frame", baseline=floors["train"], log_y=False,
                        title=f"{title}, training NLL per frame")
    print(f"wrote {png}")
    result = {
        "dataset": args.dataset, "cell": args.cell, "hidden": args.hidden, "backend": BACKEND,
        "steps": args.steps, "batch_size": args.batch_size, "input_scale": args.input_scale,
        "loss_reduction": args.loss_reduction, "init": args.init,
        "train_nll_per_frame_last_row": float(last["nll_per_frame"]),
        "valid_nll_per_frame": tasks.evaluate_music(model, valid),
        "test_nll_per_frame": tasks.evaluate_music(model, test),
        "bernoulli_floor_train": floors["train"],
        "bernoulli_floor_valid": floors["valid"],
        "bernoulli_floor_test": floors["test"],
    }
    path = os.path.join(args.output_dir, "eval.json")
    _common.atomic_write_text(path, json.dumps(result, indent=1) + "\n")
    print(f"NLL per frame: valid {result['valid_nll_per_frame']:.4f} (Bernoulli floor "
          f"{floors['valid']:.4f}), test {result['test_nll_per_frame']:.4f} (Bernoulli floor "
          f"{floors['test']:.4f})\nwrote {path}")


if __name__ == "__main__":
    main()
