"""keras-rnnzoo: recurrent cells from five research papers for Keras 3.

Runs unchanged on the TensorFlow, JAX and PyTorch backends.
"""

from keras_rnnzoo import callbacks
from keras_rnnzoo import cells
from keras_rnnzoo import constraints
from keras_rnnzoo import datasets
from keras_rnnzoo import initializers
from keras_rnnzoo import layers
from keras_rnnzoo import metrics
from keras_rnnzoo import models
from keras_rnnzoo import optimizers
from keras_rnnzoo import parametrizations
from keras_rnnzoo import presets
from keras_rnnzoo import tasks
from keras_rnnzoo import utils

__version__ = "0.1.0"
