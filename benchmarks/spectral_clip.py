"""Cost of SpectralClip alone: always-SVD vs the SVD-skipping bound path.

    python benchmarks/spectral_clip.py --backend torch [--hidden 128 512 --repeats 11]

Times ``SpectralClip(1.8, num_blocks=3, blocks=[2])`` on an (H, 3H) GRU
recurrent kernel (blocks z, r, h~; only the candidate block h~ clipped), the
way Keras' optimizer runs it inside the train step: compiled with ``jax.jit``
on JAX, ``tf.function`` (and ``tf.function(jit_compile=True)``, XLA) on
TensorFlow, eagerly on torch. Three situations:

* ``always_svd``: ``bound_iterations=None`` on a candidate block with
  sigma_max = 1.0 (the SVD runs although nothing is clipped); also recorded on
  the sigma_max = 2.5 block (``always_svd_outside_ms``);
* ``bound_holds``: the bound (``--bound-iterations``, default 5 products) on
  the same weights: it certifies sigma_max <= 1.8 and the SVD is skipped;
* ``bound_fails``: the same bound on a block with sigma_max = 2.5: bound, then
  SVD and clip.

TF+XLA runs only up to ``--xla-max-hidden`` (128): its SVD takes ~0.8 s at
H = 128 on the development machine (not run at 512: ~50 s per call if it scales
as H³).

Median over ``--repeats`` calls (the four cases interleaved) after two warm-up
calls each. Appends one JSON line per (mode, H) to
benchmarks/results/spectral_clip.jsonl with the machine, the thread count and
the load average. Compare only ratios within one run.
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
MAX_VALUE = 1.8


def weights(h, sigma_max, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    w = rng.normal(scale=1.0 / np.sqrt(h), size=(h, 3 * h))
    block = rng.normal(size=(h, h))
    w[:, 2 * h:] = block * (sigma_max / np.linalg.svd(block, compute_uv=False)[0])
    return w.astype("float32")


def compiled(fn, mode):
    if mode == "jit":
        import jax

        return jax.jit(fn)
    if mode in ("function", "xla"):
        import tensorflow as tf

        return tf.function(fn, jit_compile=mode == "xla")
    return fn


def sync(x):
    if BACKEND == "jax":
        x.block_until_ready()
    return x


def median_ms(cases, repeats):
    """Median ms per (fn, x) case; two warm-up calls each, then interleaved repeats."""
    for fn, x in cases:
        sync(fn(x))
        sync(fn(x))
    times = [[] for _ in cases]
    for _ in range(repeats):
        for t, (fn, x) in zip(times, cases):
            t0 = time.perf_counter()
            sync(fn(x))
            t.append(time.perf_counter() - t0)
    return [round(1e3 * sorted(t)[len(t) // 2], 3) for t in times]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="torch")
    p.add_argument("--hidden", type=int, nargs="+", default=[128, 512])
    p.add_argument("--repeats", type=int, default=11)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--bound-iterations", type=int, default=5)
    p.add_argument("--modes", nargs="+", default=None,
                   help="compilation modes (default: torch eager; jax jit; "
                        "tensorflow function xla)")
    p.add_argument("--xla-max-hidden", type=int, default=128,
                   help="skip TF+XLA above this H (its SVD is very slow; see notes/keras3.md)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                 "spectral_clip.jsonl"))
    args = p.parse_args()
    if args.threads == 1:  # BLAS/LAPACK and XLA:CPU pools (read at import of the backend)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        if BACKEND == "jax":
            os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                       + " --xla_cpu_multi_thread_eigen=false"
                                       + " intra_op_parallelism_threads=1").strip()
    import keras

    from keras_rnnzoo import utils
    from keras_rnnzoo.constraints import SpectralClip

    utils.set_threads(args.threads)

    modes = args.modes or {"torch": ["eager"], "jax": ["jit"],
                           "tensorflow": ["function", "xla"]}[BACKEND]
    svd = SpectralClip(MAX_VALUE, num_blocks=3, blocks=[2], bound_iterations=None)
    bound = SpectralClip(MAX_VALUE, num_blocks=3, blocks=[2],
                         bound_iterations=args.bound_iterations)
    rows = []
    for mode in modes:
        for h in args.hidden:
            if mode == "xla" and h > args.xla_max_hidden:
                continue
            inside = keras.ops.convert_to_tensor(weights(h, 1.0, seed=h))
            outside = keras.ops.convert_to_tensor(weights(h, 2.5, seed=h))
            row = {"backend": BACKEND, "mode": mode, "keras": keras.version(), "H": h,
                   "layout": "(H,3H) z,r,h~; h~ clipped", "max_value": MAX_VALUE,
                   "bound_iterations": bound.bound_iterations, "repeats": args.repeats,
                   "threads": args.threads, "cpus": os.cpu_count(),
                   "machine": platform.processor() or platform.machine(),
                   "date": time.strftime("%Y-%m-%d %H:%M"),
                   "load_before": round(os.getloadavg()[0], 2)}
            fn_svd, fn_bound = compiled(svd, mode), compiled(bound, mode)
            (row["always_svd_ms"], row["always_svd_outside_ms"], row["bound_holds_ms"],
             row["bound_fails_ms"]) = median_ms(
                [(fn_svd, inside), (fn_svd, outside), (fn_bound, inside), (fn_bound, outside)],
                args.repeats)
            row["svd_over_bound_holds"] = round(row["always_svd_ms"] / row["bound_holds_ms"], 2)
            row["bound_fails_over_svd"] = round(
                row["bound_fails_ms"] / row["always_svd_outside_ms"], 2)
            row["load_after"] = round(os.getloadavg()[0], 2)
            rows.append(row)
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")
    print(f"{'backend':<11}{'mode':<9}{'H':>5}{'always SVD ms':>15}{'bound holds ms':>16}"
          f"{'bound fails ms':>16}{'SVD/holds':>11}{'fails/SVD':>11}")
    for r in rows:
        print(f"{r['backend']:<11}{r['mode']:<9}{r['H']:>5}{r['always_svd_ms']:>15.3f}"
              f"{r['bound_holds_ms']:>16.3f}{r['bound_fails_ms']:>16.3f}"
              f"{r['svd_over_bound_holds']:>11.2f}{r['bound_fails_over_svd']:>11.2f}")


if __name__ == "__main__":
    main()
