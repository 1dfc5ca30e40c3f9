"""What every zoo cell shares: Keras' cell arguments, the per-sequence
mechanism, argument and shape checks, initial state, serialisation. Not public."""

import numbers

import keras
from keras import ops

from keras_rnnzoo._keras_internals import PerSequenceHooks
from keras_rnnzoo._keras_internals import current_call_context


def check_units(units):
    """``units`` as a Python int (numpy integers accepted, as Keras does)."""
    if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units <= 0:
        raise ValueError(
            f"`units` must be a positive integer (the hidden size H); got {units!r}."
        )
    return int(units)


def check_rate(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(
            f"`{name}` must be a number in [0, 1) (the fraction of units dropped); got "
            f"{value!r}. Use 0 for no dropout."
        )
    return float(value)


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


# Keras' cell arguments every zoo cell takes (api.md), with their defaults.
_REGULARIZERS = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer")
_CONSTRAINTS = ("kernel_constraint", "recurrent_constraint", "bias_constraint")
MASK_KEYS = ("input_mask", "recurrent_mask")


class ZooCell(PerSequenceHooks, keras.layers.Layer):
    """Base of the zoo's cells (``keras.layers.RNN`` cell contract).

    **Keras' cell arguments.** Every zoo cell takes ``dropout``,
    ``recurrent_dropout``, ``seed``, ``kernel_regularizer``,
    ``recurrent_regularizer``, ``bias_regularizer``, ``kernel_constraint``,
    ``recurrent_constraint`` and ``bias_constraint`` with Keras' meaning. A
    cell whose maths fixes one of them lists it in ``_refused`` ({argument:
    why and what to do instead}) and a value for it raises at construction.
    ``activity_regularizer`` is refused on every cell: Keras would apply it
    inside the time loop to every step's output *and* states; give it to the
    RNN layer instead (``keras.layers.RNN(cell, activity_regularizer=...)``
    regularises the layer's output once per pass).

    **Dropout** (Gal & Ghahramani's variational form, as Keras' cells): one
    input mask m_x (batch, d) and one recurrent mask m_h (batch, H) per
    sequence, drawn from the cell's seed generator, the same for every t and
    new for the next batch; x_t becomes x_t * m_x before the input kernel and
    h_{t-1} becomes h_{t-1} * m_h before the recurrent matrix (all gate blocks
    share the mask, Keras' ``implementation=2``; a gate's direct use of
    h_{t-1}, e.g. z * h_{t-1} in a GRU, keeps the unmasked state). Masks
    scale by 1 / (1 - rate) and apply only with ``training=True``.

    **Per-sequence mechanism.** Everything that depends on the weights but
    not on t (orthogonal maps, W_f and W_f^-1, sliced gate blocks, bias rows)
    comes from ``compute_sequence_constants()``; ``sequence_constants(x_0,
    h_0, training)`` adds the dropout masks. Inside ``keras.layers.RNN`` (and
    ``keras_rnnzoo.layers.RNN``, ``StackedRNNCells``, compiled ``fit``) they
    are computed once per forward pass, before the loop, through Keras'
    per-batch hooks (``keras_rnnzoo._keras_internals``); every pass computes
    them afresh, uses them only inside the Keras call that computed them, and
    ``keras_rnnzoo.layers.RNN`` releases them even when its loop raises. A
    direct ``cell(x, states)`` call outside an RNN computes them inline, with
    the same numbers.

    Subclasses set ``num_states`` (1: [h]; 2: [h, c]), implement ``build``,
    ``step(projected, states, constants)`` and, where they have per-sequence
    tensors, ``compute_sequence_constants()``; the step multiplies h_{t-1} by
    ``recurrent_input(h, constants)`` before each recurrent matmul. They list,
    in ``_extra_initializers``, the initialiser arguments beyond
    kernel/recurrent/bias that ``get_config`` serialises.
    """

    num_states = 1
    _extra_initializers = ()
    # {argument: why it is refused and what to do instead}.
    _refused = {}
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
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        if kwargs.get("activity_regularizer") is not None:
            raise ValueError(
                f"{type(self).__name__} does not take `activity_regularizer`: on a cell, "
                "Keras would apply it inside the time loop to every step's output and "
                "states. Give it to the RNN layer instead: keras.layers.RNN(cell, "
                "activity_regularizer=...) regularises the layer's output once per pass.")
        kwargs.pop("activity_regularizer", None)
        given = dict(kernel_regularizer=kernel_regularizer,
                     recurrent_regularizer=recurrent_regularizer,
                     bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                     recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint)
        for name, why in self._refused.items():
            if given.get(name) is not None:
                raise ValueError(f"{type(self).__name__} does not take `{name}`: {why}")
        super().__init__(**kwargs)
        self.units = check_units(units)
        units = self.units
        self.state_size = units if self.num_states == 1 else [units] * self.num_states
        self.output_size = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        for name in _REGULARIZERS:
            setattr(self, name, keras.regularizers.get(given[name]))
        for name in _CONSTRAINTS:
            setattr(self, name, keras.constraints.get(given[name]))
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"`seed` must be an integer or None; got {seed!r}.")
        self.seed = None if seed is None else int(seed)
        # Made only when the cell can drop units: creating one draws from the
        # global seed stream, which would change every later initialisation
        # (and so every earlier result) of cells that have no dropout.
        self.seed_generator = None
        if self.dropout > 0 or self.recurrent_dropout > 0 or self.seed is not None:
            self.seed_generator = keras.random.SeedGenerator(seed=self.seed)
        self._pass_constants = None
        self._pass_context = None

    # --- weights -------------------------------------------------------------
    def add_cell_weight(self, role, name, shape, initializer=None, **kwargs):
        """A weight with the Keras regulariser and constraint of its ``role``
        (``"kernel"``, ``"recurrent"`` or ``"bias"``)."""
        return self.add_weight(
            name=name, shape=shape,
            initializer=initializer or getattr(self, f"{role}_initializer"),
            regularizer=getattr(self, f"{role}_regularizer"),
            constraint=getattr(self, f"{role}_constraint"), **kwargs)

    def check_step_input_shape(self, input_shape):
        name = type(self).__name__
        if len(input_shape) < 2:
            raise ValueError(
                f"{name} got a step input of shape {tuple(input_shape)}: the sequences given "
                "to the RNN layer must be 3-D (batch, time, features). Add a feature axis "
                "(x[..., None]) or a time axis (x[:, None, :]) to the layer's input.")
        if len(input_shape) != 2:
            raise ValueError(
                f"{name} takes one time step of shape (batch, features); "
                f"got input shape {tuple(input_shape)}. Wrap the cell in "
                "keras.layers.RNN to process (batch, time, features) sequences."
            )
        if input_shape[-1] is None:
            raise ValueError(
                f"{name} needs a known feature size; got input shape "
                f"{tuple(input_shape)}. Give the Input layer a fixed last dimension."
            )

    def check_states(self, states):
        """The states a step receives: a clear error instead of an index error."""
        given = list(states) if isinstance(states, (list, tuple)) else [states]
        form = "[h, c]" if self.num_states == 2 else "[h]"
        if len(given) != self.num_states:
            raise ValueError(
                f"{type(self).__name__} takes {self.num_states} state(s) {form}, each of "
                f"shape (batch, {self.units}); got {len(given)}. Pass initial_state as a "
                f"list of {self.num_states} tensor(s).")
        for s in given:
            shape = tuple(getattr(s, "shape", ()))
            if len(shape) != 2 or shape[-1] not in (None, self.units):
                raise ValueError(
                    f"{type(self).__name__} states must each have shape (batch, "
                    f"{self.units}); got a state of shape {shape}. Pass initial_state as "
                    f"{form} with that shape.")

    def recurrent_blocks(self):
        """{name: (units, units) float32 matrix} of every recurrent gate block.

        Row layout (applied as ``h @ M``): the transpose of the paper's
        matrix, with the same singular values. Used by
        ``callbacks.SpectrumMonitor``.
        """
        w = ops.cast(ops.convert_to_tensor(self.recurrent_kernel), "float32")
        n = self.units
        return {name: w[:, j * n:(j + 1) * n] for j, name in enumerate(self.block_names)}

    # --- per-sequence constants ------------------------------------------------
    def compute_sequence_constants(self):
        """Per-sequence tensors that depend only on the weights: {} here."""
        return {}

    def dropout_masks(self, step_input, state):
        """{"input_mask": (batch, d), "recurrent_mask": (batch, H)} for the
        rates that are > 0, drawn from the cell's seed generator."""
        masks = {}
        if (self.dropout > 0 or self.recurrent_dropout > 0) and self.seed_generator is None:
            # rates raised after construction: seed state made now (eagerly, at the first pass)
            self.seed_generator = keras.random.SeedGenerator(seed=self.seed)
        for key, rate, like in (("input_mask", self.dropout, step_input),
                                ("recurrent_mask", self.recurrent_dropout, state)):
            if rate > 0 and like is not None:
                ones = ops.ones(ops.shape(like), dtype=self.compute_dtype)
                masks[key] = keras.random.dropout(ones, rate, seed=self.seed_generator)
        return masks

    def sequence_constants(self, step_input=None, state=None, training=False):
        """All per-sequence tensors of one forward pass: the weight constants,
        plus the dropout masks when ``training`` (``step_input`` (batch, d) and
        ``state`` h_0 give their shapes)."""
        constants = dict(self.compute_sequence_constants())
        if training:
            constants.update(self.dropout_masks(step_input, state))
        return constants

    def pass_constants(self, training):
        """The constants of the running forward pass (``None`` outside one);
        the masks only when ``training``."""
        if self._pass_constants is None or current_call_context() is not self._pass_context:
            return None  # outside the call that computed them (e.g. after it raised)
        if training:
            return self._pass_constants
        return {k: v for k, v in self._pass_constants.items() if k not in MASK_KEYS}

    def begin_sequence(self, step_input, state):
        # Always computed afresh: a pass that raised never leaks into the next. The
        # masks are drawn here (the hooks do not know `training`); pass_constants
        # hands them out only to training calls.
        self._pass_constants = self.sequence_constants(step_input, state, training=True)
        self._pass_context = current_call_context()

    def end_sequence(self):
        self._pass_constants = None
        self._pass_context = None

    # --- the step split shared by keras.layers.RNN and keras_rnnzoo.layers.RNN ---
    def project_inputs(self, inputs, constants=None):
        """(x * m_x) W_x (+ b): the part of the update that does not read the state.

        Works on one step (batch, d) or on a whole sequence (batch, T, d):
        ``keras_rnnzoo.layers.RNN(hoist_inputs=True)`` computes it for all
        time steps in one matmul before the loop.
        """
        mask = None if constants is None else constants.get("input_mask")
        if mask is not None:
            inputs = inputs * (mask if len(inputs.shape) == 2 else ops.expand_dims(mask, 1))
        a = ops.matmul(inputs, self.kernel)
        bias = self.input_bias()
        return a if bias is None else a + bias

    def input_bias(self):
        """The bias added to x W_x (None without one)."""
        return self.bias

    @staticmethod
    def recurrent_input(h, constants):
        """h_{t-1} * m_h (recurrent dropout) as the recurrent matmul's input."""
        mask = constants.get("recurrent_mask")
        return h if mask is None else h * mask

    def step(self, projected, states, constants):
        """One recurrent step from ``project_inputs``' output: (output, new_states)."""
        raise NotImplementedError

    def call(self, inputs, states, training=False):
        self.check_states(states)
        constants = self.pass_constants(training)
        if constants is None:  # a direct call outside an RNN: inline, same numbers
            h = states[0] if isinstance(states, (list, tuple)) else states
            constants = self.sequence_constants(inputs, h, training)
        return self.step(self.project_inputs(inputs, constants), states, constants)

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
        for name in _REGULARIZERS:
            config[name] = keras.regularizers.serialize(getattr(self, name))
        for name in _CONSTRAINTS:
            if name not in self._refused:
                config[name] = keras.constraints.serialize(getattr(self, name))
        config.update(dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
                      seed=self.seed)
        return config
