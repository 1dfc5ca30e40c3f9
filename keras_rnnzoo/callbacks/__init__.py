"""Training callbacks: dtriv retraction and the monitors (gradients, hidden-state
gradients, spectra) that show why a recurrent model trains or fails."""

from keras_rnnzoo.callbacks.dtriv import DtrivRetraction
from keras_rnnzoo.callbacks.evaluation import LanguageModelEvaluation
from keras_rnnzoo.callbacks.gradients import GradientNormMonitor
from keras_rnnzoo.callbacks.gradients import HiddenGradientMonitor
from keras_rnnzoo.callbacks.gradients import probe_gradients
from keras_rnnzoo.callbacks.spectrum import SpectrumMonitor
from keras_rnnzoo.callbacks.states import ResetStates

__all__ = ["DtrivRetraction", "GradientNormMonitor", "HiddenGradientMonitor",
           "LanguageModelEvaluation", "ResetStates", "SpectrumMonitor", "probe_gradients"]
