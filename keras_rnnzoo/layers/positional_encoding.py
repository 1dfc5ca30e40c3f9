"""Positional encoding for RNN inputs (Morita 2024)."""

import math

import keras
import numpy as np
from keras import ops

KINDS = ("sinusoidal", "learnable", "random", "dummy")
MERGES = ("concat", "add")
_TABLE_KINDS = ("learnable", "random")


def sinusoidal_table(length, width):
    """Morita's normalised sinusoidal table, float32 of shape (length, width).

    ``PE(t) = [sin(t w_0) .. sin(t w_{m-1}), cos(t w_0) .. cos(t w_{m-1})] /
    sqrt(m)`` with ``m = width / 2`` and ``w_k = exp(-2k ln(10000) / width)``
    for positions ``t = 0 .. length - 1``: all sines first, then all cosines
    (not interleaved), so every row has unit L2 norm.

    Args:
        length: number of positions (>= 0).
        width: PE width (a positive even int).

    Example:
        >>> table = sinusoidal_table(128, 512)  # the paper's 2L x d_e
        >>> table[0, 256:] * (256 ** 0.5)  # PE(0) = [0 .. 0, 1 .. 1] / sqrt(256)
    """
    _check_width(width, "sinusoidal")
    positions = np.arange(length, dtype=np.float32)[:, None]
    angles = positions * _frequencies(width)[None, :]
    table = np.concatenate([np.sin(angles), np.cos(angles)], axis=-1)
    return (table / np.float32(math.sqrt(width // 2))).astype(np.float32)


def _frequencies(width):
    # float32 like the official torch code: exp(arange(0, d, 2) * -ln(1e4) / d).
    return np.exp(
        np.arange(0, width, 2, dtype=np.float32) * np.float32(-math.log(10000.0) / width)
    ).astype(np.float32)


def _check_width(width, kind):
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"`width` must be a positive int or None; got {width!r}.")
    if kind == "sinusoidal" and width % 2:
        raise ValueError(
            f"odd PE width {width}: the sinusoidal encoding needs an even `width` "
            "(half sines, half cosines); pass an even `width` (or an even embedding size)."
        )


def _random_unit_table(length, width, seed):
    rng = np.random.default_rng(seed)
    table = rng.standard_normal((length, width))
    table /= np.linalg.norm(table, axis=-1, keepdims=True)
    return table.astype(np.float32)


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class PositionalEncoding(keras.layers.Layer):
    """Adds position information to token embeddings before an RNN (Morita).

    Input (batch, T, d_e) embeddings, typically from :class:`TokenEmbedding`.
    A positional code p_t (t = 0 .. T-1, positions counted over the whole
    input including the output-phase dummy tokens) is concatenated
    (``merge="concat"``: output (batch, T, d_e + width), i.e. 2 d_e by
    default) or added (``merge="add"``: output (batch, T, d_e)).

    Kinds (the forms of the official code):

    * ``"sinusoidal"``: Morita's normalised sinusoid, all sines then all
      cosines (not interleaved, unlike the Transformer / keras_hub encoding)
      and divided by sqrt(width/2), so ||p_t|| = 1::

          w_k  = exp(-2k ln(10000) / width),   k = 0 .. width/2 - 1
          p_t  = [sin(t w_0) .. sin(t w_{width/2-1}),
                  cos(t w_0) .. cos(t w_{width/2-1})] / sqrt(width/2)

      Computed on the fly for any T (``max_length`` optional).
    * ``"learnable"``: a trainable (max_length, width) table, N(0, 1) init.
    * ``"random"``: a fixed (non-trainable) table of random unit vectors
      (normalised N(0, 1) draws from ``seed``), length ``max_length``.
    * ``"dummy"``: p_t is a copy of the input embedding e_t (the control of
      the paper's Appendix C): concat gives [e_t; e_t], add gives 2 e_t.

    The table is computed in float32 and cast to the layer's compute dtype
    (mixed precision works; the learnable/random tables are float32
    variables). The layer passes a Keras mask through unchanged.

    Args:
        kind: ``"sinusoidal"`` (default), ``"learnable"``, ``"random"`` or
            ``"dummy"``.
        merge: ``"concat"`` (default, the paper's setting) or ``"add"``.
        max_length: number of positions of the table; required for
            ``"learnable"`` and ``"random"``. Longer sequences raise a
            ValueError (for every kind when given) whenever the time
            dimension is static; under a TensorFlow graph with an unknown time
            dimension a table kind fails with a shape error instead and the
            sinusoid is not checked. Use the task's ``input_length`` (2L for
            the reverse-ordering tasks).
        width: PE width (default d_e). Must equal d_e for ``merge="add"`` and
            for ``kind="dummy"``; must be even for ``"sinusoidal"``.
        seed: int or None; initial values of the learnable/random tables.
        **kwargs: ``keras.layers.Layer`` arguments (name, dtype, ...).

    Example:
        >>> import keras
        >>> from keras_rnnzoo.layers import PositionalEncoding, TokenEmbedding
        >>> tokens = keras.Input((128,), dtype="int32")
        >>> e = TokenEmbedding(vocab_size=64, output_dim=32)(tokens)
        >>> x = PositionalEncoding()(e)  # (None, 128, 64)
        >>> h = keras.layers.GRU(32, reset_after=False, return_sequences=True)(x)
        >>> model = keras.Model(tokens, keras.layers.Dense(64)(h))

    Reference:
        T. Morita, *Positional Encoding Helps Recurrent Neural Networks Handle
        a Large Vocabulary*, TMLR 2024 (arXiv 2402.00236); official code
        ``tkc-morita/position-encoded_rnn`` (``model/time_encoding.py``).
    """

    def __init__(self, kind="sinusoidal", merge="concat", max_length=None, width=None, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS}; got {kind!r}.")
        if merge not in MERGES:
            raise ValueError(f"`merge` must be 'concat' or 'add'; got {merge!r}.")
        if max_length is not None and (
            isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
        ):
            raise ValueError(f"`max_length` must be a positive int or None; got {max_length!r}.")
        if kind in _TABLE_KINDS and max_length is None:
            raise ValueError(
                f"`max_length` is required for kind={kind!r} (the table length); pass the "
                "longest input length, e.g. 2L for the reverse-ordering task."
            )
        if width is not None:
            _check_width(width, kind)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"`seed` must be an int or None; got {seed!r}.")
        self.kind = kind
        self.merge = merge
        self.max_length = max_length
        self.width = width
        self.seed = seed
        self.supports_masking = True
        self.table = None

    def _pe_width(self, embed_dim):
        width = self.width if self.width is not None else embed_dim
        if self.kind == "dummy" and width != embed_dim:
            raise ValueError(
                f"kind='dummy' copies the embedding, so `width` must be None or the embedding "
                f"size {embed_dim}; got {width}."
            )
        if self.merge == "add" and width != embed_dim:
            raise ValueError(
                f"merge='add' needs `width` equal to the embedding size {embed_dim}; got "
                f"{width}. Leave `width` as None or use merge='concat'."
            )
        if self.kind == "sinusoidal":
            _check_width(width, "sinusoidal")
        return width

    def _check_length(self, length):
        if self.max_length is not None and length is not None and length > self.max_length:
            raise ValueError(
                f"Sequence length {length} exceeds `max_length`={self.max_length} of the "
                f"{self.kind!r} positional encoding; build the layer with a larger `max_length`."
            )

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                "PositionalEncoding expects (batch, time, features) inputs with a known feature "
                f"size; got shape {tuple(input_shape)}."
            )
        embed_dim = int(input_shape[-1])
        width = self._pe_width(embed_dim)
        self._check_length(input_shape[1])
        if self.kind == "learnable":
            self.table = self.add_weight(
                name="table", shape=(self.max_length, width),
                initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=self.seed),
                trainable=True,
            )
        elif self.kind == "random":
            values = _random_unit_table(self.max_length, width, self.seed)
            self.table = self.add_weight(
                name="table", shape=(self.max_length, width),
                initializer=lambda shape, dtype=None: ops.convert_to_tensor(values, dtype=dtype),
                trainable=False,
            )
        self._embed_dim = embed_dim
        self._width = width
        self.built = True

    def encoding(self, length):
        """The (length, width) positional table p_0 .. p_{length-1}, float32.

        Not available for ``kind="dummy"`` (which depends on the input).
        """
        if self.kind == "dummy":
            raise ValueError("kind='dummy' has no table: p_t is the input embedding itself.")
        if not self.built:
            raise ValueError("Build the layer (call it once) before asking for its `encoding`.")
        self._check_length(length)
        if self.kind == "sinusoidal":
            return ops.convert_to_tensor(sinusoidal_table(length, self._width))
        return ops.cast(self.table, "float32")[:length]

    def _sinusoid(self, length):
        positions = ops.cast(ops.arange(length), "float32")
        angles = positions[:, None] * ops.convert_to_tensor(_frequencies(self._width))[None, :]
        table = ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)
        return table / math.sqrt(self._width // 2)

    def call(self, inputs):
        static_length = inputs.shape[1]
        self._check_length(static_length)
        if self.kind == "dummy":
            pe = inputs
        else:
            length = static_length if static_length is not None else ops.shape(inputs)[1]
            if self.kind == "sinusoidal":
                table = self._sinusoid(length)
            else:
                table = self.table[:length]
            table = ops.cast(table, self.compute_dtype)
            pe = ops.broadcast_to(table[None], tuple(ops.shape(inputs)[:-1]) + (self._width,))
        pe = ops.cast(pe, inputs.dtype)
        if self.merge == "add":
            return inputs + pe
        return ops.concatenate([inputs, pe], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        if self.merge == "add":
            return tuple(input_shape)
        width = self.width if self.width is not None else input_shape[-1]
        last = None if input_shape[-1] is None else input_shape[-1] + width
        return tuple(input_shape[:-1]) + (last,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "kind": self.kind,
                "merge": self.merge,
                "max_length": self.max_length,
                "width": self.width,
                "seed": self.seed,
            }
        )
        return config
