"""PyTorch fast paths."""

import torch


def native_expm(x):
    """``torch.linalg.matrix_exp`` (differentiable)."""
    return torch.linalg.matrix_exp(x)
