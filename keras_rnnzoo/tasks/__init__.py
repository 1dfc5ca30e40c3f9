"""Task generators (pure functions of their arguments and a seed) and metrics."""

from keras_rnnzoo.tasks.adding import ADDING_BASELINE
from keras_rnnzoo.tasks.adding import AddingBatches
from keras_rnnzoo.tasks.adding import adding
from keras_rnnzoo.tasks.adding import adding_baseline
from keras_rnnzoo.tasks.copy_memory import CopyMemoryBatches
from keras_rnnzoo.tasks.copy_memory import RecallAccuracy
from keras_rnnzoo.tasks.copy_memory import copy_memory
from keras_rnnzoo.tasks.copy_memory import copy_memory_baseline
from keras_rnnzoo.tasks.music import FrameNLL
from keras_rnnzoo.tasks.music import MUSIC_DATASETS
from keras_rnnzoo.tasks.music import MusicBatches
from keras_rnnzoo.tasks.music import NLLPerFrame
from keras_rnnzoo.tasks.music import bernoulli_floor
from keras_rnnzoo.tasks.music import evaluate_music
from keras_rnnzoo.tasks.music import load_music
from keras_rnnzoo.tasks.music import music_nll_per_frame
from keras_rnnzoo.tasks.reverse_ordering import GROUP_NAMES
from keras_rnnzoo.tasks.reverse_ordering import MORITA_TASKS
from keras_rnnzoo.tasks.reverse_ordering import MaskedTokenAccuracy
from keras_rnnzoo.tasks.reverse_ordering import MoritaBatches
from keras_rnnzoo.tasks.reverse_ordering import MoritaTask
from keras_rnnzoo.tasks.reverse_ordering import damerau_levenshtein
from keras_rnnzoo.tasks.reverse_ordering import evaluate_sequences
from keras_rnnzoo.tasks.reverse_ordering import make_task
from keras_rnnzoo.tasks.reverse_ordering import masked_cross_entropy
from keras_rnnzoo.tasks.reverse_ordering import morita_baseline

__all__ = [
    "ADDING_BASELINE",
    "AddingBatches",
    "CopyMemoryBatches",
    "FrameNLL",
    "GROUP_NAMES",
    "MORITA_TASKS",
    "MUSIC_DATASETS",
    "MaskedTokenAccuracy",
    "MoritaBatches",
    "MoritaTask",
    "MusicBatches",
    "NLLPerFrame",
    "RecallAccuracy",
    "adding",
    "adding_baseline",
    "bernoulli_floor",
    "copy_memory",
    "copy_memory_baseline",
    "damerau_levenshtein",
    "evaluate_music",
    "evaluate_sequences",
    "load_music",
    "make_task",
    "masked_cross_entropy",
    "morita_baseline",
    "music_nll_per_frame",
]
