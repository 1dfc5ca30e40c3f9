"""Evaluation of a model on a task: fresh or held-out data, scored in NumPy.

* :func:`evaluate_sequences`: a Morita task's held-out set (token and
  sequence accuracy, Damerau-Levenshtein distance, cross-entropy).
* :func:`evaluate_music`: NLL per frame over a music split.
* :func:`evaluate_copy_memory` and :func:`evaluate_adding`: fresh data drawn
  with the tasks' generators from a fixed seed (:data:`EVAL_SEED`, a stream
  that the training batches, seeded with tuples, never use), so that a
  recorded metric can be re-checked.
"""

import numpy as np
from keras import ops

from keras_rnnzoo import tasks
from keras_rnnzoo.metrics.sequences import _dl_batch
from keras_rnnzoo.tasks.music import _check_int
from keras_rnnzoo.tasks.music import _check_sequences
from keras_rnnzoo.tasks.music import _nll_sum
from keras_rnnzoo.tasks.music import _padded

EVAL_SEED = 20240601
"""Default seed of :func:`evaluate_copy_memory` and :func:`evaluate_adding`."""


def _predict(model, x, batch_size):
    if not hasattr(model, "predict"):
        raise ValueError(f"`model` must be a Keras model (with `predict`); got {model!r}.")
    out = model.predict(x, batch_size=batch_size, verbose=0)
    return np.asarray(ops.convert_to_numpy(out)).astype(np.float64)


def _log_softmax(scores, from_logits):
    if from_logits:
        shifted = scores - scores.max(axis=-1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return np.log(np.clip(scores, 1e-12, None))


def _summary(pred, y, m):
    """Token/sequence accuracy and mean DL distance over rows with outputs."""
    correct = (pred == y) & m
    counts = m.sum(axis=1)
    rows = counts > 0
    token = float(correct.sum() / max(m.sum(), 1))
    seq = float(np.mean(correct.sum(axis=1)[rows] == counts[rows])) if rows.any() else float("nan")
    dists = []
    for c in np.unique(counts[rows]):
        sel = counts == c
        p = pred[sel][m[sel]].reshape(-1, c)
        t = y[sel][m[sel]].reshape(-1, c)
        dists.append(_dl_batch(p, t))
    dl = float(np.mean(np.concatenate(dists))) if dists else float("nan")
    return {"token_accuracy": token, "sequence_accuracy": seq, "damerau_levenshtein": dl}


def evaluate_sequences(model_or_predictions, data, batch_size=256, from_logits=True):
    """Token accuracy, full-sequence accuracy and mean Damerau-Levenshtein
    distance over the masked (output) positions, in NumPy.

    Args:
        model_or_predictions: a Keras model (anything with ``predict``)
            mapping x (n, T) to scores (n, T, V); or its scores (n, T, V);
            or predicted token ids (n, T).
        data: a :class:`keras_rnnzoo.tasks.MoritaTask` (its held-out set) or
            a tuple ``(x, y, mask)``.
        batch_size: prediction batch size for a model.
        from_logits: whether the scores are logits (else probabilities); only
            used for the cross-entropy.

    Returns:
        A dict: ``token_accuracy`` (mean over all output tokens),
        ``sequence_accuracy`` (all output tokens of a sequence right),
        ``damerau_levenshtein`` (mean over sequences of the unrestricted DL
        distance between the predicted and the target output sequence,
        unnormalised, as the paper's rapidfuzz call); with scores also
        ``cross_entropy`` (mean over output tokens, nats) and ``perplexity``.
        For a dual_frequency task, ``groups``: per group of
        :data:`keras_rnnzoo.tasks.GROUP_NAMES`, ``accuracy`` at the designated
        output position, ``accuracy_per_position`` (array of L: indexed by the output step
        0..L-1 of the designated position; NaN where no sequence) and the
        group's overall metrics. For a variable_length task, ``per_length``:
        the metrics of each length.

    Example:
        >>> task = tasks.make_task("reverse", vocab_size=16, length=8)
        >>> x, y, mask = task.test_set()
        >>> evaluate_sequences(y, task)["token_accuracy"]  # the targets themselves
        1.0
    """
    info = {}
    name = None
    if isinstance(data, tasks.MoritaTask):
        x, y, mask = data.test_set()
        info, name = data.test_info(), data.name
    else:
        if not isinstance(data, (tuple, list)) or len(data) != 3:
            raise ValueError("`data` must be a MoritaTask or a tuple (x, y, mask).")
        x, y, mask = (np.asarray(a) for a in data)
    if hasattr(model_or_predictions, "predict"):
        out = model_or_predictions.predict(x, batch_size=batch_size, verbose=0)
    else:
        out = model_or_predictions
    out = np.asarray(ops.convert_to_numpy(out))
    y = np.asarray(y).astype(np.int64)
    m = np.asarray(mask) > 0
    if out.ndim == 3:
        scores = out.astype(np.float64)
        pred = scores.argmax(axis=-1)
    elif out.ndim == 2:
        scores = None
        pred = out.astype(np.int64)
    else:
        raise ValueError(
            f"Predictions must be token ids (n, T) or scores (n, T, V); got shape {out.shape}."
        )
    if pred.shape != y.shape:
        raise ValueError(f"Predictions of shape {pred.shape} do not match targets {y.shape}.")
    result = _summary(pred, y, m)
    if scores is not None:
        logp = _log_softmax(scores, from_logits)
        nll = -np.take_along_axis(logp, np.where(m, y, 0)[..., None], axis=-1)[..., 0]
        ce = float(nll[m].mean())
        result["cross_entropy"] = ce
        result["perplexity"] = float(np.exp(ce))
    if name == "dual_frequency":
        groups = {}
        L = (y.shape[1]) // 2
        for g, gname in enumerate(info["group_names"]):
            sel = info["group"] == g
            rows = np.flatnonzero(sel)
            pos = info["target_position"][sel]
            hit = pred[rows, pos] == y[rows, pos]
            per_pos = np.full(L, np.nan)
            for step in range(L):
                at = pos == L + step
                if at.any():
                    per_pos[step] = hit[at].mean()
            groups[gname] = {"accuracy": float(hit.mean()), "accuracy_per_position": per_pos,
                             **_summary(pred[sel], y[sel], m[sel])}
        result["groups"] = groups
    elif name == "variable_length":
        result["per_length"] = {
            int(n): _summary(pred[info["lengths"] == n], y[info["lengths"] == n],
                             m[info["lengths"] == n])
            for n in np.unique(info["lengths"])
        }
    return result


def evaluate_music(model, sequences, from_logits=True, batch_size=32, pad_multiple=32):
    """NLL per frame of a causal sequence model over a split.

    Feeds frames 1 ... T-1 of every sequence and scores the outputs against
    frames 2 ... T with :func:`keras_rnnzoo.metrics.music_nll_per_frame`. Sequences are sorted by
    length, batched and right-padded (to a multiple of ``pad_multiple``, so
    that few distinct shapes are compiled); padding after the end cannot
    change a causal model's earlier outputs (any ``RNN(...,
    return_sequences=True)`` followed by per-frame layers), and padded frames
    are not scored.

    Args:
        model: maps (batch, T, 88) float32 inputs to (batch, T, 88) outputs.
        sequences: list of (T_i, 88) piano rolls (a split of
            :func:`keras_rnnzoo.tasks.load_music`).
        from_logits: the model outputs logits (default) rather than
            probabilities.
        batch_size: sequences per forward pass.
        pad_multiple: pad each batch's length up to a multiple of this.

    Returns:
        Python float, nats per frame.

    Example:
        >>> # train, valid, test = tasks.load_music("jsb", data_dir)
        >>> # evaluate_music(model, test), tasks.bernoulli_floor(train, test)
    """
    sequences = _check_sequences(sequences)
    _check_int(batch_size, "batch_size")
    _check_int(pad_multiple, "pad_multiple")
    order = sorted((i for i, s in enumerate(sequences) if s.shape[0] >= 2),
                   key=lambda i: sequences[i].shape[0])
    if not order:
        raise ValueError("`sequences` has no predicted frame (every sequence has length < 2).")
    total, frames = 0.0, 0
    for start in range(0, len(order), batch_size):
        chunk = [sequences[i] for i in order[start:start + batch_size]]
        x, _, _ = _padded(chunk, pad_multiple)
        out = np.asarray(ops.convert_to_numpy(model.predict_on_batch(x)))
        for row, s in zip(out, chunk):
            n = s.shape[0] - 1
            total += _nll_sum(s[1:], row[:n], from_logits)
            frames += n
    return total / frames


def evaluate_copy_memory(model, delay, recall=10, loss="all", num_samples=1024, seed=EVAL_SEED,
                         batch_size=256, from_logits=True):
    """Cross-entropy and recall accuracy on fresh copy-task data.

    Draws ``tasks.copy_memory(num_samples, delay, recall, loss, seed=seed)``
    and scores the model's outputs in float64: ``loss`` is the mean
    cross-entropy over all L + 2K positions (``loss="all"``) or over the K
    recall positions (``loss="last"``), the training loss of either
    convention; ``recall_accuracy`` is the arg-max accuracy on the last K
    positions (as :class:`keras_rnnzoo.metrics.RecallAccuracy`).

    Args:
        model: maps x (N, L + 2K, 10) to scores (N, L + 2K, 9) for
            ``loss="all"`` or (N, K, 10) for ``loss="last"``.
        delay, recall, loss: as in :func:`keras_rnnzoo.tasks.copy_memory`.
        num_samples: sequences drawn.
        seed: the generator's seed (default :data:`EVAL_SEED`).
        batch_size: prediction batch size.
        from_logits: the model outputs logits (default) or probabilities.

    Returns:
        ``{"loss": float, "recall_accuracy": float}``.

    Example:
        >>> # evaluate_copy_memory(model, delay=100)["recall_accuracy"]
    """
    _check_int(num_samples, "num_samples")
    _check_int(batch_size, "batch_size")
    x, y = tasks.copy_memory(num_samples, delay, recall, loss, seed=seed)
    scores = _predict(model, x, batch_size)
    if scores.shape[:2] != y.shape or scores.ndim != 3:
        raise ValueError(
            f"The model's outputs have shape {scores.shape}; expected {y.shape} + (classes,) "
            f"for loss={loss!r}."
        )
    logp = _log_softmax(scores, from_logits)
    nll = -np.take_along_axis(logp, y[..., None].astype(np.int64), axis=-1)[..., 0]
    hits = scores[:, -recall:].argmax(axis=-1) == y[:, -recall:]
    return {"loss": float(nll.mean()), "recall_accuracy": float(hits.mean())}


def evaluate_adding(model, length, num_samples=1024, seed=EVAL_SEED, batch_size=256):
    """MSE on fresh adding-problem data.

    Draws ``tasks.adding(num_samples, length, seed=seed)`` and returns the
    mean squared error (float64) of the model's output against the sum of the
    two marked values; the memoryless baseline is
    :data:`keras_rnnzoo.tasks.ADDING_BASELINE` (1/6).

    Args:
        model: maps x (N, length, 2) to (N, 1) (or (N,)).
        length: N, the number of steps (e.g. 1000 for Gu et al.'s evaluation).
        num_samples: sequences drawn.
        seed: the generator's seed (default :data:`EVAL_SEED`).
        batch_size: prediction batch size.

    Returns:
        ``{"mse": float}``.

    Example:
        >>> # evaluate_adding(model, 200)["mse"] < tasks.ADDING_BASELINE
    """
    _check_int(num_samples, "num_samples")
    _check_int(batch_size, "batch_size")
    x, y = tasks.adding(num_samples, length, seed=seed)
    out = _predict(model, x, batch_size)
    if out.size != num_samples:
        raise ValueError(
            f"The model's outputs have shape {out.shape}; expected ({num_samples}, 1), one "
            f"prediction per sequence."
        )
    err = out.reshape(num_samples) - y[:, 0].astype(np.float64)
    return {"mse": float(np.mean(err ** 2))}


def stateful_copy(model, batch_size):
    """A copy of a token model whose recurrent layers are stateful with a fixed
    ``batch_size``, with ``model``'s weights (for evaluating a text in order)."""
    import keras

    from keras_rnnzoo.models.backbone import RNNBackbone

    backbone = getattr(model, "backbone", None)
    if not isinstance(backbone, RNNBackbone) or backbone.vocabulary_size is None:
        raise ValueError("`model` must be a keras_rnnzoo task model over tokens (e.g. "
                         "LanguageModel(RNNBackbone(cell, vocabulary_size=V))); got "
                         f"{type(model).__name__}.")
    config = model.get_config()
    inner = dict(config["backbone"])
    inner["config"] = dict(inner["config"], stateful=True, batch_size=int(batch_size))
    config["backbone"] = keras.saving.deserialize_keras_object(inner)
    copy = type(model).from_config(config)
    copy_weights(model, copy)
    return copy


def copy_weights(source, target):
    """Assign ``source``'s weights to ``target``'s, in order, except the recurrent
    states (``rnn_state``: their shape holds the batch size), so a stateful
    model and a stateless one (or one of another batch size) share weights."""
    def weights(model):
        return [v for v in model.weights if not v.path.endswith("rnn_state")]

    src, dst = weights(source), weights(target)
    shapes = [tuple(v.shape) for v in src], [tuple(v.shape) for v in dst]
    if shapes[0] != shapes[1]:
        raise ValueError(f"the models' weights differ: {shapes[0]} against {shapes[1]}.")
    for s, d in zip(src, dst):
        d.assign(ops.convert_to_numpy(s))  # a copy: JAX may donate the buffers


def evaluate_language_model(model, tokens, batch_size=10, bptt=200):
    """Mean next-token cross-entropy of a language model over a token stream.

    The stream is cut into ``batch_size`` contiguous columns (as for
    training, :func:`keras_rnnzoo.datasets.batchify`) and read in order,
    ``bptt`` steps at a time, by a stateful copy of ``model``
    (:func:`stateful_copy`) that carries its state across windows from a zero
    state at the start: every target token (all but the first of each column)
    is scored once, with its whole column before it as context (the asRNN code
    evaluates with 10 columns). The window length changes only the float
    rounding.

    Args:
        model: a :class:`keras_rnnzoo.models.LanguageModel` (logits).
        tokens: 1-D int token ids (a split of ``load_ptb`` / ``load_wikitext``).
        batch_size: number of columns.
        bptt: window length of one ``predict`` call.

    Returns:
        dict: ``loss`` (nats per token), ``bpc`` (loss / ln 2), ``perplexity``
        (exp(loss)) and ``tokens`` (the number of scored tokens).

    Example:
        >>> # ptb = keras_rnnzoo.datasets.load_ptb("char", data_dir)
        >>> # evaluate_language_model(model, ptb["valid"])["bpc"]
    """
    from keras_rnnzoo.datasets.batches import batchify

    _check_int(bptt, "bptt")
    columns = batchify(tokens, batch_size)
    copy = stateful_copy(model, batch_size)
    copy.reset_states()
    total, count = 0.0, 0
    n = columns.shape[1]
    for start in range(0, n - 1, bptt):
        stop = min(start + bptt, n - 1)
        x = columns[:, start:stop]
        y = columns[:, start + 1:stop + 1]
        logits = np.asarray(ops.convert_to_numpy(copy.predict_on_batch(x)), dtype=np.float64)
        logp = _log_softmax(logits, from_logits=True)
        total -= float(np.take_along_axis(logp, y[..., None].astype(np.int64), -1).sum())
        count += y.size
    loss = total / count
    return {"loss": float(loss), "bpc": float(loss / np.log(2.0)),
            "perplexity": float(np.exp(loss)), "tokens": int(count)}


def evaluate_classifier(model, x, y, batch_size=256):
    """Accuracy and mean cross-entropy of a sequence classifier's logits on
    ``(x, y)`` (pixel MNIST, sCIFAR-10), in NumPy.

    Returns:
        dict ``accuracy`` (fraction) and ``loss`` (nats).
    """
    logits = _predict(model, x, batch_size)
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if logits.shape[0] != y.shape[0]:
        raise ValueError(f"`x` gives {logits.shape[0]} predictions for {y.shape[0]} labels.")
    logp = _log_softmax(logits, from_logits=True)
    return {"accuracy": float(np.mean(np.argmax(logits, axis=-1) == y)),
            "loss": float(-np.mean(logp[np.arange(y.size), y]))}


def evaluate_slot_filling(model, words, tags, vocabulary, tag_vocabulary, batch_size=256):
    """conlleval span F1, precision and recall (percent) of a tagger's arg-max
    tags on ATIS utterances (``words``, ``tags``: lists of lists of str),
    encoded with the training ``vocabulary`` and ``tag_vocabulary``."""
    from keras_rnnzoo.datasets import atis
    from keras_rnnzoo.metrics import slot_scores

    x, _, _ = atis.encode_atis(words, tags, vocabulary, tag_vocabulary)
    logits = _predict(model, x, batch_size)
    scores = slot_scores(tags, atis.decode_atis(logits, words, tag_vocabulary))
    return {"slot_f1": scores["f1"], "precision": scores["precision"],
            "recall": scores["recall"]}
