"""Overlay training runs: python benchmarks/plot_runs.py OUT.png LABEL=RUN_DIR ... [--key loss]

Each RUN_DIR is an output directory of a training script (its metrics.csv).
The memoryless baseline is drawn from --baseline, or computed with --copy
DELAY [--recall K --loss all|last] or --adding.
"""

import argparse
import os


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("runs", nargs="+", help="LABEL=RUN_DIR")
    p.add_argument("--key", default="loss", help="metrics.csv column to plot")
    p.add_argument("--title", default="")
    p.add_argument("--linear", action="store_true", help="linear y axis (default: log)")
    p.add_argument("--baseline", type=float, default=None)
    p.add_argument("--copy", type=int, default=None, metavar="DELAY",
                   help="baseline of the copy task with this delay")
    p.add_argument("--recall", type=int, default=10)
    p.add_argument("--loss", choices=("all", "last"), default="all")
    p.add_argument("--adding", action="store_true", help="baseline of the adding task (1/6)")
    args = p.parse_args()
    series = {}
    for item in args.runs:
        label, sep, run_dir = item.rpartition("=")
        if not sep:
            p.error(f"runs are LABEL=RUN_DIR; got {item!r}")
        path = os.path.join(run_dir, "metrics.csv")
        if not os.path.exists(path):
            p.error(f"{path} does not exist; run the training script first")
        series[label] = path
    from keras_rnnzoo import tasks
    from keras_rnnzoo import utils

    baseline = args.baseline
    if args.copy is not None:
        baseline = tasks.copy_memory_baseline(args.copy, args.recall, args.loss)
    elif args.adding:
        baseline = tasks.adding_baseline()
    utils.plot_metrics(series, args.out, args.key, baseline=baseline, title=args.title,
                       log_y=not args.linear)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
