"""Dynamic trivialisation (dtriv): move the base of the orthogonal chart."""

import keras

from keras_rnnzoo.callbacks._walk import iter_layers


def _check_positive_int(value, name, fix):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{name}` must be a positive int; got {value!r}. {fix}")


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class DtrivRetraction(keras.callbacks.Callback):
    """Chart changes of dynamic trivialisation for cells in mode ``"dtriv"``.

    Every ``every`` optimiser steps (K), for every free parameter A with base
    B of every zoo cell in mode ``"dtriv"``::

        B <- B . exp(skew(A)),   A <- 0          (W = B exp(skew(A)) unchanged)

    and every ``reproject_every`` chart changes (M) the base is put back on
    the orthogonal group, B <- U V^T from the SVD B = U S V^T. Optimiser slots
    are kept, as in the official code. The step count is the optimiser's
    ``iterations``, so a resumed run keeps its schedule.

    Args:
        every: K, optimiser steps between chart changes (asRNN copy: 100).
        reproject_every: M, chart changes between re-projections (asRNN: 100;
            Lezcano's copy script: 30).

    Example:
        >>> cb = DtrivRetraction(every=100, reproject_every=100)
        >>> # model.fit(..., callbacks=[cb])

    Reference:
        Lezcano-Casado, "Trivializations for Gradient-Based Optimization on
        Manifolds", NeurIPS 2019.
    """

    def __init__(self, every=100, reproject_every=100):
        super().__init__()
        _check_positive_int(every, "every", "It is K, the optimiser steps between chart changes.")
        _check_positive_int(
            reproject_every,
            "reproject_every",
            "It is M, the chart changes between re-orthogonalisations.",
        )
        self.every = every
        self.reproject_every = reproject_every
        self._step = None

    def on_train_begin(self, logs=None):
        self._step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.every:
            return
        changes = self._step // self.every
        reproject = changes % self.reproject_every == 0
        for layer in iter_layers(self.model):
            if getattr(layer, "mode", None) == "dtriv" and hasattr(layer, "dtriv_chart_change"):
                layer.dtriv_chart_change()
                if reproject:
                    layer.dtriv_reproject()

    def get_config(self):
        return {"every": self.every, "reproject_every": self.reproject_every}
