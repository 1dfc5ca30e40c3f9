"""Epoch-end evaluations that a plain ``validation_data`` cannot do."""

import keras


class LanguageModelEvaluation(keras.callbacks.Callback):
    """Adds the validation loss, bpc and perplexity of a language model to each
    epoch's logs (``val_loss``, ``val_bpc``, ``val_perplexity``).

    A stateful language model cannot use ``fit(validation_data=...)``: Keras
    would run the validation windows through the training model's state.
    This callback scores ``tokens`` with
    :func:`keras_rnnzoo.models.evaluate_language_model` (a stateful copy with
    ``batch_size`` columns, the state carried across the whole text), so the
    numbers are the papers' validation scores. Put it before ``CSVLogger``,
    ``ReduceLROnPlateau`` and ``ModelCheckpoint`` in the callback list (they
    read the logs it writes): ``keras_rnnzoo.utils.runs.callbacks(...,
    epoch_metrics=[...])`` does.

    Args:
        tokens: 1-D int ids of the validation split.
        batch_size: columns of the evaluation (the asRNN code: 10).
        bptt: steps per ``predict`` call (changes only the rounding).
        prefix: the logs' key prefix.

    Example:
        >>> # cb = LanguageModelEvaluation(ptb["valid"], batch_size=10)
        >>> # model.fit(train_windows, callbacks=[cb, keras.callbacks.CSVLogger(...)])
    """

    def __init__(self, tokens, batch_size=10, bptt=200, prefix="val_"):
        super().__init__()
        self.tokens = tokens
        self.batch_size = batch_size
        self.bptt = bptt
        self.prefix = prefix
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        from keras_rnnzoo.models import evaluate_language_model

        result = evaluate_language_model(self.model, self.tokens, batch_size=self.batch_size,
                                         bptt=self.bptt)
        self.history.append(result)
        if logs is not None:
            for key in ("loss", "bpc", "perplexity"):
                logs[self.prefix + key] = result[key]
