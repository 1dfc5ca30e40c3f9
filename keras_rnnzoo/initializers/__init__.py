"""Initialisers of the zoo's papers."""

from keras_rnnzoo.initializers.gates import Chrono
from keras_rnnzoo.initializers.gates import UniformGate
from keras_rnnzoo.initializers.orthogonal import Cayley
from keras_rnnzoo.initializers.orthogonal import Henaff
from keras_rnnzoo.initializers.torch_defaults import TorchUniform

__all__ = ["Cayley", "Chrono", "Henaff", "TorchUniform", "UniformGate"]
