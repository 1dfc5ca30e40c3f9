"""Shared base of the tasks' ``model.fit`` datasets: fresh, seeded, resumable."""

import keras


def check_epochs(epochs, start_epoch):
    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int)
                               or epochs <= start_epoch):
        raise ValueError(f"`epochs` must be None or an int > start_epoch ({start_epoch}); "
                         f"got {epochs!r}.")


class SeededBatches(keras.utils.PyDataset):
    """Batch ``i`` of epoch ``e`` is ``self.draw(seed=(seed, e, i))``.

    Every step sees new data, and a resumed run (``start_epoch``) sees the
    same data it would have seen. Subclasses implement ``draw(seed)``.

    Two modes:

    * ``epochs=None``: one epoch of ``steps_per_epoch`` batches; the epoch
      index counts ``on_epoch_end`` calls from ``start_epoch``. Keras calls it
      once before training too (after reading batch 0 for the input spec), so
      under ``fit`` epoch ``e`` draws from ``e + 1``.
    * ``epochs=E`` (what the training scripts use): the whole run, epochs
      ``start_epoch .. E - 1``, as one indexed stream of
      ``(E - start_epoch) * steps_per_epoch`` batches; batch ``j`` is batch
      ``j % steps_per_epoch`` of epoch ``start_epoch + j // steps_per_epoch``,
      whenever and in whatever order Keras reads it. Fit it with
      ``fit(ds, epochs=E, initial_epoch=start_epoch, steps_per_epoch=
      steps_per_epoch, shuffle=False)``: an interrupted and resumed run then
      trains on exactly the batches of an uninterrupted one.

    Args:
        steps_per_epoch: batches per epoch (>= 1).
        seed: int (or tuple of ints) prefixed to every batch seed.
        start_epoch: epoch index of the first epoch (for resuming).
        epochs: None, or the index one past the last epoch (indexed mode).
    """

    def __init__(self, steps_per_epoch=100, seed=0, start_epoch=0, epochs=None):
        super().__init__()
        if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) \
                or steps_per_epoch < 1:
            raise ValueError(f"`steps_per_epoch` must be an int >= 1; got {steps_per_epoch!r}.")
        check_epochs(epochs, start_epoch)
        self.steps_per_epoch = steps_per_epoch
        self.seed = seed
        self.start_epoch = start_epoch
        self.epochs = epochs
        self.epoch = start_epoch

    def draw(self, seed):
        raise NotImplementedError

    def __len__(self):
        if self.epochs is None:
            return self.steps_per_epoch
        return (self.epochs - self.start_epoch) * self.steps_per_epoch

    def __getitem__(self, index):
        prefix = tuple(self.seed) if isinstance(self.seed, (tuple, list)) else (self.seed,)
        if self.epochs is None:
            return self.draw(prefix + (self.epoch, index))
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range [0, {len(self)}).")
        epoch, index = divmod(index, self.steps_per_epoch)
        return self.draw(prefix + (self.start_epoch + epoch, index))

    def on_epoch_end(self):
        if self.epochs is None:
            self.epoch += 1
