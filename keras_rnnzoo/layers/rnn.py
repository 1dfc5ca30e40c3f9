"""``keras_rnnzoo.layers.RNN``: ``keras.layers.RNN`` with the zoo's fast path."""

import contextlib

import keras
from keras import ops

from keras_rnnzoo import backend
from keras_rnnzoo.cells._base import ZooCell


def _zoo_cells(cell):
    """The zoo cells in ``cell`` (itself, or inside ``StackedRNNCells``)."""
    if isinstance(cell, ZooCell):
        yield cell
    for inner in getattr(cell, "cells", ()) or ():
        yield from _zoo_cells(inner)


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class RNN(keras.layers.RNN):
    """Drop-in replacement for ``keras.layers.RNN`` that runs zoo cells fast.

    Keras' ``RNN.call`` keeps doing what it does (initial and ``stateful``
    states, the cell's per-sequence hooks, casting, ``return_state``); this
    layer replaces only its time loop (``inner_loop``). For a zoo cell
    (``keras_rnnzoo.cells``) the loop is::

        constants = cell's per-sequence tensors   # orthogonal maps, W_f^-1, masks: once
        for t in 0 .. T-1:                        # backend loop, see below
            p_t = cell.project_inputs(x[:, t], constants)   # (x_t * m_x) W_x + b
            y_t, states = cell.step(p_t, states, constants)
            (where mask[:, t] is False: keep the states, repeat the last output)

    With ``hoist_inputs=True`` the input projection of all time steps is one
    matmul before the loop. That is the GPU / wide-input recipe; on CPU at
    input width 10 it measured *slower* on every backend (a (T, batch, G)
    intermediate and its gradient cost more memory traffic than T small
    matmuls: torch LSTM H=128, T=200 0.247 vs 0.201 s per train step, JAX
    0.280 vs 0.189, TensorFlow 0.259 vs 0.160), so it is off by default;
    ``benchmarks/speed.py --hoist-inputs`` measures it on your machine.

    The loop is ``keras_rnnzoo.backend.scan_steps``: a lean eager loop on
    torch (no per-step ``Layer.__call__`` or tree work), ``jax.lax.scan``
    on JAX and ``tf.while_loop`` on TensorFlow (XLA-compiled under
    ``jit_compile=True``). It takes masks (``Embedding(mask_zero=True)``,
    ``Masking``; a masked step keeps the previous state and repeats the
    previous output, or zeros with ``zero_output_for_mask=True``, as Keras'
    loop does), ``stateful=True``, ``go_backwards``, dropout and
    ``initial_state``. ``cell.call`` is ``step(project_inputs(x_t), ...)``, so
    the fallback -- ``keras.layers.RNN``'s own loop, used for cells from
    elsewhere (and ``StackedRNNCells``), ``unroll=True`` or
    ``fast_path=False`` -- computes the same numbers (tested to 1e-5).
    ``last_path`` says which ran in the latest call (``"fast"`` or
    ``"keras"``; None before the first call) and ``last_blocker`` why that
    call did not take the fast path (None when it did);
    ``fast_path_blocker()`` gives the reason for the layer's settings now.
    The cells' per-sequence tensors are released when the call ends, also
    when it raises.

    Sequences need at least one time step: a batch of length 0 raises a
    ``ValueError`` on every backend (Keras' own loop fails on it with an
    internal index error); pad empty sequences to length 1 and mask the
    padding, which returns the initial state.

    Args:
        cell: an RNN cell; zoo cells take the fast path.
        fast_path: set False to force ``keras.layers.RNN``'s loop.
        hoist_inputs: project the inputs of all steps in one matmul first.
        **kwargs: every ``keras.layers.RNN`` argument (``return_sequences``,
            ``return_state``, ``go_backwards``, ``stateful``, ``unroll``, ...).

    Example:
        >>> import keras, numpy as np
        >>> from keras_rnnzoo.cells import URLSTMCell
        >>> from keras_rnnzoo.layers import RNN
        >>> layer = RNN(URLSTMCell(16), return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 16)
        >>> layer.last_path
        'fast'
    """

    def __init__(self, cell, fast_path=True, hoist_inputs=False, **kwargs):
        super().__init__(cell, **kwargs)
        for name, value in (("fast_path", fast_path), ("hoist_inputs", hoist_inputs)):
            if not isinstance(value, bool):
                raise ValueError(f"`{name}` must be True or False; got {value!r}.")
        self.fast_path = fast_path
        self.hoist_inputs = hoist_inputs
        self.last_path = None
        self.last_blocker = None
        self.last_hidden_shape = None
        self._hidden_delta = None

    def build(self, sequences_shape, initial_state_shape=None):
        super().build(sequences_shape, initial_state_shape)
        if self.stateful and self.states is not None and not any(
                v is s for s in keras.tree.flatten(self.states)
                for v in self.non_trainable_variables):
            # Keras creates the state variables untracked, so on JAX ``fit`` and
            # ``predict`` (stateless calls over the tracked variables) never carry
            # the state from one batch to the next. As non-trainable weights of
            # the layer they are carried on every backend.
            self.states = keras.tree.map_structure(
                lambda v: self.add_weight(shape=v.shape, initializer="zeros",
                                          dtype=v.dtype, trainable=False, name="rnn_state"),
                self.states)

    @contextlib.contextmanager
    def hidden_perturbation(self, delta):
        """Within the block, h_t += delta[:, t] after every step (time in loop
        order, i.e. reversed with ``go_backwards``); ``delta`` is (batch, T, H)."""
        self._hidden_delta = delta
        try:
            yield self
        finally:
            self._hidden_delta = None

    def fast_path_blocker(self, mask=None):
        """None when the fast path applies, else why not (``mask`` is accepted
        for compatibility: masks take the fast path)."""
        if not self.fast_path:
            return "fast_path=False"
        if backend.scan_steps is None:
            return f"no fast loop for the {keras.backend.backend()!r} backend"
        if not isinstance(self.cell, ZooCell):
            return f"{type(self.cell).__name__} is not a keras_rnnzoo cell"
        if self.unroll:
            return "unroll=True"
        return None

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if len(sequences.shape) >= 2 and sequences.shape[1] == 0:
            raise ValueError(
                f"{self.name} got sequences of length 0 (`sequences` of shape "
                f"{tuple(sequences.shape)}): an RNN needs at least one time step. Drop the "
                "empty sequences, or pad them to length >= 1 and mask the padding "
                "(keras.layers.Masking, Embedding(mask_zero=True)): a fully masked sequence "
                "gives the initial state.")
        try:
            return super().call(sequences, initial_state=initial_state, mask=mask,
                                training=training)
        finally:  # never let a pass's constants outlive it, also when the loop raised
            for cell in _zoo_cells(self.cell):
                cell.end_sequence()

    def inner_loop(self, sequences, initial_state, mask, training=False):
        blocker = self.fast_path_blocker()
        if blocker is not None and self._hidden_delta is not None:
            raise ValueError(
                f"hidden_perturbation needs the fast path, which {self.name} cannot take "
                f"here: {blocker}. Probe the gradient w.r.t. h_t with fast_path=True and "
                "unroll=False.")
        self.last_blocker = blocker
        if blocker is not None:
            self.last_path = "keras"
            return super().inner_loop(sequences, initial_state, mask, training=training)
        self.last_path = "fast"
        cell = self.cell
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [
            initial_state]
        if self.stateful:  # the state variables are assigned in place after the loop
            states = [ops.copy(s) for s in states]
        sequences = ops.cast(sequences, cell.compute_dtype)
        constants = cell.pass_constants(training)
        if constants is None:  # a Keras without the per-batch hooks
            constants = cell.sequence_constants(sequences[:, 0], states[0], training)
        if mask is not None:
            mask = ops.cast(mask, "bool")
            if len(mask.shape) == 3:
                mask = mask[..., 0]
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
            mask = None if mask is None else ops.flip(mask, axis=1)
        if self.hoist_inputs:
            step, xs = cell.step, cell.project_inputs(sequences, constants)
        else:
            def step(x_t, step_states, step_constants):
                return cell.step(cell.project_inputs(x_t, step_constants), step_states,
                                 step_constants)
            xs = sequences
        self.last_hidden_shape = (xs.shape[0], xs.shape[1], states[0].shape[-1])
        if self._hidden_delta is not None:
            step, xs = self._perturbed(step, xs)
        last, outputs, states = backend.scan_steps(
            step, xs, states, constants, self.return_sequences, mask=mask,
            zero_output=self.zero_output_for_mask)
        if outputs is None:  # Keras' call casts `outputs` and then returns `last`
            outputs = ops.expand_dims(last, 1)
        return last, outputs, states

    def _perturbed(self, step, xs):
        """The step on (x_t, delta_t) concatenated, adding delta_t to h_t."""
        width = xs.shape[-1]
        delta = ops.cast(self._hidden_delta, xs.dtype)

        def perturbed_step(xd_t, states, constants):
            x_t, d_t = ops.split(xd_t, [width], axis=-1)
            output, new_states = step(x_t, states, constants)
            output = output + d_t
            return output, [output, *list(new_states)[1:]]

        return perturbed_step, ops.concatenate([xs, delta], axis=-1)

    def get_config(self):
        config = super().get_config()
        config["fast_path"] = self.fast_path
        config["hoist_inputs"] = self.hoist_inputs
        return config
