"""Shared base of the tasks' ``model.fit`` datasets: fresh, seeded, resumable."""

import keras


class SeededBatches(keras.utils.PyDataset):
    """Batch ``i`` of epoch ``e`` is ``self.draw(seed=(seed, e, i))``.

    Every step sees new data, and a resumed run (``start_epoch``) sees the
    same data it would have seen. Subclasses implement ``draw(seed)``.

    Args:
        steps_per_epoch: batches per epoch (>= 1).
        seed: int (or tuple of ints) prefixed to every batch seed.
        start_epoch: epoch index of the first epoch (for resuming).
    """

    def __init__(self, steps_per_epoch=100, seed=0, start_epoch=0):
        super().__init__()
        if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) \
                or steps_per_epoch < 1:
            raise ValueError(f"`steps_per_epoch` must be an int >= 1; got {steps_per_epoch!r}.")
        self.steps_per_epoch = steps_per_epoch
        self.seed = seed
        self.epoch = start_epoch

    def draw(self, seed):
        raise NotImplementedError

    def __len__(self):
        return self.steps_per_epoch

    def __getitem__(self, index):
        prefix = tuple(self.seed) if isinstance(self.seed, (tuple, list)) else (self.seed,)
        return self.draw(prefix + (self.epoch, index))

    def on_epoch_end(self):
        self.epoch += 1
