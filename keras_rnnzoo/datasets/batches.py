"""Seeded, resumable ``model.fit`` batches of in-memory arrays."""

import keras
import numpy as np

from keras_rnnzoo.tasks.music import _check_int


class _BatchStream(keras.utils.PyDataset):
    """An endless stream of batches, read as Keras epochs (see :class:`ArrayBatches`).

    Subclasses set ``batches_per_pass`` and implement ``batch(stream_index)``.
    """

    def _stream_setup(self, steps_per_epoch, start_epoch, epochs):
        _check_int(start_epoch, "start_epoch", minimum=0)
        if steps_per_epoch is not None:
            _check_int(steps_per_epoch, "steps_per_epoch")
        if epochs is not None:
            if steps_per_epoch is None:
                raise ValueError("`epochs` (the indexed mode) needs an int `steps_per_epoch`.")
            _check_int(epochs, "epochs", minimum=start_epoch + 1)
        self.steps_per_epoch = steps_per_epoch
        self.start_epoch = int(start_epoch)
        self.epochs = epochs
        self.epoch = int(start_epoch)

    def __len__(self):
        if self.epochs is not None:
            return (self.epochs - self.start_epoch) * self.steps_per_epoch
        return self.batches_per_pass if self.steps_per_epoch is None else self.steps_per_epoch

    def stream_index(self, index):
        """The position in the endless stream of batch ``index`` of this dataset."""
        if self.epochs is not None:
            return self.start_epoch * self.steps_per_epoch + index
        return self.epoch * len(self) + index

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range [0, {len(self)}).")
        return self.batch(self.stream_index(index))

    def on_epoch_end(self):
        if self.epochs is None:
            self.epoch += 1


class ArrayBatches(_BatchStream):
    """Shuffled mini-batches of arrays that share their first axis, for ``fit``.

    The batches form one endless stream of passes over the N examples: pass
    ``p`` visits them in the order ``default_rng((seed, p)).permutation(N)``,
    cut into ``N // batch_size`` full batches (the remainder of a pass is left
    out, so every batch has the same shape: no retracing on JAX or
    TensorFlow). Batch ``j`` of the stream is a pure function of ``(seed,
    j)``: with ``epochs=E`` the dataset is the whole run, epochs
    ``start_epoch .. E - 1`` of ``steps_per_epoch`` batches each, and a
    resumed run (``start_epoch``) trains on exactly the batches of an
    uninterrupted one. Fit it with ``fit(ds, epochs=E, initial_epoch=
    start_epoch, steps_per_epoch=steps_per_epoch, shuffle=False)``.

    Args:
        arrays: a tuple ``(x, y)`` or ``(x, y, sample_weight)`` of NumPy arrays
            with the same first dimension N (N >= batch_size); float arrays
            must be finite (NaN or inf raises, naming the array and index).
        batch_size: examples per batch.
        seed: non-negative int of the shuffles.
        steps_per_epoch: batches per Keras epoch (None: one pass).
        start_epoch: Keras epoch index of the first epoch (for resuming).
        epochs: None, or one past the last epoch (the indexed mode; needs
            ``steps_per_epoch``).
        shuffle: False visits the examples in their order every pass.

    Example:
        >>> x = np.zeros((100, 784, 1), "float32"); y = np.zeros(100, "int32")
        >>> ds = ArrayBatches((x, y), batch_size=32, seed=0)
        >>> [a.shape for a in ds[0]]
        [(32, 784, 1), (32,)]
    """

    def __init__(self, arrays, batch_size, seed=0, steps_per_epoch=None, start_epoch=0,
                 epochs=None, shuffle=True):
        super().__init__()
        if not isinstance(arrays, (tuple, list)) or not 1 <= len(arrays) <= 3:
            raise ValueError("`arrays` must be a tuple (x,), (x, y) or (x, y, sample_weight) "
                             f"of arrays; got {type(arrays).__name__}.")
        arrays = tuple(np.asarray(a) for a in arrays)
        sizes = {a.shape[0] if a.ndim else None for a in arrays}
        if len(sizes) != 1 or None in sizes:
            raise ValueError("the arrays of `arrays` must share their first dimension; got "
                             f"shapes {[a.shape for a in arrays]}.")
        _check_int(batch_size, "batch_size")
        _check_int(seed, "seed", minimum=0)
        for index, a in enumerate(arrays):  # one pass at construction: cheap beside training
            if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
                bad = ~np.isfinite(a)
                first = tuple(int(i) for i in np.argwhere(bad)[0])
                raise ValueError(
                    f"`arrays[{index}]` holds {int(bad.sum())} non-finite value(s) (NaN or "
                    f"inf), the first at index {first}: they would make the loss and the "
                    f"weights NaN. Clean them (np.nan_to_num) or drop those examples.")
        n = sizes.pop()
        if n == 0:
            raise ValueError("`arrays` hold no examples (first dimension 0): pass at least "
                             "`batch_size` examples.")
        if n < batch_size:
            raise ValueError(f"`batch_size` {batch_size} is larger than the {n} examples: "
                             f"use a batch size <= {n} or more data.")
        self._stream_setup(steps_per_epoch, start_epoch, epochs)
        self.arrays = arrays
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.num_examples = n
        self.batches_per_pass = n // self.batch_size
        self._order = (None, None)

    def order(self, pass_index):
        """Example indices of pass ``pass_index``, in visiting order."""
        if not self.shuffle:
            return np.arange(self.num_examples)
        if self._order[0] != pass_index:
            rng = np.random.default_rng((self.seed, pass_index))
            self._order = (pass_index, rng.permutation(self.num_examples))
        return self._order[1]

    def batch(self, stream):
        pass_index, position = divmod(stream, self.batches_per_pass)
        start = position * self.batch_size
        chosen = self.order(pass_index)[start:start + self.batch_size]
        out = tuple(a[chosen] for a in self.arrays)
        return out if len(out) > 1 else out[0]


def batchify(tokens, batch_size):
    """Cut a token stream into ``batch_size`` contiguous columns: (batch_size, n)
    with n = len(tokens) // batch_size; the remainder at the end is left out
    (``pytorch/examples``' ``batchify``, rows instead of columns)."""
    tokens = np.asarray(tokens)
    if tokens.ndim != 1 or not np.issubdtype(tokens.dtype, np.integer):
        raise ValueError(f"`tokens` must be a 1-D array of int ids; got dtype {tokens.dtype} "
                         f"and shape {tokens.shape}.")
    _check_int(batch_size, "batch_size")
    n = tokens.shape[0] // batch_size
    if n < 2:
        raise ValueError(f"{tokens.shape[0]} tokens are too few for {batch_size} columns "
                         f"(each needs 2 tokens or more): use a smaller batch size.")
    return tokens[:n * batch_size].reshape(batch_size, n).astype(np.int32)


class LanguageModelBatches(_BatchStream):
    """Truncated-BPTT windows of a token stream, for a stateful language model.

    The stream is cut into ``batch_size`` contiguous columns (:func:`batchify`);
    window ``w`` of a pass is ``x = columns[:, w*bptt : (w+1)*bptt]`` and
    ``y`` the same shifted by one token, so row ``b`` of window ``w + 1``
    continues row ``b`` of window ``w``: a stateful model (``RNNBackbone(...,
    stateful=True, batch_size=batch_size)``) carries its state across windows
    (Zaremba et al.'s and the asRNN code's batching). A pass is the
    ``windows_per_pass = (n - 1) // bptt`` full windows in order (the last
    partial window is left out, as in Zaremba's reader); the passes repeat.
    Reset the state at the start of each pass with
    :class:`keras_rnnzoo.callbacks.ResetStates` (``every=windows_per_pass``).

    Batch ``j`` of the stream is window ``j % windows_per_pass``; ``epochs=E``
    makes the whole run one indexed dataset (see :class:`ArrayBatches`), so a
    resumed run trains on the same windows.

    Args:
        tokens: 1-D int array (a split of :func:`load_ptb` / :func:`load_wikitext`).
        batch_size: number of columns B.
        bptt: window length.
        steps_per_epoch, start_epoch, epochs: as :class:`ArrayBatches`.

    Example:
        >>> ds = LanguageModelBatches(np.arange(1000), batch_size=4, bptt=35)
        >>> x, y = ds[0]; x.shape, int(y[0, 0] - x[0, 0])
        ((4, 35), 1)
    """

    def __init__(self, tokens, batch_size, bptt, steps_per_epoch=None, start_epoch=0,
                 epochs=None):
        super().__init__()
        _check_int(bptt, "bptt")
        self.columns = batchify(tokens, batch_size)
        self._stream_setup(steps_per_epoch, start_epoch, epochs)
        self.batch_size = int(batch_size)
        self.bptt = int(bptt)
        self.windows_per_pass = (self.columns.shape[1] - 1) // self.bptt
        if self.windows_per_pass < 1:
            raise ValueError(
                f"`bptt` {bptt} is longer than a column ({self.columns.shape[1] - 1} targets "
                f"with batch_size {batch_size}): use a shorter window or fewer columns.")
        self.batches_per_pass = self.windows_per_pass

    def batch(self, stream):
        start = (stream % self.windows_per_pass) * self.bptt
        return (self.columns[:, start:start + self.bptt],
                self.columns[:, start + 1:start + 1 + self.bptt])
