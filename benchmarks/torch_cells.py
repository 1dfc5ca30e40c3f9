"""Plain-PyTorch versions of the zoo cells' maths: the speed bar of issue 4.

Written the way the papers' own code runs: an ``nn.Module`` with an eager
Python loop over time (input projection inside the step, as in expRNN's
code; hoisting it measured slower on CPU at input width 10) and the
orthogonal matrices built once per batch. Used only by
``benchmarks/speed.py`` (no Keras here). Each ``Seq`` module maps
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


# zoo cell name -> plain-PyTorch module with the same maths.
PLAIN = {
    "ASRNNCell": ASRNN, "OrthogonalRNNCell": OrthogonalRNN, "URLSTMCell": URLSTM,
    "URGRUCell": URGRU, "SpectralGRUCell": SpectralGRU, "StableRNNCell": RNN,
    "StableLSTMCell": LSTM, "RNNCell": RNN, "LSTMCell": LSTM, "GRUCell": GRU,
}
# zoo cell name -> the torch.nn layer of its family.
NATIVE = {
    "ASRNNCell": "RNN", "OrthogonalRNNCell": "RNN", "StableRNNCell": "RNN", "RNNCell": "RNN",
    "URLSTMCell": "LSTM", "StableLSTMCell": "LSTM", "LSTMCell": "LSTM",
    "URGRUCell": "GRU", "SpectralGRUCell": "GRU", "GRUCell": "GRU",
}
