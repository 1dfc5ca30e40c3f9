"""``keras_rnnzoo.layers.RNN``: ``keras.layers.RNN`` with the zoo's fast path."""

import contextlib

import keras
from keras import ops

from keras_rnnzoo import backend
from keras_rnnzoo.cells._base import ZooCell


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class RNN(keras.layers.RNN):
    """Drop-in replacement for ``keras.layers.RNN`` that runs zoo cells fast.

    For a zoo cell (``keras_rnnzoo.cells``) the forward pass is::

        constants = cell.sequence_constants()     # orthogonal maps, W_f, W_f^-1: once
        for t in 0 .. T-1:                        # backend loop, see below
            p_t = cell.project_inputs(x[:, t])    # x_t W_x + b
            y_t, states = cell.step(p_t, states, constants)

    With ``hoist_inputs=True`` the input projection of all time steps is one
    matmul before the loop. That is the GPU / wide-input recipe; on CPU at
    input width 10 it measured *slower* on every backend (a (T, batch, G)
    intermediate and its gradient cost more memory traffic than T small
    matmuls: torch LSTM H=128, T=200 0.247 vs 0.201 s per train step, JAX
    0.280 vs 0.189, TensorFlow 0.259 vs 0.160), so it is off by default;
    ``benchmarks/speed.py --hoist-inputs`` measures it on your machine.

    The loop is ``keras_rnnzoo.backend.scan_steps``: a lean eager loop on
    torch (no per-step ``Layer.__call__``, tree or mask work), ``jax.lax.scan``
    on JAX and ``tf.while_loop`` on TensorFlow (XLA-compiled under
    ``jit_compile=True``). ``cell.call`` is ``step(project_inputs(x_t), ...)``,
    so the fallback -- ``keras.layers.RNN``'s own loop, used for cells from
    elsewhere, masks, ``stateful=True``, ``unroll=True`` or
    ``fast_path=False`` -- computes the same numbers (tested to 1e-5).
    ``last_path`` says which ran in the latest call (``"fast"`` or
    ``"keras"``) and ``fast_path_blocker(mask)`` why the fast path was not
    taken.

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
        self.last_hidden_shape = None
        self._hidden_delta = None

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
        """None when the fast path applies to a call with this mask, else why not."""
        if not self.fast_path:
            return "fast_path=False"
        if backend.scan_steps is None:
            return f"no fast loop for the {keras.backend.backend()!r} backend"
        if not isinstance(self.cell, ZooCell):
            return f"{type(self.cell).__name__} is not a keras_rnnzoo cell"
        if mask is not None:
            return "a mask was given"
        if self.stateful:
            return "stateful=True"
        if self.unroll:
            return "unroll=True"
        return None

    def call(self, sequences, initial_state=None, mask=None, training=False):
        blocker = self.fast_path_blocker(mask)
        if blocker is not None and self._hidden_delta is not None:
            raise ValueError(
                f"hidden_perturbation needs the fast path, which {self.name} cannot take "
                f"here: {blocker}. Probe the gradient w.r.t. h_t on unmasked, non-stateful "
                "inputs with fast_path=True.")
        if blocker is not None:
            self.last_path = "keras"
            return super().call(sequences, initial_state=initial_state, mask=mask,
                                training=training)
        self.last_path = "fast"
        cell = self.cell
        if initial_state is None:
            initial_state = self.get_initial_state(batch_size=ops.shape(sequences)[0])
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        states = [ops.convert_to_tensor(s, dtype=cell.compute_dtype) for s in initial_state]
        sequences = ops.cast(sequences, cell.compute_dtype)
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
        if self.hoist_inputs:
            step, xs = cell.step, cell.project_inputs(sequences)
        else:
            def step(x_t, step_states, constants):
                return cell.step(cell.project_inputs(x_t), step_states, constants)
            xs = sequences
        self.last_hidden_shape = (xs.shape[0], xs.shape[1], states[0].shape[-1])
        if self._hidden_delta is not None:
            step, xs = self._perturbed(step, xs)
        last, outputs, states = backend.scan_steps(
            step, xs, states, cell.sequence_constants(), self.return_sequences)
        output = outputs if self.return_sequences else last
        output = ops.cast(output, self.compute_dtype)
        if self.return_state:
            return output, *[ops.cast(s, self.compute_dtype) for s in states]
        return output

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
