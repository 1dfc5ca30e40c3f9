"""Shared machinery of the cells whose recurrent matrix is orthogonal.

Not public: ``ASRNNCell`` (asrnn.py) and ``OrthogonalRNNCell``
(orthogonal_rnn.py) build on it.
"""

import keras
from keras import ops

from keras_rnnzoo.backend.keras_internals import PerSequenceHooks
from keras_rnnzoo.initializers import Henaff
from keras_rnnzoo.parametrizations import orthogonal_from_free

MODES = ("exprnn", "dtriv", "cayley")


def check_units(units):
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(
            f"`units` must be a positive integer (the hidden size H); got {units!r}."
        )


def check_mode(mode):
    if mode not in MODES:
        raise ValueError(
            f"`mode` must be one of {', '.join(repr(m) for m in MODES)}; got {mode!r}. "
            "Use 'exprnn' (static exp), 'dtriv' (exp with a moving base, together with "
            "callbacks.DtrivRetraction) or 'cayley' (scoRNN-style)."
        )


class OrthogonalRecurrentCell(keras.layers.Layer, PerSequenceHooks):
    """Base: orthogonal matrices W = B . phi(skew(A)) built once per forward pass.

    Subclasses call ``add_orthogonal(free_name, initializer)`` in ``build`` and
    implement ``compute_sequence_constants()`` (a dict of tensors in
    ``compute_dtype``) and ``call``. In ``keras.layers.RNN`` the constants are
    built once before the time loop (see ``keras_rnnzoo.backend.keras_internals``);
    a direct ``cell(x, states)`` call builds them inline.
    """

    # Initialiser arguments (beyond kernel/recurrent/bias) that get_config serialises.
    _extra_initializers = ()

    def __init__(
        self,
        units,
        mode="exprnn",
        rho=None,
        kernel_initializer="glorot_uniform",
        recurrent_initializer=None,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_units(units)
        check_mode(mode)
        if rho is not None:
            if mode != "cayley":
                raise ValueError(
                    f"`rho` (number of -1 entries of scoRNN's diagonal) only applies to "
                    f"mode='cayley'; got rho={rho!r} with mode={mode!r}. Leave rho=None."
                )
            if isinstance(rho, bool) or not isinstance(rho, int) or not 0 <= rho <= units:
                raise ValueError(
                    f"`rho` must be an int in [0, units={units}]; got {rho!r}."
                )
        self.units = units
        self.mode = mode
        self.rho = rho
        self.state_size = units
        self.output_size = units
        self._orthogonal_names = []
        self._constants = None
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(
            recurrent_initializer if recurrent_initializer is not None else Henaff()
        )
        self.bias_initializer = keras.initializers.get(bias_initializer)

    # --- weights ---------------------------------------------------------------
    def add_orthogonal(self, name, initializer):
        """Free parameter ``name`` (units, units) and, in dtriv mode, its base."""
        free = self.add_weight(
            name=name,
            shape=(self.units, self.units),
            initializer=initializer,
            autocast=False,
        )
        setattr(self, name, free)
        if self.mode == "dtriv":
            base_name = name.replace("_kernel", "_base")
            base = self.add_weight(
                name=base_name,
                shape=(self.units, self.units),
                initializer="identity",
                trainable=False,
                autocast=False,
            )
            setattr(self, base_name, base)
        self._orthogonal_names.append(name)
        return free

    def _base_of(self, name):
        if self.mode != "dtriv":
            return None
        return getattr(self, name.replace("_kernel", "_base"))

    def orthogonal_matrix(self, name):
        """The float32 orthogonal matrix B . phi(skew(A)) of free parameter ``name``."""
        map_ = "cayley" if self.mode == "cayley" else "exp"
        return orthogonal_from_free(getattr(self, name), map=map_, base=self._base_of(name))

    @property
    def num_negative(self):
        """scoRNN's number of -1 entries of D_+- (cayley mode), else 0."""
        if self.mode != "cayley":
            return 0
        return self.units // 2 if self.rho is None else self.rho

    def sign_diagonal(self):
        """D_+- = diag(+1 x (units - rho), -1 x rho) as a float32 vector."""
        n_neg = self.num_negative
        return ops.concatenate(
            [ops.ones((self.units - n_neg,)), -ops.ones((n_neg,))]
        )

    def recurrent_matrix(self):
        """Row-layout recurrent matrix (applied as h @ W), float32.

        W = B . phi(skew(A)); in cayley mode D_+- . W, i.e. the sign flip
        applied to h_{t-1} before the recurrent matrix.
        """
        w = self.orthogonal_matrix("recurrent_kernel")
        if self.mode == "cayley":
            w = ops.expand_dims(self.sign_diagonal(), -1) * w
        return w

    # --- per-sequence constants ------------------------------------------------
    def compute_sequence_constants(self):
        raise NotImplementedError

    def sequence_constants(self):
        if self._constants is not None:
            return self._constants
        return self.compute_sequence_constants()

    def begin_sequence(self):
        self._constants = self.compute_sequence_constants()

    def end_sequence(self):
        self._constants = None

    # --- dtriv -------------------------------------------------------------------
    def dtriv_chart_change(self):
        """B <- B . exp(skew(A)) and A <- 0: W is unchanged (dtriv mode only)."""
        if self.mode != "dtriv":
            return
        for name in self._orthogonal_names:
            w = self.orthogonal_matrix(name)
            self._base_of(name).assign(w)
            free = getattr(self, name)
            free.assign(ops.zeros(free.shape, dtype=free.dtype))

    def dtriv_reproject(self):
        """B <- U V^T from the SVD of B: removes the drift of repeated products."""
        if self.mode != "dtriv":
            return
        for name in self._orthogonal_names:
            base = self._base_of(name)
            u, _, vt = ops.svd(ops.convert_to_tensor(base), full_matrices=False)
            base.assign(ops.matmul(u, vt))

    # --- cell contract -----------------------------------------------------------
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

    def build_common(self, input_shape):
        """Check the step shape; create ``kernel`` (d, H) and ``recurrent_kernel`` A."""
        self.check_step_input_shape(input_shape)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_shape[-1], self.units),
            initializer=self.kernel_initializer,
        )
        self.add_orthogonal("recurrent_kernel", self.recurrent_initializer)

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "mode": self.mode, "rho": self.rho})
        names = ("kernel", "recurrent", "bias") + tuple(self._extra_initializers)
        for name in names:
            key = f"{name}_initializer"
            config[key] = keras.initializers.serialize(getattr(self, key))
        return config


def split_state(states):
    """(h_{t-1}, wrap) where wrap returns new states in the form received."""
    if isinstance(states, (list, tuple)):
        return states[0], (lambda h: [h])
    return states, (lambda h: h)
