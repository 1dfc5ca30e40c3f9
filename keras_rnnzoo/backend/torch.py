"""PyTorch fast paths."""

import torch


def native_expm(x, max_float32_norm1=6.020132725635268):
    """``torch.linalg.matrix_exp`` (differentiable), returned in ``x``'s dtype.

    torch's float32 ``matrix_exp`` loses orthogonality as it needs more
    squarings: at n = 128, max |W^T W - I| of W = exp(S), S skew, is about
    4e-6 up to ||S||_1 = 6, 7-9e-6 at 6.3-8 and 1.5-2.2e-5 at 50-100, against
    1-3e-6 for Pade-13 (JAX, ``expm_pade``). So a non-float64 ``x`` whose
    largest 1-norm (over the batch) exceeds ``max_float32_norm1`` is
    exponentiated in float64 and cast back (orthogonal to about 1e-7 at any
    norm). The default, twice torch's own float32 degree-18 threshold (at
    most one squaring), keeps the usual starting points on the fast float32
    path: Henaff and Cayley initialisations (||S||_1 <= pi) and dtriv's A = 0
    after every chart change. The check reads the 1-norm on the host (one
    device sync per call; a graph break under ``torch.compile``). Cost at
    n = 128, one CPU thread: about 2.5x forward and backward above the
    threshold, about 1% (the norm) below it.
    """
    # Meta tensors (Keras' symbolic shape inference) have no values to test.
    if x.dtype != torch.float64 and x.device.type != "meta":
        norm1 = torch.linalg.matrix_norm(x.detach(), ord=1)
        if bool((norm1 > max_float32_norm1).any()):
            return torch.linalg.matrix_exp(x.double()).to(x.dtype)
    return torch.linalg.matrix_exp(x)


def scan_steps(step, xs, states, constants, return_sequences, mask=None, zero_output=False):
    """Lean eager loop over time: no per-step ``Layer.__call__`` or tree work.

    ``step(x_t, states, constants) -> (output, new_states)``; ``xs`` is
    (batch, T, F) with time on axis 1, sliced once with ``unbind`` (indexing
    it per step would make the backward pass O(T^2)). ``mask`` (batch, T),
    optional: where it is False the step keeps the previous states and
    repeats the previous output ``states[0]`` (zeros with ``zero_output``),
    as Keras' loop does. Returns (last_output, outputs, states), ``outputs``
    (batch, T, H) or None.
    """
    outputs = []
    output = None
    if mask is None:
        for x_t in torch.unbind(xs, dim=1):
            output, states = step(x_t, states, constants)
            if return_sequences:
                outputs.append(output)
    else:
        keep = torch.unbind(mask.to(torch.bool).unsqueeze(-1), dim=1)
        for x_t, m_t in zip(torch.unbind(xs, dim=1), keep):
            new_output, new_states = step(x_t, states, constants)
            previous = torch.zeros_like(new_output) if zero_output else states[0]
            output = torch.where(m_t, new_output, previous)
            states = [torch.where(m_t, n, s) for n, s in zip(new_states, states)]
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


def set_threads(threads):
    """``threads`` intra-op CPU threads (``torch.set_num_threads``)."""
    torch.set_num_threads(threads)


def data_parallel(num_devices=None):
    """Join the process group ``torchrun`` describes (``RANK``, ``WORLD_SIZE``,
    ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``): NCCL with one GPU per
    process, gloo on CPU. Returns ``(replicas, process_index, process_count)``."""
    import os

    import torch.distributed as dist

    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise ValueError(
            "--distribute on the torch backend runs one process per replica, launched by "
            "torchrun: torchrun --nproc-per-node N training/SCRIPT.py --backend torch "
            "--distribute ...")
    world = int(os.environ["WORLD_SIZE"])
    if num_devices and num_devices != world:
        raise ValueError(f"--distribute {num_devices} but torchrun started {world} processes "
                         f"(--nproc-per-node): give the same number, or --distribute alone.")
    if not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return world, dist.get_rank(), world


def process_group_size():
    """Processes in the default process group (1 without one)."""
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def distributed_train_step(model, loss_tracker_update):
    """Replace ``model``'s train step by Keras' own torch train step with the
    forward pass through ``DistributedDataParallel(model)``: its backward pass
    averages the gradients over the processes, so ``model.optimizer.apply``
    (constraints, learning-rate multipliers, clipping, loss scaling) runs on
    identical gradients and weights in every process. ``DistributedDataParallel``
    also broadcasts process 0's weights once, at wrapping.

    ``loss_tracker_update(model, loss, batch_size)`` records the step's loss
    (averaged over the processes) as Keras' train step does.
    """
    import keras
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    device = [torch.cuda.current_device()] if torch.cuda.is_available() else None
    # A closure, not an attribute: an attribute would make the DDP module a
    # submodule of the model it wraps (a cycle).
    ddp = DistributedDataParallel(model, device_ids=device)
    world = dist.get_world_size()

    def train_step(data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        y_pred = ddp(x, training=True)
        model.zero_grad()
        loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                  training=True)
        reported = loss.detach().clone()
        dist.all_reduce(reported)
        first = next(t for t in keras.tree.flatten(x) if t is not None)
        loss_tracker_update(model, reported / world, first.shape[0])
        if model.optimizer is not None:
            loss = model.optimizer.scale_loss(loss)
        loss.backward()
        weights = model.trainable_weights[:]
        with torch.no_grad():
            model.optimizer.apply([v.value.grad for v in weights], weights)
        return model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    model.train_step = train_step
    model.train_function = None
    return ddp


def average_over_processes(values):
    """The mean over the processes of a list of floats (one all-reduce)."""
    import torch.distributed as dist

    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor)
    return (tensor / dist.get_world_size()).tolist()


def barrier():
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
