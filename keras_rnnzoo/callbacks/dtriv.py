"""Dynamic trivialisation (dtriv): move the base of the orthogonal chart."""

import math

import keras

from keras_rnnzoo.callbacks._periodic import check_positive_int
from keras_rnnzoo.utils.layers import iter_layers


def _check_every(every):
    """K as a positive int, or None for K = infinity (also from inf / "infty")."""
    if every is None or (isinstance(every, str) and every == "infty"):
        return None
    if isinstance(every, float) and math.isinf(every) and every > 0:
        return None
    if isinstance(every, bool) or not isinstance(every, int) or every <= 0:
        raise ValueError(
            f"`every` must be a positive int (K, the optimiser steps between chart "
            f"changes) or None for K = infinity (one chart change at the start of "
            f"training, then a static base; float('inf') and the official 'infty' "
            f"are accepted too); got {every!r}. Pass e.g. every=100 or every=None."
        )
    return every


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class DtrivRetraction(keras.callbacks.Callback):
    """Chart changes of dynamic trivialisation for cells in mode ``"dtriv"``.

    A chart change, for every free parameter A with base B of every zoo cell
    in mode ``"dtriv"``, is::

        B <- B . exp(skew(A)),   A <- 0          (W = B exp(skew(A)) unchanged)

    Schedule (that of the official code, counted in optimiser steps t, the
    optimiser's ``iterations``):

    * at the start of training, if the optimiser has made no step yet
      (t = 0): the first chart change, B <- B exp(skew(A_init)), A <- 0, as
      the official code does on its first forward pass. A resumed run
      (t > 0, e.g. a second ``fit`` or a restored optimiser) does not redo it;
    * then after every K-th step (t = K, 2K, ...). With ``every=None``
      (K = infinity, the official ``K="infty"``) there is no other change: the
      base stays where the first change put it;
    * every M-th chart change (``reproject_every``; the first change counts
      as the 1st, as in the official code) the base is then put back on the
      orthogonal group, B <- U V^T from the SVD B = U S V^T.

    Since the schedule is a function of t, a resumed run keeps it, and so does
    ``compile(..., steps_per_execution=s)``: then s steps pass between two
    batch ends, and the chart change of step jK happens at the first batch
    end with t >= jK (the earliest point a callback can act), up to s - 1
    steps late. Every change due since the previous batch end is made, so a
    run from t = 0 has made floor(t / K) + 1 chart changes by step t (a second
    change in a row meets A = 0 and leaves B as it is). ``iterations`` is read only at
    the batch ends where a change may be due (t can grow by at most
    ``steps_per_execution`` per batch end), as reading the model forces a
    state sync on JAX. Optimiser slots are kept, as in the official code.

    Translation to the official (PyTorch) code: the zoo's matrix is
    W = B exp(S), S = skew(A), applied in row layout as ``h @ W``. Lezcano's
    expRNN applies ``h @ (base exp(S))`` too, so its A and base port as they
    are. asRNN applies the matrix as a ``Linear`` weight,
    ``h @ (base exp(S))^T``, i.e. in row form W = exp(-S) B^T. With B = I that
    is the zoo's W for A_zoo = -A_torch (= A_torch^T for the skew-symmetric A
    of the official initialisers): "a torch A ports as its transpose" holds
    only there. With a moved base, exp(-S) B^T = B^T exp(-B S B^T): the zoo's
    base is B^T and its S is -B S B^T, a conjugation by the current base, so with
    an optimiser that has per-coordinate scaling or carried-over slots (Adam,
    RMSprop, momentum) the two runs part after the first chart change that
    moves B (plain SGD maps over exactly).

    Args:
        every: K, optimiser steps between chart changes (asRNN copy: 100), a
            positive int; or None for K = infinity (one chart change at the
            start of training, then a static base). ``float("inf")`` and
            ``"infty"`` mean None too.
        reproject_every: M, chart changes between re-projections (asRNN: 100;
            Lezcano's copy script: 30), a positive int.

    Attributes:
        changes: the chart changes the schedule has made by the last step read
            (counted from step 0, so a resumed run includes the earlier ones).

    Example:
        >>> cb = DtrivRetraction(every=100, reproject_every=100)
        >>> static_base = DtrivRetraction(every=None)  # official K = "infty"
        >>> # model.fit(..., callbacks=[cb])

    Reference:
        Lezcano-Casado, "Trivializations for Gradient-Based Optimization on
        Manifolds", NeurIPS 2019.
    """

    def __init__(self, every=100, reproject_every=100):
        super().__init__()
        self.every = _check_every(every)
        check_positive_int(
            reproject_every,
            "reproject_every",
            "It is M, the chart changes between re-orthogonalisations.",
        )
        self.reproject_every = reproject_every
        self.changes = 0  # chart changes made or due up to the last read step
        self._last_step = None  # optimiser step read last
        self._batches = 0  # batch ends since then
        self._steps_per_batch = None  # upper bound on steps per batch end, or None

    # --- schedule ------------------------------------------------------------
    def _changes_due(self, step):
        """How many chart changes the schedule has made by optimiser step ``step``."""
        return 1 if self.every is None else step // self.every + 1

    def _read_step(self):
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def _change_charts(self, up_to):
        """Make chart changes number ``self.changes + 1`` ... ``up_to``."""
        layers = [
            layer for layer in iter_layers(self.model)
            if getattr(layer, "mode", None) == "dtriv" and hasattr(layer, "dtriv_chart_change")
        ]
        for number in range(self.changes + 1, up_to + 1):
            for layer in layers:
                layer.dtriv_chart_change()
                if number % self.reproject_every == 0:
                    layer.dtriv_reproject()
        self.changes = max(self.changes, up_to)

    # --- callback hooks ------------------------------------------------------
    def on_train_begin(self, logs=None):
        step = self._read_step()
        spe = getattr(self.model, "steps_per_execution", None)
        ok = isinstance(spe, int) and not isinstance(spe, bool) and spe >= 1
        self._steps_per_batch = spe if ok else None
        self._last_step, self._batches = step, 0
        if step == 0:
            self.changes = 0
            self._change_charts(1)
        else:  # resumed: the changes of steps <= step were made by the earlier run.
            self.changes = self._changes_due(step)

    def on_train_batch_end(self, batch, logs=None):
        if self.every is None or self._last_step is None:
            return
        self._batches += 1
        next_change_step = self.changes * self.every  # step of change number changes + 1
        bound = self._steps_per_batch
        if bound is not None and self._last_step + bound * self._batches < next_change_step:
            return  # not due yet: no read, no JAX state sync
        step = self._read_step()
        if bound is not None and step > self._last_step + bound * self._batches:
            self._steps_per_batch = None  # the bound does not hold here: read every batch end
        self._last_step, self._batches = step, 0
        self._change_charts(self._changes_due(step))

    def get_config(self):
        return {"every": self.every, "reproject_every": self.reproject_every}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
