"""Per-forward-pass constants vs. per-step recomputation (asRNN, keras.layers.RNN).

    python benchmarks/per_pass.py --backend torch [--hidden 138 --steps 120 --batch 128]

Times one training step (``train_on_batch``: forward + backward + RMSprop) of
RNN(ASRNNCell) + Dense on the copy task, twice: with the zoo's per-sequence
hook (W, D U_f^T, U_f D^-1 built once before the time loop) and with the hook
disabled, so that the cell rebuilds them inside every time step (what a cell
written without the hook does). Also counts how often the constants are built
per forward pass. Appends a JSON line to benchmarks/results/per_pass.jsonl
with the machine, the thread count and the load average. Compare only the
ratio within one run.
"""

import argparse
import json
import os
import platform
import time

# --backend picks Keras' backend: read it before Keras loads (keras_rnnzoo imports it).
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--backend", choices=("tensorflow", "jax", "torch"),
                  default=os.environ.get("KERAS_BACKEND", "torch"))
BACKEND = os.environ["KERAS_BACKEND"] = _pre.parse_known_args()[0].backend
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build(hidden, steps, hoisted, counter):
    import keras

    from keras_rnnzoo import optimizers
    from keras_rnnzoo.cells import ASRNNCell

    cell = ASRNNCell(hidden, mode="dtriv")
    compute = cell.compute_sequence_constants

    def counted():
        counter[0] += 1
        return compute()

    cell.compute_sequence_constants = counted
    if not hoisted:
        cell.begin_sequence = lambda *args: None
    inp = keras.Input((steps, 10))
    out = keras.layers.Dense(9)(keras.layers.RNN(cell, return_sequences=True)(inp))
    model = keras.Model(inp, out)
    model.compile(optimizers.RMSprop(2e-4, lr_multipliers={"recurrent_kernel": 0.1},
                                     global_clipnorm=10.0),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def time_steps(model, x, y, repeats):
    model.train_on_batch(x, y)  # compile / warm up
    model.train_on_batch(x, y)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="torch")
    p.add_argument("--hidden", type=int, default=138)
    p.add_argument("--steps", type=int, default=120, help="sequence length T")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "per_pass.jsonl"))
    args = p.parse_args()
    import keras

    from keras_rnnzoo import tasks
    from keras_rnnzoo import utils

    utils.set_threads(args.threads)

    x, y = tasks.copy_memory(args.batch, args.steps - 20, seed=0)
    result = {"backend": BACKEND, "keras": keras.version(), "hidden": args.hidden, "T": args.steps,
              "batch": args.batch, "threads": args.threads, "cpus": os.cpu_count(),
              "machine": platform.processor() or platform.machine(),
              "load_before": round(os.getloadavg()[0], 2)}
    for hoisted in (True, False):
        counter = [0]
        model = build(args.hidden, args.steps, hoisted, counter)
        median = time_steps(model, x, y, args.repeats)
        counter[0] = 0
        model(x[:2])  # one eager forward pass
        key = "hoisted" if hoisted else "per_step"
        result[f"{key}_s_per_train_step"] = round(median, 4)
        result[f"{key}_constant_builds_per_eager_forward"] = counter[0]
    result["speedup"] = round(result["per_step_s_per_train_step"] / result["hoisted_s_per_train_step"], 2)
    result["load_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))
    with open(args.out, "a") as f:
        f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
