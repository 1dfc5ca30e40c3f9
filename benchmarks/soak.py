"""Soak: every built-in preset trained for 10,000 steps; no NaN/inf, orthogonality held.

    python benchmarks/soak.py --backend torch [--presets NAME,...] [--steps 10000]
        [--check-every 100] [--batch-size 16] [--data-dir DIR] [--threads 1]

For each built-in preset (``keras_rnnzoo.presets.list_presets()``, or the
``--presets`` subset) the model of its ``config.json`` is trained for
``--steps`` optimiser steps on fresh batches of its task (copy memory, adding,
Morita's reverse ordering, polyphonic music), with the optimiser, learning
rate (schedule), global clip, per-variable learning rates and dtriv schedule
its ``metadata.json`` records (``keras_rnnzoo.utils.runs.make_optimizer`` on
the recorded hyper-parameters, ``presets.training_defaults`` for any flag a
preset does not record; ``callbacks.DtrivRetraction`` for dtriv cells, as the
training scripts use).

**Start (decision): fresh weights** (``from_preset(name, load_weights=False)``,
seeded with the preset's recorded ``--seed``), i.e. the soak is the preset's
own training run extended to ``--steps`` (what its recorded command gives with
``--steps N``, at the CPU-scale batch below). Why not continue from the
shipped weights: a preset holds no optimiser state, so continuing restarts
RMSprop's / Adam's moments at zero at a trained point (and the reverse
presets' warm-up + cosine schedule from its start), a state no real run passes
through; and the instabilities a soak looks for (the large early gradients,
the copy task's learning transition, dtriv's drift accumulating over chart
changes from step 0) live on the trajectory from initialisation, which the
10,000 steps cover together with 4-7x the presets' own 1,145-2,500 steps.
``--start trained`` continues from the shipped weights instead.

Every ``--check-every`` steps (one Keras epoch, after the optimiser step, the
constraints and the dtriv chart change of that step) a sample records:

* ``loss``: the mean training loss over the last ``--check-every`` steps (a
  NaN or inf at any step of the window makes it non-finite);
* ``nonfinite``: whether the loss or any model weight (trainable or not, the
  dtriv bases included) holds a NaN or inf;
* ``drift``: max over the orthogonal matrices of the model (asRNN's W_hh and
  U_f, expRNN / dtriv / scoRNN's W_hh: ``cell.recurrent_blocks()`` of every
  cell with ``orthogonal_matrix``, the float32 matrices the cell uses) of
  max-abs |W^T W - I| (the measure of the tests, e.g. tests/test_cells.py),
  computed in float64; ``drift_fro`` the Frobenius norm ||W^T W - I||_F,
  recorded only: for H = 128-190 float32 round-off alone puts it near 1e-5
  (H^2 entries of ~1e-7), so the 1e-5 criterion is the max-abs one;
* ``constraint``: the constrained cells' largest value against its bound:
  spectral_gru sigma_1(W_hh) <= 2 - delta (the candidate block), stable_rnn
  sigma_max(W_hh) <= lambda (both in float64 from the float32 weights,
  tolerance ``--constraint-rtol``), stable_lstm the distance of the weights to
  their own projection (the block L1 normalisation is idempotent).

Fails (exit 1, a message per failure) when a loss or weight is non-finite
(training stops there), the final drift of any orthogonal matrix exceeds
``--drift-tol`` (1e-5, float32; ``--drift-check every``: the drift of any
sample), a constraint is violated at any sample, or a
preset stops before ``--steps``. A preset whose data is missing (music without
``--data-dir`` / ``$RNNZOO_DATA_DIR``) is skipped with a note, not failed.

CPU scale: ``--batch-size`` (default 16) replaces each preset's recorded batch
where that is larger (the music presets keep their batch of 1);
``--copy-delay`` / ``--adding-length`` (default: the preset's own) change the
task size, rebuilding the model with that sequence length; ``--steps`` is the
same for every preset (``--steps-other`` gives the non-copy presets fewer,
recorded per row). Writes ``benchmarks/results/soak_<backend>.md`` (table:
preset, steps, final loss, final / worst drift, constraint, non-finite?,
seconds) and ``.json`` (every sample, the exact settings, threads, load
average, versions, the command); ``--out`` changes the stem.
"""

import argparse
import json
import math
import os
import platform
import shlex
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
COPY_TASKS = ("copy_memory",)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--backend", choices=("tensorflow", "jax", "torch"),
                   default=os.environ.get("KERAS_BACKEND", "torch"),
                   help="Keras backend (read before Keras is imported; in a process that has "
                        "imported Keras it must be the loaded one)")
    p.add_argument("--presets", default=None,
                   help="comma-separated built-in preset names (default: all)")
    p.add_argument("--steps", type=int, default=10_000, help="optimiser steps per preset")
    p.add_argument("--steps-other", type=int, default=None,
                   help="optimiser steps for the presets that are not copy-task presets "
                        "(default: --steps); recorded per row")
    p.add_argument("--check-every", type=int, default=100,
                   help="steps between samples (one Keras epoch); divides the steps")
    p.add_argument("--batch-size", type=int, default=16,
                   help="batch size, where the preset's recorded one is larger (CPU scale)")
    p.add_argument("--copy-delay", type=int, default=None,
                   help="copy-task delay L (default: each preset's own)")
    p.add_argument("--adding-length", type=int, default=None,
                   help="adding-problem length N (default: each preset's own)")
    p.add_argument("--start", choices=("init", "trained"), default="init",
                   help="init: fresh seeded weights from the preset's config (the preset's "
                        "run, extended); trained: continue from the shipped weights")
    p.add_argument("--data-dir", default=None,
                   help="directory of the music .mat files (default: $RNNZOO_DATA_DIR; "
                        "missing: the music presets are skipped)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads of the backend")
    p.add_argument("--drift-tol", type=float, default=1e-5,
                   help="largest allowed final max-abs |W^T W - I| (float32)")
    p.add_argument("--drift-check", choices=("final", "every"), default="final",
                   help="final: the drift at the last step must be <= --drift-tol (the "
                        "issue's criterion); every: at every sample")
    p.add_argument("--constraint-rtol", type=float, default=1e-5,
                   help="relative float32 tolerance of the spectral bounds")
    p.add_argument("--out", default=None,
                   help="output stem (default: benchmarks/results/soak_<backend>)")
    args = p.parse_args(argv)
    for flag in ("steps", "check_every", "batch_size", "threads"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be >= 1")
    for flag in ("steps", "steps_other"):
        value = getattr(args, flag)
        if value is not None and (value < 1 or value % args.check_every):
            p.error(f"--{flag.replace('_', '-')} {value} must be a positive multiple of "
                    f"--check-every {args.check_every}")
    for flag in ("copy_delay", "adding_length"):
        value = getattr(args, flag)
        if value is not None and value < (1 if flag == "copy_delay" else 2):
            p.error(f"--{flag.replace('_', '-')} is too small: {value}")
    return p, args


def setup_backend(parser, args):
    """Select the backend and its threads before Keras is imported."""
    if "keras" in sys.modules:  # in-process (tests): the loaded backend must be the asked one
        import keras

        if keras.backend.backend() != args.backend:
            parser.error(f"--backend {args.backend}, but this process already runs Keras on "
                         f"{keras.backend.backend()}: run soak.py in its own process")
    else:
        os.environ["KERAS_BACKEND"] = args.backend
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        if args.threads == 1:  # BLAS / LAPACK / XLA:CPU pools (read when the backend loads)
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ.setdefault(var, "1")
            if args.backend == "jax":
                os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                           + " --xla_cpu_multi_thread_eigen=false"
                                           + " intra_op_parallelism_threads=1").strip()
    import keras  # noqa: F401

    from keras_rnnzoo import utils

    try:
        utils.set_threads(args.threads)
    except RuntimeError as e:  # TensorFlow, in a process whose runtime has started
        return f"not applied ({e})"
    if args.backend == "jax" and "xla_cpu_multi_thread_eigen=false" not in os.environ.get(
            "XLA_FLAGS", ""):
        return "not applied (JAX started before XLA_FLAGS could be set)"
    return "applied"


# --- the checks -----------------------------------------------------------------------------

def _np(x):
    import keras
    import numpy as np

    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


def nonfinite_weights(model):
    """Paths of the model's variables holding a NaN or inf."""
    import numpy as np

    return [v.path for v in model.weights if not np.all(np.isfinite(_np(v)))]


def orthogonal_drift(model):
    """{"cell/block": (max-abs |M^T M - I|, ||M^T M - I||_F)} of every orthogonal matrix."""
    import numpy as np

    from keras_rnnzoo.utils import iter_layers

    out = {}
    for layer in iter_layers(model):
        if not (hasattr(layer, "orthogonal_matrix") and hasattr(layer, "recurrent_blocks")):
            continue
        for name, m in layer.recurrent_blocks().items():
            m = _np(m)
            e = m.T @ m - np.eye(m.shape[1])
            out[f"{layer.name}/{name}"] = (float(np.max(np.abs(e))), float(np.linalg.norm(e)))
    return out


def constraints(model):
    """{"cell/what": (value, bound)} of the constrained cells: value <= bound must hold."""
    import keras
    import numpy as np

    from keras_rnnzoo import cells
    from keras_rnnzoo.utils import iter_layers

    def sigma_max(m):
        m = _np(m)
        return float(np.linalg.svd(m, compute_uv=False)[0]) if np.all(np.isfinite(m)) \
            else float("nan")

    out = {}
    for layer in iter_layers(model):
        if isinstance(layer, cells.SpectralGRUCell) and layer.max_singular_value is not None:
            out[f"{layer.name}/sigma_1(W_hh)"] = (sigma_max(layer.candidate_matrix()),
                                                  layer.max_singular_value)
        elif isinstance(layer, cells.StableRNNCell) and layer.constrain:
            out[f"{layer.name}/sigma_max(W_hh)"] = (sigma_max(layer.recurrent_kernel),
                                                    layer.max_singular_value)
        elif isinstance(layer, cells.StableLSTMCell) and layer.constrain:
            for what in ("kernel", "recurrent_kernel"):
                weight = getattr(layer, what)
                constraint = getattr(weight, "constraint", None)
                if constraint is None:
                    continue
                w = keras.ops.convert_to_tensor(weight)
                gap = float(np.max(np.abs(_np(constraint(w)) - _np(w))))
                out[f"{layer.name}/|P({what}) - {what}|"] = (
                    gap, float(np.max(np.abs(_np(w)))))  # relative check below
    return out


def constraint_ok(name, value, bound, rtol):
    if not math.isfinite(value):
        return False
    if name.endswith("|"):  # stable LSTM: distance to its projection, relative to max |W|
        return value <= 10 * rtol * max(bound, 1.0)
    return value <= bound * (1.0 + rtol)


# --- one preset -----------------------------------------------------------------------------

def _rebuild_with_length(model, length):
    """The same model with the backbone's static sequence length ``length``."""
    import keras

    config = keras.saving.serialize_keras_object(model)
    config["config"]["backbone"]["config"]["sequence_length"] = length
    rebuilt = keras.saving.deserialize_keras_object(config)
    rebuilt.set_weights(model.get_weights())
    rebuilt.preset_metadata = model.preset_metadata
    return rebuilt


def prepare(name, args, steps):
    """(model compiled with the recorded optimiser, dataset, settings) or (None, None, note)."""
    import keras

    from keras_rnnzoo import metrics
    from keras_rnnzoo import presets
    from keras_rnnzoo import tasks
    from keras_rnnzoo.cells import ORTHOGONAL_CELLS
    from keras_rnnzoo.utils import runs

    metadata = presets.preset_metadata(name)
    hp = dict(metadata["hyperparameters"])
    data = metadata["data"]
    task = data["task"]
    script_task = {"copy_memory": "copy_memory", "adding": "adding", "music": "music"}.get(
        task, "reverse_ordering" if task in tasks.MORITA_TASKS else None)
    if script_task is None:
        return None, None, {"note": f"task {task!r} has no soak recipe"}
    for key, value in presets.training_defaults(script_task, hp["cell"]).items():
        if hp.get(key) is None:
            hp[key] = value
    if hp["cell"] in ORTHOGONAL_CELLS and hp.get("recurrent_lr") is None:
        hp["recurrent_lr"] = hp["lr"] / 10  # the scripts' rule
    batch = min(hp["batch_size"], args.batch_size)
    settings = {"task": task, "cell": hp["cell"], "hidden": hp["hidden"],
                "recorded_batch_size": hp["batch_size"], "batch_size": batch,
                "optimizer": hp["optimizer"], "lr": hp["lr"], "clipnorm": hp["clipnorm"],
                "recurrent_lr": hp.get("recurrent_lr"), "seed": hp["seed"], "start": args.start}

    train = None
    if task == "music":
        data_dir = args.data_dir or os.environ.get("RNNZOO_DATA_DIR")
        if not data_dir:
            return None, None, {**settings, "note": "skipped: music data not found (no "
                                "--data-dir, RNNZOO_DATA_DIR unset; the .mat files are not "
                                "shipped)"}
        try:
            train = tasks.load_music(hp["dataset"], data_dir)[0]
        except (OSError, ValueError) as e:
            return None, None, {**settings, "note": f"skipped: music data missing ({e})"}

    keras.utils.set_random_seed(hp["seed"])
    model = presets.from_preset(name, load_weights=args.start == "trained", progress=False)
    epochs = steps // args.check_every
    per_epoch = dict(steps_per_epoch=args.check_every, epochs=epochs)
    learning_rate = None
    if task == "copy_memory":
        delay = args.copy_delay or data["delay"]
        if delay != data["delay"]:
            model = _rebuild_with_length(model, delay + 2 * data["recall"])
        dataset = tasks.CopyMemoryBatches(batch, delay, data["recall"], data["loss"],
                                          seed=hp["seed"], **per_epoch)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        compile_metrics = dict(metrics=[metrics.RecallAccuracy(data["recall"])])
        settings.update(delay=delay, recorded_delay=data["delay"], recall=data["recall"],
                        convention="A" if data["loss"] == "all" else "C",
                        baseline=tasks.copy_memory_baseline(delay, data["recall"], data["loss"]))
    elif task == "adding":
        length = args.adding_length or data["length"]
        if length != data["length"]:
            model = _rebuild_with_length(model, length)
        dataset = tasks.AddingBatches(batch, length, seed=hp["seed"], **per_epoch)
        loss, compile_metrics = "mse", dict(metrics=None)
        settings.update(length=length, recorded_length=data["length"],
                        baseline=tasks.adding_baseline())
    elif task == "music":
        dataset = tasks.MusicBatches(train, batch_size=batch, seed=hp["seed"],
                                     pad_multiple=hp.get("pad_multiple", 16), **per_epoch)
        reduction = "sum" if hp.get("loss_reduction", "sum") == "sum" else \
            "mean_with_sample_weight"
        loss = metrics.FrameNLL(reduction=reduction)
        compile_metrics = dict(metrics=None, weighted_metrics=[metrics.NLLPerFrame()])
        settings.update(dataset=hp["dataset"], loss_reduction=hp.get("loss_reduction", "sum"),
                        input_scale=hp.get("input_scale", 1.0),
                        passes=round(steps * batch / len(train), 2))
    else:  # Morita's tasks (reverse ordering): warm-up then cosine decay over the soak's steps
        morita = tasks.make_task(**metadata["evaluation"]["arguments"]["task"])
        dataset = morita.batches(batch, **per_epoch)
        warmup = hp.get("warmup", 0)
        if warmup >= steps:
            warmup = steps // 10
        learning_rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0, decay_steps=steps - warmup, warmup_target=hp["lr"],
            warmup_steps=warmup)
        loss = metrics.masked_cross_entropy()
        compile_metrics = dict(metrics=None, weighted_metrics=[
            metrics.MaskedTokenAccuracy(name="token_accuracy")])
        settings.update(morita_task=morita.name, vocab=morita.vocab_size, length=morita.length,
                        warmup=warmup, schedule=f"warm-up {warmup} steps to {hp['lr']:g}, "
                                                f"cosine decay to 0 at step {steps}",
                        adam_beta2=hp.get("adam_beta2"), adam_epsilon=hp.get("adam_epsilon"),
                        baseline=morita.baseline())
    optimizer = runs.make_optimizer(argparse.Namespace(**hp), learning_rate=learning_rate)
    model.compile(optimizer, loss, **compile_metrics)
    return model, dataset, settings


def soak_callbacks(model, hp_like, rows, args, steps, label):
    """The dtriv retraction (dtriv cells) and the sampling callback."""
    import keras

    from keras_rnnzoo import callbacks as zoo_callbacks
    from keras_rnnzoo.utils import iter_layers

    out = []
    if any(getattr(layer, "mode", None) == "dtriv" for layer in iter_layers(model)):
        out.append(zoo_callbacks.DtrivRetraction(every=hp_like["dtriv_k"],
                                                 reproject_every=hp_like["dtriv_m"]))

    class Sample(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            model = self.model  # on JAX this syncs the trained state into the variables
            logs = logs or {}
            loss = float(logs.get("loss", float("nan")))
            bad = nonfinite_weights(model)
            drift = orthogonal_drift(model)
            bounds = constraints(model)
            row = {"step": (epoch + 1) * args.check_every, "loss": loss,
                   "nonfinite": bool(bad) or not math.isfinite(loss), "nonfinite_weights": bad,
                   "drift": max((d[0] for d in drift.values()), default=None),
                   "drift_fro": max((d[1] for d in drift.values()), default=None),
                   "drift_by_matrix": {k: d[0] for k, d in drift.items()},
                   "constraint": {k: v for k, (v, _) in bounds.items()},
                   "constraint_bound": {k: b for k, (_, b) in bounds.items()},
                   "constraint_ok": all(constraint_ok(k, v, b, args.constraint_rtol)
                                        for k, (v, b) in bounds.items()),
                   "seconds": round(time.perf_counter() - self.t0, 2)}
            row.update({k: float(v) for k, v in logs.items() if k != "loss"})
            rows.append(row)
            every = max(1, steps // args.check_every // 10)
            if row["nonfinite"] or not row["constraint_ok"] or (epoch + 1) % every == 0:
                drift_text = "-" if row["drift"] is None else f"{row['drift']:.2e}"
                print(f"[soak] {label} step {row['step']}/{steps} loss {loss:.6g} drift "
                      f"{drift_text} constraint {row['constraint'] or '-'} nonfinite "
                      f"{row['nonfinite']} {row['seconds']:.0f}s", flush=True)
            if row["nonfinite"]:
                model.stop_training = True

    out.append(Sample())
    return out


def run_preset(name, args):
    from keras_rnnzoo import presets

    copy = presets.preset_metadata(name)["data"]["task"] in COPY_TASKS
    steps = args.steps if copy or args.steps_other is None else args.steps_other
    t0 = time.perf_counter()
    model, dataset, settings = prepare(name, args, steps)
    result = {"preset": name, "steps_requested": steps, "settings": settings}
    if model is None:
        print(f"[soak] {name}: {settings['note']}", flush=True)
        return {**result, "skipped": True, "note": settings["note"], "failures": []}
    hp = presets.preset_metadata(name)["hyperparameters"]
    rows = []
    t_fit = time.perf_counter()
    model.fit(dataset, epochs=steps // args.check_every, steps_per_epoch=args.check_every,
              shuffle=False, verbose=0,
              callbacks=soak_callbacks(model, hp, rows, args, steps, name))
    seconds = time.perf_counter() - t_fit
    done = rows[-1]["step"] if rows else 0
    final = rows[-1] if rows else {}
    failures = []
    first_bad = next((r for r in rows if r["nonfinite"]), None)
    if first_bad is not None:
        what = ", ".join(first_bad["nonfinite_weights"][:4]) or "the loss"
        failures.append(f"non-finite {what} at step {first_bad['step']} (loss "
                        f"{first_bad['loss']})")
    if done < steps:
        failures.append(f"stopped at step {done} of {steps}")
    drift = final.get("drift")
    if drift is not None and not drift <= args.drift_tol:
        failures.append(f"final orthogonality drift max|W^T W - I| = {drift:.3g} > "
                        f"{args.drift_tol:g} ({final['drift_by_matrix']})")
    elif args.drift_check == "every":
        over = next((r for r in rows if r["drift"] is not None
                     and not r["drift"] <= args.drift_tol), None)
        if over is not None:
            failures.append(f"orthogonality drift max|W^T W - I| = {over['drift']:.3g} > "
                            f"{args.drift_tol:g} at step {over['step']} "
                            f"({over['drift_by_matrix']})")
    broken = next((r for r in rows if not r["constraint_ok"]), None)
    if broken is not None:
        failures.append(f"constraint violated at step {broken['step']}: "
                        f"{broken['constraint']} (bounds {broken['constraint_bound']})")
    drifts = [r["drift"] for r in rows if r["drift"] is not None]
    worst_constraint = {}
    for r in rows:
        for k, v in r["constraint"].items():
            worst_constraint[k] = max(worst_constraint.get(k, -math.inf), v)
    result.update(
        skipped=False, steps=done, seconds=round(seconds, 1),
        setup_seconds=round(t_fit - t0, 1),
        seconds_per_step=round(seconds / max(done, 1), 4),
        final_loss=final.get("loss"),
        final_metrics={k: v for k, v in final.items()
                       if k not in ("step", "loss", "nonfinite", "nonfinite_weights", "drift",
                                    "drift_fro", "drift_by_matrix", "constraint",
                                    "constraint_bound", "constraint_ok", "seconds")},
        final_drift=drift, final_drift_fro=final.get("drift_fro"),
        worst_drift=max(drifts) if drifts else None,
        worst_drift_step=(rows[[r["drift"] for r in rows].index(max(drifts))]["step"]
                          if drifts else None),
        constraint_bound=final.get("constraint_bound", {}),
        worst_constraint=worst_constraint,
        nonfinite=first_bad is not None, failures=failures, samples=rows)
    status = "FAIL: " + "; ".join(failures) if failures else "ok"
    print(f"[soak] {name}: {done} steps in {seconds:.0f} s, final loss {final.get('loss')}, "
          f"final drift {drift}, {status}", flush=True)
    return result


# --- the report -----------------------------------------------------------------------------

def _fmt(value, spec=".3g"):
    return "–" if value is None else format(value, spec)


def markdown(meta, results):
    lines = [
        f"# Soak ({meta['backend']})", "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine']}, {meta['cpus']} CPUs, {meta['threads']} thread(s) "
        f"({meta.get('threads_applied', 'applied')}), nice {meta['nice']}; load average "
        f"before {meta['load_before']}, after "
        f"{meta['load_after']}; {meta['versions']}; {meta['date']}.", "",
        f"Each preset: the model of its `config.json` from "
        f"{'fresh seeded weights' if meta['start'] == 'init' else 'its shipped weights'}, "
        f"trained with the optimiser, learning rate, clip and dtriv schedule its "
        f"`metadata.json` records, on fresh batches of its task; batch "
        f"min(recorded, {meta['batch_size']}). Sampled every {meta['check_every']} steps: loss "
        f"(mean over those steps), non-finite loss or weights, drift = max-abs "
        f"|W^T W - I| (float64 from the float32 matrices) over the orthogonal recurrent "
        f"matrices, the constrained cells' bound. Pass: no non-finite value, "
        f"{'final' if meta.get('drift_check', 'final') == 'final' else 'every'} drift <= "
        f"{meta['drift_tol']:g}, the constraint at every sample, all steps done.", "",
        "| preset | task (size, batch) | steps | final loss | final drift (max-abs) | worst "
        "drift (step) | final drift (Frobenius) | constraint: worst / bound | non-finite? | "
        "seconds (s/step) | result |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        s = r["settings"]
        if r["skipped"]:
            dashes = " | ".join(["–"] * 8)
            lines.append(f"| `{r['preset']}` | {s.get('task', '?')} | {dashes} | {r['note']} |")
            continue
        size = {"copy_memory": lambda: f"L={s['delay']}, conv. {s['convention']}",
                "adding": lambda: f"N={s['length']}",
                "music": lambda: f"{s['dataset']}, {s['passes']} passes"}.get(
            s["task"], lambda: f"L={s.get('length')}, V={s.get('vocab')}")()
        constraint = "; ".join(
            f"{k.split('/', 1)[1]} {v:.7g} / {r['constraint_bound'][k]:.7g}"
            for k, v in r["worst_constraint"].items()) or "–"
        worst = ("–" if r["worst_drift"] is None
                 else f"{r['worst_drift']:.2e} ({r['worst_drift_step']})")
        lines.append(
            f"| `{r['preset']}` | {s['task']} ({size}, batch {s['batch_size']}) | "
            f"{r['steps']:,} | {_fmt(r['final_loss'], '.4g')} | "
            f"{_fmt(r['final_drift'], '.2e')} | {worst} | {_fmt(r['final_drift_fro'], '.2e')} "
            f"| {constraint} | {'yes' if r['nonfinite'] else 'no'} | {r['seconds']:.0f} "
            f"({r['seconds_per_step']:.3f}) | "
            f"{'**FAIL**: ' + '; '.join(r['failures']) if r['failures'] else 'pass'} |")
    notes = [f"- `{r['preset']}`: {r['steps_requested']:,} steps (fewer than --steps "
             f"{meta['steps']:,}, --steps-other)" for r in results
             if not r["skipped"] and r["steps_requested"] < meta["steps"]]
    if notes:
        lines += ["", "Reduced step counts:", *notes]
    over = [r for r in results if not r["skipped"] and r["worst_drift"] is not None
            and r["worst_drift"] > meta["drift_tol"]]
    if over:
        lines += ["", f"Drift above {meta['drift_tol']:g} during the run (the final check "
                      f"passes unless the row says FAIL; `--drift-check every` fails these):"]
        for r in over:
            above = [x["step"] for x in r["samples"]
                     if x["drift"] is not None and x["drift"] > meta["drift_tol"]]
            worst = max(r["samples"], key=lambda x: -1 if x["drift"] is None else x["drift"])
            matrices = ", ".join(f"{k} {v:.2e}" for k, v in worst["drift_by_matrix"].items())
            lines.append(f"- `{r['preset']}`: {len(above)} of {len(r['samples'])} samples "
                         f"(steps {above[0]}-{above[-1]}), worst {r['worst_drift']:.2e} at step "
                         f"{r['worst_drift_step']} ({matrices})")
    return "\n".join(lines) + "\n"


def versions(backend):
    import keras
    import numpy as np

    import keras_rnnzoo

    out = {"keras": keras.version(), "keras_rnnzoo": keras_rnnzoo.__version__,
           "numpy": np.__version__, "python": platform.python_version()}
    module = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}[backend]
    out[module] = sys.modules[module].__version__ if module in sys.modules else None
    return out


def main(argv=None):
    parser, args = parse_args(argv)
    threads_applied = setup_backend(parser, args)
    from keras_rnnzoo import presets
    from keras_rnnzoo.utils import atomic_write

    available = sorted(presets.list_presets())
    names = available if args.presets is None else [n.strip() for n in args.presets.split(",")
                                                    if n.strip()]
    unknown = [n for n in names if n not in available]
    if unknown:
        parser.error(f"--presets: unknown {unknown}; built-in: {', '.join(available)}")
    meta = {"command": "python benchmarks/soak.py " + " ".join(
                shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)),
            "backend": args.backend, "steps": args.steps, "steps_other": args.steps_other,
            "check_every": args.check_every, "batch_size": args.batch_size,
            "copy_delay": args.copy_delay, "adding_length": args.adding_length,
            "start": args.start, "drift_tol": args.drift_tol, "drift_check": args.drift_check,
            "constraint_rtol": args.constraint_rtol, "threads": args.threads,
            "threads_applied": threads_applied,
            "xla_flags": os.environ.get("XLA_FLAGS") if args.backend == "jax" else None,
            "nice": os.nice(0), "cpus": os.cpu_count(),
            "machine": platform.processor() or platform.machine(),
            "date": time.strftime("%Y-%m-%d %H:%M"), "versions": versions(args.backend),
            "load_before": [round(v, 2) for v in os.getloadavg()]}
    stem = args.out or os.path.join(HERE, "results", f"soak_{args.backend}")
    results = []

    def write():
        meta["load_after"] = [round(v, 2) for v in os.getloadavg()]
        atomic_write(stem + ".json", json.dumps({"meta": meta, "results": results},
                                                indent=1) + "\n")
        atomic_write(stem + ".md", markdown(meta, results))

    for name in names:
        print(f"[soak] {name} ...", flush=True)
        results.append(run_preset(name, args))
        write()  # after every preset: a long soak leaves its finished rows
    write()
    failed = [r for r in results if r["failures"]]
    print(f"wrote {stem}.md and {stem}.json")
    if failed:
        for r in failed:
            print(f"soak FAILED: {r['preset']}: {'; '.join(r['failures'])}", file=sys.stderr)
        return 1
    skipped = [r["preset"] for r in results if r["skipped"]]
    print(f"soak passed: {len(results) - len(skipped)} preset(s)"
          + (f"; skipped {', '.join(skipped)}" if skipped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
