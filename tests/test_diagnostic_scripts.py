"""The monitors' benchmark scripts run end to end (tiny sizes; no timings asserted)."""

import csv
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import BACKEND, REPO

MUSIC = os.path.join(os.path.dirname(REPO), "shared", "data", "music")
ONCE = pytest.mark.skipif(BACKEND != "torch", reason="a script run once, on torch")


def _run(*args, timeout=600):
    env = dict(os.environ, KERAS_BACKEND="torch", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=env)


@ONCE
@pytest.mark.skipif(not os.path.isdir(MUSIC), reason=f"music files not found at {MUSIC}")
def test_gru_explosion_logs_through_the_monitors_and_compares(tmp_path):
    out = str(tmp_path / "explosion")
    done = _run("benchmarks/gru_explosion.py", "--backend", "torch", "--data-dir", MUSIC,
                "--dataset", "jsb", "--steps", "3", "--hidden", "4", "--batch-size", "2",
                "--hidden-every", "1", "--output-dir", out)
    assert done.returncode == 0, done.stderr[-3000:]
    evals = json.load(open(os.path.join(out, "eval.json")))
    assert evals["gru"]["steps_run"] == 3 and evals["spectral"]["max_sigma1"] <= 1.8 + 1e-5
    for variant in ("gru", "spectral"):
        with open(os.path.join(out, f"steps_{variant}.csv")) as f:
            steps = list(csv.DictReader(f))
        norms = json.load(open(os.path.join(out, variant, "gradient_norms.json")))["rows"]
        by_step = {r["step"]: r["norm"] for r in norms if r["variable"] == "global"}
        assert [float(r["grad_norm"]) for r in steps] == [by_step[s] for s in (1, 2, 3)]
        for name in ("hidden_gradients", "spectrum"):
            assert os.path.getsize(os.path.join(out, variant, f"{name}.png")) > 0
    png, table = str(tmp_path / "cmp.png"), str(tmp_path / "cmp.md")
    done = _run("benchmarks/compare_gradients.py", png, f"gru={out}/gru",
                f"clipped={out}/spectral", "--table", table)
    assert done.returncode == 0, done.stderr[-3000:]
    assert os.path.getsize(png) > 0 and "| clipped | train |" in open(table).read()
    bad = _run("benchmarks/compare_gradients.py", png, f"{out}/gru")
    assert bad.returncode == 2 and "label=run_dir" in bad.stderr


@ONCE
def test_monitor_overhead_rejects_too_few_steps():
    done = _run("benchmarks/monitor_overhead.py", "--steps", "5", timeout=120)
    assert done.returncode == 2 and "--steps" in done.stderr
