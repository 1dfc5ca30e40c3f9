"""Recurrent cells, one paper per file, and the zoo's RNN/LSTM/GRU baselines.

Use them in ``keras.layers.RNN``, or in ``keras_rnnzoo.layers.RNN`` for the
fast path. ``get_cell(name, units, ...)`` builds any of them by name (``CELL_NAMES``)
with the initialisation the training scripts use."""

from keras_rnnzoo.cells.asrnn import ASRNNCell
from keras_rnnzoo.cells.baselines import GRUCell
from keras_rnnzoo.cells.baselines import LSTMCell
from keras_rnnzoo.cells.baselines import RNNCell
from keras_rnnzoo.cells.orthogonal_rnn import OrthogonalRNNCell
from keras_rnnzoo.cells.registry import AUTHOR_INIT_CELLS
from keras_rnnzoo.cells.registry import CELL_NAMES
from keras_rnnzoo.cells.registry import ORTHOGONAL_CELLS
from keras_rnnzoo.cells.registry import author_bias_fill
from keras_rnnzoo.cells.registry import get_cell
from keras_rnnzoo.cells.registry import sub_seed
from keras_rnnzoo.cells.spectral_gru import SpectralGRUCell
from keras_rnnzoo.cells.stable import StableLSTMCell
from keras_rnnzoo.cells.stable import StableRNNCell
from keras_rnnzoo.cells.ur_gates import URGRUCell
from keras_rnnzoo.cells.ur_gates import URLSTMCell
from keras_rnnzoo.cells.ur_gates import refine_gate

__all__ = ["AUTHOR_INIT_CELLS", "ASRNNCell", "CELL_NAMES", "GRUCell", "LSTMCell",
           "ORTHOGONAL_CELLS", "OrthogonalRNNCell", "RNNCell", "SpectralGRUCell",
           "StableLSTMCell", "StableRNNCell", "URGRUCell", "URLSTMCell", "author_bias_fill",
           "get_cell", "refine_gate", "sub_seed"]
