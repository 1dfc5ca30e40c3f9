"""Compare the gradient monitors' logs of several runs: one plot, one table.

    python benchmarks/compare_gradients.py OUT.png "label=run_dir" "label=run_dir" ... [--table OUT.md]

Reads each run's ``gradient_norms.json`` (``callbacks.GradientNormMonitor``)
and, where present, ``hidden_gradients.json``. The plot has one panel per
gradient source (``train`` and each probe batch) with the global gradient
norm of every run over the optimiser steps (log scale), and, when the runs
have hidden-state gradients, a panel of ||dL/dh_0|| / ||dL/dh_{T-1}|| (how much
of the gradient reaches the first step). The table gives, per run and source,
the median, 90th percentile and maximum global norm, the max / median ratio
and the coefficient of variation of log10 norm steps (how jumpy it is).
"""

import argparse
import json
import math
import os
import sys

import numpy as np


def load(run_dir):
    with open(os.path.join(run_dir, "gradient_norms.json")) as f:
        norms = json.load(f)["rows"]
    series = {}
    for r in norms:
        if r["variable"] == "global" and r["norm"] is not None:
            series.setdefault(r["source"], []).append((r["step"], r["norm"]))
    hidden = {}
    path = os.path.join(run_dir, "hidden_gradients.json")
    if os.path.exists(path):
        with open(path) as f:
            for r in json.load(f)["rows"]:
                hidden.setdefault(r["step"], {})[r["t"]] = r["norm"]
    return series, hidden


def stats(values):
    v = np.asarray(values, np.float64)
    jumps = np.abs(np.diff(np.log10(v))) if len(v) > 1 else np.zeros(1)
    return {"median": float(np.median(v)), "p90": float(np.percentile(v, 90)),
            "max": float(v.max()), "max_over_median": float(v.max() / np.median(v)),
            "mean_abs_log10_jump": float(jumps.mean())}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("png")
    p.add_argument("runs", nargs="+", help="label=run_dir")
    p.add_argument("--table", default=None, help="also write the table (markdown) here")
    p.add_argument("--skip-steps", type=int, default=0,
                   help="leave the first N steps out of the table (warm-up)")
    args = p.parse_args()
    runs = {}
    for item in args.runs:
        label, sep, path = item.partition("=")
        if not sep or not os.path.isdir(path):
            p.error(f"expected label=run_dir with an existing directory; got {item!r}")
        runs[label] = load(path)
    from keras_rnnzoo.utils import atomic_write
    from keras_rnnzoo.utils import pyplot
    from keras_rnnzoo.utils import save_figure

    plt = pyplot()

    sources = list(dict.fromkeys(s for series, _ in runs.values() for s in series))
    with_hidden = any(hidden for _, hidden in runs.values())
    panels = len(sources) + int(with_hidden)
    fig, axes = plt.subplots(panels, 1, figsize=(7, 2.6 * panels), sharex=True, squeeze=False)
    lines = ["| run | source | median | p90 | max | max / median | mean abs log10 step-to-step change |",
             "|---|---|---|---|---|---|---|"]
    for ax, source in zip(axes[:, 0], sources):
        for label, (series, _) in runs.items():
            points = series.get(source, [])
            if not points:
                continue
            steps, values = zip(*points)
            ax.plot(steps, values, label=label, linewidth=0.9)
            kept = [v for s, v in points if s > args.skip_steps]
            if kept:
                st = stats(kept)
                lines.append(f"| {label} | {source} | {st['median']:.3g} | {st['p90']:.3g} | "
                             f"{st['max']:.3g} | {st['max_over_median']:.2f} | "
                             f"{st['mean_abs_log10_jump']:.3f} |")
        ax.set_yscale("log")
        ax.set_ylabel("global grad norm")
        ax.set_title(f"source: {source}", fontsize=9)
        ax.legend(fontsize=7)
    if with_hidden:
        ax = axes[-1, 0]
        for label, (_, hidden) in runs.items():
            steps = sorted(hidden)
            ratio = [hidden[s][0] / hidden[s][max(hidden[s])] if hidden[s][max(hidden[s])] else
                     math.nan for s in steps]
            ax.plot(steps, ratio, label=label, linewidth=0.9)
        ax.set_yscale("log")
        ax.set_ylabel("||dL/dh_0|| / ||dL/dh_T-1||")
        ax.legend(fontsize=7)
    axes[-1, 0].set_xlabel("optimiser step")
    fig.tight_layout()
    save_figure(fig, args.png)
    table = "\n".join(lines) + "\n"
    if args.table:
        atomic_write(args.table, table)
    sys.stdout.write(table)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
