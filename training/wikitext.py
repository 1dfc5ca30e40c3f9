"""WikiText language model: python training/wikitext.py --version 2 --data-dir DIR

Trains one zoo cell (``--cell``) as a word-level language model on
WikiText-2 (Miller & Hardt: test perplexity) or WikiText-103 (Gu et al.;
Morita's raw-text pipeline with SentencePiece is not reproduced here). No
package ships WikiText: put the standard word-level release into
``DIR/wikitext-2/`` or ``DIR/wikitext-103/`` (``wiki.{train,valid,test}.tokens``,
or ``train.txt`` / ``valid.txt`` / ``test.txt``), or run ``python -m
keras_rnnzoo.datasets prepare wikitext2 --data-dir DIR`` where its public URL
is reachable. Tokenisation as ``pytorch/examples``' word_language_model
(whitespace split plus ``<eos>`` per line, one vocabulary over the files).

Model, truncated-BPTT training, validation, best-validation checkpoint,
learning-rate schedule and outputs as ``training/ptb.py`` (``--level word``):
tokens -> Embedding(--embedding-dim) -> stateful RNN(--cell) ->
[--output-dropout] -> Dense(V) logits; batch 20 x BPTT 35 by default (Miller &
Hardt's Table 2); ``perplexity.png`` beside the training split's unigram
perplexity. Miller & Hardt's settings: ``--preset stable_lstm_wt2_h1024_paper``,
``stable_rnn_wt2_h256_paper``.
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

DEFAULTS = dict(bptt=35, embedding_dim=512, batch_size=20)


def parse_args(argv=None):
    parser = runs.training_parser(__doc__, cell="lstm", steps=None, hidden=256,
                                  batch_size=None, log_every=None, lstm_forget_bias=None)
    parser.add_argument("--version", type=int, choices=(2, 103), default=2)
    runs.language_model_flags(parser, {"bptt": 35, "embedding_dim": 512})
    args = runs.parse_args(parser, "wikitext", argv, output_name=lambda a: (
        f"wikitext{a.version}_{a.cell}_{keras.backend.backend()}"))
    for key, value in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def load(args):
    """The token splits; --steps (default one pass) and --log-every follow from them."""
    try:
        data = datasets.load_wikitext(args.version, args.data_dir)
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
        name=f"wikitext{args.version}_{args.cell}")
    model.compile(runs.make_optimizer(args),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=None)
    return model


def scores(result):
    return {"loss": result["loss"], "perplexity": result["perplexity"]}


def main(argv=None):
    args = parse_args(argv)
    data, train, windows = load(args)
    runs.setup(args)
    vocabulary = data["vocabulary"]
    unigram = {s: datasets.unigram_baseline(data["train"], data[s], len(vocabulary))
               for s in ("valid", "test")}
    print(f"wikitext-{args.version}: {len(vocabulary)} symbols, train {train.size} tokens "
          f"({windows} windows of {args.batch_size} x {args.bptt} per pass), valid "
          f"{data['valid'].size}, test {data['test'].size} | cell={args.cell} H={args.hidden} | "
          f"{args.optimizer} lr={args.lr} clip={args.clipnorm} steps={args.steps} | unigram "
          f"perplexity test {np.exp(unigram['test']):.1f}")

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
        model, data[s], batch_size=args.eval_batch_size)) for s in ("valid", "test")}
    runs.load_best(model, args)
    result = {s: scores(models.evaluate_language_model(
        model, data[s], batch_size=args.eval_batch_size)) for s in ("valid", "test")}
    result["final_weights"] = {f"{s}_{k}": v for s in final for k, v in final[s].items()}
    runs.save_run(
        model, args, task="language_model", metrics=result,
        evaluation={"function": "evaluate_language_model", "arguments": {
            "dataset": "wikitext", "version": args.version,
            "batch_size": args.eval_batch_size, "splits": ["valid", "test"]}},
        data={"dataset": f"wikitext-{args.version}", "vocabulary_size": len(vocabulary),
              "train_tokens": int(train.size),
              "unigram_baseline": {s: {"loss": v, "perplexity": float(np.exp(v))}
                                   for s, v in unigram.items()},
              "files": "the standard word-level release (user-supplied)"},
        description=f"{args.cell} H={args.hidden} on WikiText-{args.version}")
    runs.plot(args, "val_perplexity", baseline=float(np.exp(unigram["valid"])),
              title=f"WikiText-{args.version}: {args.cell} H={args.hidden} "
                    f"({keras.backend.backend()}), validation perplexity",
              png_name="perplexity.png")
    print(f"best validation checkpoint: valid perplexity {result['valid']['perplexity']:.2f}, "
          f"test {result['test']['perplexity']:.2f} (unigram test "
          f"{float(np.exp(unigram['test'])):.1f})")


if __name__ == "__main__":
    main()
