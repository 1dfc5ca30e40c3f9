"""Block-diagonal skew initialisers for the free parameter A of W = exp(skew(A)).

Reference: Henaff, Szlam & LeCun, "Recurrent Orthogonal Networks and
Long-Memory Tasks" (ICML 2016); Helfrich et al., scoRNN (ICML 2018). Exactly
as in the code of ``Lezcano/expRNN`` (and so of ``ndminhkhoi46/asRNN``): for
k = 0 .. floor(n/2) - 1 the entry A[2k, 2k+1] = theta_k, all others 0, so that
S = skew(A) has S[2k, 2k+1] = theta_k = -S[2k+1, 2k] and exp(S) is a block
rotation with eigenvalues exp(+-i theta_k). For odd n the last row and column
stay 0 (one eigenvalue exactly 1).
"""

import keras
import numpy as np

from keras_rnnzoo.initializers._seeded import SeededInitializer


class _BlockSkew(SeededInitializer):
    def _thetas(self, count, rng):
        raise NotImplementedError

    def _draw(self, shape, rng):
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(
                f"{type(self).__name__} initialises a square (n, n) matrix; got "
                f"shape {shape}. Use it for recurrent (units, units) weights."
            )
        n = shape[0]
        a = np.zeros((n, n))
        k = np.arange(n // 2)
        a[2 * k, 2 * k + 1] = self._thetas(n // 2, rng)
        return a


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class Henaff(_BlockSkew):
    """theta_k ~ U(-pi, pi): the copy-task initialisation of expRNN/asRNN.

    Example:
        >>> a = Henaff(seed=0)((4, 4))
    """

    def _thetas(self, count, rng):
        return rng.uniform(-np.pi, np.pi, size=count)


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class Cayley(_BlockSkew):
    """u_k ~ U(0, pi/2), theta_k = -sqrt((1 - cos u_k)/(1 + cos u_k)) = -tan(u_k / 2).

    The MNIST and PTB initialisation of expRNN/asRNN.

    Example:
        >>> a = Cayley(seed=0)((4, 4))
    """

    def _thetas(self, count, rng):
        u = rng.uniform(0.0, np.pi / 2.0, size=count)
        return -np.sqrt((1.0 - np.cos(u)) / (1.0 + np.cos(u)))
