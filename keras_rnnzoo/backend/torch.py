"""PyTorch fast paths."""

import torch


def native_expm(x):
    """``torch.linalg.matrix_exp`` (differentiable)."""
    return torch.linalg.matrix_exp(x)


def scan_steps(step, xs, states, constants, return_sequences):
    """Lean eager loop over time: no per-step ``Layer.__call__`` or tree work.

    ``step(x_t, states, constants) -> (output, new_states)``; ``xs`` is
    (batch, T, F) with time on axis 1, sliced once with ``unbind`` (indexing
    it per step would make the backward pass O(T^2)). Returns (last_output,
    outputs, states), ``outputs`` (batch, T, H) or None.
    """
    outputs = []
    output = None
    for x_t in torch.unbind(xs, dim=1):
        output, states = step(x_t, states, constants)
        if return_sequences:
            outputs.append(output)
    return output, (torch.stack(outputs, dim=1) if return_sequences else None), states


def value_and_grad(fn, args):
    """``fn(*args)`` (a scalar) and its gradients w.r.t. every tensor in ``args``
    (``torch.autograd.grad`` on detached leaf copies; an input that ``fn`` does
    not use gets zeros)."""
    args = [torch.as_tensor(a).detach().requires_grad_(True) for a in args]
    with torch.enable_grad():
        value = fn(*args)
        grads = torch.autograd.grad(value, args, allow_unused=True)
    grads = [torch.zeros_like(a) if g is None else g for a, g in zip(args, grads)]
    return value.detach(), grads
