"""Task generators (pure functions of their arguments and a seed) and metrics."""

from keras_rnnzoo.tasks.copy_memory import CopyMemoryBatches
from keras_rnnzoo.tasks.copy_memory import RecallAccuracy
from keras_rnnzoo.tasks.copy_memory import copy_memory
from keras_rnnzoo.tasks.copy_memory import copy_memory_baseline

__all__ = ["CopyMemoryBatches", "RecallAccuracy", "copy_memory", "copy_memory_baseline"]
