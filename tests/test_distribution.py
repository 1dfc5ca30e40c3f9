"""Data parallelism on virtual devices: JAX with 2 host devices, TensorFlow with
2 logical CPUs, torch with 2 gloo processes (torchrun). A run over 2 replicas
with batch B each equals one replica with batch 2B (losses, weights, monitor
rows to 1e-5), and a SIGKILLed distributed run resumes to those weights."""

import argparse
import csv
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from keras_rnnzoo import tasks
from keras_rnnzoo.utils import distribution
from keras_rnnzoo.utils import runs
from tests.conftest import BACKEND, REPO

TORCHRUN = os.path.join(os.path.dirname(sys.executable), "torchrun")


def _env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO, KERAS_BACKEND=BACKEND)
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    if BACKEND == "jax":
        env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    return env


def _launch(script_and_args, port):
    """The command running a script on 2 replicas of this backend."""
    if BACKEND == "torch":
        return [TORCHRUN, "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
                "--master-port", str(port), *script_and_args]
    return [sys.executable, *script_and_args]


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _equal_runs(tmp_path, cells):
    out = str(tmp_path / "runs.npz")
    proc = subprocess.run(_launch([os.path.join(REPO, "tests", "_distributed_run.py"), out,
                                   *cells], _free_port()),
                          cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = np.load(out)
    keys = [k for k in results.files if "/one/" in k]
    assert {k.split("/")[0] for k in keys} == set(cells)
    for key in keys:
        one, two = results[key], results[key.replace("/one/", "/two/")]
        assert one.shape == two.shape and one.size, key
        np.testing.assert_allclose(two, one, atol=1e-5, rtol=1e-5, err_msg=key)
    for cell in cells:  # the runs trained: the weights moved, the monitors sampled every step
        assert results[f"{cell}/one/gradient_norms"].size > 4
        assert np.all(np.isfinite(results[f"{cell}/one/loss"]))


def test_two_replicas_equal_one_with_the_global_batch(tmp_path):
    """asRNN in dtriv mode (chart changes, the lr multiplier of A, an active global
    clip, the gradient and spectrum monitors)."""
    _equal_runs(tmp_path, ["asrnn"])


@pytest.mark.slow
def test_two_replicas_equal_one_for_the_constrained_cells(tmp_path):
    """The stable LSTM (projection after each step) and the spectrally clipped GRU."""
    _equal_runs(tmp_path, ["stable_lstm", "spectral_gru"])


def _rows(out):
    with open(os.path.join(out, "metrics.csv")) as f:
        return list(csv.DictReader(f))


COPY = ["--cell", "asrnn", "--hidden", "8", "--delay", "3", "--recall", "2", "--batch-size", "4",
        "--log-every", "5", "--dtriv-k", "7", "--steps", "120", "--threads", "1",
        "--monitors", "gradients", "--monitor-every", "3",
        "--asrnn-a", "0.5", "--asrnn-b", "1.5"]  # s ~ U(0.5, 1.5): U_f matters (see _distributed_run)


def _descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _sigkill_resume(tmp_path):
    from training import copy_task

    cut, whole = str(tmp_path / "cut"), str(tmp_path / "whole")
    script = [os.path.join(REPO, "training", "copy_task.py"), "--backend", BACKEND]
    launch = _launch(script + COPY + ["--output-dir", cut, "--distribute", "2"], _free_port())
    proc = subprocess.Popen(launch, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while proc.poll() is None and time.time() < deadline:
        if os.path.exists(os.path.join(cut, "metrics.csv")) and len(_rows(cut)) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed: give it more --steps"
    for pid in _descendants(proc.pid) + [proc.pid]:  # torchrun's workers have their own sessions
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    assert not os.path.exists(os.path.join(cut, "metadata.json"))
    resumed = subprocess.run(_launch(script + COPY + ["--output-dir", cut, "--distribute", "2",
                                                      "--resume"], _free_port()),
                             cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    copy_task.main(COPY + ["--output-dir", whole])  # one replica, uninterrupted, in process
    assert [int(r["step"]) for r in _rows(cut)] == list(range(5, 125, 5))
    np.testing.assert_allclose([float(r["loss"]) for r in _rows(cut)],
                               [float(r["loss"]) for r in _rows(whole)], rtol=1e-5, atol=1e-6)
    from tests.test_training_scripts import weights

    a, b = weights(whole), weights(cut)
    assert [n for n, _ in a] == [n for n, _ in b]
    for (name, expected), (_, got) in zip(a, b):
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0, err_msg=name)
    files = sorted(os.listdir(cut))
    assert not [f for f in files if ".tmp" in f], files  # one writer, nothing half-written


@pytest.mark.slow  # three script runs, two of them launched on 2 replicas: ~1 min each backend
def test_sigkilled_distributed_run_resumes_to_the_one_replica_weights(tmp_path):
    """torch: the processes other than the chief only restore the chief's backup."""
    _sigkill_resume(tmp_path)


# --- in process: the shards, the flags, the errors ------------------------------------


def test_shards_of_a_global_batch_are_its_rows_in_order():
    full = tasks.CopyMemoryBatches(8, 3, 2, steps_per_epoch=2, seed=5, epochs=2)
    x, y = full[3]
    parts = [distribution.ShardedBatches(full, i, 4)[3] for i in range(4)]
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), x)
    np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), y)
    assert len(distribution.ShardedBatches(full, 0, 4)) == len(full)
    with pytest.raises(ValueError, match="multiple of 3"):
        distribution.ShardedBatches(full, 0, 3)[0]
    with pytest.raises(ValueError, match="index"):
        distribution.ShardedBatches(full, 2, 2)
    single = distribution.single()
    assert single.shard_batches(full) is full and single.num_replicas == 1
    assert single.is_chief and single.callbacks() == []
    with pytest.raises(ValueError, match="multiple of 2"):
        distribution.Replicas(num_replicas=2).local_batch_size(5)


def _parse(argv, monkeypatch, env=None):
    for key in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    parser = runs.training_parser("x", cell="asrnn", steps=10, log_every=5)
    return runs.parse_args(parser, "copy_memory", argv)


def test_distribute_flag_errors(tmp_path, monkeypatch, capsys):
    out = ["--output-dir", str(tmp_path / "o")]
    with pytest.raises(SystemExit):
        _parse(out + ["--distribute", "2", "--batch-size", "5"], monkeypatch,
               {"RANK": "0", "WORLD_SIZE": "2"} if BACKEND == "torch" else None)
    assert "does not split over 2 replicas" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # launched by torchrun, --distribute forgotten
        _parse(out, monkeypatch, {"RANK": "0", "WORLD_SIZE": "2"} if BACKEND == "torch" else
               {"KERAS_DISTRIBUTION_NUM_PROCESSES": "2"} if BACKEND == "jax" else
               {"TF_CONFIG": '{"cluster": {"worker": ["a:1", "b:2"]}, '
                             '"task": {"type": "worker", "index": 0}}'})
    assert "--distribute is not given" in capsys.readouterr().err
    if BACKEND == "torch":
        with pytest.raises(SystemExit):
            _parse(out + ["--distribute"], monkeypatch)
        assert "torchrun --nproc-per-node N" in capsys.readouterr().err
        with pytest.raises(SystemExit):
            _parse(out + ["--distribute", "3", "--batch-size", "6"], monkeypatch,
                   {"RANK": "0", "WORLD_SIZE": "2"})
        assert "torchrun started 2 processes" in capsys.readouterr().err
    args = _parse(out + ["--distribute", "2", "--batch-size", "6"], monkeypatch,
                  {"RANK": "1", "WORLD_SIZE": "2"} if BACKEND == "torch" else None)
    assert args.distribute == 2 and "distribute" not in runs.hyperparameters(args)
    assert isinstance(args, argparse.Namespace)


@pytest.mark.skipif(BACKEND != "torch", reason="Keras' fit synchronises replicas on jax and "
                    "tensorflow; the check is torch's")
def test_fit_in_a_torch_process_group_needs_the_prepared_model(monkeypatch):
    from keras_rnnzoo import cells
    from keras_rnnzoo import models
    from keras_rnnzoo.backend import torch as torch_impl

    backbone = models.RNNBackbone(cells.get_cell("spectral_gru", 4, seed=0), input_dim=10)
    model = models.SequenceTagger(backbone, num_classes=9)
    model.compile()
    monkeypatch.setattr(torch_impl, "process_group_size", lambda: 2)
    x, y = tasks.CopyMemoryBatches(4, 3, 2, steps_per_epoch=1)[0]
    with pytest.raises(ValueError, match="does not synchronise"):
        model.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="without torchrun|torchrun --nproc-per-node"):
        torch_impl.data_parallel(None)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.distribute's limit")
def test_a_stateful_language_model_is_refused_under_tf_distribute(tmp_path, capsys):
    from training import ptb

    with pytest.raises(SystemExit):
        ptb.parse_args(["--distribute", "2", "--output-dir", str(tmp_path / "o")])
    assert "use --backend jax or torch" in capsys.readouterr().err


def test_resume_of_a_finished_run_asks_for_more_steps(tmp_path, monkeypatch, capsys):
    import json

    out = tmp_path / "o"
    (out / "backup").mkdir(parents=True)
    (out / "backup" / "training_metadata.json").write_text(json.dumps({"epoch": 2}))
    with pytest.raises(SystemExit):
        _parse(["--output-dir", str(out), "--resume"], monkeypatch)  # --steps 10, 5 per epoch
    assert "has made its 10 steps (--steps 10): pass a larger --steps" in capsys.readouterr().err
