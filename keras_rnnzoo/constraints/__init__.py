"""Weight constraints of the zoo's papers (applied by Keras' optimizer after each update)."""

from keras_rnnzoo.constraints.max_abs import MaxAbs
from keras_rnnzoo.constraints.spectral import SpectralClip
from keras_rnnzoo.constraints.spectral import spectral_norm_bound
from keras_rnnzoo.constraints.stable_lstm import StableLSTMProjection

__all__ = ["MaxAbs", "SpectralClip", "StableLSTMProjection", "spectral_norm_bound"]
