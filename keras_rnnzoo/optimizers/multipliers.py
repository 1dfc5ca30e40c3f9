"""One optimiser, several learning rates: the two parameter groups of expRNN/asRNN.

expRNN and asRNN train the free parameter A of W_hh at lr/10 in *one*
RMSprop with two parameter groups and one global-norm clip. Scaling the
gradient cannot emulate this (RMSprop and Adam are invariant to gradient
scale), so these optimisers scale the *learning rate* per variable.
``global_clipnorm`` spans all variables, as PyTorch's ``clip_grad_norm_``;
under a TensorFlow strategy of several replicas it clips the global gradient
(Keras' own TensorFlow optimiser clips each replica's part).
"""

import keras
from keras import ops

from keras_rnnzoo._keras_internals import ClipAcrossReplicas


def _check_multipliers(lr_multipliers):
    if lr_multipliers is None:
        return {}
    if not isinstance(lr_multipliers, dict):
        raise ValueError(
            "`lr_multipliers` must be a dict mapping a weight name (e.g. "
            f"'recurrent_kernel') to a float multiplier; got {lr_multipliers!r}."
        )
    checked = {}
    for key, value in lr_multipliers.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"`lr_multipliers` keys must be weight names; got {key!r}.")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(
                f"`lr_multipliers[{key!r}]` must be a number >= 0; got {value!r}."
            )
        checked[key] = float(value)
    return checked


class LearningRateMultipliers:
    """Mixin for ``keras.optimizers.Optimizer`` subclasses.

    ``lr_multipliers`` maps a weight name to a factor: a variable whose
    ``path`` ends with ``/name`` or whose ``name`` equals ``name`` is updated
    with ``learning_rate * factor``. ``{"recurrent_kernel": 0.1}`` reproduces
    the official asRNN/expRNN grouping (the parameter named
    ``recurrent_kernel`` at lr/10, everything else at lr). When several keys
    match, the longest wins.
    """

    def multiplier_for(self, variable):
        """The learning-rate factor of a ``keras.Variable`` (1.0 if no key matches)."""
        best, best_len = 1.0, -1
        path = getattr(variable, "path", variable.name)
        for key, value in self.lr_multipliers.items():
            if (variable.name == key or path.endswith("/" + key)) and len(key) > best_len:
                best, best_len = value, len(key)
        return best

    def build(self, var_list):
        # Resolved once, by index: some backends (TensorFlow) hand update_step
        # the raw framework variable, which has no Keras path.
        self._lr_factors = [self.multiplier_for(v) for v in var_list]
        super().build(var_list)

    def update_step(self, gradient, variable, learning_rate):
        factor = self._lr_factors[self._get_variable_index(variable)]
        if factor != 1.0:
            learning_rate = ops.cast(learning_rate, variable.dtype) * factor
        return self._update_with_rate(gradient, variable, learning_rate)

    def _update_with_rate(self, gradient, variable, learning_rate):
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        config = super().get_config()
        config["lr_multipliers"] = dict(self.lr_multipliers)
        return config


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class RMSprop(LearningRateMultipliers, ClipAcrossReplicas, keras.optimizers.Optimizer):
    """RMSprop with per-variable learning-rate multipliers and a choice of epsilon.

    Update, with v the running mean of g^2 (no momentum, not centred)::

        v <- rho v + (1 - rho) g^2
        p <- p - lr_p g / (sqrt(v) + eps)      epsilon_inside_sqrt=False (PyTorch)
        p <- p - lr_p g / sqrt(v + eps)        epsilon_inside_sqrt=True  (Keras)

    lr_p = learning_rate * multiplier(p). The PyTorch form is the default, as
    the asRNN/expRNN presets use it (spec README note 4).

    Args:
        learning_rate: base learning rate (float or schedule).
        rho: smoothing constant (PyTorch's alpha). Default 0.9, asRNN's copy
            setting; always pass it explicitly when matching a PyTorch run.
        epsilon: default 1e-8 (PyTorch's).
        epsilon_inside_sqrt: see above.
        lr_multipliers: dict weight name -> factor, e.g.
            ``{"recurrent_kernel": 0.1}``.
        **kwargs: ``keras.optimizers.Optimizer`` arguments, e.g.
            ``global_clipnorm=10``.

    Example:
        >>> opt = RMSprop(2e-4, rho=0.9, lr_multipliers={"recurrent_kernel": 0.1},
        ...               global_clipnorm=10.0)
    """

    def __init__(
        self,
        learning_rate=1e-3,
        rho=0.9,
        epsilon=1e-8,
        epsilon_inside_sqrt=False,
        lr_multipliers=None,
        name="rmsprop",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"`rho` must be in [0, 1); got {rho!r}.")
        if not epsilon >= 0:
            raise ValueError(f"`epsilon` must be >= 0; got {epsilon!r}.")
        self.rho = float(rho)
        self.epsilon = float(epsilon)
        self.epsilon_inside_sqrt = bool(epsilon_inside_sqrt)
        self.lr_multipliers = _check_multipliers(lr_multipliers)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")

    def _update_with_rate(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        velocity = self._velocities[self._get_variable_index(variable)]
        self.assign(
            velocity,
            ops.add(ops.multiply(velocity, self.rho), ops.multiply(ops.square(gradient), 1.0 - self.rho)),
        )
        if self.epsilon_inside_sqrt:
            denominator = ops.sqrt(ops.add(velocity, self.epsilon))
        else:
            denominator = ops.add(ops.sqrt(velocity), self.epsilon)
        self.assign_sub(variable, ops.divide(ops.multiply(lr, gradient), denominator))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "rho": self.rho,
                "epsilon": self.epsilon,
                "epsilon_inside_sqrt": self.epsilon_inside_sqrt,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class Adam(LearningRateMultipliers, ClipAcrossReplicas, keras.optimizers.Adam):
    """``keras.optimizers.Adam`` with per-variable learning-rate multipliers.

    Args:
        lr_multipliers: dict weight name -> factor (see ``RMSprop``).
        **kwargs: ``keras.optimizers.Adam`` arguments.

    Example:
        >>> opt = Adam(1e-3, lr_multipliers={"recurrent_kernel": 0.1})
    """

    def __init__(self, learning_rate=1e-3, lr_multipliers=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.lr_multipliers = _check_multipliers(lr_multipliers)


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class SGD(LearningRateMultipliers, ClipAcrossReplicas, keras.optimizers.SGD):
    """``keras.optimizers.SGD`` with per-variable learning-rate multipliers.

    Args:
        lr_multipliers: dict weight name -> factor (see ``RMSprop``).
        **kwargs: ``keras.optimizers.SGD`` arguments (``momentum``,
            ``nesterov``, ``global_clipnorm``, ...).

    Example:
        >>> opt = SGD(0.05, global_clipnorm=5.0)  # Miller & Hardt's JSB RNN row
    """

    def __init__(self, learning_rate=0.01, lr_multipliers=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.lr_multipliers = _check_multipliers(lr_multipliers)
