"""Dynamic trivialisation (dtriv): move the base of the orthogonal chart."""

import keras

from keras_rnnzoo.callbacks._periodic import PeriodicCallback
from keras_rnnzoo.callbacks._periodic import check_positive_int
from keras_rnnzoo.callbacks._walk import iter_layers


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class DtrivRetraction(PeriodicCallback):
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
        check_positive_int(every, "every", "It is K, the optimiser steps between chart changes.")
        check_positive_int(
            reproject_every,
            "reproject_every",
            "It is M, the chart changes between re-orthogonalisations.",
        )
        super().__init__(every)
        self.reproject_every = reproject_every

    def on_period(self, step):
        changes = step // self.every
        reproject = changes % self.reproject_every == 0
        for layer in iter_layers(self.model):
            if getattr(layer, "mode", None) == "dtriv" and hasattr(layer, "dtriv_chart_change"):
                layer.dtriv_chart_change()
                if reproject:
                    layer.dtriv_reproject()

    def get_config(self):
        return {"every": self.every, "reproject_every": self.reproject_every}
