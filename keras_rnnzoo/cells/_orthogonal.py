"""Shared machinery of the cells whose recurrent matrix is orthogonal.

Not public: ``ASRNNCell`` (asrnn.py) and ``OrthogonalRNNCell``
(orthogonal_rnn.py) build on it.
"""

from keras import ops

from keras_rnnzoo.cells._base import ZooCell
from keras_rnnzoo.cells._base import check_choice
from keras_rnnzoo.initializers import Henaff
from keras_rnnzoo.parametrizations import orthogonal_from_free

MODES = ("exprnn", "dtriv", "cayley")
RECURRENT_DTYPES = (None, "float32")


def check_recurrent_dtype(value):
    check_choice(
        "recurrent_dtype", value, RECURRENT_DTYPES,
        "None computes h_{t-1} W in the layer's compute dtype (e.g. bfloat16 under "
        "mixed_bfloat16); 'float32' keeps that product in float32 under a mixed policy.",
    )


def check_mode(mode):
    check_choice(
        "mode", mode, MODES,
        "Use 'exprnn' (static exp), 'dtriv' (exp with a moving base, together with "
        "callbacks.DtrivRetraction) or 'cayley' (scoRNN-style).",
    )


class OrthogonalRecurrentCell(ZooCell):
    """Base: orthogonal matrices W = B . phi(skew(A)) built once per forward pass.

    Subclasses call ``add_orthogonal(free_name, initializer)`` in ``build`` and
    implement ``compute_sequence_constants()`` (a dict of tensors in
    ``compute_dtype``, the recurrent matrix in ``recurrent_compute_dtype``) and
    ``step``; ``ZooCell`` builds the constants once per forward pass inside an RNN
    and inline in a direct call.

    ``recurrent_dtype`` (None or ``"float32"``): with ``"float32"`` the product
    h_{t-1} W (and the sum with the input projection) runs in float32 from the
    float32 W under a mixed policy; the state is still carried (and the result
    cast once per step) in ``compute_dtype``. None (default): the compute dtype.
    """

    _refused = {
        "recurrent_constraint": (
            "`recurrent_kernel` is the free parameter A of W = B exp(skew(A)) (or the "
            "Cayley map), which keeps W orthogonal for every A; a constraint on A would "
            "not constrain W. Use the cell's `mode` for the recurrent matrix, or "
            "keras_rnnzoo.cells.RNNCell with a constraint such as constraints.SpectralClip."),
        "recurrent_regularizer": (
            "W is orthogonal for every A, so a norm penalty on W is constant, and one on "
            "the free parameter A would penalise the chart (dtriv resets A to 0 every K "
            "steps), not the matrix. Regularise the input `kernel` or the output layer "
            "instead, or use keras_rnnzoo.cells.RNNCell for a penalised W."),
    }

    def __init__(
        self,
        units,
        mode="exprnn",
        rho=None,
        kernel_initializer="glorot_uniform",
        recurrent_initializer=None,
        bias_initializer="zeros",
        recurrent_dtype=None,
        **kwargs,
    ):
        check_recurrent_dtype(recurrent_dtype)
        super().__init__(
            units,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=(
                recurrent_initializer if recurrent_initializer is not None else Henaff()
            ),
            bias_initializer=bias_initializer,
            **kwargs,
        )
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
        self.mode = mode
        self.rho = rho
        self.recurrent_dtype = recurrent_dtype
        self._orthogonal_names = []

    @property
    def recurrent_compute_dtype(self):
        """The dtype of h_{t-1} W: ``compute_dtype``, or float32 with
        ``recurrent_dtype="float32"``."""
        return self.compute_dtype if self.recurrent_dtype is None else self.recurrent_dtype

    def recurrent_preactivation(self, projected, h, constants):
        """a_t = projected + (h_{t-1} * m_h) W in ``recurrent_compute_dtype``."""
        h = self.recurrent_input(h, constants)
        if self.recurrent_compute_dtype == self.compute_dtype:
            return projected + ops.matmul(h, constants["recurrent"])
        dtype = self.recurrent_compute_dtype
        return ops.cast(projected, dtype) + ops.matmul(ops.cast(h, dtype),
                                                       constants["recurrent"])

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

    def recurrent_blocks(self):
        """The orthogonal matrices (not the free parameters A): {"W": ..., "U_f": ...}."""
        names = {"recurrent_kernel": "W", "saturation_kernel": "U_f"}
        blocks = {names.get(n, n): self.orthogonal_matrix(n) for n in self._orthogonal_names}
        blocks["W"] = self.recurrent_matrix()
        return blocks

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
    def build_common(self, input_shape):
        """Check the step shape; create ``kernel`` (d, H) and ``recurrent_kernel`` A."""
        self.check_step_input_shape(input_shape)
        self.kernel = self.add_cell_weight("kernel", "kernel", (input_shape[-1], self.units))
        self.add_orthogonal("recurrent_kernel", self.recurrent_initializer)

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode, "rho": self.rho,
                       "recurrent_dtype": self.recurrent_dtype})
        return config
