"""Reset the states of stateful recurrent layers on a schedule of optimiser steps."""

import keras

from keras_rnnzoo.callbacks._periodic import PeriodicCallback
from keras_rnnzoo.callbacks._periodic import check_positive_int


class ResetStates(PeriodicCallback):
    """Zero every stateful RNN layer's state before every ``every``-th optimiser step.

    For truncated BPTT over a text (:class:`keras_rnnzoo.datasets.LanguageModelBatches`):
    with ``every = windows_per_pass`` the state is carried across the windows
    of a pass and starts from zero at the beginning of each pass, i.e. before
    steps 0, every, 2 every, ... (counted from ``optimizer.iterations``, so a
    resumed run keeps the schedule; a run resumed in the middle of a pass
    starts that pass's remaining windows from a zero state, as the state is
    not part of a backup). With ``compile(steps_per_execution=k)`` the reset
    comes at the end of the execution that completed the pass: exact pass
    boundaries need k to divide ``every``.

    Args:
        every: optimiser steps between resets (a pass of windows).

    Example:
        >>> # ds = LanguageModelBatches(train, batch_size=20, bptt=35)
        >>> # model.fit(ds, callbacks=[ResetStates(ds.windows_per_pass)])
    """

    def __init__(self, every):
        check_positive_int(every, "every", "Pass the number of windows in a pass.")
        super().__init__(every)

    def reset(self):
        # Reading ``self.model`` syncs the JAX trainer's state into the variables,
        # and the next step reads them back: the zeros are what it trains from.
        from keras_rnnzoo.utils.layers import iter_layers

        for layer in iter_layers(self.model):
            if isinstance(layer, keras.layers.RNN) and layer.stateful:
                layer.reset_state()

    def on_start(self, step):
        self.reset()

    def on_period(self, step):
        self.reset()
