"""Optimisers with per-variable learning-rate multipliers."""

from keras_rnnzoo.optimizers.multipliers import Adam
from keras_rnnzoo.optimizers.multipliers import LearningRateMultipliers
from keras_rnnzoo.optimizers.multipliers import RMSprop

__all__ = ["Adam", "LearningRateMultipliers", "RMSprop"]
