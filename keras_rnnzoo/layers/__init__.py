"""Layers: the zoo's fast ``RNN``, token embedding with a dummy token and
positional encoding (Morita)."""

from keras_rnnzoo.layers.positional_encoding import PositionalEncoding
from keras_rnnzoo.layers.positional_encoding import sinusoidal_table
from keras_rnnzoo.layers.rnn import RNN
from keras_rnnzoo.layers.token_embedding import TokenEmbedding

__all__ = ["RNN", "PositionalEncoding", "TokenEmbedding", "sinusoidal_table"]
