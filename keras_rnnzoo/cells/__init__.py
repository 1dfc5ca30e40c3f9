"""Recurrent cells, one paper per file. Use them in ``keras.layers.RNN``."""

from keras_rnnzoo.cells.asrnn import ASRNNCell
from keras_rnnzoo.cells.orthogonal_rnn import OrthogonalRNNCell

__all__ = ["ASRNNCell", "OrthogonalRNNCell"]
