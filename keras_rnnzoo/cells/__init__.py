"""Recurrent cells, one paper per file. Use them in ``keras.layers.RNN``."""

from keras_rnnzoo.cells.asrnn import ASRNNCell
from keras_rnnzoo.cells.orthogonal_rnn import OrthogonalRNNCell
from keras_rnnzoo.cells.spectral_gru import SpectralGRUCell
from keras_rnnzoo.cells.stable import StableLSTMCell
from keras_rnnzoo.cells.stable import StableRNNCell
from keras_rnnzoo.cells.ur_gates import URGRUCell
from keras_rnnzoo.cells.ur_gates import URLSTMCell
from keras_rnnzoo.cells.ur_gates import refine_gate

__all__ = ["ASRNNCell", "OrthogonalRNNCell", "SpectralGRUCell", "StableLSTMCell",
           "StableRNNCell", "URGRUCell", "URLSTMCell", "refine_gate"]
