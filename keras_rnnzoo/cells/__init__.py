"""Recurrent cells, one paper per file, and the zoo's RNN/LSTM/GRU baselines.

Use them in ``keras.layers.RNN``, or in ``keras_rnnzoo.layers.RNN`` for the
fast path."""

from keras_rnnzoo.cells.asrnn import ASRNNCell
from keras_rnnzoo.cells.baselines import GRUCell
from keras_rnnzoo.cells.baselines import LSTMCell
from keras_rnnzoo.cells.baselines import RNNCell
from keras_rnnzoo.cells.orthogonal_rnn import OrthogonalRNNCell
from keras_rnnzoo.cells.spectral_gru import SpectralGRUCell
from keras_rnnzoo.cells.stable import StableLSTMCell
from keras_rnnzoo.cells.stable import StableRNNCell
from keras_rnnzoo.cells.ur_gates import URGRUCell
from keras_rnnzoo.cells.ur_gates import URLSTMCell
from keras_rnnzoo.cells.ur_gates import refine_gate

__all__ = ["ASRNNCell", "GRUCell", "LSTMCell", "OrthogonalRNNCell", "RNNCell",
           "SpectralGRUCell", "StableLSTMCell", "StableRNNCell", "URGRUCell", "URLSTMCell",
           "refine_gate"]
