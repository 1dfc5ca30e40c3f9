"""Data parallelism on every backend, with Keras' and the frameworks' own engines.

``data_parallel()`` sets up one replica per device (JAX, TensorFlow) or per
process (torch) and returns a :class:`Replicas`; ``single()`` is the same
interface for one replica. A training loop reads::

    replicas = distribution.data_parallel()      # before any tensor exists
    with replicas.scope():                        # TensorFlow's strategy scope
        model = build_and_compile()
    replicas.prepare(model)                       # torch: DistributedDataParallel
    data = replicas.shard_batches(tasks.CopyMemoryBatches(global_batch, ...))
    model.fit(data, callbacks=replicas.callbacks() + [...])

======================  ============================================  ==========================
backend                 engine                                        launch
======================  ============================================  ==========================
JAX                     ``keras.distribution.DataParallel`` over the  ``python script.py
                        local devices (several hosts:                 --distribute``
                        ``keras.distribution.initialize``)
TensorFlow              ``tf.distribute.MirroredStrategy``            ``python script.py
                        (``MultiWorkerMirroredStrategy`` with          --distribute``
                        ``TF_CONFIG``)
torch                   ``torch.distributed`` + ``DistributedData-     ``torchrun --nproc-per-node
                        Parallel`` (NCCL on GPUs, gloo on CPU)         N script.py --distribute``
======================  ============================================  ==========================

The batch is global everywhere: the data streams draw the same global batch
``j`` whatever the replica count, and each *process* keeps its rows
(``shard = (process_index, process_count)``: all of it on one host with JAX
or TensorFlow, whose engines split it over the devices; ``1/N`` of it in
each torch process). The loss of a replica is the mean over its rows and the
engines average the gradients, so a run over N replicas trains the model of
one replica with the same global batch, up to float rounding. The optimiser
then runs on identical gradients and weights everywhere: the zoo's
constraints (spectral clipping, the stable projections), learning-rate
multipliers, gradient clipping and loss scaling, and the callbacks that
change weights (``DtrivRetraction``) act identically on every replica.

Only the chief (process 0) writes files: :func:`keras_rnnzoo.utils.runs`
gives the other processes no file-writing callbacks, and a
``BackupAndRestore`` that only restores.
"""

import contextlib
import os

import keras

_BACKEND = keras.backend.backend()


def _impl():
    from keras_rnnzoo.backend import _impl as impl

    if impl is None or not hasattr(impl, "data_parallel"):
        raise ValueError(f"data parallelism is not available on the {_BACKEND} backend: use "
                         f"jax, tensorflow or torch.")
    return impl


class Replicas:
    """Where a run's replicas are and what each process does.

    Attributes:
        backend: the Keras backend.
        num_replicas: replicas training in lock step (devices, or torch processes).
        process_index, process_count: this process among the run's processes.
        strategy: the ``tf.distribute`` strategy (TensorFlow), else None.
    """

    def __init__(self, num_replicas=1, process_index=0, process_count=1, strategy=None,
                 distributed=False):
        self.backend = _BACKEND
        self.num_replicas = int(num_replicas)
        self.process_index = int(process_index)
        self.process_count = int(process_count)
        self.strategy = strategy
        self.distributed = bool(distributed)
        self._prepared = []

    @property
    def is_chief(self):
        """True in the process that writes files (process 0)."""
        return self.process_index == 0

    @property
    def shard(self):
        """``(index, count)``: this process feeds rows ``index/count .. (index + 1)/count``
        of every global batch (the ``shard`` argument of the zoo's batch streams)."""
        return (self.process_index, self.process_count)

    def local_batch_size(self, global_batch_size):
        """The rows of a global batch this process feeds; ValueError unless the
        global batch splits evenly over the replicas."""
        if global_batch_size % self.num_replicas:
            raise ValueError(
                f"the global batch size {global_batch_size} does not split over "
                f"{self.num_replicas} replicas: use a multiple of {self.num_replicas}.")
        return global_batch_size // self.process_count

    def shard_batches(self, batches):
        """``batches`` (a ``keras.utils.PyDataset`` of global batches) as this
        process feeds it: the same dataset in one process, a
        :class:`ShardedBatches` in each torch process."""
        if self.process_count == 1:
            return batches
        return ShardedBatches(batches, self.process_index, self.process_count)

    def scope(self):
        """Build and compile the model inside it (TensorFlow's strategy scope)."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def prepare(self, model):
        """After ``compile``, before ``fit``: on torch, the model's train step
        runs its forward pass through ``DistributedDataParallel`` (gradients
        averaged over the processes before the zoo's optimiser applies them).
        Nothing to do elsewhere. Returns ``model``."""
        if self.backend == "torch" and self.distributed and \
                not any(m is model for m in self._prepared):
            from keras_rnnzoo import _keras_internals
            from keras_rnnzoo.backend import torch as torch_impl

            if model.optimizer is None:
                raise ValueError("Replicas.prepare(model) needs a compiled model: call "
                                 "model.compile(...) first.")
            torch_impl.distributed_train_step(model, _keras_internals.update_loss_tracker)
            model._rnnzoo_data_parallel = True
            self._prepared.append(model)
        return model

    def callbacks(self):
        """Callbacks every process needs first in ``fit``'s list: on torch, the
        epoch logs averaged over the processes (the loss of the global batch)."""
        if self.backend == "torch" and self.distributed and self.process_count > 1:
            return [AverageLogs()]
        return []

    def barrier(self):
        """Wait for every process (torch); nothing elsewhere."""
        if self.backend == "torch" and self.distributed:
            from keras_rnnzoo.backend import torch as torch_impl

            torch_impl.barrier()

    def describe(self):
        if not self.distributed:
            return "one replica"
        engine = {"jax": "keras.distribution.DataParallel",
                  "tensorflow": type(self.strategy).__name__ if self.strategy else "",
                  "torch": "DistributedDataParallel"}[self.backend]
        return (f"{self.num_replicas} replicas ({engine}), process {self.process_index} of "
                f"{self.process_count}")


class ShardedBatches(keras.utils.PyDataset):
    """Rows ``index * b/count .. (index + 1) * b/count`` of every batch of
    ``batches`` (each array of a batch, split on its first axis): what process
    ``index`` of ``count`` feeds. Batch ``j`` is the same global batch in every
    process, so the processes together train on exactly the batches of one.

    Example:
        >>> from keras_rnnzoo import tasks
        >>> full = tasks.CopyMemoryBatches(8, 5, 2, steps_per_epoch=3)
        >>> [x.shape[0] for x in ShardedBatches(full, 1, 2)[0]]
        [4, 4]
    """

    def __init__(self, batches, index, count):
        super().__init__()
        if not (isinstance(count, int) and count >= 1 and isinstance(index, int)
                and 0 <= index < count):
            raise ValueError(f"`index` must be in [0, count) and `count` >= 1; got index "
                             f"{index!r}, count {count!r}.")
        self.batches, self.index, self.count = batches, index, count

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        batch = self.batches[i]
        return keras.tree.map_structure(self._rows, batch)

    def _rows(self, array):
        if array is None:
            return None
        rows = array.shape[0]
        if rows % self.count:
            raise ValueError(f"a batch of {rows} rows does not split over {self.count} "
                             f"processes: use a batch size that is a multiple of {self.count}.")
        size = rows // self.count
        return array[self.index * size:(self.index + 1) * size]

    def on_epoch_end(self):
        self.batches.on_epoch_end()


class AverageLogs(keras.callbacks.Callback):
    """Each epoch's numeric logs replaced by their mean over the torch processes
    (one all-reduce), before the callbacks that record them."""

    def on_epoch_end(self, epoch, logs=None):
        if not logs:
            return
        from keras_rnnzoo.backend import torch as torch_impl

        keys = sorted(k for k, v in logs.items() if isinstance(v, (int, float)))
        for key, value in zip(keys, torch_impl.average_over_processes(
                [float(logs[k]) for k in keys])):
            logs[key] = value


def single():
    """One replica in one process (no distribution)."""
    return Replicas()


def data_parallel(num_devices=None):
    """Data parallelism with this backend's engine (see the module docstring).

    Call it before any tensor or model exists. ``num_devices``: the local
    devices to use (None: all; on a CPU-only host, N > 1 makes N virtual CPU
    devices on JAX and TensorFlow, for tests and multi-core CPUs; on torch, the
    processes torchrun started, checked).
    """
    if num_devices is not None and (isinstance(num_devices, bool) or
                                    not isinstance(num_devices, int) or num_devices < 1):
        raise ValueError(f"`num_devices` must be None or an int >= 1; got {num_devices!r}.")
    impl = _impl()
    if _BACKEND == "tensorflow":
        strategy = impl.data_parallel(num_devices)
        index, count = launched_processes()
        return Replicas(strategy.num_replicas_in_sync, index, count, strategy=strategy,
                        distributed=True)
    replicas, index, count = impl.data_parallel(num_devices)
    return Replicas(replicas, index, count, distributed=True)


def launched_processes():
    """``(process_index, process_count)`` as the launcher's environment tells
    (torchrun, Keras' multi-host JAX variables, ``TF_CONFIG``), before any set-up."""
    if _BACKEND == "torch" and "WORLD_SIZE" in os.environ:
        return int(os.environ.get("RANK", 0)), int(os.environ["WORLD_SIZE"])
    if _BACKEND == "jax" and int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1")) > 1:
        return (int(os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID", 0)),
                int(os.environ["KERAS_DISTRIBUTION_NUM_PROCESSES"]))
    if _BACKEND == "tensorflow" and os.environ.get("TF_CONFIG"):
        import json

        cluster = json.loads(os.environ["TF_CONFIG"])
        workers = sum(len(v) for k, v in cluster.get("cluster", {}).items()
                      if k in ("chief", "worker"))
        task = cluster.get("task", {})
        index = int(task.get("index", 0)) + (1 if task.get("type") == "worker"
                                             and "chief" in cluster.get("cluster", {}) else 0)
        return index, workers
    return 0, 1


def check_single_process_fit(model):
    """ValueError when ``model.fit`` would train separate models in a torch
    process group (``fit`` does not synchronise replicas by itself)."""
    if _BACKEND != "torch" or getattr(model, "_rnnzoo_data_parallel", False):
        return
    from keras_rnnzoo.backend import torch as torch_impl

    size = torch_impl.process_group_size()
    if size > 1:
        raise ValueError(
            f"model.fit runs in a torch process group of {size} processes, but Keras' torch "
            f"fit does not synchronise them: each would train its own model. Call "
            f"keras_rnnzoo.utils.distribution.data_parallel().prepare(model) after compile "
            f"(the training scripts: --distribute).")
