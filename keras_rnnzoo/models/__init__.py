"""Task models: a recurrent backbone and the heads the papers' tasks need."""

from keras_rnnzoo.models.backbone import RNNBackbone
from keras_rnnzoo.models.task import FramePredictor
from keras_rnnzoo.models.task import LanguageModel
from keras_rnnzoo.models.task import SequenceClassifier
from keras_rnnzoo.models.task import SequenceRegressor
from keras_rnnzoo.models.task import SequenceTagger
from keras_rnnzoo.models.task import Task

# --- evaluation helpers (keras_rnnzoo/models/evaluation.py) ---
from keras_rnnzoo.models.evaluation import EVAL_SEED
from keras_rnnzoo.models.evaluation import evaluate_adding
from keras_rnnzoo.models.evaluation import evaluate_classifier
from keras_rnnzoo.models.evaluation import evaluate_copy_memory
from keras_rnnzoo.models.evaluation import evaluate_language_model
from keras_rnnzoo.models.evaluation import evaluate_music
from keras_rnnzoo.models.evaluation import stateful_copy
from keras_rnnzoo.models.evaluation import evaluate_sequences
from keras_rnnzoo.models.evaluation import evaluate_slot_filling
# --- end evaluation helpers ---
