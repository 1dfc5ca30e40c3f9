"""Maps from unconstrained parameters to orthogonal matrices.

All functions compute in float32 (also under a mixed-precision policy; no
backend has expm, solve or SVD in float16/bfloat16) and return float32: cast
the result to the layer's ``compute_dtype`` yourself.
"""

from keras_rnnzoo.parametrizations.orthogonal import cayley
from keras_rnnzoo.parametrizations.orthogonal import expm
from keras_rnnzoo.parametrizations.orthogonal import expm_pade
from keras_rnnzoo.parametrizations.orthogonal import orthogonal_from_free
from keras_rnnzoo.parametrizations.orthogonal import skew

__all__ = ["cayley", "expm", "expm_pade", "orthogonal_from_free", "skew"]
