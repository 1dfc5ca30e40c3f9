"""Gradient monitors: why a recurrent model trains, or fails to.

``GradientNormMonitor`` records the norms of the gradients the optimiser
applies (and, optionally, of the gradients on fixed probe batches);
``HiddenGradientMonitor`` records ||dL/dh_t|| for every time step t on a
probe batch. Keras 3 has no portable gradient API: the probes use the
backend's own reverse mode through ``keras_rnnzoo.backend.value_and_grad``.
"""

import math

import keras
import numpy as np
from keras import ops

from keras_rnnzoo import backend
from keras_rnnzoo import _keras_internals as keras_internals
from keras_rnnzoo.callbacks._periodic import MonitorCallback
from keras_rnnzoo.utils.layers import iter_layers
from keras_rnnzoo.utils.plots import pyplot
from keras_rnnzoo.utils.plots import save_figure


def _check_batch(batch, name):
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise ValueError(
            f"`{name}` must be a batch (x, y) or (x, y, sample_weight) of arrays, as "
            f"model.fit takes them; got {type(batch).__name__}.")
    return tuple(batch) + (None,) * (3 - len(batch))


def probe_gradients(model, x, y, sample_weight=None, hidden_layer=None):
    """The model's compiled loss on one batch and its gradients.

    Evaluated at the current weights with ``training=False`` (no dropout),
    through ``model.stateless_call`` and ``model.stateless_compute_loss`` (the
    loss ``compile`` was given, plus the model's added losses) and the
    backend's own reverse mode.

    Args:
        model: a compiled ``keras.Model``.
        x, y, sample_weight: one batch, as ``model.fit`` takes it.
        hidden_layer: a ``keras_rnnzoo.layers.RNN`` of ``model``, or None.
            With a layer, also dL/dh_t of its hidden states.

    Returns:
        (loss, {variable.path: gradient as NumPy}, dL/dh or None), where
        dL/dh is (batch, T, H), time in the layer's loop order.
    """
    if backend.value_and_grad is None:
        raise NotImplementedError(
            f"Gradient probes need the backend's autodiff; the {keras.backend.backend()!r} "
            "backend has none. Use KERAS_BACKEND=tensorflow, jax or torch.")
    if not getattr(model, "compiled", False):
        raise ValueError("probe_gradients needs a compiled model: call model.compile(optimizer, "
                         "loss) first.")
    variables = list(model.trainable_variables)
    trainable = [v.value for v in variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    metrics = [v.value for v in model.metrics_variables]
    args = list(trainable)
    if hidden_layer is not None:
        hidden_layer.last_hidden_shape = None
        hidden_layer.last_path = hidden_layer.last_blocker = None
        model(x, training=False)  # a plain forward records this batch's (batch, T, H)
        shape = hidden_layer.last_hidden_shape
        if shape is None:
            if hidden_layer.last_path is None:
                raise ValueError(
                    f"{hidden_layer.name} did not run when the model ran on this batch: it is "
                    f"not on the model's forward path, so dL/dh_t cannot be probed. Pass "
                    f"`layer=` the name of a keras_rnnzoo.layers.RNN the model calls.")
            raise ValueError(
                f"{hidden_layer.name} did not take the fast path on this batch (because: "
                f"{hidden_layer.last_blocker}), so dL/dh_t cannot be probed. Build the layer "
                f"with fast_path=True and unroll=False around a keras_rnnzoo cell.")
        args.append(ops.zeros(shape, dtype=hidden_layer.cell.compute_dtype))

    def loss_fn(*values):
        tv = list(values[:len(trainable)])
        if hidden_layer is None:
            y_pred, _ = model.stateless_call(tv, non_trainable, x, training=False)
        else:
            with hidden_layer.hidden_perturbation(values[-1]):
                y_pred, _ = model.stateless_call(tv, non_trainable, x, training=False)
        loss, _ = model.stateless_compute_loss(tv, non_trainable, metrics, x=x, y=y,
                                               y_pred=y_pred, sample_weight=sample_weight,
                                               training=False)
        return loss

    loss, grads = backend.value_and_grad(loss_fn, args)
    numpy = [np.asarray(ops.convert_to_numpy(g), np.float64) for g in grads]
    named = {v.path: g for v, g in zip(variables, numpy)}
    hidden = numpy[-1] if hidden_layer is not None else None
    return float(ops.convert_to_numpy(loss)), named, hidden


def _norm(array):
    return float(np.sqrt(np.sum(np.square(array, dtype=np.float64))))


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class GradientNormMonitor(MonitorCallback):
    """Per-variable and global gradient norms every ``every`` optimiser steps.

    Two sources, each row ``step``, ``source``, ``variable``, ``norm``
    (``variable`` is a weight's path, or ``"global"`` for the norm of all
    gradients together, the quantity ``global_clipnorm`` clips):

    * ``"train"`` (``train=True``): the gradient the optimiser applies at that
      step, before clipping, on that step's training batch. During ``fit``
      the monitor wraps the optimiser's ``apply`` (a loss-scale optimiser's
      inner optimiser) so that, on sampled steps only, the norms go into one
      optimiser variable (``ops.cond``: unsampled steps skip the reductions);
      the callback reads it after the step. At the end of ``fit`` the
      optimiser is restored (``keras_internals.instrument_optimizer``).
    * one source per entry of ``probes`` ({name: (x, y)}): the gradient of the
      compiled loss on that fixed batch at the weights after the step
      (``probe_gradients``), e.g. rare-token and frequent-token batches.

    Outputs with ``log_dir``: ``gradient_norms.csv`` / ``.json`` (atomic
    rewrites at every epoch end), ``gradient_norms.png`` (global norm per
    source, and each variable's train-gradient norm, log scale), and with
    ``tensorboard=True`` scalars ``gradient_norm/<source>/<variable>`` and a
    histogram of the per-variable norms per source.

    Steps are ``optimizer.iterations``. With ``compile(steps_per_execution=k)``
    the callback runs once per k steps: the ``"train"`` rows of an execution
    are those of its latest sampled step (the optimiser variable keeps only
    that one; with k > ``every`` the samples before it in the execution are
    not kept), labelled with that step; the probe rows are labelled with the
    step of the weights they were computed at, the execution's last (the
    same step when k divides ``every``). Gradient accumulation is not
    supported.

    Args:
        every: sample every this many optimiser steps (>= 1).
        probes: None, or {name: (x, y) or (x, y, sample_weight)}; not part of
            ``get_config`` (data, not configuration).
        train: record the applied training gradients (default True).
        log_dir, tensorboard, plots: where the rows go (see above).

    Example:
        >>> monitor = GradientNormMonitor(every=10, log_dir="runs/x")
        >>> # model.fit(..., callbacks=[monitor])
        >>> # [r for r in monitor.history if r["variable"] == "global"][-1]["norm"]
    """

    log_name = "gradient_norms"

    def __init__(self, every=1, probes=None, train=True, log_dir=None, tensorboard=False,
                 plots=True):
        super().__init__(every, log_dir, tensorboard, plots)
        if probes is not None and not isinstance(probes, dict):
            raise ValueError("`probes` must be a dict {name: (x, y)} of fixed batches, or None; "
                             f"got {type(probes).__name__}.")
        self.probes = {str(k): _check_batch(v, f"probes[{k!r}]") for k, v in (probes or {}).items()}
        if "train" in self.probes:
            raise ValueError("`probes` may not use the name 'train' (the applied gradients' "
                             "source); rename the probe.")
        self.train = bool(train)
        if not self.train and not self.probes:
            raise ValueError("Nothing to monitor: pass train=True and/or `probes`.")
        self._instrument = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.train:
            model = self.model
            names = [v.path for v in model.trainable_variables]
            self._instrument = keras_internals.instrument_optimizer(
                model, self.every, len(names))
            self.log.meta["variables"] = names

    def on_train_end(self, logs=None):
        if self._instrument is not None:
            self._instrument.restore(self.model)
            self._instrument = None
        super().on_train_end(logs)

    def on_period(self, step):
        model = self.model  # on JAX this syncs the state the instrument reads
        groups = []  # one log entry per step label (TensorBoard writes each at its step)
        if self._instrument is not None:
            norms = np.asarray(ops.convert_to_numpy(self._instrument.read()), np.float64)
            names = self.log.meta["variables"] + ["global"]
            sampled = step if self.sampled_step is None else self.sampled_step
            groups.append([dict(step=sampled, source="train", variable=n, norm=float(v))
                           for n, v in zip(names, norms)])
        rows = []
        for source, (x, y, sw) in self.probes.items():
            _, grads, _ = probe_gradients(model, x, y, sw)
            norms = {name: _norm(g) for name, g in grads.items()}
            norms["global"] = math.sqrt(sum(v * v for v in norms.values()))
            rows += [dict(step=step, source=source, variable=n, norm=v) for n, v in norms.items()]
        if rows:
            groups.append(rows)
        for rows in groups:
            scalars = [(f"gradient_norm/{r['source']}/{r['variable']}", r["norm"]) for r in rows]
            histograms = [(f"gradient_norm/{source}", [r["norm"] for r in rows if r["source"] ==
                                                       source and r["variable"] != "global"])
                          for source in dict.fromkeys(r["source"] for r in rows)]
            self.log.add(rows, scalars, histograms)

    def plot(self, path):
        plt = pyplot()
        rows = self.log.rows
        sources = list(dict.fromkeys(r["source"] for r in rows))
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7))
        for source in sources:
            sel = [r for r in rows if r["source"] == source and r["variable"] == "global"]
            top.plot([r["step"] for r in sel], [r["norm"] for r in sel], label=source)
        top.set_title("global gradient norm")
        variables = [v for v in dict.fromkeys(r["variable"] for r in rows if r["source"] == sources[0])
                     if v != "global"]
        for variable in variables:
            sel = [r for r in rows if r["source"] == sources[0] and r["variable"] == variable]
            bottom.plot([r["step"] for r in sel], [r["norm"] for r in sel], label=variable)
        bottom.set_title(f"per-variable gradient norm ({sources[0]})")
        for ax in (top, bottom):
            ax.set_yscale("log")
            ax.set_xlabel("optimiser step")
            ax.legend(fontsize=7)
        fig.tight_layout()
        save_figure(fig, path)

    def get_config(self):
        config = super().get_config()
        config["train"] = self.train
        return config


def _in_forward_order(layer, seen):
    """``layer`` and the layers inside it, pre-order, each container's layers in
    the order its forward pass calls them; a Bidirectional's forward half first."""
    if id(layer) in seen:
        return
    seen.add(id(layer))
    yield layer
    if isinstance(layer, keras.layers.Bidirectional):
        children = [layer.forward_layer, layer.backward_layer]
    else:
        children = list(getattr(layer, "layers", None) or [])
        inner = getattr(layer, "layer", None)  # TimeDistributed and other wrappers
        if isinstance(inner, keras.layers.Layer):
            children.append(inner)
    for child in children:
        yield from _in_forward_order(child, seen)


def _find_rnn(model, name):
    from keras_rnnzoo.layers import RNN

    seen = set()
    ordered = [layer for layer in _in_forward_order(model, seen) if isinstance(layer, RNN)]
    found = ordered + [layer for layer in iter_layers(model)  # any other container
                       if isinstance(layer, RNN) and id(layer) not in seen]
    if name is not None:
        found = [layer for layer in found if layer.name == name]
    if not found:
        what = f"named {name!r}" if name is not None else "in the model"
        raise ValueError(
            f"HiddenGradientMonitor found no keras_rnnzoo.layers.RNN {what}; it probes that "
            "layer's hidden states (wrap the cell in keras_rnnzoo.layers.RNN, or pass `layer=`"
            " the name of one).")
    return found[0]


@keras.saving.register_keras_serializable(package="keras_rnnzoo")
class HiddenGradientMonitor(MonitorCallback):
    """||dL/dh_t|| for every time step t on a fixed probe batch, every N steps.

    dL/dh_t is the total derivative of the compiled loss on the probe batch
    w.r.t. the hidden state after step t, through the outputs and through all
    later steps (the quantity whose decay or growth over t is the vanishing or
    exploding gradient); it is computed as the gradient w.r.t. a zero
    perturbation added to h_t (``layers.RNN.hidden_perturbation``), with the
    backend's reverse mode, at the weights after the sampled step. Each row:
    ``step``, ``t``, ``norm`` (Frobenius norm over the batch and the H
    units of the gradient of the batch-mean loss).

    Outputs with ``log_dir``: ``hidden_gradients.csv`` / ``.json``,
    ``hidden_gradients.png`` (a heat-map of log10 ||dL/dh_t|| over
    (training step x t)), and with ``tensorboard=True`` scalars
    ``hidden_gradient/first`` (t = 0), ``/last`` (t = T-1) and a histogram of
    the norms over t.

    t is in the layer's loop order: reversed time for ``go_backwards=True``
    (the backward half of a ``Bidirectional``). A step a mask skips
    (``Masking``, ``Embedding(mask_zero=True)``) has ||dL/dh_t|| = 0: the
    layer carries the previous state over it, so nothing reads its h_t.

    Which layer: ``layer=`` names it; by default it is the first
    ``keras_rnnzoo.layers.RNN`` the model's forward pass calls, i.e. the
    bottom layer of a stack (its dL/dh_t includes the paths through every
    layer above) and, for a ``keras.layers.Bidirectional``, its forward half
    (t in input order). To probe the backward half pass its name,
    ``layer=bidirectional.backward_layer.name`` (Keras names it
    ``"backward_" + the wrapped layer's name``). The chosen layer's name is
    in ``log.meta["layer"]`` (the JSON file's ``meta``) and the plot title.

    Args:
        probe: one batch (x, y) or (x, y, sample_weight); not part of
            ``get_config``.
        every: sample every this many optimiser steps (>= 1).
        layer: name of the ``keras_rnnzoo.layers.RNN`` to probe (default: the
            first one the forward pass calls, see above).
        log_dir, tensorboard, plots: where the rows go.

    Example:
        >>> monitor = HiddenGradientMonitor((x[:32], y[:32]), every=50, log_dir="runs/x")
        >>> # model.fit(..., callbacks=[monitor])
    """

    log_name = "hidden_gradients"

    def __init__(self, probe=None, every=1, layer=None, log_dir=None, tensorboard=False,
                 plots=True):
        super().__init__(every, log_dir, tensorboard, plots)
        self.probe = None if probe is None else _check_batch(probe, "probe")
        self.layer = layer
        self._rnn = None

    def on_train_begin(self, logs=None):
        if self.probe is None:
            raise ValueError("HiddenGradientMonitor needs `probe=(x, y)`: a fixed batch to "
                             "differentiate the loss on.")
        super().on_train_begin(logs)
        self._rnn = _find_rnn(self.model, self.layer)
        self.log.meta["layer"] = self._rnn.name

    def hidden_gradient_norms(self, model=None):
        """(T,) ||dL/dh_t|| on the probe batch at the current weights (also
        outside ``fit``: pass the compiled model)."""
        model = self.model if model is None else model
        if self._rnn is None:
            self._rnn = _find_rnn(model, self.layer)
        x, y, sw = self.probe
        _, _, hidden = probe_gradients(model, x, y, sw, hidden_layer=self._rnn)
        return np.sqrt(np.sum(np.square(hidden), axis=(0, 2)))

    def on_period(self, step):
        norms = self.hidden_gradient_norms()
        rows = [dict(step=step, t=t, norm=float(v)) for t, v in enumerate(norms)]
        self.log.add(rows, [("hidden_gradient/first", norms[0]), ("hidden_gradient/last", norms[-1])],
                     [("hidden_gradient/over_t", norms)])

    def plot(self, path):
        plt = pyplot()
        steps = sorted({r["step"] for r in self.log.rows})
        length = 1 + max(r["t"] for r in self.log.rows)
        grid = np.full((len(steps), length), np.nan)
        index = {s: i for i, s in enumerate(steps)}
        for r in self.log.rows:
            value = r["norm"]
            if value is not None and value > 0:
                grid[index[r["step"]], r["t"]] = math.log10(value)
        fig, ax = plt.subplots(figsize=(7, 4))
        image = ax.imshow(grid, aspect="auto", origin="lower", interpolation="nearest",
                          extent=(-0.5, length - 0.5, steps[0], steps[-1]), cmap="viridis")
        fig.colorbar(image, ax=ax, label="log10 ||dL/dh_t||")
        ax.set_xlabel("time step t")
        ax.set_ylabel("optimiser step")
        ax.set_title(f"hidden-state gradients ({self._rnn.name})")
        fig.tight_layout()
        save_figure(fig, path)

    def get_config(self):
        config = super().get_config()
        config["layer"] = self.layer
        return config
