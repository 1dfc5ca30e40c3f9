"""Utilities the zoo's scripts and benchmarks share: atomic files, plots,
thread counts, the command line of a run, the layers inside a model."""

from keras_rnnzoo.utils.files import atomic_write
from keras_rnnzoo.utils.files import write_command
from keras_rnnzoo.utils.layers import iter_layers
from keras_rnnzoo.utils.plots import plot_metrics
from keras_rnnzoo.utils.plots import pyplot
from keras_rnnzoo.utils.plots import save_figure
from keras_rnnzoo.utils import runs
from keras_rnnzoo.utils.threads import set_threads

__all__ = ["atomic_write", "iter_layers", "plot_metrics", "pyplot", "runs", "save_figure",
           "set_threads", "write_command"]
