"""Token embedding with an output-phase dummy token (Morita 2024)."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class TokenEmbedding(keras.layers.Layer):
    """Embedding of V real tokens plus the dummy token of the output phase.

    The table has ``vocab_size + 1`` rows; ids ``0 .. vocab_size - 1`` are the
    real tokens and id ``vocab_size`` (:attr:`dummy_id`) is the dummy token
    that fills the output phase of the Morita tasks. Initialisation is
    PyTorch's ``nn.Embedding`` default, N(0, 1), for every row.

    * ``learnable_dummy=True`` (the paper's setting: the replication script
      always passes ``--learnable_padding_token``): the dummy row is an
      ordinary trainable row and receives gradient. No ``mask_zero`` and no
      padding index are involved.
    * ``learnable_dummy=False``: the dummy token embeds to a fixed zero
      vector (torch's ``padding_idx``): row ``vocab_size`` of the variable is
      set to zero and masked out in ``call``, so it gets no gradient.

    Either way the variable ``embeddings`` has shape (vocab_size + 1,
    output_dim), the layout of the official torch weight. Ids outside
    ``0 .. vocab_size`` are not checked (backends differ: TensorFlow and
    PyTorch raise, JAX clips).

    Args:
        vocab_size: V, the number of real tokens (>= 2).
        output_dim: embedding size d_e (>= 1).
        learnable_dummy: whether the dummy row is trainable (default True).
        embeddings_initializer: initializer of the table (default
            ``RandomNormal(0, 1, seed)``, PyTorch's default).
        seed: int or None, for the default initializer.
        **kwargs: ``keras.layers.Layer`` arguments (name, dtype, ...).

    Call arguments:
        inputs: integer ids of any shape.

    Returns:
        ``inputs.shape + (output_dim,)`` in the compute dtype.

    Example:
        >>> import numpy as np
        >>> emb = TokenEmbedding(vocab_size=8, output_dim=4)
        >>> ids = np.array([[3, 1, emb.dummy_id, emb.dummy_id]])
        >>> emb(ids).shape
        (1, 4, 4)

    Reference:
        T. Morita, *Positional Encoding Helps Recurrent Neural Networks Handle
        a Large Vocabulary*, TMLR 2024 (arXiv 2402.00236); official code
        ``tkc-morita/position-encoded_rnn`` (``model/rnn.py``).
    """

    def __init__(self, vocab_size, output_dim, learnable_dummy=True, embeddings_initializer=None,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size <= 1:
            raise ValueError(
                f"`vocab_size` must be an int >= 2 (the number of real tokens, without the "
                f"dummy token); got {vocab_size!r}."
            )
        if isinstance(output_dim, bool) or not isinstance(output_dim, int) or output_dim < 1:
            raise ValueError(f"`output_dim` must be a positive int; got {output_dim!r}.")
        if not isinstance(learnable_dummy, bool):
            raise ValueError(f"`learnable_dummy` must be True or False; got {learnable_dummy!r}.")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"`seed` must be an int or None; got {seed!r}.")
        self.vocab_size = vocab_size
        self.output_dim = output_dim
        self.learnable_dummy = learnable_dummy
        self.seed = seed
        if embeddings_initializer is None:
            embeddings_initializer = keras.initializers.RandomNormal(0.0, 1.0, seed=seed)
            self._default_initializer = True
        else:
            self._default_initializer = False
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.embeddings = None

    @property
    def dummy_id(self):
        """Id of the dummy token: ``vocab_size``."""
        return self.vocab_size

    def build(self, input_shape=None):
        initializer = self.embeddings_initializer
        if not self.learnable_dummy:
            keep = np.ones((self.vocab_size + 1, 1), dtype="float32")
            keep[-1] = 0.0
            self._keep = keep
            base = initializer

            def initializer(shape, dtype=None):  # the fixed dummy row starts (and stays) at 0
                return base(shape, dtype=dtype) * ops.convert_to_tensor(keep, dtype=dtype)

        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.vocab_size + 1, self.output_dim),
            initializer=initializer, trainable=True,
        )
        self.built = True

    def call(self, inputs):
        table = ops.cast(self.embeddings, self.compute_dtype)
        if not self.learnable_dummy:
            table = table * ops.convert_to_tensor(self._keep, self.compute_dtype)
        return ops.take(table, ops.cast(inputs, "int32"), axis=0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocab_size": self.vocab_size,
                "output_dim": self.output_dim,
                "learnable_dummy": self.learnable_dummy,
                "embeddings_initializer": None
                if self._default_initializer
                else keras.initializers.serialize(self.embeddings_initializer),
                "seed": self.seed,
            }
        )
        return config
