"""``benchmarks/speed.py`` runs end to end (tiny sizes; no timings asserted)."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import BACKEND, REPO


@pytest.mark.slow  # a 17 s smoke run of the benchmark (its workers on all three backends)
@pytest.mark.skipif(BACKEND != "torch", reason="spawns its own workers; run once, on torch")
def test_speed_benchmark_writes_tables_for_every_implementation(tmp_path):
    stem = str(tmp_path / "speed")
    cmd = [sys.executable, "benchmarks/speed.py", "--backends", "torch", "--cells",
           "ASRNNCell,LSTMCell", "--configs", "[[6, 4]]", "--repeats", "1", "--threads", "1",
           "--output", stem]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, KERAS_BACKEND="torch"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.load(open(stem + ".json"))["rows"]
    impls = {(r["impl"], r["cell"]) for r in rows}
    for expected in [("zoo", "ASRNNCell"), ("keras.layers.RNN", "LSTMCell"),
                     ("zoo, free matrices", "ASRNNCell"), ("plain PyTorch", "ASRNN"),
                     ("plain PyTorch", "LSTM"), ("torch.nn", "LSTM"), ("keras built-in", "GRU")]:
        assert expected in impls
    assert all(r["train_s"] > 0 for r in rows)
    assert {r["path"] for r in rows if r["impl"].startswith("zoo")} == {"fast"}
    table = open(stem + ".md").read()
    assert "| ASRNNCell |" in table and "parametrisation share" in table


def test_speed_benchmark_rejects_unknown_cells():
    proc = subprocess.run([sys.executable, "benchmarks/speed.py", "--cells", "NoSuchCell"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--cells" in proc.stderr
