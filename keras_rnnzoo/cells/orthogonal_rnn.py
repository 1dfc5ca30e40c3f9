"""expRNN / dtriv / scoRNN-style orthogonal RNN with modReLU."""

import keras
from keras import ops

from keras_rnnzoo.cells._base import split_state
from keras_rnnzoo.cells._orthogonal import OrthogonalRecurrentCell


def modrelu(a, beta):
    """modReLU(a)_i = sign(a_i) * max(0, |a_i| + beta_i)."""
    return ops.sign(a) * ops.relu(ops.abs(a) + beta)


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class OrthogonalRNNCell(OrthogonalRecurrentCell):
    """Orthogonal RNN cell: the expRNN, dtriv and scoRNN-style baselines of asRNN.

    Update equations (column vectors)::

        a_t  = W_xh x_t + W_hh h_{t-1}   (+ b if use_bias)
        h_t  = modReLU(a_t),  modReLU(a)_i = sign(a_i) max(0, |a_i| + beta_i)
        W_hh = (B . phi(skew(A)))^T                 modes "exprnn", "dtriv"
        W_hh = (D_+- . Cayley(skew(A)))^T             mode "cayley"
        Cayley(S) = (I + S)^-1 (I - S),  D_+- = diag(+1 x (H - rho), -1 x rho)

    Mode ``"exprnn"`` (expRNN) keeps B = I; mode ``"dtriv"`` (dynamic
    trivialisation) moves B every K optimiser steps through
    ``keras_rnnzoo.callbacks.DtrivRetraction`` (B <- B exp(skew(A)), A <- 0,
    re-orthogonalised every M changes); mode ``"cayley"`` is the scoRNN-style
    variant of the asRNN code base: plain gradient descent on A through the
    Cayley map, with the sign flip D_+- applied to h_{t-1} (Cayley maps have no
    eigenvalue -1; D_+- restores them). ``activation`` may replace modReLU by
    any Keras activation (then ``modrelu_bias`` is not created).

    Weights (row layout): ``kernel`` = W_xh^T (d, H), ``recurrent_kernel`` =
    A (H, H), ``modrelu_bias`` = beta (H,), ``bias`` (H,) only with
    ``use_bias=True``, ``recurrent_base`` = B in mode ``"dtriv"``. The
    recurrent matrix is built once per forward pass inside ``keras.layers.RNN``.

    Deviations from ``Lezcano/expRNN``: any accurate float32 expm instead of
    its custom-backward one (torch: float64 above the 1-norm where its float32
    ``matrix_exp`` loses orthogonality). The recurrent matrix is W = B exp(S),
    S = skew(A), applied in row layout as h @ W: Lezcano's expRNN
    (h @ (base exp(S))) ports as is. The scoRNN sign flip D_+- acts on h_{t-1}
    before W_hh, as in the asRNN code base (``hidden.mm(D)`` before the cell).
    Mixed precision: A, B and the map run in float32 and W is cast to the
    compute dtype once per pass; rounded to bfloat16, W is no longer orthogonal
    (H = 128: singular values 0.997..1.002, spectral radius 1 + ~2e-3) and
    ||h_t|| drifts by 8-9e-4 per step (x2.2-2.5 at T = 1000,
    benchmarks/results/precision_drift.md). ``recurrent_dtype="float32"`` keeps
    a_t = x_t W_xh + h_{t-1} W in float32 from the float32 W (modReLU and the
    state in the compute dtype): drift <= 4e-6 per step, ||h_1000|| within
    1.3 % of float32. Not in the papers' code (float32 only).

    Args:
        units: hidden size H (> 0).
        mode: ``"exprnn"``, ``"dtriv"`` or ``"cayley"``.
        rho: mode ``"cayley"`` only: number of -1 entries (default ``units // 2``).
        activation: ``"modrelu"`` (default) or a Keras activation.
        use_bias: add a bias to the input projection (default False: modReLU's
            beta is the only bias, as in expRNN).
        kernel_initializer: W_xh (default Kaiming normal, std sqrt(2/d)).
        recurrent_initializer: A (default ``Henaff()``).
        modrelu_bias_initializer: beta (default U(-0.01, 0.01)).
        bias_initializer: b (default zeros).
        recurrent_dtype: None (default: the compute dtype) or ``"float32"``:
            under a mixed policy h_{t-1} W runs in float32 (see above); no
            effect under float32.
        dropout, recurrent_dropout, seed: Keras' variational dropout, one mask
            pair per sequence (``ZooCell``): x_t * m_x before W_xh, h_{t-1} * m_h before W_hh.
            With modReLU (unbounded) and W orthogonal, a recurrent mask grows
            ||h_t|| by about 1 / sqrt(1 - p) per step in expectation (measured:
            overflow at T = 200, p = 0.25); prefer input dropout here.
        kernel_regularizer, bias_regularizer, kernel_constraint,
            bias_constraint: Keras' cell arguments. ``recurrent_constraint``
            and ``recurrent_regularizer`` are refused: W is orthogonal for
            every A.
        **kwargs: ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: (batch, d); states: [h_{t-1}]; training: unused.

    Example:
        >>> import keras, numpy as np
        >>> from keras_rnnzoo.cells import OrthogonalRNNCell
        >>> rnn = keras.layers.RNN(OrthogonalRNNCell(16, mode="cayley"))
        >>> rnn(np.zeros((2, 7, 3), "float32")).shape
        (2, 16)

    References:
        Lezcano-Casado & Martinez-Rubio, "Cheap Orthogonal Constraints in
        Neural Networks", ICML 2019 (expRNN). Lezcano-Casado, "Trivializations
        for Gradient-Based Optimization on Manifolds", NeurIPS 2019 (dtriv).
        Helfrich, Willmott & Ye, "Orthogonal Recurrent Neural Networks with
        Scaled Cayley Transform", ICML 2018 (scoRNN). Arjovsky, Shah & Bengio,
        "Unitary Evolution Recurrent Neural Networks", ICML 2016 (modReLU).
    """

    _extra_initializers = ("modrelu_bias",)

    def __init__(
        self,
        units,
        mode="exprnn",
        rho=None,
        activation="modrelu",
        use_bias=False,
        kernel_initializer=None,
        recurrent_initializer=None,
        modrelu_bias_initializer=None,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(
            units=units,
            mode=mode,
            rho=rho,
            kernel_initializer=kernel_initializer
            if kernel_initializer is not None
            else keras.initializers.VarianceScaling(
                2.0, mode="fan_in", distribution="untruncated_normal"
            ),
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            **kwargs,
        )
        if activation == "modrelu":
            self.activation = None
        else:
            try:
                self.activation = keras.activations.get(activation)
            except ValueError as error:
                raise ValueError(
                    f"`activation` must be 'modrelu' or a Keras activation; got "
                    f"{activation!r}."
                ) from error
        self.use_bias = bool(use_bias)
        self.modrelu_bias_initializer = keras.initializers.get(
            modrelu_bias_initializer
            if modrelu_bias_initializer is not None
            else keras.initializers.RandomUniform(-0.01, 0.01)
        )

    def build(self, input_shape):
        self.build_common(input_shape)
        if self.use_bias:
            self.bias = self.add_cell_weight("bias", "bias", (self.units,))
        if self.activation is None:
            self.modrelu_bias = self.add_weight(
                name="modrelu_bias",
                shape=(self.units,),
                initializer=self.modrelu_bias_initializer,
            )

    def compute_sequence_constants(self):
        return {"recurrent": ops.cast(self.recurrent_matrix(), self.recurrent_compute_dtype)}

    def step(self, projected, states, constants):
        h, wrap = split_state(states)
        a = ops.cast(self.recurrent_preactivation(projected, h, constants), self.compute_dtype)
        h = modrelu(a, self.modrelu_bias) if self.activation is None else self.activation(a)
        return h, wrap(h)

    def get_config(self):
        config = super().get_config()
        config["activation"] = (
            "modrelu" if self.activation is None else keras.activations.serialize(self.activation)
        )
        config["use_bias"] = self.use_bias
        return config
