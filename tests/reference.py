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


def asrnn_sequence(x, weights, mode, epsilon, rho=None):
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
        a = w_xh @ x[:, t, :].T + whh @ h + b[:, None]
        h = w_f_inv @ np.tanh(w_f @ a)
        out.append(h.T)
    return np.stack(out, axis=1)


def orthogonal_rnn_sequence(x, weights, mode, rho=None, activation="modrelu"):
    """h_t = modReLU(W_xh x_t + W_hh h_{t-1} (+ b))."""
    x = np.asarray(x, np.float64)
    w_xh = np.asarray(weights["kernel"], np.float64).T
    whh = w_hh(weights, mode, rho)
    b = np.asarray(weights.get("bias", np.zeros(whh.shape[0])), np.float64)
    batch, steps, _ = x.shape
    h = np.zeros((whh.shape[0], batch))
    out = []
    for t in range(steps):
        a = w_xh @ x[:, t, :].T + whh @ h + b[:, None]
        if activation == "modrelu":
            beta = np.asarray(weights["modrelu_bias"], np.float64)[:, None]
            h = np.sign(a) * np.maximum(0.0, np.abs(a) + beta)
        else:
            h = np.tanh(a)
        out.append(h.T)
    return np.stack(out, axis=1)
