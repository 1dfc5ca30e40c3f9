"""Does an orthogonal recurrence keep ||h_t|| under mixed precision? (issue 15)

    python benchmarks/precision_drift.py [--backends torch,jax,tensorflow] [--steps 1000]

For every cell of ``keras_rnnzoo.cells.ORTHOGONAL_CELLS`` (``get_cell(name, 128,
seed=i)``, the training scripts' initialisation), in ``keras_rnnzoo.layers.RNN``
(the fast path), runs T = ``--steps`` steps of zero input from ``--batch`` random
unit-norm initial states h_0, under ``float32``, ``mixed_bfloat16`` and
``mixed_float16``, with the same float32 weights. Zero input isolates the
recurrence. Two variants:

* ``linear``: the recurrence alone, norm-preserving in exact arithmetic. For
  exprnn / dtriv / scornn, modReLU's bias beta is set to 0 (modReLU is then the
  identity): h_t = h_{t-1} W. asRNN with the copy defaults (s = 0, eps = 1e-5)
  is h_t = tanh(eps a_t) / eps ~ a_t = h_{t-1} W (the same up to 1e-10 |a|^3).
* ``default``: the cells as built, beta ~ U(-0.01, 0.01) (exprnn / dtriv / scornn
  only): modReLU changes ||h_t|| also in float32, so only the comparison with
  float32 means anything there.

Reported per (cell, variant, policy), against float32 from the same h_0 and
weights, over the batch (norms in float64 of the float32-cast states):

* ``slope``: drift per step, the least-squares slope of
  r_t = log||h_t|| - log||h_t^fp32|| against t = 0..T (mean r_t over the batch);
* ``norm_ratio_T``: ||h_T|| / ||h_T^fp32||, mean, and the worst row's |ratio - 1|;
* ``rate``: |(||h_T|| / ||h_0||)^(1/T) - 1|, the policy's own per-step norm change
  (the linear variant's ideal: 0);
* ``rel_dev_max``: max over t and rows of ||h_t - h_t^fp32|| / ||h_t^fp32|| (the
  direction error; it grows with t even when the norm is kept);
* ``map_sigma_min`` / ``map_sigma_max`` / ``map_rho``: singular values and spectral
  radius of the linear map one step applies, as the cell casts it (W; asRNN:
  W (D U_f^T) (U_f D^-1)): rounded to bfloat16, W is no longer orthogonal.

Criterion (stated before measuring): a policy keeps the norm when, in the
linear variant, |slope| <= 1e-4 per step and |norm_ratio_T - 1| <= 10 % in every
row at T = 1000 (1e-4 per step compounds to 10 % over 1000 steps).

``--recurrent-dtype-timing`` times the forward pass of the linear variant with
the recurrent product in the compute dtype and in float32 (the cells'
``recurrent_dtype="float32"`` option), ratios only, when the cells have it.
One subprocess per backend (``KERAS_BACKEND`` is read at import), ``--threads``
threads each. Writes ``benchmarks/results/precision_drift.{md,json}`` with the
thread count, the load average before and after, and the versions.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
# (policy, the cells' recurrent_dtype)
RUNS = (("float32", None), ("mixed_bfloat16", None), ("mixed_bfloat16", "float32"),
        ("mixed_float16", None), ("mixed_float16", "float32"))
SLOPE_LIMIT = 1e-4
RATIO_LIMIT = 0.10


def worker(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np
    from keras import ops

    from keras_rnnzoo import cells
    from keras_rnnzoo import layers
    from keras_rnnzoo import utils

    utils.set_threads(args.threads)
    backend = keras.backend.backend()
    h, t_steps, batch = args.units, args.steps, args.batch
    rng = np.random.default_rng(args.seed)
    h0 = rng.normal(size=(batch, h))
    h0 = (h0 / np.linalg.norm(h0, axis=1, keepdims=True)).astype("float32")
    zeros = np.zeros((batch, t_steps, 1), "float32")

    def make(name, index, variant, policy, weights=None, recurrent_dtype=None):
        keras.mixed_precision.set_dtype_policy(policy)
        try:
            cell = cells.get_cell(name, h, seed=index, recurrent_dtype=recurrent_dtype)
            layer = layers.RNN(cell, return_sequences=True)
            layer.build((None, t_steps, 1))
        finally:
            keras.mixed_precision.set_dtype_policy("float32")
        if weights is not None:
            layer.set_weights(weights)
        elif variant == "linear" and getattr(cell, "modrelu_bias", None) is not None:
            cell.modrelu_bias.assign(np.zeros((h,), "float32"))
        return layer

    def run(layer):
        state = ops.cast(h0, layer.cell.compute_dtype)
        out = layer(zeros, initial_state=[state])
        seq = np.asarray(ops.convert_to_numpy(ops.cast(out, "float32")), "float64")
        start = np.asarray(ops.convert_to_numpy(ops.cast(state, "float32")), "float64")
        return np.concatenate([start[:, None, :], seq], axis=1)  # (batch, T + 1, H)

    rows = []
    for index, name in enumerate(cells.ORTHOGONAL_CELLS):
        variants = ("linear",) if name == "asrnn" else ("linear", "default")
        for variant in variants:
            ref_layer = make(name, index, variant, "float32")
            weights = ref_layer.get_weights()
            ref = run(ref_layer)
            ref_norm = np.linalg.norm(ref, axis=-1)  # (batch, T + 1)
            t = np.arange(t_steps + 1)
            for policy, option in RUNS:
                layer = ref_layer if policy == "float32" else make(
                    name, index, variant, policy, weights, option)
                hs = ref if policy == "float32" else run(layer)
                sigma, rho = _step_map_spectrum(layer.cell, np, ops)
                norm = np.linalg.norm(hs, axis=-1)
                finite = bool(np.all(np.isfinite(hs)))
                r = np.log(norm) - np.log(ref_norm)
                slope_rows = np.polyfit(t, r.T, 1)[0]  # per row
                ratio = norm[:, -1] / ref_norm[:, -1]
                dev = np.linalg.norm(hs - ref, axis=-1) / ref_norm
                rate = np.abs((norm[:, -1] / norm[:, 0]) ** (1.0 / t_steps) - 1.0)
                rows.append({
                    "backend": backend, "cell": name, "variant": variant, "policy": policy,
                    "recurrent_dtype": option,
                    "finite": finite,
                    "slope": float(np.polyfit(t, r.mean(axis=0), 1)[0]),
                    "slope_max_abs": float(np.abs(slope_rows).max()),
                    "norm_ratio_T": float(ratio.mean()),
                    "norm_ratio_T_max_dev": float(np.abs(ratio - 1.0).max()),
                    "rate_mean": float(rate.mean()), "rate_max": float(rate.max()),
                    "norm_T_mean": float(norm[:, -1].mean()),
                    "rel_dev_T_mean": float(dev[:, -1].mean()),
                    "rel_dev_max": float(dev.max()),
                    "rel_dev_t100_mean": float(dev[:, min(100, t_steps)].mean()),
                    "map_sigma_min": float(sigma.min()), "map_sigma_max": float(sigma.max()),
                    "map_rho": rho,
                })
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    timings = _timings(args, make, zeros, h0) if args.recurrent_dtype_timing else []
    print(json.dumps({"backend": backend, "rows": rows, "timings": timings}), flush=True)


def _step_map_spectrum(cell, np, ops):
    """Singular values and spectral radius of the linear map one step applies, as
    the cell uses it (cast to the product's dtype): W, and for asRNN (near-linear
    saturation) W (D U_f^T) (U_f D^-1)."""
    c = cell.compute_sequence_constants()

    def f64(x):
        return np.asarray(ops.convert_to_numpy(ops.cast(x, "float32")), "float64")

    m = f64(c["recurrent"])
    if "to_saturation" in c:
        m = m @ f64(c["to_saturation"]) @ f64(c["from_saturation"])
    return np.linalg.svd(m, compute_uv=False), float(np.abs(np.linalg.eigvals(m)).max())


def _timings(args, make, zeros, h0):
    """Time of the linear variant with the recurrent product in the compute dtype vs
    ``recurrent_dtype="float32"``: the forward pass (both policies) and a bf16 train
    step (``train_on_batch``: forward, backward, SGD update; RNN -> float32 Dense, MSE).
    Interleaved, median of ``--repeats`` after two warm-up calls (compilation)."""
    import keras
    import numpy as np

    from keras_rnnzoo import cells

    out = []
    backend = keras.backend.backend()
    x = np.random.default_rng(1).normal(size=zeros.shape).astype("float32")
    y = np.zeros((zeros.shape[0], 1), "float32")
    for index, name in enumerate(cells.ORTHOGONAL_CELLS):
        for policy in POLICIES[1:]:
            kinds = ("forward", "train step") if policy == "mixed_bfloat16" else ("forward",)
            for kind in kinds:
                fns = {}
                for option in (None, "float32"):
                    layer = make(name, index, "linear", policy, None, option)
                    fns[option] = (_forward(layer, zeros, h0, policy) if kind == "forward"
                                   else _train_step(layer, x, y, policy))
                for fn in fns.values():
                    fn()
                    fn()
                times = {k: [] for k in fns}
                for _ in range(args.repeats):
                    for k, fn in fns.items():
                        t0 = time.perf_counter()
                        fn()
                        times[k].append(time.perf_counter() - t0)
                base = float(np.median(times[None]))
                opt = float(np.median(times["float32"]))
                out.append({"backend": backend, "cell": name, "policy": policy, "kind": kind,
                            "compute_dtype_s": base, "float32_recurrence_s": opt,
                            "ratio": opt / base})
                print(json.dumps(out[-1]), file=sys.stderr, flush=True)
    return out


def _train_step(layer, x, y, policy):
    import keras

    keras.mixed_precision.set_dtype_policy(policy)
    try:
        inp = keras.Input(x.shape[1:])
        rnn = type(layer)(layer.cell)  # a last-step RNN over the same cell
        model = keras.Model(inp, keras.layers.Dense(1, dtype="float32")(rnn(inp)))
        model.compile(keras.optimizers.SGD(1e-3), "mse")
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    return lambda: float(model.train_on_batch(x, y))


def _forward(layer, zeros, h0, policy):
    """One forward pass, compiled as Keras compiles ``predict`` (jitted on JAX, a
    ``tf.function`` on TensorFlow, eager on torch): ``predict_on_batch`` of a model
    (x, h_0) -> h_1..h_T over the layer's cell."""
    import keras

    keras.mixed_precision.set_dtype_policy(policy)
    try:
        x = keras.Input(zeros.shape[1:])
        s = keras.Input(h0.shape[1:])
        rnn = type(layer)(layer.cell, return_sequences=True)
        model = keras.Model([x, s], rnn(x, initial_state=[s]))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    return lambda: model.predict_on_batch([zeros, h0])


def versions():
    import importlib.metadata as md

    out = {}
    for pkg in ("keras", "torch", "jax", "jaxlib", "tensorflow-cpu", "tensorflow", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def _label(policy, option):
    return policy if option is None else f"{policy}, recurrent_dtype={option}"


def _verdict(rows, backend, policy, option):
    linear = [r for r in rows if r["backend"] == backend and r["policy"] == policy
              and r["recurrent_dtype"] == option and r["variant"] == "linear"]
    return all(r["finite"] and abs(r["slope"]) <= SLOPE_LIMIT
               and r["norm_ratio_T_max_dev"] <= RATIO_LIMIT for r in linear)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="torch,jax,tensorflow")
    p.add_argument("--steps", type=int, default=1000, help="T")
    p.add_argument("--units", type=int, default=128, help="H")
    p.add_argument("--batch", type=int, default=16, help="initial states")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--recurrent-dtype-timing", action="store_true")
    p.add_argument("--output", default=os.path.join(HERE, "results", "precision_drift"))
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    load_before = os.getloadavg()
    results = []
    for backend in args.backends.split(","):
        print(f"[precision_drift] {backend} ...", file=sys.stderr, flush=True)
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--steps",
               str(args.steps), "--units", str(args.units), "--batch", str(args.batch),
               "--seed", str(args.seed), "--threads", str(args.threads), "--repeats",
               str(args.repeats)] + (["--recurrent-dtype-timing"]
                                     if args.recurrent_dtype_timing else [])
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        if backend == "jax" and args.threads == 1:
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                                "intra_op_parallelism_threads=1").strip()
        t0 = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
        if done.returncode != 0:
            sys.exit(f"{backend} worker failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["wall_s"] = round(time.perf_counter() - t0, 1)
        results.append(result)
    rows = [r for res in results for r in res["rows"]]
    timings = [r for res in results for r in res["timings"]]
    meta = {"command": "python benchmarks/precision_drift.py " + " ".join(sys.argv[1:]),
            "T": args.steps, "H": args.units, "batch": args.batch, "seed": args.seed,
            "threads": args.threads, "repeats": args.repeats, "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "versions": versions(),
            "load_before": [round(v, 2) for v in load_before],
            "load_after": [round(v, 2) for v in os.getloadavg()],
            "criterion": f"linear variant: |slope| <= {SLOPE_LIMIT:g} per step and "
                         f"|norm_ratio_T - 1| <= {RATIO_LIMIT:.0%} in every row",
            "wall_s": {res["backend"]: res["wall_s"] for res in results}}
    verdicts = {f"{res['backend']}/{_label(policy, option)}":
                _verdict(rows, res["backend"], policy, option)
                for res in results for policy, option in RUNS[1:]}
    meta["keeps_norm"] = verdicts
    lines = _markdown(meta, rows, timings)
    os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)
    from keras_rnnzoo.utils import atomic_write

    atomic_write(args.output + ".md", "\n".join(lines) + "\n")
    atomic_write(args.output + ".json",
                 json.dumps({"meta": meta, "rows": rows, "timings": timings}, indent=1) + "\n")
    print("\n".join(lines))


def _markdown(meta, rows, timings):
    v = meta["versions"]
    lines = [
        "# Norm drift of the orthogonal recurrences under mixed precision", "",
        f"Command: `{meta['command']}`. H = {meta['H']}, T = {meta['T']}, zero input, "
        f"{meta['batch']} random unit-norm h_0, `get_cell(name, {meta['H']}, seed=i)` in "
        f"`keras_rnnzoo.layers.RNN`; {meta['threads']} thread(s) per backend, "
        f"{meta['cpus']} CPUs ({meta['processor']}), load average before "
        f"{meta['load_before']}, after {meta['load_after']}; "
        + ", ".join(f"{k} {val}" for k, val in v.items()) + ".", "",
        "Columns (against float32 from the same h_0 and float32 weights): **slope** = "
        "drift per step, least-squares slope of log||h_t|| - log||h_t^fp32|| against t "
        "(mean over the batch; worst row in brackets); **ratio** = ||h_T|| / ||h_T^fp32|| "
        "(mean; worst |ratio - 1| in brackets); **rate** = |(||h_T|| / ||h_0||)^(1/T) - 1| "
        "(mean; the policy's own per-step norm change); **rel. dev.** = "
        "||h_t - h_t^fp32|| / ||h_t^fp32|| at t = 100, at T (means) and its max over t "
        "and rows; **step map**: the singular values (min..max) and spectral radius rho "
        "of the linear map one step applies as the cell casts it (W; asRNN: "
        "W (D U_f^T) (U_f D^-1)). *linear*: modReLU bias 0 (h_t = h_{t-1} W; asRNN with its copy "
        "defaults is that up to 1e-10); *default*: modReLU bias ~ U(-0.01, 0.01).", "",
        f"Criterion: {meta['criterion']}. Verdict: "
        + ", ".join(f"{k}: {'keeps the norm' if ok else 'does NOT keep the norm'}"
                    for k, ok in meta["keeps_norm"].items()) + ".", "",
        "| backend | cell | variant | policy | slope (worst) | ratio at T (worst dev.) "
        "| rate | rel. dev. t=100 | rel. dev. T | rel. dev. max | step map sigma "
        "| step map rho - 1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        flag = "" if r["finite"] else " **non-finite**"
        lines.append(
            f"| {r['backend']} | {r['cell']} | {r['variant']} | "
            f"{_label(r['policy'], r['recurrent_dtype'])}{flag} | "
            f"{r['slope']:.2e} ({r['slope_max_abs']:.1e}) | {r['norm_ratio_T']:.4f} "
            f"({r['norm_ratio_T_max_dev']:.1e}) | {r['rate_mean']:.1e} | "
            f"{r['rel_dev_t100_mean']:.2e} | {r['rel_dev_T_mean']:.2e} | "
            f"{r['rel_dev_max']:.2e} | {r['map_sigma_min']:.5f}..{r['map_sigma_max']:.5f} | "
            f"{r['map_rho'] - 1:.1e} |")
    if timings:
        lines += ["", f"Cost of `recurrent_dtype=\"float32\"` (T = {meta['T']}, batch "
                  f"{meta['batch']}, CPU, one run, medians of {meta['repeats']} interleaved "
                  "calls; compare the ratio only): the forward pass, and a bf16 train step "
                  "(`train_on_batch`: forward, backward, SGD; RNN -> float32 Dense, MSE).", "",
                  "| backend | cell | policy | timed | compute dtype (s) | float32 recurrence "
                  "(s) | ratio |", "|---|---|---|---|---|---|---|"]
        for r in timings:
            lines.append(f"| {r['backend']} | {r['cell']} | {r['policy']} | {r['kind']} | "
                         f"{r['compute_dtype_s']:.4f} | {r['float32_recurrence_s']:.4f} | "
                         f"{r['ratio']:.2f} |")
    return lines


if __name__ == "__main__":
    main()
