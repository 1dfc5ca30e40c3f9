"""The recurrent backbone every task model is built on."""

import keras

from keras_rnnzoo.layers import RNN
from keras_rnnzoo.layers import PositionalEncoding
from keras_rnnzoo.layers import TokenEmbedding

_PE_KINDS = (None, "sinusoidal", "learnable", "random", "dummy")


def _check_int(value, name, minimum=1, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}"
                         f"{' or None' if allow_none else ''}; got {value!r}.")


def _as_cells(cell, num_layers):
    """``cell`` (a cell, its serialised dict, or a list of either) -> list of cells."""
    cells = list(cell) if isinstance(cell, (list, tuple)) else [cell]
    cells = [keras.saving.deserialize_keras_object(c) if isinstance(c, dict) else c
             for c in cells]
    for c in cells:
        if not (hasattr(c, "state_size") and callable(c)):
            raise ValueError(
                f"`cell` must be an RNN cell (e.g. keras_rnnzoo.cells.ASRNNCell(138) or "
                f"keras_rnnzoo.cells.get_cell('asrnn', 138)), its serialised config, or a list "
                f"of them; got {c!r}.")
    if len(cells) == 1 and num_layers > 1:
        # Same configuration per layer: a seeded initializer gives each layer the
        # same initial weights; pass a list of cells for distinct ones.
        cells += [cells[0].__class__.from_config(cells[0].get_config())
                  for _ in range(num_layers - 1)]
    if len(cells) != num_layers:
        raise ValueError(f"`cell` is a list of {len(cells)} cells but `num_layers` is "
                         f"{num_layers}: pass one cell per layer, or one cell for all.")
    return cells


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class RNNBackbone(keras.Model):
    """Inputs to hidden sequence: [embedding + positional code] -> zoo RNN layers.

    ``inputs -> [TokenEmbedding / Embedding -> PositionalEncoding] -> [x * input_scale]
    -> RNN(cell_1) -> Dropout -> ... -> RNN(cell_n) -> h (batch, T, H_n)``.

    Features (``input_dim``: float inputs of shape (batch, T, input_dim)) or
    tokens (``vocabulary_size``: int ids of shape (batch, T)) go in; the hidden
    sequence of the last layer comes out (every step: the task heads pick the
    steps they need). Every recurrent layer is a
    :class:`keras_rnnzoo.layers.RNN` (the fast path), named ``rnn``, ``rnn_1``,
    ...; the embedding is named ``embedding`` and the positional code
    ``positional_encoding``: presets depend on these names.

    Args:
        cell: the recurrent cell: any zoo cell or Keras cell (e.g.
            ``keras_rnnzoo.cells.get_cell("asrnn", 138)``), its serialised config,
            or a list with one cell per layer. One cell with ``num_layers > 1``
            is copied through its config (a seeded initializer then gives every
            layer the same initial weights: pass a list for different ones).
        num_layers: number of stacked recurrent layers (default 1).
        input_dim: feature size of float inputs; exactly one of ``input_dim``
            and ``vocabulary_size`` is given.
        vocabulary_size: number of token ids of int inputs.
        embedding_dim: embedding size d_e (token inputs; default: the first
            cell's units).
        dummy_token: token inputs only. True: Morita's
            :class:`~keras_rnnzoo.layers.TokenEmbedding` (``vocabulary_size``
            real tokens plus a learnable dummy id ``vocabulary_size``, N(0, 1)
            init); False (default): ``keras.layers.Embedding``.
        positional_encoding: None (default) or a
            :class:`~keras_rnnzoo.layers.PositionalEncoding` kind
            (``"sinusoidal"``, ``"learnable"``, ``"random"``, ``"dummy"``),
            applied after the embedding (or to the features).
        positional_merge: ``"concat"`` (default) or ``"add"``.
        sequence_length: the static number of steps T, or None (default:
            any length); required for the ``learnable`` and ``random`` codes.
        input_scale: multiply the inputs by this (Kanai et al.'s music
            inputs: 0.01); None (default): no scaling.
        dropout: dropout rate between stacked recurrent layers (default 0).
        stateful: stateful recurrent layers (truncated BPTT over consecutive
            batches; needs ``batch_size``).
        batch_size: the fixed batch size of stateful models.
        seed: int seed of the embedding, positional table and dropout.
        fast_path: passed to every :class:`keras_rnnzoo.layers.RNN`.
        name: the model name (default ``"backbone"``: weight paths depend on it).
        **kwargs: ``keras.Model`` arguments (``trainable``).

    Example:
        >>> from keras_rnnzoo.cells import ASRNNCell
        >>> backbone = RNNBackbone(ASRNNCell(138, mode="dtriv"), input_dim=10)
        >>> backbone.output.shape
        (None, None, 138)
    """

    def __init__(self, cell, num_layers=1, input_dim=None, vocabulary_size=None,
                 embedding_dim=None, dummy_token=False, positional_encoding=None,
                 positional_merge="concat", sequence_length=None, input_scale=None, dropout=0.0,
                 stateful=False, batch_size=None, seed=None, fast_path=True, name="backbone",
                 **kwargs):
        _check_int(num_layers, "num_layers")
        if (input_dim is None) == (vocabulary_size is None):
            raise ValueError(
                "give exactly one of `input_dim` (float features of shape (batch, T, input_dim)) "
                f"and `vocabulary_size` (int token ids); got input_dim={input_dim!r}, "
                f"vocabulary_size={vocabulary_size!r}.")
        _check_int(input_dim, "input_dim", allow_none=True)
        _check_int(vocabulary_size, "vocabulary_size", minimum=2, allow_none=True)
        _check_int(embedding_dim, "embedding_dim", allow_none=True)
        _check_int(sequence_length, "sequence_length", allow_none=True)
        _check_int(batch_size, "batch_size", allow_none=True)
        if positional_encoding not in _PE_KINDS:
            raise ValueError(f"`positional_encoding` must be one of {_PE_KINDS}; "
                             f"got {positional_encoding!r}.")
        if not (isinstance(dropout, (int, float)) and 0.0 <= dropout < 1.0):
            raise ValueError(f"`dropout` must be a rate in [0, 1); got {dropout!r}.")
        if input_scale is not None and not isinstance(input_scale, (int, float)):
            raise ValueError(f"`input_scale` must be a number or None; got {input_scale!r}.")
        if stateful and batch_size is None:
            raise ValueError("`stateful=True` needs a fixed `batch_size` (the rows of "
                             "consecutive batches continue each other).")
        if dummy_token and vocabulary_size is None:
            raise ValueError("`dummy_token=True` is for token inputs: give `vocabulary_size`.")
        cells = _as_cells(cell, num_layers)
        units = cells[0].state_size
        units = units[0] if isinstance(units, (list, tuple)) else units
        embedding_dim = embedding_dim or (int(units) if vocabulary_size else None)

        if vocabulary_size is not None:
            inputs = keras.Input((sequence_length,), batch_size=batch_size, dtype="int32",
                                 name="tokens")
            if dummy_token:
                x = TokenEmbedding(vocabulary_size, embedding_dim, seed=seed,
                                   name="embedding")(inputs)
            else:
                x = keras.layers.Embedding(
                    vocabulary_size, embedding_dim, name="embedding",
                    embeddings_initializer=keras.initializers.RandomUniform(
                        -0.1, 0.1, seed=seed))(inputs)
        else:
            inputs = keras.Input((sequence_length, input_dim), batch_size=batch_size,
                                 name="inputs")
            x = inputs
        if positional_encoding is not None:
            x = PositionalEncoding(positional_encoding, merge=positional_merge,
                                   max_length=sequence_length, seed=seed,
                                   name="positional_encoding")(x)
        if input_scale is not None:
            x = keras.layers.Rescaling(input_scale, name="input_scale")(x)
        for i, c in enumerate(cells):
            if i and dropout:
                x = keras.layers.Dropout(dropout, seed=seed, name=f"dropout_{i}")(x)
            x = RNN(c, return_sequences=True, stateful=stateful, fast_path=fast_path,
                    name="rnn" if i == 0 else f"rnn_{i}")(x)
        super().__init__(inputs=inputs, outputs=x, name=name, **kwargs)

        self.cells = cells
        self.num_layers = num_layers
        self.input_dim = input_dim
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.dummy_token = dummy_token
        self.positional_encoding = positional_encoding
        self.positional_merge = positional_merge
        self.sequence_length = sequence_length
        self.input_scale = input_scale
        self.dropout = dropout
        self.stateful = stateful
        self.batch_size = batch_size
        self.seed = seed
        self.fast_path = fast_path
        self.hidden_dim = int(x.shape[-1])

    @property
    def rnn_layers(self):
        """The recurrent layers, bottom to top."""
        return [layer for layer in self.layers if isinstance(layer, keras.layers.RNN)]

    def reset_states(self):
        """Zero the states of stateful recurrent layers (start of a new text)."""
        for layer in self.rnn_layers:
            if layer.stateful:
                layer.reset_state()

    def get_config(self):
        # Not chained to keras.Model's (functional) config: the constructor
        # arguments rebuild the graph, as in keras-hub's Backbone.
        return {
            "name": self.name,
            "trainable": self.trainable,
            "cell": [keras.saving.serialize_keras_object(c) for c in self.cells],
            "num_layers": self.num_layers,
            "input_dim": self.input_dim,
            "vocabulary_size": self.vocabulary_size,
            "embedding_dim": self.embedding_dim,
            "dummy_token": self.dummy_token,
            "positional_encoding": self.positional_encoding,
            "positional_merge": self.positional_merge,
            "sequence_length": self.sequence_length,
            "input_scale": self.input_scale,
            "dropout": self.dropout,
            "stateful": self.stateful,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "fast_path": self.fast_path,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @classmethod
    def from_preset(cls, handle, **kwargs):
        """The backbone of the task model in preset ``handle`` (with its weights)."""
        from keras_rnnzoo import presets

        return presets.from_preset(handle, **kwargs).backbone
