"""Training callbacks."""

from keras_rnnzoo.callbacks.dtriv import DtrivRetraction

__all__ = ["DtrivRetraction"]
