"""Training callbacks."""

from keras_rnnzoo.callbacks.dtriv import DtrivRetraction
from keras_rnnzoo.callbacks.spectrum import SpectrumMonitor

__all__ = ["DtrivRetraction", "SpectrumMonitor"]
