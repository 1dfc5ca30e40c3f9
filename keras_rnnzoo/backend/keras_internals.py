"""The one Keras internal the zoo relies on (Keras 3.15.x, pinned in pyproject).

``keras.layers.RNN.call`` treats cells that inherit Keras' private
``DropoutRNNCell`` mixin specially: *once per forward pass*, before the time
loop, it calls ``cell.get_dropout_mask(first_step_inputs)`` and
``cell.get_recurrent_dropout_mask(initial_state)``, and after the loop
``cell.reset_dropout_mask()`` / ``cell.reset_recurrent_dropout_mask()``. Keras
uses this to share one dropout mask across all steps of a batch; the zoo uses
the same two calls to build the per-sequence constants of a cell (orthogonal
matrices, W_f and its inverse) once, outside the loop, on every backend, also
when the cell sits in a plain ``keras.layers.RNN`` (with or without an explicit
``initial_state``, and inside ``StackedRNNCells``).

The mixin class is found through the public ``keras.layers.SimpleRNNCell``
(no ``keras.src`` import). If a future Keras drops it, ``PER_PASS_HOOKS`` is
False and the cells compute their constants inside every step instead: the
same numbers, only slower (``tests/test_per_pass.py`` checks both).
"""

import keras


def _find_dropout_rnn_cell():
    for klass in keras.layers.SimpleRNNCell.__mro__:
        if klass.__name__ == "DropoutRNNCell":
            return klass
    return None


_DropoutRNNCell = _find_dropout_rnn_cell()
PER_PASS_HOOKS = _DropoutRNNCell is not None


class _NoHooks:
    pass


class PerSequenceHooks(_DropoutRNNCell or _NoHooks):
    """Mixin turning Keras' per-batch dropout hooks into per-sequence hooks.

    A cell using it implements ``begin_sequence()`` and ``end_sequence()``.
    The cell has no dropout of its own: ``dropout`` and ``recurrent_dropout``
    are fixed at 0 so that Keras' mask logic never draws masks for it.
    """

    dropout = 0.0
    recurrent_dropout = 0.0

    def get_dropout_mask(self, step_input):
        self.begin_sequence()
        return None

    def get_recurrent_dropout_mask(self, step_input):
        return None

    def reset_dropout_mask(self):
        self.end_sequence()

    def reset_recurrent_dropout_mask(self):
        return None

    def begin_sequence(self):
        raise NotImplementedError

    def end_sequence(self):
        raise NotImplementedError
