"""Input layers: token embedding with a dummy token and positional encoding (Morita)."""

from keras_rnnzoo.layers.positional_encoding import PositionalEncoding
from keras_rnnzoo.layers.positional_encoding import sinusoidal_table
from keras_rnnzoo.layers.token_embedding import TokenEmbedding

__all__ = ["PositionalEncoding", "TokenEmbedding", "sinusoidal_table"]
