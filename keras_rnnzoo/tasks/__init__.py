"""Task generators and loaders (pure functions of their arguments and a seed).

Tasks are data only: their metrics and losses are in
:mod:`keras_rnnzoo.metrics` and the evaluation of a model on a task in
:mod:`keras_rnnzoo.models` (``evaluate_sequences``, ``evaluate_music``,
``evaluate_copy_memory``, ``evaluate_adding``).
"""

from keras_rnnzoo.tasks.adding import ADDING_BASELINE
from keras_rnnzoo.tasks.adding import AddingBatches
from keras_rnnzoo.tasks.adding import adding
from keras_rnnzoo.tasks.adding import adding_baseline
from keras_rnnzoo.tasks.copy_memory import CopyMemoryBatches
from keras_rnnzoo.tasks.copy_memory import copy_memory
from keras_rnnzoo.tasks.copy_memory import copy_memory_baseline
from keras_rnnzoo.tasks.morita import GROUP_NAMES
from keras_rnnzoo.tasks.morita import MORITA_TASKS
from keras_rnnzoo.tasks.morita import MoritaBatches
from keras_rnnzoo.tasks.morita import MoritaTask
from keras_rnnzoo.tasks.morita import make_task
from keras_rnnzoo.tasks.morita import morita_baseline
from keras_rnnzoo.tasks.music import MUSIC_DATASETS
from keras_rnnzoo.tasks.music import MusicBatches
from keras_rnnzoo.tasks.music import bernoulli_floor
from keras_rnnzoo.tasks.music import load_music

__all__ = [
    "ADDING_BASELINE",
    "AddingBatches",
    "CopyMemoryBatches",
    "GROUP_NAMES",
    "MORITA_TASKS",
    "MUSIC_DATASETS",
    "MoritaBatches",
    "MoritaTask",
    "MusicBatches",
    "adding",
    "adding_baseline",
    "bernoulli_floor",
    "copy_memory",
    "copy_memory_baseline",
    "load_music",
    "make_task",
    "morita_baseline",
]
