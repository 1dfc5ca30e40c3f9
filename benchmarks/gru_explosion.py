"""Plain GRU vs spectrally clipped GRU under a large learning rate (Kanai et al. 2017).

    python benchmarks/gru_explosion.py --data-dir ../shared/data/music [--lr 2 --steps 600]

Trains ``SpectralGRUCell(delta=None)`` (the plain GRU, reset before W_hh, no
bias) and ``SpectralGRUCell(delta=0.2)`` with the same seed, data order and
initialisation on Nottingham (inputs scaled by 0.01 as in the paper), with
plain SGD at a deliberately large learning rate and **no** gradient
clipping. After every step it records the training loss (NLL per frame),
sigma_1(W_hh) of the candidate matrix and the global norm of the gradient the
optimiser applied (every variable, W_hh included; stored by the optimiser in
the compiled step, so it is the backend's own autodiff gradient). A "spike"
is reported as max / median of that norm over the run.

Writes ``benchmarks/results/gru_explosion_<backend>/{steps_gru.csv,
steps_spectral.csv, eval.json, explosion.png, command.txt}``.
"""

import argparse
import csv
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training import _common  # noqa: E402

BACKEND = _common.select_backend()
VARIANTS = {"gru": None, "spectral": 0.2}


def recording_sgd(lr):
    """Plain SGD that also stores the norms of the gradient it applies.

    The norms go into optimiser variables, so they are carried through the
    compiled train step on every backend (JAX's stateless apply included):
    ``grad_norm`` over every trainable variable, ``recurrent_grad_norm`` over
    the GRU's ``recurrent_kernel`` (W_hz, W_hr, W_hh) alone -- both before the
    clipped GRU's projection touches W_hh.
    """
    import keras
    from keras import ops

    class RecordingSGD(keras.optimizers.SGD):
        def build(self, variables):
            super().build(variables)
            self.grad_norm = self.add_variable((), initializer="zeros", name="grad_norm")
            self.recurrent_grad_norm = self.add_variable((), initializer="zeros",
                                                         name="recurrent_grad_norm")
            self._recurrent = [v.path.endswith("recurrent_kernel") for v in variables]

        def apply(self, grads, trainable_variables=None):
            if not self.built:
                self.build(trainable_variables)
            squares = [ops.sum(ops.square(ops.cast(g, "float32"))) for g in grads]
            self.grad_norm.assign(ops.sqrt(ops.sum(ops.stack(squares))))
            recurrent = [s for s, r in zip(squares, self._recurrent) if r]
            self.recurrent_grad_norm.assign(ops.sqrt(ops.sum(ops.stack(recurrent))))
            return super().apply(grads, trainable_variables)

    return RecordingSGD(lr)


def build(hidden, delta, lr, seed, input_scale):
    import keras

    from keras_rnnzoo import tasks
    from keras_rnnzoo.cells import SpectralGRUCell

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, 88))
    x = keras.layers.Rescaling(input_scale)(inputs)
    h = keras.layers.RNN(SpectralGRUCell(hidden, delta=delta), return_sequences=True,
                         name="rnn")(x)
    model = keras.Model(inputs, keras.layers.Dense(88, dtype="float32")(h))
    model.compile(recording_sgd(lr), tasks.FrameNLL())
    return model


def make_recorder(model):
    import keras
    import numpy as np

    cell = model.get_layer("rnn").cell

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows = []

        def on_train_batch_end(self, batch, logs=None):
            self.model  # noqa: B018 -- on JAX this syncs the model and optimiser state
            w_hh = np.asarray(keras.ops.convert_to_numpy(cell.candidate_matrix()), np.float64)
            opt = self.model.optimizer
            norm = float(keras.ops.convert_to_numpy(opt.grad_norm))
            recurrent = float(keras.ops.convert_to_numpy(opt.recurrent_grad_norm))
            finite = bool(np.all(np.isfinite(w_hh))) and np.isfinite(norm)
            self.rows.append({
                "step": len(self.rows) + 1,
                "loss": float(logs["loss"]),
                "sigma1_w_hh": float(np.linalg.svd(w_hh, compute_uv=False)[0]) if finite else np.nan,
                "grad_norm": norm if finite else np.nan,
                "recurrent_grad_norm": recurrent if finite else np.nan,
            })
            if not finite:  # diverged to inf/NaN: nothing more to learn from this run
                self.model.stop_training = True

    return Recorder()


def plot(results, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    tmp = path[:-4] + f".tmp{os.getpid()}.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="torch", choices=_common.BACKENDS)
    p.add_argument("--dataset", default="nottingham")
    p.add_argument("--data-dir", default=os.environ.get("RNNZOO_DATA_DIR"))
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--lr", type=float, default=2.0)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--input-scale", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--output-dir", default=None)
    args = p.parse_args()
    _common.set_threads(BACKEND, args.threads)
    import numpy as np

    from keras_rnnzoo import tasks

    train, valid, _ = tasks.load_music(args.dataset, args.data_dir)
    out = args.output_dir or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                          f"gru_explosion_{BACKEND}")
    os.makedirs(out, exist_ok=True)
    _common.write_command(out)
    results, evals = {}, {}
    for name, delta in VARIANTS.items():
        model = build(args.hidden, delta, args.lr, args.seed, args.input_scale)
        recorder = make_recorder(model)
        data = tasks.MusicBatches(train, batch_size=args.batch_size, seed=args.seed,
                                  steps_per_epoch=args.steps, pad_multiple=32)
        model.fit(data, epochs=1, verbose=0, callbacks=[recorder])
        results[name] = recorder.rows
        rows = recorder.rows
        finite = [r for r in rows if r["grad_norm"] == r["grad_norm"]]
        evals[name] = {"steps_run": len(rows),
                       "diverged_at_step": None if len(finite) == len(rows) else len(finite) + 1,
                       "valid_nll_per_frame": float(tasks.evaluate_music(model, valid)),
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
        path = os.path.join(out, f"steps_{name}.csv")
        tmp = path + f".tmp{os.getpid()}"
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(recorder.rows[0]))
            writer.writeheader()
            writer.writerows(recorder.rows)
        os.replace(tmp, path)
        print(name, json.dumps(evals[name]))
    evals["settings"] = vars(args) | {"backend": BACKEND}
    _common.atomic_write_text(os.path.join(out, "eval.json"), json.dumps(evals, indent=1) + "\n")
    plot(results, os.path.join(out, "explosion.png"),
         f"{args.dataset}, GRU H={args.hidden}, SGD lr={args.lr}, no clipping ({BACKEND})")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
