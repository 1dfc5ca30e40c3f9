"""Speed of every zoo cell on every backend, against plain PyTorch and Keras' own layers.

    python benchmarks/speed.py --quick            # T=200, H=128: a few minutes on 2 cores
    python benchmarks/speed.py                    # T in {200, 1000} x H in {128, 512}
    python benchmarks/speed.py --device-label "H200" --precision bf16   # on a GPU

One worker process per backend (``KERAS_BACKEND`` is read at import) times,
for each (T, H) at batch 128 and input size 10:

* every zoo cell in ``keras_rnnzoo.layers.RNN`` (the fast path) and in
  ``keras.layers.RNN`` (Keras' loop: the fallback), + Dense, Adam, MSE:
  a train step (``train_on_batch``: forward, backward, update) and
  inference (``predict_on_batch``);
* Keras' built-in ``SimpleRNN``, ``LSTM`` and ``GRU`` layers;
* for asRNN, the same train step with W, D U_f^T and U_f D^-1 as three plain
  trainable matrices (no expm, no inverse): the difference is what the
  orthogonal parametrisation costs (forward and backward).

A torch worker times the same maths written in plain PyTorch
(``_plain_torch_modules`` below, the way the papers' code runs) and
``torch.nn.RNN/LSTM/GRU``. Each entry is the median of ``--repeats`` timed
steps after two warm-up steps (compilation included in warm-up), with the
peak memory (CPU: the process' resident-set growth from before the model
was built, sampled every 2 ms -- approximate, freed memory of earlier
entries may be reused; GPU: the framework's peak device memory). Writes
``benchmarks/results/speed[_quick].json`` and ``.md``, with the thread
count and the load average before and after: compare only ratios taken in
one run.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

BATCH, INPUT_DIM = 128, 10
ZOO = ["ASRNNCell", "OrthogonalRNNCell", "URLSTMCell", "URGRUCell", "SpectralGRUCell",
       "StableRNNCell", "StableLSTMCell", "RNNCell", "LSTMCell", "GRUCell"]
FAMILIES = ("RNN", "LSTM", "GRU")


# --- plain-PyTorch references ------------------------------------------------------
# zoo cell name -> the plain-PyTorch module (built in _plain_torch_modules) with its maths.
PLAIN = {
    "ASRNNCell": "ASRNN", "OrthogonalRNNCell": "OrthogonalRNN", "URLSTMCell": "URLSTM",
    "URGRUCell": "URGRU", "SpectralGRUCell": "SpectralGRU", "StableRNNCell": "RNN",
    "StableLSTMCell": "LSTM", "RNNCell": "RNN", "LSTMCell": "LSTM", "GRUCell": "GRU",
}
# zoo cell name -> the torch.nn layer of its family.
NATIVE = {
    "ASRNNCell": "RNN", "OrthogonalRNNCell": "RNN", "StableRNNCell": "RNN", "RNNCell": "RNN",
    "URLSTMCell": "LSTM", "StableLSTMCell": "LSTM", "LSTMCell": "LSTM",
    "URGRUCell": "GRU", "SpectralGRUCell": "GRU", "GRUCell": "GRU",
}


def _plain_torch_modules():
    """{name: nn.Module class}: the zoo cells' maths in plain PyTorch (the speed bar
    of issue 4), defined here so that only the torch worker imports torch.

    Written the way the papers' own code runs: an ``nn.Module`` with an eager
    Python loop over time (input projection inside the step, as in expRNN's
    code; hoisting it measured slower on CPU at input width 10) and the
    orthogonal matrices built once per batch. Each ``Seq`` module maps
    (batch, T, d) to the last hidden state (batch, H).
    """
    import math

    import torch
    from torch import nn

    def _uniform(*shape, fan):
        bound = 1.0 / math.sqrt(fan)
        return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))

    def _skew(a):
        upper = torch.triu(a, 1)
        return upper - upper.T

    class Seq(nn.Module):
        """Per step: x_t W_x + b, then ``step``; ``constants`` once per batch."""

        num_states = 1
        blocks = 1

        def __init__(self, d, h, bias=True):
            super().__init__()
            self.h = h
            self.w_x = _uniform(d, self.blocks * h, fan=h)
            self.w_h = _uniform(h, self.blocks * h, fan=h)
            self.b = _uniform(self.blocks * h, fan=h) if bias else None

        def constants(self):
            return None

        def forward(self, x):
            c = self.constants()
            states = [x.new_zeros(x.shape[0], self.h) for _ in range(self.num_states)]
            for x_t in x.unbind(1):
                p_t = x_t @ self.w_x
                if self.b is not None:
                    p_t = p_t + self.b
                states = self.step(p_t, states, c)
            return states[0]

    class RNN(Seq):
        def step(self, p, s, c):
            return [torch.tanh(p + s[0] @ self.w_h)]

    class LSTM(Seq):
        num_states, blocks = 2, 4

        def step(self, p, s, c):
            i, f, u, o = (p + s[0] @ self.w_h).chunk(4, 1)
            cell = torch.sigmoid(f) * s[1] + torch.sigmoid(i) * torch.tanh(u)
            return [torch.sigmoid(o) * torch.tanh(cell), cell]

    class GRU(Seq):
        """Reset after the recurrent matmul (torch.nn.GRU's form)."""

        blocks = 3

        def __init__(self, d, h):
            super().__init__(d, h)
            self.b_h = _uniform(3 * h, fan=h)

        def step(self, p, s, c):
            h = s[0]
            a = h @ self.w_h + self.b_h
            z, r = torch.sigmoid(p[:, :2 * self.h] + a[:, :2 * self.h]).chunk(2, 1)
            cand = torch.tanh(p[:, 2 * self.h:] + r * a[:, 2 * self.h:])
            return [z * h + (1 - z) * cand]

    class SpectralGRU(Seq):
        """Kanai et al.: reset before W_hh, no bias."""

        blocks = 3

        def __init__(self, d, h):
            super().__init__(d, h, bias=False)

        def step(self, p, s, c):
            h, n = s[0], self.h
            z, r = torch.sigmoid(p[:, :2 * n] + h @ self.w_h[:, :2 * n]).chunk(2, 1)
            cand = torch.tanh(p[:, 2 * n:] + (r * h) @ self.w_h[:, 2 * n:])
            return [z * h + (1 - z) * cand]

    class URLSTM(Seq):
        num_states, blocks = 2, 4

        def __init__(self, d, h):
            super().__init__(d, h)
            u = torch.empty(h).uniform_(1.0 / h, 1.0 - 1.0 / h)
            self.gate_bias = nn.Parameter(torch.log(u / (1 - u)))

        def step(self, p, s, c):
            a_f, a_r, a_u, a_o = (p + s[0] @ self.w_h).chunk(4, 1)
            f = torch.sigmoid(a_f + self.gate_bias)
            r = torch.sigmoid(a_r - self.gate_bias)
            g = 2 * r * f + (1 - 2 * r) * f * f
            cell = g * s[1] + (1 - g) * torch.tanh(a_u)
            return [torch.sigmoid(a_o) * torch.tanh(cell), cell]

    class URGRU(Seq):
        blocks = 4

        def __init__(self, d, h):
            super().__init__(d, h)
            u = torch.empty(h).uniform_(1.0 / h, 1.0 - 1.0 / h)
            self.register_buffer("gate_bias", torch.log(u / (1 - u)))

        def step(self, p, s, c):
            h, n = s[0], self.h
            a = p[:, :3 * n] + h @ self.w_h[:, :3 * n]
            f = torch.sigmoid(a[:, :n] + self.gate_bias)
            gate_s = torch.sigmoid(a[:, n:2 * n])
            r = torch.sigmoid(a[:, 2 * n:])
            cand = torch.tanh(p[:, 3 * n:] + (gate_s * h) @ self.w_h[:, 3 * n:])
            g = 2 * r * f + (1 - 2 * r) * f * f
            return [(1 - g) * h + g * cand]

    class OrthogonalRNN(Seq):
        """expRNN: W = expm(skew(A)) once per batch, modReLU."""

        def __init__(self, d, h):
            super().__init__(d, h, bias=False)
            self.w_h = nn.Parameter(torch.zeros(h, h))
            self.modrelu_bias = nn.Parameter(torch.empty(h).uniform_(-0.01, 0.01))

        def constants(self):
            return torch.linalg.matrix_exp(_skew(self.w_h))

        def step(self, p, s, w):
            a = p + s[0] @ w
            return [torch.sign(a) * torch.relu(a.abs() + self.modrelu_bias)]

    class ASRNN(Seq):
        """h = W_f^-1 tanh(W_f (W_xh x + W_hh h + b)), W_f = U_f diag(|s| + eps)."""

        def __init__(self, d, h, eps=1e-5):
            super().__init__(d, h)
            self.w_h = nn.Parameter(torch.zeros(h, h))
            self.u_f = nn.Parameter(torch.zeros(h, h))
            self.s = nn.Parameter(torch.full((h,), 0.5))
            self.eps = eps

        def constants(self):
            w = torch.linalg.matrix_exp(_skew(self.w_h))
            u_f = torch.linalg.matrix_exp(_skew(self.u_f))
            d = self.s.abs() + self.eps
            return w, d[:, None] * u_f.T, u_f / d[None, :]

        def step(self, p, s, c):
            w, to_sat, from_sat = c
            return [torch.tanh((p + s[0] @ w) @ to_sat) @ from_sat]

    return {cls.__name__: cls for cls in (RNN, LSTM, GRU, SpectralGRU, URLSTM, URGRU,
                                          OrthogonalRNN, ASRNN)}


# --- measurement ------------------------------------------------------------------
class PeakMemory:
    """Peak RSS growth (MB) while active, sampled every 2 ms from /proc."""

    def __init__(self):
        self.base = self._rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss():
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except OSError:
            return float("nan")

    def _run(self):
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self._rss())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self):
        return self.peak - self.base


def timed(fn, repeats, sync=lambda: None):
    """Median seconds of ``fn`` after two warm-up calls."""
    for _ in range(2):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


# --- keras worker -----------------------------------------------------------------
def keras_worker(args):
    import keras
    import numpy as np

    from keras_rnnzoo import cells
    from keras_rnnzoo import layers
    from keras_rnnzoo import utils

    backend = keras.backend.backend()
    utils.set_threads(args.threads)
    if args.precision == "bf16":
        keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    gpu_peak = _gpu_peak_reader(backend)

    class FreeMatrixASRNN(cells.ASRNNCell):
        """asRNN's step on free matrices: the cost of the step without the parametrisation."""

        def build(self, input_shape):
            super().build(input_shape)
            self.free = {
                key: self.add_weight(name=f"free_{key}", shape=tuple(value.shape),
                                     initializer=lambda shape, dtype=None, v=value:
                                     keras.ops.cast(v, dtype))
                for key, value in super().compute_sequence_constants().items()}

        def compute_sequence_constants(self):
            return dict(self.free)

    def measure(name, make_layer, steps, hidden, variant):
        keras.utils.set_random_seed(0)
        memory = PeakMemory().__enter__()  # from before the model is built
        rng = np.random.default_rng(0)
        x = rng.normal(size=(BATCH, steps, INPUT_DIM)).astype("float32")
        y = rng.normal(size=(BATCH, INPUT_DIM)).astype("float32")
        layer = make_layer()
        inp = keras.Input((steps, INPUT_DIM))
        model = keras.Model(inp, keras.layers.Dense(INPUT_DIM, dtype="float32")(layer(inp)))
        model.compile(keras.optimizers.Adam(1e-3), "mse")
        row = {"backend": backend, "impl": variant, "cell": name, "T": steps, "H": hidden}
        for mode, fn in (("train", lambda: model.train_on_batch(x, y)),
                         ("infer", lambda: model.predict_on_batch(x))):
            gpu_peak(reset=True)
            try:
                row[f"{mode}_s"] = timed(fn, args.repeats)
            except Exception as error:  # e.g. a solve on weights a diverged step made NaN
                row[f"{mode}_s"] = None
                row["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:160]}"
            row[f"{mode}_mem_mb"] = gpu_peak() or memory.growth_mb
        memory.__exit__()
        row["path"] = getattr(layer, "last_path", None)
        print(json.dumps(row), flush=True)

    for steps, hidden in args.configs:
        for name in args.cells:
            make_cell = lambda n=name, h=hidden: getattr(cells, n)(h)  # noqa: E731
            measure(name, lambda: layers.RNN(make_cell(), hoist_inputs=args.hoist_inputs),
                    steps, hidden, "zoo")
            if args.dropout:
                measure(name, lambda n=name, h=hidden: layers.RNN(
                    getattr(cells, n)(h, dropout=args.dropout, recurrent_dropout=args.dropout),
                    hoist_inputs=args.hoist_inputs), steps, hidden, "zoo, dropout")
            if args.fallback:
                measure(name, lambda: keras.layers.RNN(make_cell()), steps, hidden,
                        "keras.layers.RNN")
            if name == "ASRNNCell":
                measure(name, lambda h=hidden: layers.RNN(
                    FreeMatrixASRNN(h), hoist_inputs=args.hoist_inputs), steps, hidden,
                    "zoo, free matrices")
        if args.keras_builtins:
            for family in FAMILIES:
                layer_cls = {"RNN": keras.layers.SimpleRNN, "LSTM": keras.layers.LSTM,
                             "GRU": keras.layers.GRU}[family]
                measure(family, lambda c=layer_cls, h=hidden: c(h), steps, hidden,
                        "keras built-in")


def _gpu_peak_reader(backend):
    """fn(reset=False) -> peak device memory in MB since the last reset, or None on CPU."""
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            def read(reset=False):
                if reset:
                    torch.cuda.reset_peak_memory_stats()
                    return None
                torch.cuda.synchronize()
                return torch.cuda.max_memory_allocated() / 2**20
            return read
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform == "gpu":
            def read(reset=False):
                stats = device.memory_stats() or {}
                return None if reset else stats.get("peak_bytes_in_use", 0) / 2**20
            return read
    return lambda reset=False: None


# --- torch worker -----------------------------------------------------------------
def torch_worker(args):
    import torch

    plain_modules = _plain_torch_modules()
    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    autocast = (torch.autocast(device, dtype=torch.bfloat16) if args.precision == "bf16"
                else torch.autocast(device, enabled=False))

    def measure(name, impl, module, steps, hidden):
        torch.manual_seed(0)
        memory = PeakMemory().__enter__()
        module = module.to(device)
        x = torch.randn(BATCH, steps, INPUT_DIM, device=device)
        y = torch.randn(BATCH, INPUT_DIM, device=device)
        head = torch.nn.Linear(hidden, INPUT_DIM).to(device)
        params = list(module.parameters()) + list(head.parameters())
        opt = torch.optim.Adam(params, 1e-3)

        def forward():
            with autocast:
                out = module(x)
                out = out[0][:, -1] if isinstance(out, tuple) else out
                return head(out.float())

        def train():
            opt.zero_grad()
            loss = ((forward() - y) ** 2).mean()
            loss.backward()
            opt.step()

        def infer():
            with torch.no_grad():
                forward()

        row = {"backend": "torch", "impl": impl, "cell": name, "T": steps, "H": hidden}
        for mode, fn in (("train", train), ("infer", infer)):
            if device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            row[f"{mode}_s"] = timed(fn, args.repeats, sync)
            row[f"{mode}_mem_mb"] = (torch.cuda.max_memory_allocated() / 2**20
                                     if device == "cuda" else memory.growth_mb)
        memory.__exit__()
        print(json.dumps(row), flush=True)

    for steps, hidden in args.configs:
        done = set()
        for name in args.cells:
            module_cls = plain_modules[PLAIN[name]]
            if module_cls not in done:
                done.add(module_cls)
                measure(module_cls.__name__, "plain PyTorch", module_cls(INPUT_DIM, hidden),
                        steps, hidden)
        for family in FAMILIES:
            native = getattr(torch.nn, family)(INPUT_DIM, hidden, batch_first=True)
            measure(family, "torch.nn", native, steps, hidden)


# --- orchestration and report -------------------------------------------------------
def run_worker(kind, backend, args, env_extra=None):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--repeats",
           str(args.repeats), "--threads", str(args.threads), "--precision", args.precision,
           "--configs", json.dumps(args.configs), "--cells", ",".join(args.cells)]
    if not args.fallback:
        cmd.append("--no-fallback")
    if not args.keras_builtins:
        cmd.append("--no-keras-builtins")
    if args.hoist_inputs:
        cmd.append("--hoist-inputs")
    if args.dropout:
        cmd += ["--dropout", str(args.dropout)]
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    if backend == "jax" and args.threads == 1:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                            "intra_op_parallelism_threads=1").strip()
    print(f"[speed] {kind} worker on {backend} ...", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"[speed] the {kind} worker on {backend} failed "
                         f"(exit {proc.returncode}); its error is above")
    return rows


def versions():
    import importlib.metadata as md

    out = {}
    for pkg in ("keras", "torch", "jax", "tensorflow-cpu", "tensorflow"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def _find(rows, **keys):
    for r in rows:
        if all(r.get(k) == v for k, v in keys.items()):
            return r
    return None


def _fmt(x, digits=3):
    return "–" if x is None else f"{x:.{digits}f}"


def _ratio(a, b):
    return None if a is None or b is None or not b else a / b


def report(rows, meta, backends):
    """Markdown tables: times, ratios against the targets of issue 4."""
    lines = [f"# Speed ({meta['label']})", "",
             f"Command: `{meta['command']}`  ",
             f"Machine: {meta['machine']}; intra-op threads {meta['threads']} (JAX: XLA's "
             f"default unless 1); "
             f"load average before {meta['load_before']}, after {meta['load_after']}; "
             f"precision {meta['precision']}; hoist_inputs {meta['hoist_inputs']}; "
             f"batch {BATCH}, input size {INPUT_DIM}; median of "
             f"{meta['repeats']} steps after 2 warm-up steps; {meta['versions']}.", "",
             "Times in seconds per step. *zoo* is `keras_rnnzoo.layers.RNN(cell)` (the fast "
             "path), *Keras loop* the same cell in `keras.layers.RNN`; *plain* the same maths "
             "in plain PyTorch (`benchmarks/speed.py`, eager loop, orthogonal maps once "
             "per batch, no weight projection after the step); *nn* the `torch.nn` layer of "
             "the cell's family. Compare ratios only within one run.", ""]
    for steps, hidden in meta["configs"]:
        lines += [f"## T = {steps}, H = {hidden}", "",
                  "| cell | " + " | ".join(f"zoo {b}" for b in backends)
                  + " | " + " | ".join(f"Keras loop {b}" for b in backends)
                  + (" | " + " | ".join(f"dropout {meta['dropout']} {b}" for b in backends)
                     if meta.get("dropout") else "")
                  + " | plain | nn | zoo/plain (worst) | backend spread | zoo/nn (worst) "
                  + "| infer zoo " + " / ".join(backends) + " | infer plain | peak MB zoo "
                  + " / ".join(backends) + " | peak MB plain |",
                  "|---" * (9 + (3 if meta.get("dropout") else 2) * len(backends)) + "|"]
        for name in meta["cells"]:
            zoo = [_find(rows, impl="zoo", cell=name, backend=b, T=steps, H=hidden)
                   for b in backends]
            loop = [_find(rows, impl="keras.layers.RNN", cell=name, backend=b, T=steps,
                          H=hidden) for b in backends]
            plain = _find(rows, impl="plain PyTorch", cell=PLAIN[name],
                          T=steps, H=hidden)
            nn = _find(rows, impl="torch.nn", cell=NATIVE[name], T=steps, H=hidden)
            dropped = [_find(rows, impl="zoo, dropout", cell=name, backend=b, T=steps,
                             H=hidden) for b in backends]
            train = [r and r["train_s"] for r in zoo]
            known = [t for t in train if t]
            worst = max(known) if known else None
            lines.append(
                f"| {name} | " + " | ".join(_fmt(t) for t in train) + " | "
                + " | ".join(_fmt(r and r["train_s"]) for r in loop) + " | "
                + ("".join(_fmt(r and r["train_s"]) + " | " for r in dropped)
                   if meta.get("dropout") else "")
                + f"{_fmt(plain and plain['train_s'])} | {_fmt(nn and nn['train_s'])} | "
                + f"{_fmt(_ratio(worst, plain and plain['train_s']), 2)} | "
                + f"{_fmt(_ratio(worst, min(known) if known else None), 2)} | "
                + f"{_fmt(_ratio(worst, nn and nn['train_s']), 2)} | "
                + " / ".join(_fmt(r and r.get("infer_s")) for r in zoo) + " | "
                + f"{_fmt(plain and plain['infer_s'])} | "
                + " / ".join(_fmt(r and r.get("train_mem_mb"), 0) for r in zoo) + " | "
                + f"{_fmt(plain and plain['train_mem_mb'], 0)} |")
        failed = [r for r in rows if r.get("error") and r["T"] == steps and r["H"] == hidden]
        if failed:
            lines += ["", "Not timed (the step raised; shown as –):", ""] + [
                f"* {r['cell']}, {r['impl']}, {r['backend']}: {r['error']}" for r in failed]
        lines += ["", "Keras built-in layers and `torch.nn` (train / infer s):", "",
                  "| family | " + " | ".join(f"Keras {b}" for b in backends) + " | torch.nn |",
                  "|---" * (2 + len(backends)) + "|"]
        for family in FAMILIES:
            ks = [_find(rows, impl="keras built-in", cell=family, backend=b, T=steps, H=hidden)
                  for b in backends]
            nn = _find(rows, impl="torch.nn", cell=family, T=steps, H=hidden)
            lines.append(f"| {family} | " + " | ".join(
                f"{_fmt(r and r['train_s'])} / {_fmt(r and r['infer_s'])}" for r in ks)
                + f" | {_fmt(nn and nn['train_s'])} / {_fmt(nn and nn['infer_s'])} |")
        frozen = [(b, _find(rows, impl="zoo, free matrices", backend=b, T=steps, H=hidden),
                   _find(rows, impl="zoo", cell="ASRNNCell", backend=b, T=steps, H=hidden))
                  for b in backends]
        lines += ["", "asRNN train step, and the same step on three free matrices in place of W, "
                  "D U_f^T and U_f D^-1 (no expm, no inverse): the difference is the orthogonal "
                  "parametrisation's cost, forward and backward:", "",
                  "| backend | asRNN step | on free matrices | parametrisation share |",
                  "|---|---|---|---|"]
        for b, fz, full in frozen:
            share = None
            if fz and full:
                share = (full["train_s"] - fz["train_s"]) / full["train_s"] * 100
            lines.append(f"| {b} | {_fmt(full and full['train_s'])} | "
                         f"{_fmt(fz and fz['train_s'])} | {_fmt(share, 1)} % |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="T=200, H=128, 3 timed steps")
    p.add_argument("--backends", default="torch,jax,tensorflow")
    p.add_argument("--cells", default=",".join(ZOO))
    p.add_argument("--repeats", type=int, default=None, help="timed steps (default 5; quick 3)")
    p.add_argument("--configs", default=None, help='JSON list of [T, H] pairs')
    p.add_argument("--precision", choices=("off", "bf16"), default="off")
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="intra-op threads of every framework (default: all cores)")
    p.add_argument("--no-fallback", dest="fallback", action="store_false",
                   help="skip the keras.layers.RNN column")
    p.add_argument("--no-keras-builtins", dest="keras_builtins", action="store_false")
    p.add_argument("--hoist-inputs", action="store_true",
                   help="zoo column with layers.RNN(hoist_inputs=True)")
    p.add_argument("--dropout", type=float, default=0.0,
                   help="also time the zoo cells with dropout = recurrent_dropout = RATE")
    p.add_argument("--device-label", default=None, help="e.g. 'H200' for the report title")
    p.add_argument("--output", default=None, help="output stem (default results/speed[_quick])")
    p.add_argument("--worker", choices=("keras", "torch"), help=argparse.SUPPRESS)
    args = p.parse_args()
    args.cells = [c for c in args.cells.split(",") if c]
    unknown = sorted(set(args.cells) - set(ZOO))
    if unknown:
        p.error(f"--cells: unknown {unknown}; choose from {','.join(ZOO)}")
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    if not 0.0 <= args.dropout < 1.0:
        p.error(f"--dropout must be in [0, 1); got {args.dropout}")
    if args.threads < 1:
        p.error("--threads must be >= 1")
    if args.configs is not None:
        args.configs = [tuple(c) for c in json.loads(args.configs)]
    else:
        args.configs = ([(200, 128)] if args.quick
                        else [(200, 128), (200, 512), (1000, 128), (1000, 512)])
    if args.worker == "keras":
        return keras_worker(args)
    if args.worker == "torch":
        return torch_worker(args)

    backends = [b for b in args.backends.split(",") if b]
    bad = sorted(set(backends) - {"torch", "jax", "tensorflow"})
    if bad:
        p.error(f"--backends: unknown {bad}; use torch,jax,tensorflow")
    load_before = os.getloadavg()
    started = time.time()
    rows = run_worker("torch", "torch", args)
    for backend in backends:
        rows += run_worker("keras", backend, args)
    import torch

    meta = {
        "label": args.device_label or ("quick" if args.quick else "CPU"),
        "command": "python benchmarks/speed.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"
                   + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""),
        "threads": args.threads,
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()],
        "precision": args.precision, "hoist_inputs": args.hoist_inputs,
        "dropout": args.dropout,
        "repeats": args.repeats, "configs": args.configs,
        "cells": args.cells, "versions": versions(), "wall_s": round(time.time() - started),
    }
    stem = args.output or os.path.join(HERE, "results", "speed_quick" if args.quick else "speed")
    os.makedirs(os.path.dirname(stem) or ".", exist_ok=True)
    for path, text in ((stem + ".json", json.dumps({"meta": meta, "rows": rows}, indent=1)),
                       (stem + ".md", report(rows, meta, backends))):
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(text + ("\n" if not text.endswith("\n") else ""))
        os.replace(tmp, path)
    print(f"wrote {stem}.md and {stem}.json ({meta['wall_s']} s)")


if __name__ == "__main__":
    main()
