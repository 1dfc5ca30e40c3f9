"""Independent NumPy (float64) references of the papers' equations.

Written from the spec (column-vector form, scipy's expm), not from the
package code. The mapping to the Keras weights is the contract of api.md:
kernel = W_xh^T, and the row-layout recurrent matrix W = B phi(skew(A)) is
W_hh^T.
"""

import numpy as np
import scipy.linalg


def skew(a):
    upper = np.triu(a, 1)
    return upper - upper.T


def cayley(s):
    eye = np.eye(len(s))
    return np.linalg.solve(eye + s, eye - s)


def orthogonal(a, mode, base=None):
    s = skew(np.asarray(a, np.float64))
    w = cayley(s) if mode == "cayley" else scipy.linalg.expm(s)
    if base is not None and mode == "dtriv":
        w = np.asarray(base, np.float64) @ w
    return w


def sign_diagonal(units, mode, rho):
    if mode != "cayley":
        return np.ones(units)
    n_neg = units // 2 if rho is None else rho
    return np.concatenate([np.ones(units - n_neg), -np.ones(n_neg)])


def w_hh(weights, mode, rho=None):
    """The paper's W_hh (column form): h_new = W_hh D_+- h (+ ...)."""
    w_row = orthogonal(weights["recurrent_kernel"], mode, weights.get("recurrent_base"))
    # Row layout applies (h * sign) @ W_row, i.e. W_row^T diag(sign) h.
    units = w_row.shape[0]
    return w_row.T @ np.diag(sign_diagonal(units, mode, rho))


def asrnn_sequence(x, weights, mode, epsilon, rho=None, recurrent_mask=None):
    """h_t = D^-1 U_f^T tanh(U_f D a_t), a_t = W_xh x_t + W_hh h_{t-1} + b."""
    x = np.asarray(x, np.float64)
    w_xh = np.asarray(weights["kernel"], np.float64).T
    b = np.asarray(weights["bias"], np.float64)
    whh = w_hh(weights, mode, rho)
    u_f = orthogonal(weights["saturation_kernel"], mode, weights.get("saturation_base"))
    d = np.abs(np.asarray(weights["saturation_scale"], np.float64)) + epsilon
    w_f = u_f @ np.diag(d)
    w_f_inv = np.linalg.inv(w_f)
    batch, steps, _ = x.shape
    h = np.zeros((whh.shape[0], batch))
    out = []
    for t in range(steps):
        a = w_xh @ x[:, t, :].T + whh @ masked(h, recurrent_mask) + b[:, None]
        h = w_f_inv @ np.tanh(w_f @ a)
        out.append(h.T)
    return np.stack(out, axis=1)


def orthogonal_rnn_sequence(x, weights, mode, rho=None, activation="modrelu",
                            recurrent_mask=None):
    """h_t = modReLU(W_xh x_t + W_hh h_{t-1} (+ b))."""
    x = np.asarray(x, np.float64)
    w_xh = np.asarray(weights["kernel"], np.float64).T
    whh = w_hh(weights, mode, rho)
    b = np.asarray(weights.get("bias", np.zeros(whh.shape[0])), np.float64)
    batch, steps, _ = x.shape
    h = np.zeros((whh.shape[0], batch))
    out = []
    for t in range(steps):
        a = w_xh @ x[:, t, :].T + whh @ masked(h, recurrent_mask) + b[:, None]
        if activation == "modrelu":
            beta = np.asarray(weights["modrelu_bias"], np.float64)[:, None]
            h = np.sign(a) * np.maximum(0.0, np.abs(a) + beta)
        else:
            h = np.tanh(a)
        out.append(h.T)
    return np.stack(out, axis=1)


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _column_weights(weights, blocks):
    """W_x (blocks, H, d), W_h (blocks, H, H), b (blocks, H) in column form."""
    k = np.asarray(weights["kernel"], np.float64)
    r = np.asarray(weights["recurrent_kernel"], np.float64)
    units = r.shape[0]
    b = np.asarray(weights.get("bias", np.zeros(blocks * units)), np.float64)
    w_x = [k[:, j * units:(j + 1) * units].T for j in range(blocks)]
    w_h = [r[:, j * units:(j + 1) * units].T for j in range(blocks)]
    return w_x, w_h, [b[j * units:(j + 1) * units, None] for j in range(blocks)]


def masked(h, recurrent_mask):
    """h_{t-1} * m_h (column form) as the recurrent matmul's input."""
    return h if recurrent_mask is None else h * np.asarray(recurrent_mask, np.float64).T


def _run(x, units, step, num_states=1, recurrent_mask=None):
    """``step(x_t, *states, hm)``, hm = h_{t-1} * m_h (recurrent dropout)."""
    x = np.asarray(x, np.float64)
    batch, steps, _ = x.shape
    states = [np.zeros((units, batch)) for _ in range(num_states)]
    out = []
    for t in range(steps):
        states = step(x[:, t, :].T, *states, masked(states[0], recurrent_mask))
        out.append(states[0].T)
    return np.stack(out, axis=1)


def refine(f, r):
    """Gu et al. eq. (10): g = r (1 - (1 - f)^2) + (1 - r) f^2."""
    return r * (1.0 - (1.0 - f) ** 2) + (1.0 - r) * f ** 2


def urlstm_sequence(x, weights, refine_gate=True, second_offset=-1.0, recurrent_mask=None):
    """Blocks f, r (or i), u, o; c = g c + (1 - g) u (refine) or f c + i u."""
    (wf, wr, wu, wo), (hf, hr, hu, ho), (bf, br, bu, bo) = _column_weights(weights, 4)
    bg = np.asarray(weights["gate_bias"], np.float64)[:, None]

    def step(xt, h, c, hm):
        f = sigmoid(wf @ xt + hf @ hm + bf + bg)
        second = sigmoid(wr @ xt + hr @ hm + br + second_offset * bg)
        u = np.tanh(wu @ xt + hu @ hm + bu)
        o = sigmoid(wo @ xt + ho @ hm + bo)
        if refine_gate:
            g = refine(f, second)
            c = g * c + (1.0 - g) * u
        else:
            c = f * c + second * u
        return [o * np.tanh(c), c]

    return _run(x, len(bg), step, num_states=2, recurrent_mask=recurrent_mask)


def urgru_sequence(x, weights, refine_gate=True, tied=False, recurrent_mask=None):
    """Blocks update f, reset s, [refine r], candidate; h = (1 - g) h + g h~."""
    blocks = 4 if refine_gate else 3
    w_x, w_h, b = _column_weights(weights, blocks)
    bg = np.asarray(weights["gate_bias"], np.float64)[:, None]

    def step(xt, h, hm):
        f = sigmoid(w_x[0] @ xt + w_h[0] @ hm + b[0] + bg)
        s = sigmoid(w_x[1] @ xt + w_h[1] @ hm + b[1])
        cand = np.tanh(w_x[-1] @ xt + w_h[-1] @ (s * hm) + b[-1])
        g = f
        if refine_gate:
            r = sigmoid(w_x[2] @ xt + w_h[2] @ hm + b[2] - (bg if tied else 0.0))
            g = refine(f, r)
        return [(1.0 - g) * h + g * cand]

    return _run(x, len(bg), step, recurrent_mask=recurrent_mask)


def gru_sequence(x, weights, recurrent_mask=None):
    """Kanai et al.: z, r, h~ = tanh(W_xh x + W_hh (r * h)); h = z h + (1 - z) h~."""
    (wz, wr, wh), (hz, hr, hh), (bz, br, bh) = _column_weights(weights, 3)

    def step(xt, h, hm):
        z = sigmoid(wz @ xt + hz @ hm + bz)
        r = sigmoid(wr @ xt + hr @ hm + br)
        cand = np.tanh(wh @ xt + hh @ (r * hm) + bh)
        return [z * h + (1.0 - z) * cand]

    return _run(x, hz.shape[0], step, recurrent_mask=recurrent_mask)


def rnn_sequence(x, weights, activation=np.tanh, recurrent_mask=None):
    """h_t = act(W_hh h + W_xh x + b)."""
    (wx,), (wh,), (b,) = _column_weights(weights, 1)
    return _run(x, wh.shape[0], lambda xt, h, hm: [activation(wh @ hm + wx @ xt + b)],
                recurrent_mask=recurrent_mask)


def gru_reset_after_sequence(x, weights, recurrent_mask=None):
    """Keras GRU (reset_after) = torch.nn.GRU: h~ = tanh(W_xh x + b_xh + r * (W_hh h + b_hh))."""
    bias = np.asarray(weights.get("bias", np.zeros((2, weights["kernel"].shape[1]))))
    wx, wh, bx = _column_weights(dict(weights, bias=bias[0]), 3)
    bh = _column_weights(dict(weights, bias=bias[1]), 3)[2]

    def step(xt, h, hm):
        u = [w @ hm + b for w, b in zip(wh, bh)]
        z = sigmoid(wx[0] @ xt + bx[0] + u[0])
        r = sigmoid(wx[1] @ xt + bx[1] + u[1])
        cand = np.tanh(wx[2] @ xt + bx[2] + r * u[2])
        return [z * h + (1.0 - z) * cand]

    return _run(x, wh[0].shape[0], step, recurrent_mask=recurrent_mask)


def lstm_sequence(x, weights, recurrent_mask=None):
    """PyTorch/Keras LSTM, blocks i, f, u, o."""
    (wi, wf, wu, wo), (hi, hf, hu, ho), (bi, bf, bu, bo) = _column_weights(weights, 4)

    def step(xt, h, c, hm):
        i = sigmoid(wi @ xt + hi @ hm + bi)
        f = sigmoid(wf @ xt + hf @ hm + bf)
        u = np.tanh(wu @ xt + hu @ hm + bu)
        o = sigmoid(wo @ xt + ho @ hm + bo)
        c = f * c + i * u
        return [o * np.tanh(c), c]

    return _run(x, hi.shape[0], step, num_states=2, recurrent_mask=recurrent_mask)


def rnn_dense_mse_gradients(x, y, weights, dense_kernel, dense_bias):
    """Backpropagation through time by hand for tanh RNN -> Dense(h_T) -> MSE.

    h_t = tanh(x_t W + b + h_{t-1} U), out = h_T V + c, L = mean((out - y)^2).
    Returns (L, {"kernel", "recurrent_kernel", "bias", "dense_kernel",
    "dense_bias": gradient}, dL/dh (batch, T, H)), dL/dh_t the total derivative
    (through the output and every later step).
    """
    x = np.asarray(x, np.float64)
    w, u, b = (np.asarray(a, np.float64) for a in weights)
    v, c = np.asarray(dense_kernel, np.float64), np.asarray(dense_bias, np.float64)
    batch, steps, _ = x.shape
    hs = [np.zeros((batch, u.shape[0]))]
    for t in range(steps):
        hs.append(np.tanh(x[:, t] @ w + b + hs[-1] @ u))
    out = hs[-1] @ v + c
    diff = out - np.asarray(y, np.float64)
    loss = float(np.mean(diff ** 2))
    d_out = 2.0 * diff / diff.size
    grads = {"dense_kernel": hs[-1].T @ d_out, "dense_bias": d_out.sum(0),
             "kernel": np.zeros_like(w), "recurrent_kernel": np.zeros_like(u),
             "bias": np.zeros_like(b)}
    hidden = np.zeros((batch, steps, u.shape[0]))
    g = d_out @ v.T
    for t in range(steps, 0, -1):
        hidden[:, t - 1] = g
        da = g * (1.0 - hs[t] ** 2)
        grads["kernel"] += x[:, t - 1].T @ da
        grads["bias"] += da.sum(0)
        grads["recurrent_kernel"] += hs[t - 1].T @ da
        g = da @ u.T
    return loss, grads, hidden
