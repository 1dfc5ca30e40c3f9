"""Slot-filling scores: span-level precision, recall and F1 as CoNLL's ``conlleval``.

A slot is a *chunk*: a maximal run of tags ``B-X I-X ... I-X`` of one type
``X``. A predicted chunk is correct only if its first token, its last token
and its type all equal those of a gold chunk; ``O`` is no chunk. Precision is
correct / predicted chunks, recall correct / gold chunks, F1 their harmonic
mean (all in percent; 0 when a denominator is 0, as in ``conlleval``).

The chunk rules are those of the ``endOfChunk`` and ``startOfChunk``
functions of ``conlleval`` (Erik Tjong Kim Sang, CoNLL-2000; version
2004-01-26), applied to each tag split at its **first** hyphen into a prefix
and a type (``"B-fromloc.city_name"`` -> ``("B", "fromloc.city_name")``;
``"O"`` -> ``("O", "")``):

* a chunk **starts** at ``B``; at ``I`` after ``O``; at ``E`` after ``O``;
  at ``E`` or ``I`` after ``E``; at any tag other than ``O`` and ``.`` whose
  type differs from the previous tag's; at ``[`` and ``]``;
* a chunk **ends** before ``B`` or ``O`` when the previous tag was ``B`` or
  ``I``; before ``E``, ``I`` or ``O`` after ``E``; whenever the type changes
  after a tag other than ``O`` and ``.``; after ``[`` and ``]``;
* every sentence is closed by an ``O`` (``conlleval``'s sentence boundary):
  a chunk running to the end of the sentence ends there, and no chunk
  continues into the next sentence.

So ``I-X`` without a preceding ``B-X`` starts a chunk, ``I-A I-B`` and
``B-A I-B`` are two chunks, ``B-A B-A`` two chunks. As in ``conlleval``, a
chunk counts as correct through its state machine (``inCorrect``): both
chunks started at the same token with the same type and both ended at the
same token. ``conlleval`` has no rule for ``S-`` (IOBES singletons): ``S-X``
is handled only through the type-change rule, exactly as the script does.
"""

__all__ = ["slot_f1", "slot_scores"]


def _split(tag):
    """conlleval's ``/^([^-]*)-(.*)$/``: (prefix, type) at the first hyphen."""
    prefix, hyphen, kind = tag.partition("-")
    return (prefix, kind) if hyphen else (tag, "")


def _end_of_chunk(prev_tag, tag, prev_type, kind):
    """conlleval's ``endOfChunk``: a chunk ended between the previous and this token."""
    end = (
        (prev_tag == "B" and tag == "B")
        or (prev_tag == "B" and tag == "O")
        or (prev_tag == "I" and tag == "B")
        or (prev_tag == "I" and tag == "O")
        or (prev_tag == "E" and tag == "E")
        or (prev_tag == "E" and tag == "I")
        or (prev_tag == "E" and tag == "O")
    )
    if prev_tag != "O" and prev_tag != "." and prev_type != kind:
        end = True
    if prev_tag in ("]", "["):  # corrected 1998-12-22: these chunks have length 1
        end = True
    return end


def _start_of_chunk(prev_tag, tag, prev_type, kind):
    """conlleval's ``startOfChunk``: a chunk started between the previous and this token."""
    start = (
        (prev_tag == "B" and tag == "B")
        or (prev_tag == "I" and tag == "B")
        or (prev_tag == "O" and tag == "B")
        or (prev_tag == "O" and tag == "I")
        or (prev_tag == "E" and tag == "E")
        or (prev_tag == "E" and tag == "I")
        or (prev_tag == "O" and tag == "E")
    )
    if tag != "O" and tag != "." and prev_type != kind:
        start = True
    if tag in ("[", "]"):
        start = True
    return start


def _check(true_tags, predicted_tags):
    for name, value in (("true_tags", true_tags), ("predicted_tags", predicted_tags)):
        if isinstance(value, str) or not hasattr(value, "__len__"):
            raise ValueError(f"`{name}` must be a list of tag sequences (one list of str per "
                             f"sentence); got {type(value).__name__}.")
        if len(value) and isinstance(value[0], str):
            raise ValueError(f"`{name}` is one flat sequence of tags: wrap it in a list "
                             f"([tags]) to score it as one sentence.")
    if len(true_tags) != len(predicted_tags):
        raise ValueError(f"`true_tags` has {len(true_tags)} sentences but `predicted_tags` has "
                         f"{len(predicted_tags)}: give one predicted sequence per sentence.")
    for i, (gold, guess) in enumerate(zip(true_tags, predicted_tags)):
        if len(gold) != len(guess):
            raise ValueError(
                f"sentence {i}: `true_tags[{i}]` has {len(gold)} tags but `predicted_tags[{i}]` "
                f"has {len(guess)}: predict exactly one tag per token (cut the padding off "
                f"first, e.g. with keras_rnnzoo.datasets.atis.decode_atis).")
        for name, seq in (("true_tags", gold), ("predicted_tags", guess)):
            for tag in seq:
                if not isinstance(tag, str):
                    raise ValueError(
                        f"`{name}[{i}]` holds {tag!r} ({type(tag).__name__}); tags must be "
                        f"strings such as 'B-toloc.city_name' or 'O' (decode ids first, e.g. "
                        f"with keras_rnnzoo.datasets.atis.decode_atis).")


def _counts(true_tags, predicted_tags):
    """conlleval's main loop over sentences, each closed by a boundary (tag O)."""
    found_correct = found_guessed = correct_chunks = correct_tags = tokens = 0
    last_correct, last_correct_type = "O", ""
    last_guessed, last_guessed_type = "O", ""
    in_correct = False
    for gold_sentence, guess_sentence in zip(true_tags, predicted_tags):
        # the sentence's tokens, then the boundary line ("-X-", "O", "O")
        pairs = list(zip(gold_sentence, guess_sentence)) + [None]
        for pair in pairs:
            if pair is None:
                correct, correct_type, guessed, guessed_type = "O", "", "O", ""
            else:
                correct, correct_type = _split(pair[0])
                guessed, guessed_type = _split(pair[1])
            gold_end = _end_of_chunk(last_correct, correct, last_correct_type, correct_type)
            guess_end = _end_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
            if in_correct:
                if gold_end and guess_end and last_guessed_type == last_correct_type:
                    in_correct = False
                    correct_chunks += 1
                elif gold_end != guess_end or guessed_type != correct_type:
                    in_correct = False
            gold_start = _start_of_chunk(last_correct, correct, last_correct_type, correct_type)
            guess_start = _start_of_chunk(last_guessed, guessed, last_guessed_type,
                                          guessed_type)
            if gold_start and guess_start and guessed_type == correct_type:
                in_correct = True
            found_correct += gold_start
            found_guessed += guess_start
            if pair is not None:
                correct_tags += correct == guessed and guessed_type == correct_type
                tokens += 1
            last_correct, last_correct_type = correct, correct_type
            last_guessed, last_guessed_type = guessed, guessed_type
    if in_correct:  # conlleval's end of file
        correct_chunks += 1
    return found_correct, found_guessed, correct_chunks, correct_tags, tokens


def slot_scores(true_tags, predicted_tags):
    """Span-level precision, recall and F1 of predicted slot tags (``conlleval``).

    Args:
        true_tags: the gold tags, a list with one list of str per sentence
            (``"O"``, ``"B-<slot>"``, ``"I-<slot>"``).
        predicted_tags: the predicted tags, the same shape (one tag per token
            of every sentence).

    Returns:
        A dict of Python numbers: ``precision``, ``recall``, ``f1`` (percent,
        0.0 when undefined, as ``conlleval``), ``accuracy`` (percent of
        tokens whose full tag is right), ``gold_chunks``,
        ``predicted_chunks``, ``correct_chunks`` and ``tokens`` (ints).

    Raises:
        ValueError: different numbers of sentences, a sentence whose two tag
            sequences differ in length, a flat list, or a tag that is not a
            str.

    Example:
        >>> gold = [["O", "B-toloc.city_name", "I-toloc.city_name"]]
        >>> guess = [["O", "B-toloc.city_name", "O"]]
        >>> scores = slot_scores(gold, guess)
        >>> scores["gold_chunks"], scores["predicted_chunks"], scores["correct_chunks"]
        (1, 1, 0)
        >>> scores["f1"]
        0.0
    """
    _check(true_tags, predicted_tags)
    gold, guessed, correct, correct_tags, tokens = _counts(true_tags, predicted_tags)
    precision = 100.0 * correct / guessed if guessed else 0.0
    recall = 100.0 * correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": 100.0 * correct_tags / tokens if tokens else 0.0,
        "gold_chunks": gold,
        "predicted_chunks": guessed,
        "correct_chunks": correct,
        "tokens": tokens,
    }


def slot_f1(true_tags, predicted_tags):
    """Span-level micro F1 of slot chunks in percent, as ``conlleval``'s ``FB1``.

    Args:
        true_tags: gold tags, one list of str per sentence.
        predicted_tags: predicted tags, the same shape.

    Returns:
        Python float in [0, 100] (0.0 without any correct chunk).

    Example:
        >>> slot_f1([["B-city", "I-city", "O"]], [["B-city", "I-city", "O"]])
        100.0
    """
    return slot_scores(true_tags, predicted_tags)["f1"]
