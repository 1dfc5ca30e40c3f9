"""Overlay copy-task runs: python benchmarks/plot_copy.py OUT.png LABEL=RUN_DIR ... [--delay L]

Each RUN_DIR is an output directory of training/copy_task.py (its metrics.csv).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from training import _common  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("runs", nargs="+", help="LABEL=RUN_DIR")
    p.add_argument("--delay", type=int, default=100)
    p.add_argument("--recall", type=int, default=10)
    p.add_argument("--loss", choices=("all", "last"), default="all")
    args = p.parse_args()
    series = {}
    for item in args.runs:
        label, sep, run_dir = item.rpartition("=")
        if not sep:
            p.error(f"runs are LABEL=RUN_DIR; got {item!r}")
        path = os.path.join(run_dir, "metrics.csv")
        if not os.path.exists(path):
            p.error(f"{path} does not exist; run training/copy_task.py first")
        series[label] = path
    from keras_rnnzoo.tasks.copy_memory import copy_memory_baseline

    baseline = copy_memory_baseline(args.delay, args.recall, args.loss)
    _common.plot_curves(series, args.out, "loss", baseline=baseline,
                        title=f"copy task, L={args.delay}, K={args.recall}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
