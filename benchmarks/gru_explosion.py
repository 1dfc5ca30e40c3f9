"""Plain GRU vs spectrally clipped GRU under a large learning rate (Kanai et al. 2017).

    python benchmarks/gru_explosion.py --data-dir ../shared/data/music [--lr 2 --steps 600]

Trains ``SpectralGRUCell(delta=None)`` (the plain GRU, reset before W_hh, no
bias) and ``SpectralGRUCell(delta=0.2)`` with the same seed, data order and
initialisation on Nottingham (inputs scaled by 0.01 as in the paper), with
plain SGD at a deliberately large learning rate and **no** gradient
clipping. The package's monitors record, after every step, the norms of the
gradient the optimiser applied (``callbacks.GradientNormMonitor``: per
variable and global, the backend's own autodiff gradient) and the singular
values of every recurrent block (``callbacks.SpectrumMonitor``; sigma_1 of the
candidate matrix W_hh is the one the clip acts on), and every
``--hidden-every`` steps ||dL/dh_t|| on a fixed validation batch
(``callbacks.HiddenGradientMonitor``). A "spike" is reported as max / median
of the global gradient norm over the run.

Writes ``benchmarks/results/gru_explosion_<backend>/{steps_gru.csv,
steps_spectral.csv, eval.json, explosion.png, command.txt}`` and, per
variant, the monitors' files in ``gru/`` and ``spectral/``
(``gradient_norms.*``, ``spectrum.*``, ``hidden_gradients.*``, TensorBoard
events in ``tensorboard/``).
"""

import argparse
import csv
import io
import json
import os

# --backend picks Keras' backend: read it before Keras loads (keras_rnnzoo imports it).
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--backend", choices=("tensorflow", "jax", "torch"),
                  default=os.environ.get("KERAS_BACKEND", "torch"))
BACKEND = os.environ["KERAS_BACKEND"] = _pre.parse_known_args()[0].backend
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
VARIANTS = {"gru": None, "spectral": 0.2}


def build(hidden, delta, lr, seed, input_scale):
    import keras

    from keras_rnnzoo import layers
    from keras_rnnzoo import metrics
    from keras_rnnzoo.cells import SpectralGRUCell

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, 88))
    x = keras.layers.Rescaling(input_scale)(inputs)
    h = layers.RNN(SpectralGRUCell(hidden, delta=delta), return_sequences=True, name="rnn")(x)
    model = keras.Model(inputs, keras.layers.Dense(88, dtype="float32")(h))
    model.compile(keras.optimizers.SGD(lr), metrics.FrameNLL())
    return model


def make_monitors(out, probe, hidden_every):
    """The package's monitors: gradient norms and spectra every step, dL/dh_t
    on a fixed validation batch every ``hidden_every`` steps."""
    import keras

    from keras_rnnzoo import callbacks

    return [callbacks.GradientNormMonitor(1, log_dir=out, tensorboard=True),
            callbacks.SpectrumMonitor(1, log_dir=out, tensorboard=True),
            callbacks.HiddenGradientMonitor(probe, hidden_every, log_dir=out, tensorboard=True),
            keras.callbacks.TerminateOnNaN()]


def step_rows(monitors, losses):
    """One row per step from the monitors' histories (NaN where a run diverged)."""
    import math

    norms, spectrum = monitors[0].history, monitors[1].history
    rows = []
    for step, loss in enumerate(losses, start=1):
        grad = {r["variable"]: r["norm"] for r in norms if r["step"] == step}
        sigma = [r["sigma_max"] for r in spectrum
                 if r["step"] == step and r["matrix"].endswith("/h")]
        recurrent = math.sqrt(sum(v * v for k, v in grad.items()
                                  if k.endswith("recurrent_kernel")))
        row = {"step": step, "loss": loss,
               "sigma1_w_hh": sigma[0] if sigma else math.nan,
               "grad_norm": grad.get("global", math.nan),
               "recurrent_grad_norm": recurrent if grad else math.nan}
        if not all(math.isfinite(v) for v in row.values()):
            row.update(sigma1_w_hh=math.nan, grad_norm=math.nan, recurrent_grad_norm=math.nan)
        rows.append(row)
    return rows


def plot(results, path, title):
    from keras_rnnzoo import utils

    plt = utils.pyplot()
    fig, axes = plt.subplots(4, 1, figsize=(7, 10), sharex=True)
    for name, rows in results.items():
        steps = [r["step"] for r in rows]
        for ax, key in zip(axes, ("loss", "sigma1_w_hh", "grad_norm", "recurrent_grad_norm")):
            ax.plot(steps, [r[key] for r in rows], label=name, linewidth=0.8)
    axes[0].set_ylabel("training NLL / frame")
    axes[0].set_yscale("log")
    axes[1].axhline(2.0, color="gray", linestyle="--", label="sigma_1 = 2")
    axes[1].set_ylabel("sigma_1(W_hh)")
    axes[1].set_yscale("log")
    axes[2].set_ylabel("||grad|| (all variables)")
    axes[3].set_ylabel("||grad|| (recurrent_kernel)")
    for ax in axes[2:]:
        ax.set_yscale("log")
    axes[3].set_xlabel("SGD step")
    for ax in axes:
        ax.legend(loc="best", fontsize=8)
    axes[0].set_title(title)
    fig.tight_layout()
    utils.save_figure(fig, path)


def LossRecorder():  # noqa: N802 -- a callback class made after Keras is imported
    import keras

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.values = []

        def on_train_batch_end(self, batch, logs=None):
            self.values.append(float(logs["loss"]))

    return Recorder()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="torch", choices=("tensorflow", "jax", "torch"))
    p.add_argument("--dataset", default="nottingham")
    p.add_argument("--data-dir", default=os.environ.get("RNNZOO_DATA_DIR"))
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--lr", type=float, default=2.0)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--input-scale", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--hidden-every", type=int, default=10,
                   help="steps between dL/dh_t samples on the validation probe batch")
    p.add_argument("--output-dir", default=None)
    args = p.parse_args()
    import numpy as np

    from keras_rnnzoo import models
    from keras_rnnzoo import tasks
    from keras_rnnzoo import utils

    utils.set_threads(args.threads)

    train, valid, _ = tasks.load_music(args.dataset, args.data_dir)
    out = args.output_dir or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                          f"gru_explosion_{BACKEND}")
    os.makedirs(out, exist_ok=True)
    utils.write_command(out)
    results, evals = {}, {}
    probe_data = tasks.MusicBatches(valid, batch_size=args.batch_size, seed=args.seed,
                                    steps_per_epoch=1, pad_multiple=32)
    for name, delta in VARIANTS.items():
        model = build(args.hidden, delta, args.lr, args.seed, args.input_scale)
        monitors = make_monitors(os.path.join(out, name), probe_data[0], args.hidden_every)
        data = tasks.MusicBatches(train, batch_size=args.batch_size, seed=args.seed,
                                  steps_per_epoch=args.steps, pad_multiple=32)
        losses = LossRecorder()
        model.fit(data, epochs=1, verbose=0, callbacks=[losses] + monitors)
        rows = results[name] = step_rows(monitors, losses.values)
        finite = [r for r in rows if r["grad_norm"] == r["grad_norm"]]
        evals[name] = {"steps_run": len(rows),
                       "diverged_at_step": None if len(finite) == len(rows) else len(finite) + 1,
                       "valid_nll_per_frame": float(models.evaluate_music(model, valid)),
                       "max_sigma1": max(r["sigma1_w_hh"] for r in finite),
                       "first_step_sigma1_above_2": next(
                           (r["step"] for r in finite if r["sigma1_w_hh"] > 2), None),
                       "max_grad_norm": max(r["grad_norm"] for r in finite),
                       "median_grad_norm": float(np.median([r["grad_norm"] for r in finite])),
                       "max_recurrent_grad_norm": max(r["recurrent_grad_norm"] for r in finite),
                       "median_recurrent_grad_norm": float(np.median(
                           [r["recurrent_grad_norm"] for r in finite])),
                       "steps_grad_norm_above_10x_median": 0}
        e = evals[name]
        e["spike_ratio"] = e["max_grad_norm"] / e["median_grad_norm"]
        e["steps_grad_norm_above_10x_median"] = sum(
            r["grad_norm"] > 10 * e["median_grad_norm"] for r in finite)
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        utils.atomic_write(os.path.join(out, f"steps_{name}.csv"), text.getvalue())
        print(name, json.dumps(evals[name]))
    evals["settings"] = vars(args) | {"backend": BACKEND}
    utils.atomic_write(os.path.join(out, "eval.json"), json.dumps(evals, indent=1) + "\n")
    plot(results, os.path.join(out, "explosion.png"),
         f"{args.dataset}, GRU H={args.hidden}, SGD lr={args.lr}, no clipping ({BACKEND})")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
