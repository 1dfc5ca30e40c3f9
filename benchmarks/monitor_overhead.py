"""What the monitors cost on the steps they do not sample.

    python benchmarks/monitor_overhead.py [--backends torch,jax,tensorflow] [--steps 120]

For each backend (one subprocess each, 1 thread) trains the same GRU model
(``keras_rnnzoo.layers.RNN(GRUCell(128))`` + Dense, batch 64, T = 100, Adam)
from the same weights without callbacks and with
``GradientNormMonitor``, ``HiddenGradientMonitor`` and ``SpectrumMonitor``
all sampling every ``--every`` steps, interleaved (without, with, without,
with) so that drift in the machine's speed falls on both sides. A timing callback takes the wall time
between consecutive ``on_train_batch_begin`` calls (the loss is read each
step, so JAX's asynchronous dispatch cannot move work between steps). Reports
the median over the *unsampled* steps of each run (the issue's claim: those
stay unchanged) and the median of the sampled steps, the first 10 steps
excluded as warm-up. Writes ``benchmarks/results/monitor_overhead.{md,json}``.
Compare ratios only within one run; record the machine load.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WARMUP = 10


def worker(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np

    from keras_rnnzoo import callbacks
    from keras_rnnzoo import cells
    from keras_rnnzoo import layers
    from keras_rnnzoo import utils

    backend = keras.backend.backend()
    utils.set_threads(1)

    rng = np.random.default_rng(0)
    batch, steps_t, width = 64, 100, 10
    x = rng.normal(size=(batch * args.steps, steps_t, width)).astype("float32")
    y = rng.normal(size=(batch * args.steps, 1)).astype("float32")

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.begins = []

        def on_train_batch_begin(self, batch, logs=None):
            self.begins.append(time.perf_counter())

        def on_train_batch_end(self, batch, logs=None):
            float(logs["loss"])  # wait for the step (JAX dispatches asynchronously)

        def on_train_end(self, logs=None):
            self.begins.append(time.perf_counter())

    def run(monitored):
        keras.utils.set_random_seed(0)
        inp = keras.Input((steps_t, width))
        model = keras.Model(inp, keras.layers.Dense(1)(layers.RNN(cells.GRUCell(128))(inp)))
        model.compile(keras.optimizers.Adam(1e-3), "mse")
        timer = Timer()
        cbs = [timer]
        if monitored:
            cbs += [callbacks.GradientNormMonitor(args.every),
                    callbacks.HiddenGradientMonitor((x[:batch], y[:batch]), args.every),
                    callbacks.SpectrumMonitor(args.every)]
        model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0, callbacks=cbs)
        times = np.diff(timer.begins)
        step = np.arange(1, len(times) + 1)
        keep = step > WARMUP
        return times[keep & (step % args.every != 0)], times[keep & (step % args.every == 0)]

    # Interleaved, twice each (without, with, without, with), so that drift of the
    # machine's speed does not fall on one side.
    runs = {False: ([], []), True: ([], [])}
    per_run = {False: [], True: []}
    for monitored in (False, True, False, True):
        unsampled, sampled = run(monitored)
        runs[monitored][0].extend(unsampled)
        runs[monitored][1].extend(sampled)
        per_run[monitored].append(float(np.median(unsampled)))

    def summary(monitored):
        unsampled, sampled = runs[monitored]
        return {"unsampled_median_s": float(np.median(unsampled)),
                "unsampled_median_per_run_s": per_run[monitored],
                "sampled_median_s": float(np.median(sampled))}

    result = {"backend": backend, "without": summary(False), "with": summary(True)}
    print(json.dumps(result), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="torch,jax,tensorflow")
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--every", type=int, default=20)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.steps <= 2 * WARMUP or args.every <= 1:
        p.error(f"--steps must exceed {2 * WARMUP} and --every must be > 1")
    if args.worker:
        return worker(args)
    load_before = os.getloadavg()
    rows = []
    for backend in args.backends.split(","):
        print(f"[monitor_overhead] {backend} ...", file=sys.stderr, flush=True)
        done = subprocess.run(
            [sys.executable, __file__, "--worker", "--steps", str(args.steps),
             "--every", str(args.every)],
            env=dict(os.environ, KERAS_BACKEND=backend), capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{backend} worker failed:\n{done.stderr[-3000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    meta = {"command": "python benchmarks/monitor_overhead.py " + " ".join(sys.argv[1:]),
            "load_before": [round(v, 2) for v in load_before],
            "load_after": [round(v, 2) for v in os.getloadavg()],
            "threads": 1, "cpus": os.cpu_count(), "every": args.every, "steps": args.steps}
    lines = ["# Monitor overhead", "",
             f"Command: `{meta['command']}`; 1 thread per backend, {meta['cpus']} CPUs, load "
             f"average before {meta['load_before']}, after {meta['load_after']}. GRU H=128, T=100, "
             f"batch 64, Adam; monitors: GradientNormMonitor (training gradients), "
             f"HiddenGradientMonitor (batch 64 probe) and SpectrumMonitor, every {args.every} "
             f"steps; medians over steps {WARMUP + 1}..{args.steps}.", "",
             "| backend | unsampled step, no monitors (s) | unsampled step, monitors on (s) | ratio "
             "| sampled step, monitors on (s) | per-run medians without / with (s) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        a, b = r["without"]["unsampled_median_s"], r["with"]["unsampled_median_s"]
        each = " / ".join(", ".join(f"{v:.4f}" for v in r[k]["unsampled_median_per_run_s"])
                          for k in ("without", "with"))
        lines.append(f"| {r['backend']} | {a:.4f} | {b:.4f} | {b / a:.3f} | "
                     f"{r['with']['sampled_median_s']:.3f} | {each} |")
    from keras_rnnzoo.utils import atomic_write

    out = os.path.join(HERE, "results", "monitor_overhead")
    atomic_write(out + ".md", "\n".join(lines) + "\n")
    atomic_write(out + ".json", json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
