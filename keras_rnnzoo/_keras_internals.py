"""The Keras internals the zoo relies on (Keras 3.15.x, pinned in pyproject).

Cells may import this module; ``keras_rnnzoo/backend/`` keeps only
per-framework code.

1. Per-sequence hooks of the RNN loop.

``keras.layers.RNN.call`` treats cells that inherit Keras' private
``DropoutRNNCell`` mixin specially: *once per forward pass*, before the time
loop, it calls ``cell.get_dropout_mask(first_step_inputs)`` and
``cell.get_recurrent_dropout_mask(initial_state)``, and after the loop
``cell.reset_dropout_mask()`` / ``cell.reset_recurrent_dropout_mask()``. Keras
uses this to share one dropout mask across all steps of a batch; the zoo uses
the same calls to build *all* per-sequence tensors of a cell (orthogonal
matrices, W_f and its inverse, sliced gate blocks, bias rows, and the dropout
masks) once, outside the loop, on every backend, also when the cell sits in a
plain ``keras.layers.RNN`` (with or without an explicit ``initial_state``,
and inside ``StackedRNNCells``).

The mixin class is found through the public ``keras.layers.SimpleRNNCell``
(no ``keras.src`` import). If a future Keras drops it, ``PER_PASS_HOOKS`` is
False and the cells compute their constants inside every step instead: the
same numbers, only slower (``tests/test_per_pass.py`` checks both).

The constants a pass computed are used only inside the Keras call that
computed them (``current_call_context``, below): a loop that raised (a
Ctrl-C, an error in a step) never leaks them into a later direct call.

2. Gradient recording for ``callbacks.GradientNormMonitor``
(``instrument_optimizer``, below; ``tests/test_gradient_monitors.py``).

3. Gradient clipping of the global gradient under a TensorFlow strategy
(``ClipAcrossReplicas``, mixed into the zoo's optimisers;
``tests/test_distribution.py``).

4. The loss tracker a data-parallel torch train step updates
(``update_loss_tracker``; ``tests/test_distribution.py``).
"""

import sys

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


def _call_context_reader():
    """fn() -> the active Keras layer-call context (or None).

    ``Layer.__call__`` opens one context per outermost call and closes it in a
    ``finally``, also when the call raises; nested calls (the cell's steps
    inside ``RNN.call``) share it. Keras keeps it in the thread-local global
    state of the module that defines ``Layer`` (reached through the public
    class, no ``keras.src`` import). Without it the reader returns None, and
    the cells fall back to recomputing at every pass (still correct).
    """
    module = sys.modules.get(keras.layers.Layer.__module__)
    getter = getattr(getattr(module, "global_state", None), "get_global_attribute", None)
    if getter is None:
        return lambda: None
    return lambda: getter("current_call_ctx")


current_call_context = _call_context_reader()


class PerSequenceHooks(_DropoutRNNCell or _NoHooks):
    """Mixin turning Keras' per-batch dropout hooks into per-sequence hooks.

    ``keras.layers.RNN`` calls ``get_dropout_mask(x_0)`` then
    ``get_recurrent_dropout_mask(h_0)`` before its loop, and the two resets
    after it. A cell using this mixin implements
    ``begin_sequence(step_input, state)`` (called at the second hook, when
    both shapes are known) and ``end_sequence()``; Keras' own mask logic
    never runs for it (all four hooks are overridden).
    """

    def get_dropout_mask(self, step_input):
        self._hook_step_input = step_input
        return None

    def get_recurrent_dropout_mask(self, step_input):
        first = getattr(self, "_hook_step_input", None)
        self._hook_step_input = None
        self.begin_sequence(first, step_input)
        return None

    def reset_dropout_mask(self):
        self._hook_step_input = None
        self.end_sequence()

    def reset_recurrent_dropout_mask(self):
        return None

    def begin_sequence(self, step_input, state):
        raise NotImplementedError

    def end_sequence(self):
        raise NotImplementedError


# --- 2. gradient recording (callbacks.GradientNormMonitor) ------------------------
#
# Keras 3 has no hook on the gradients ``fit`` applies. The optimiser's public
# ``apply(grads, trainable_variables=None)`` is what every backend's train step
# calls (TensorFlow through ``apply_gradients``, JAX inside ``stateless_apply``),
# so the monitor wraps it on the instance and stores the norms in a variable
# made with the public ``optimizer.add_variable`` -- on JAX only optimiser
# variables survive ``stateless_apply``. Two internals are needed to undo this
# after ``fit``: the optimiser's private variable list (so that saved optimiser
# state keeps its layout) and rebuilding the cached train function
# (``model.make_train_function(force=True)``), traced with the wrapper.


class OptimizerInstrument:
    """Handle of an instrumented optimiser: ``read()``, ``restore(model)``."""

    def __init__(self, target, variable):
        self.target = target
        self.variable = variable

    def read(self):
        """The latest sampled norms (per variable, then global). On JAX, read
        ``Callback.model`` first: that syncs the optimiser state into the variable."""
        return keras.ops.convert_to_tensor(self.variable)

    def restore(self, model):
        self.target.__dict__.pop("apply", None)
        variables = self.target._variables  # Keras internal (3.15): tracked list
        for index, variable in enumerate(variables):
            if variable is self.variable:  # by identity: `==` on a variable is elementwise
                variables.pop(index)
                break
        model.make_train_function(force=True)


def instrument_optimizer(model, every, num_gradients):
    """Wrap ``model.optimizer.apply`` to store gradient norms every ``every`` steps.

    The norms (float32: one per gradient, then the global norm) are computed
    from the gradients ``apply`` receives, before clipping, divided by the
    optimiser's ``loss_scale_factor`` if it has one (a ``LossScaleOptimizer``'s
    inner optimiser is wrapped: it receives unscaled gradients). Steps where
    ``(iterations + 1) % every != 0`` take the ``ops.cond`` branch that only
    keeps the stored value.
    """
    from keras_rnnzoo.backend import dense_gradient
    from keras_rnnzoo.backend import replica_sum

    ops = keras.ops
    optimizer = model.optimizer
    if optimizer is None:
        raise ValueError("GradientNormMonitor needs a compiled model (model.compile(optimizer, "
                         "loss)).")
    target = getattr(optimizer, "inner_optimizer", optimizer)
    if "apply" in target.__dict__:
        raise ValueError("The optimiser is already instrumented by another GradientNormMonitor; "
                         "use one monitor (it takes several `probes`).")
    if not target.built:
        target.build(model.trainable_variables)
    variable = target.add_variable(shape=(num_gradients + 1,), initializer="zeros",
                                   dtype="float32", name="rnnzoo_gradient_norms")
    original = target.apply

    def compute(grads):
        squares = [ops.zeros((), "float32") if g is None else
                   ops.sum(ops.square(ops.cast(dense_gradient(g), "float32")))
                   for g in grads]
        squares.append(ops.sum(ops.stack(squares)))
        norms = ops.sqrt(ops.stack(squares))
        scale = target.loss_scale_factor
        return norms if scale is None else norms / scale

    def apply(grads, trainable_variables=None):
        grads = list(grads)
        if len(grads) != num_gradients:
            raise ValueError(
                f"GradientNormMonitor expected {num_gradients} gradients (the model's "
                f"trainable variables), the optimiser got {len(grads)}.")
        step = ops.convert_to_tensor(target.iterations) + 1
        sample = ops.equal(ops.mod(step, every), 0)
        # Under a TensorFlow strategy of several replicas each replica holds its
        # part of the gradient: the norms are those of the sum (an all-reduce at
        # every step: TensorFlow allows none inside the `cond` below).
        summed, _ = replica_sum(grads)
        variable.assign(ops.cond(sample, lambda: compute(summed),
                                 lambda: ops.convert_to_tensor(variable)))
        return original(grads, trainable_variables)

    target.apply = apply
    model.make_train_function(force=True)
    return OptimizerInstrument(target, variable)


# --- 3. gradient clipping across replicas (keras_rnnzoo.optimizers) -------------
#
# Keras' TensorFlow optimiser clips each replica's gradient (its private
# ``_clip_gradients``) before the all-reduce, so a global-norm clip of N
# replicas is not the clip of the global gradient. The zoo's optimisers
# override it: sum the replicas' gradients, clip the sum, hand back 1/N of it
# to the all-reduce that follows.


class ClipAcrossReplicas:
    """Mixin for ``keras.optimizers.Optimizer`` subclasses (overrides the
    private ``_clip_gradients`` of Keras 3.15)."""

    def _clip_gradients(self, grads):
        if not (self.clipnorm or self.global_clipnorm or self.clipvalue):
            return super()._clip_gradients(grads)
        from keras_rnnzoo.backend import replica_sum

        summed, replicas = replica_sum(grads)
        if replicas == 1:
            return super()._clip_gradients(grads)
        clipped = super()._clip_gradients(summed)
        return [None if g is None else g / replicas for g in clipped]


# --- 4. the loss tracker of a train step (utils.distribution, torch) ------------
#
# Keras' torch train step records the loss in the model's private
# ``_loss_tracker`` (a ``keras.metrics.Mean``, the ``loss`` of the logs); the
# zoo's data-parallel train step (``keras_rnnzoo.backend.torch``) does the same.


def update_loss_tracker(model, loss, batch_size):
    tracker = getattr(model, "_loss_tracker", None)
    if tracker is None:
        raise RuntimeError("This Keras version has no `Model._loss_tracker`: the zoo's "
                           "data-parallel torch train step needs Keras 3.15.x (pinned).")
    tracker.update_state(loss, sample_weight=batch_size)
