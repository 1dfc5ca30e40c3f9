"""Task models: a :class:`RNNBackbone` and a head, each loadable from a preset.

Five heads cover the papers' tasks (keras-hub's names where it has one):

=====================  =====================================  ==========================
model                  output                                 tasks
=====================  =====================================  ==========================
``SequenceClassifier`` (batch, num_classes) logits, last step  pixel MNIST, sCIFAR-10
``SequenceTagger``     (batch, T or K, num_classes) logits      copy, reverse ordering, ATIS
``LanguageModel``      (batch, T, vocabulary_size) logits       PTB, WikiText (next token)
``SequenceRegressor``  (batch, units), last step                adding
``FramePredictor``     (batch, T, num_notes) logits             polyphonic music
=====================  =====================================  ==========================

Every head is a ``keras.layers.Dense`` named ``readout`` computed in float32
(also under mixed precision), on the backbone's hidden sequence.
"""

import keras
import numpy as np

from keras_rnnzoo.models.backbone import RNNBackbone
from keras_rnnzoo.models.backbone import _check_int


class Task(keras.Model):
    """Base of the task models: a backbone, a head, presets.

    Subclasses build ``inputs = backbone.input; outputs = head(backbone(inputs))``
    and pass them to ``keras.Model``; ``get_config`` holds the serialised
    backbone and the head's arguments.
    """

    def _build(self, backbone, head, dropout, seed, name, **kwargs):
        if not isinstance(backbone, RNNBackbone):
            raise ValueError(
                f"`backbone` must be a keras_rnnzoo.models.RNNBackbone (e.g. "
                f"RNNBackbone(cell, input_dim=...)); got {type(backbone).__name__}.")
        if not (isinstance(dropout, (int, float)) and 0.0 <= dropout < 1.0):
            raise ValueError(f"`dropout` must be a rate in [0, 1); got {dropout!r}.")
        inputs = backbone.input
        h = backbone(inputs)
        if dropout:
            h = keras.layers.Dropout(dropout, seed=seed, name="head_dropout")(h)
        super().__init__(inputs=inputs, outputs=head(h), name=name, **kwargs)
        self._backbone = backbone
        self.dropout = dropout
        self.seed = seed
        self.preset_metadata = None

    @property
    def backbone(self):
        """The :class:`RNNBackbone` under the head."""
        return self._backbone

    def _readout(self, units, kernel_initializer, bias_initializer):
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        return keras.layers.Dense(units, name="readout", dtype="float32",
                                  kernel_initializer=self.kernel_initializer,
                                  bias_initializer=self.bias_initializer)

    def reset_states(self):
        """Zero the states of stateful recurrent layers (start of a new text)."""
        self.backbone.reset_states()

    def _default_loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def _default_metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto", **kwargs):
        """``keras.Model.compile`` with the task's defaults for ``"auto"``:
        Adam(1e-3), the task's loss and metrics. Pass your own to replace them."""
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if loss == "auto":
            loss = self._default_loss()
        if metrics == "auto":
            metrics = self._default_metrics()
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def fit(self, *args, **kwargs):
        """``keras.Model.fit``; in a torch process group it refuses to train
        unsynchronised replicas: prepare the model for data parallelism first
        (``keras_rnnzoo.utils.distribution``)."""
        from keras_rnnzoo.utils import distribution

        distribution.check_single_process_fit(self)
        self._check_arrays("fit", args[0] if args else kwargs.get("x"),
                           args[1] if len(args) > 1 else kwargs.get("y"))
        return super().fit(*args, **kwargs)

    def evaluate(self, *args, **kwargs):
        """``keras.Model.evaluate``, with the input checks of :meth:`fit`."""
        self._check_arrays("evaluate", args[0] if args else kwargs.get("x"))
        return super().evaluate(*args, **kwargs)

    def predict(self, *args, **kwargs):
        """``keras.Model.predict``, with the input checks of :meth:`fit`."""
        self._check_arrays("predict", args[0] if args else kwargs.get("x"))
        return super().predict(*args, **kwargs)

    def _check_arrays(self, method, x, y=None):
        """Check array inputs before Keras runs them: the shape the backbone
        takes, at least one time step, token ids in range, and for ``fit``
        finite float values in ``x`` and ``y`` (a NaN input gives a NaN loss
        and NaN weights). A clear error instead of a backend's internal one
        (JAX clamps an out-of-range id silently), and raised before Keras'
        JAX trainer detaches the variables for the call: an error inside it,
        on the first batch, leaves the model without its weights (Keras
        3.15). Datasets and generators are not checked (their batches are
        not known up front)."""
        if not isinstance(x, np.ndarray):
            return
        backbone = self.backbone
        expected = tuple(backbone.input.shape)
        tokens = backbone.vocabulary_size is not None
        what = ("int token ids of shape (batch, T)" if tokens else
                f"float features of shape (batch, T, {backbone.input_dim})")
        if backbone.sequence_length is not None:
            what += f" with T = {backbone.sequence_length}"
        if x.ndim != len(expected) or any(
                e is not None and g != e for g, e in zip(x.shape[1:], expected[1:])):
            raise ValueError(f"`x` of {self.name}.{method} has shape {x.shape}, but the model "
                             f"takes {what}: reshape or slice x to that shape.")
        if x.shape[0] == 0:
            raise ValueError(f"`x` of {self.name}.{method} holds no examples (shape {x.shape}): "
                             f"pass at least one.")
        if x.shape[1] == 0:
            raise ValueError(f"`x` of {self.name}.{method} has sequences of length 0 (shape "
                             f"{x.shape}): an RNN needs at least one time step; drop them, or "
                             f"pad them to length >= 1 and mask the padding.")
        if tokens and x.size:
            top = backbone.vocabulary_size + (1 if backbone.dummy_token else 0)
            low, high = x.min(), x.max()
            integral = np.issubdtype(x.dtype, np.integer) or (
                np.issubdtype(x.dtype, np.floating) and bool(np.all(np.isfinite(x)))
                and bool(np.all(x == np.floor(x))))
            if not integral or low < 0 or high >= top:
                dummy = " + the dummy id" if backbone.dummy_token else ""
                raise ValueError(
                    f"`x` of {self.name}.{method} must hold int token ids in [0, {top}) (the "
                    f"backbone's vocabulary_size{dummy}); got dtype {x.dtype}, ids {low} .. "
                    f"{high}. Map unknown words to an id "
                    f"in range (an <unk> id), or build the backbone with a larger "
                    f"vocabulary_size.")
        if method != "fit":
            return
        for name, array in (("x", x), ("y", y)):
            if isinstance(array, np.ndarray) and np.issubdtype(array.dtype, np.floating):
                bad = ~np.isfinite(array)
                if bad.any():
                    first = tuple(int(i) for i in np.argwhere(bad)[0])
                    raise ValueError(
                        f"`{name}` of {self.name}.fit holds {int(bad.sum())} non-finite "
                        f"value(s) (NaN or inf), the first at index {first}: they would make "
                        f"the loss and the weights NaN. Clean them (np.nan_to_num) or drop "
                        f"those examples.")

    def _head_config(self):
        return {}

    def get_config(self):
        # As keras-hub's Task: not chained to the functional config.
        return {
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "name": self.name,
            "trainable": self.trainable,
            "dropout": self.dropout,
            "seed": self.seed,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            **self._head_config(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("backbone"), dict):
            config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)

    @classmethod
    def from_preset(cls, handle, **kwargs):
        """Load the task model of preset ``handle`` (see
        :func:`keras_rnnzoo.presets.from_preset`); it must be a ``cls``."""
        from keras_rnnzoo import presets

        model = presets.from_preset(handle, **kwargs)
        if not isinstance(model, cls):
            raise ValueError(
                f"preset {handle!r} holds a {type(model).__name__}, not a {cls.__name__}: "
                f"load it with keras_rnnzoo.presets.from_preset({handle!r}) or "
                f"{type(model).__name__}.from_preset({handle!r}).")
        return model

    def save_to_preset(self, directory, metadata=None):
        """Write this model as a preset directory (see
        :func:`keras_rnnzoo.presets.save_to_preset`)."""
        from keras_rnnzoo import presets

        return presets.save_to_preset(self, directory, metadata=metadata)


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class SequenceClassifier(Task):
    """One label per sequence from the last step's hidden state.

    ``logits = readout(h_T)``, shape (batch, num_classes); loss
    ``SparseCategoricalCrossentropy(from_logits=True)``, metric accuracy.
    With a masked input the last step repeats the last real step's output
    (Keras' masking), so h_T is the state after the last real token.

    Args:
        backbone: an :class:`RNNBackbone`.
        num_classes: number of labels.
        dropout: dropout rate on the hidden state before the read-out.
        seed: int seed of that dropout.
        kernel_initializer, bias_initializer: the read-out's initializers.
        **kwargs: ``keras.Model`` arguments (``name``).

    Example (pixel MNIST: 784 steps of one pixel):
        >>> from keras_rnnzoo.cells import get_cell
        >>> backbone = RNNBackbone(get_cell("urlstm", 128), input_dim=1, sequence_length=784)
        >>> model = SequenceClassifier(backbone, num_classes=10)
        >>> model.compile()
    """

    def __init__(self, backbone, num_classes, dropout=0.0, seed=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 name="sequence_classifier", **kwargs):
        _check_int(num_classes, "num_classes", minimum=2)
        self.num_classes = num_classes
        readout = self._readout(num_classes, kernel_initializer, bias_initializer)
        self._build(backbone, lambda h: readout(h[:, -1, :]), dropout, seed, name, **kwargs)

    def _head_config(self):
        return {"num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class SequenceTagger(Task):
    """One label per step: ``logits_t = readout(h_t)``.

    ``output_steps=K`` keeps only the last K steps (the copy task's
    convention C: (batch, K, num_classes)); None keeps every step. Loss
    ``SparseCategoricalCrossentropy(from_logits=True)``; give a per-step
    ``sample_weight`` to count only some steps (the Morita tasks' output phase).

    Args:
        backbone: an :class:`RNNBackbone`.
        num_classes: number of labels per step.
        output_steps: keep the last K steps only (int), or None (every step).
        dropout, seed, kernel_initializer, bias_initializer, **kwargs: as
            :class:`SequenceClassifier`.

    Example (the copy task, delay 100, K = 10, convention A):
        >>> from keras_rnnzoo.cells import get_cell
        >>> backbone = RNNBackbone(get_cell("asrnn", 138), input_dim=10)
        >>> model = SequenceTagger(backbone, num_classes=9)
    """

    def __init__(self, backbone, num_classes, output_steps=None, dropout=0.0, seed=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 name="sequence_tagger", **kwargs):
        _check_int(num_classes, "num_classes", minimum=2)
        _check_int(output_steps, "output_steps", allow_none=True)
        self.num_classes = num_classes
        self.output_steps = output_steps
        readout = self._readout(num_classes, kernel_initializer, bias_initializer)

        def head(h):
            if output_steps is not None:
                h = h[:, -output_steps:, :]
            return readout(h)

        self._build(backbone, head, dropout, seed, name, **kwargs)

    def _head_config(self):
        return {"num_classes": self.num_classes, "output_steps": self.output_steps}


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class LanguageModel(Task):
    """Next-token logits at every step: ``logits_t = readout(h_t)`` over the
    backbone's vocabulary.

    For truncated BPTT over a long text build the backbone with
    ``stateful=True, batch_size=B`` and call :meth:`reset_states` at the
    start of each pass. Loss ``SparseCategoricalCrossentropy(from_logits=True)``
    (its exponential is the perplexity; bits per character: divide by ln 2).

    Args:
        backbone: an :class:`RNNBackbone` with ``vocabulary_size``.
        dropout, seed, kernel_initializer, bias_initializer, **kwargs: as
            :class:`SequenceClassifier`.

    Example (character-level PTB, truncated BPTT of 150 steps):
        >>> from keras_rnnzoo.cells import get_cell
        >>> backbone = RNNBackbone(get_cell("lstm", 256), vocabulary_size=50,
        ...                        stateful=True, batch_size=32)
        >>> model = LanguageModel(backbone, dropout=0.1)
    """

    def __init__(self, backbone, dropout=0.0, seed=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", name="language_model", **kwargs):
        if getattr(backbone, "vocabulary_size", None) is None:
            raise ValueError("a LanguageModel needs a backbone over tokens: build it with "
                             "RNNBackbone(cell, vocabulary_size=V).")
        readout = self._readout(backbone.vocabulary_size, kernel_initializer, bias_initializer)
        self._build(backbone, readout, dropout, seed, name, **kwargs)


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class SequenceRegressor(Task):
    """Real-valued outputs from the last step: ``y = readout(h_T)``, (batch, units).

    Loss mean squared error.

    Args:
        backbone: an :class:`RNNBackbone`.
        units: number of outputs (default 1).
        dropout, seed, kernel_initializer, bias_initializer, **kwargs: as
            :class:`SequenceClassifier`.

    Example (the adding problem, N = 200):
        >>> from keras_rnnzoo.cells import get_cell
        >>> backbone = RNNBackbone(get_cell("urlstm", 64), input_dim=2, sequence_length=200)
        >>> model = SequenceRegressor(backbone)
    """

    def __init__(self, backbone, units=1, dropout=0.0, seed=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 name="sequence_regressor", **kwargs):
        _check_int(units, "units")
        self.units = units
        readout = self._readout(units, kernel_initializer, bias_initializer)
        self._build(backbone, lambda h: readout(h[:, -1, :]), dropout, seed, name, **kwargs)

    def _default_loss(self):
        return keras.losses.MeanSquaredError()

    def _default_metrics(self):
        return None

    def _head_config(self):
        return {"units": self.units}


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class FramePredictor(Task):
    """The next frame's independent Bernoulli logits at every step:
    ``logits_t = readout(h_t)``, (batch, T, num_notes).

    The inputs are frames 1 .. T-1 and the targets frames 2 .. T of a piano
    roll; ``sigmoid(logits)`` is the probability of each key. Loss
    :class:`keras_rnnzoo.metrics.FrameNLL` (binary cross-entropy summed over
    the keys: the NLL of a frame), metric ``NLLPerFrame``.

    Args:
        backbone: an :class:`RNNBackbone` (``input_dim=num_notes``).
        num_notes: keys per frame (default 88).
        dropout, seed, kernel_initializer, bias_initializer, **kwargs: as
            :class:`SequenceClassifier`.

    Example (JSB chorales):
        >>> from keras_rnnzoo.cells import get_cell
        >>> backbone = RNNBackbone(get_cell("stable_rnn", 128), input_dim=88)
        >>> model = FramePredictor(backbone)
    """

    def __init__(self, backbone, num_notes=88, dropout=0.0, seed=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 name="frame_predictor", **kwargs):
        _check_int(num_notes, "num_notes")
        self.num_notes = num_notes
        readout = self._readout(num_notes, kernel_initializer, bias_initializer)
        self._build(backbone, readout, dropout, seed, name, **kwargs)

    def _default_loss(self):
        from keras_rnnzoo import metrics

        return metrics.FrameNLL()

    def _default_metrics(self):
        return None

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto", **kwargs):
        """As :meth:`Task.compile`; the default weighted metric is ``NLLPerFrame``
        (give the padding mask as ``sample_weight``)."""
        if metrics == "auto" and "weighted_metrics" not in kwargs:
            from keras_rnnzoo import metrics as zoo_metrics

            kwargs["weighted_metrics"] = [zoo_metrics.NLLPerFrame()]
        super().compile(optimizer, loss, metrics=metrics, **kwargs)

    def _head_config(self):
        return {"num_notes": self.num_notes}


__all__ = ["Task", "SequenceClassifier", "SequenceTagger", "LanguageModel", "SequenceRegressor",
           "FramePredictor"]
