"""Optimisers with per-variable learning-rate multipliers."""

from keras_rnnzoo.optimizers.multipliers import Adam
from keras_rnnzoo.optimizers.multipliers import LearningRateMultipliers
from keras_rnnzoo.optimizers.multipliers import RMSprop
from keras_rnnzoo.optimizers.multipliers import SGD

__all__ = ["Adam", "LearningRateMultipliers", "RMSprop", "SGD"]
