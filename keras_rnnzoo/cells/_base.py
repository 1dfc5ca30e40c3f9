"""What every zoo cell shares: argument checks, step-shape check, initial
state, initialiser serialisation. Not public."""

import keras
from keras import ops


def check_units(units):
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(
            f"`units` must be a positive integer (the hidden size H); got {units!r}."
        )


def check_choice(name, value, choices, hint=""):
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {', '.join(repr(c) for c in choices)}; "
            f"got {value!r}.{' ' + hint if hint else ''}"
        )


def split_state(states):
    """(h_{t-1}, wrap): wrap returns a new state in the form it was received."""
    if isinstance(states, (list, tuple)):
        return states[0], (lambda h: [h])
    return states, (lambda h: h)


def project_now(variable):
    """Apply a variable's constraint once (e.g. right after ``build``).

    Keras applies constraints only after optimiser steps; projected models
    (spectral clipping, stable RNNs) should also start inside their set.
    """
    if variable.constraint is not None:
        variable.assign(variable.constraint(ops.convert_to_tensor(variable)))


class ZooCell(keras.layers.Layer):
    """Base of the zoo's cells (``keras.layers.RNN`` cell contract).

    Subclasses set ``num_states`` (1: [h]; 2: [h, c]) and list, in
    ``_extra_initializers``, the initialiser arguments beyond
    kernel/recurrent/bias that ``get_config`` serialises.
    """

    num_states = 1
    _extra_initializers = ()
    # Cells without an input bias leave this None.
    bias = None
    # Names of the (units, units) gate blocks of ``recurrent_kernel``, in order.
    block_names = ("hh",)

    def __init__(
        self,
        units,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_units(units)
        self.units = units
        self.state_size = units if self.num_states == 1 else [units] * self.num_states
        self.output_size = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def check_step_input_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} takes one time step of shape (batch, features); "
                f"got input shape {tuple(input_shape)}. Wrap the cell in "
                "keras.layers.RNN to process (batch, time, features) sequences."
            )
        if input_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} needs a known feature size; got input shape "
                f"{tuple(input_shape)}. Give the Input layer a fixed last dimension."
            )

    def recurrent_blocks(self):
        """{name: (units, units) float32 matrix} of every recurrent gate block.

        Row layout (applied as ``h @ M``): the transpose of the paper's
        matrix, with the same singular values. Used by
        ``callbacks.SpectrumMonitor``.
        """
        w = ops.cast(ops.convert_to_tensor(self.recurrent_kernel), "float32")
        n = self.units
        return {name: w[:, j * n:(j + 1) * n] for j, name in enumerate(self.block_names)}

    # --- the step split shared by keras.layers.RNN and keras_rnnzoo.layers.RNN ---
    def project_inputs(self, inputs):
        """x W_x (+ b): the part of the update that does not read the state.

        Works on one step (batch, d) or on a whole sequence (batch, T, d):
        ``keras_rnnzoo.layers.RNN(hoist_inputs=True)`` computes it for all
        time steps in one matmul before the loop.
        """
        a = ops.matmul(inputs, self.kernel)
        return a if self.bias is None else a + self.bias

    def sequence_constants(self):
        """Per-sequence tensors the step needs (orthogonal maps, ...): {} here."""
        return {}

    def step(self, projected, states, constants):
        """One recurrent step from ``project_inputs``' output: (output, new_states)."""
        raise NotImplementedError

    def call(self, inputs, states, training=False):
        return self.step(self.project_inputs(inputs), states, self.sequence_constants())

    def get_initial_state(self, batch_size=None):
        return [
            ops.zeros((batch_size, self.units), dtype=self.compute_dtype)
            for _ in range(self.num_states)
        ]

    def get_config(self):
        config = super().get_config()
        config["units"] = self.units
        for name in ("kernel", "recurrent", "bias") + tuple(self._extra_initializers):
            key = f"{name}_initializer"
            config[key] = keras.initializers.serialize(getattr(self, key))
        return config
