"""CIFAR-10 as NumPy arrays, and sequential CIFAR-10 (sCIFAR-10).

sCIFAR-10 (Gu et al.): each 32 x 32 image read in row-major pixel order, one
step per pixel with its RGB triple as input, 1024 steps x 3 channels;
pixels uint8 / 255 (the input normalisation of the paper is not available:
[0, 1] is this project's documented choice).

No package registry provides CIFAR-10, so the user supplies it: the
standard "CIFAR-10 python version" (``cifar-10-python.tar.gz`` from
https://www.cs.toronto.edu/~kriz/cifar.html, extracted, or the archive
itself) in the data directory, or a TFDS ``cifar10`` prepared online with
``tfds.builder("cifar10", data_dir=D).download_and_prepare()``.

Format of ``cifar-10-batches-py/``: ``data_batch_1`` ... ``data_batch_5``
(training, 10,000 images each) and ``test_batch`` (10,000), each a pickled
dict (read with ``encoding="bytes"``) whose ``b"data"`` is uint8 (n, 3072):
the red plane, then green, then blue, each 32 x 32 row-major; ``b"labels"``:
n ints 0-9. ``batches.meta`` holds ``b"label_names"``.
"""

import os
import pickle
import tarfile

import numpy as np

from keras_rnnzoo.datasets._common import keras_cache_dirs
from keras_rnnzoo.datasets._common import not_found
from keras_rnnzoo.datasets._common import resolve_data_dir
from keras_rnnzoo.datasets._common import tfds_version_dir

BATCHES_DIR = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
DOWNLOAD_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
LABEL_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")
NUM_CLASSES = 10
NUM_PIXELS = 1024
TFDS_NAME = "cifar10"


def _read_batch(read, name, where):
    """One pickled batch -> (uint8 (n, 3072), labels (n,))."""
    try:
        content = pickle.loads(read(name), encoding="bytes")
    except Exception as e:  # pickle raises several types for a damaged file
        raise ValueError(f"{where}/{name} is not a CIFAR-10 python batch: {e}") from e
    if not isinstance(content, dict) or b"data" not in content or b"labels" not in content:
        raise ValueError(f"{where}/{name} is not a CIFAR-10 python batch: expected a dict with "
                         f"b'data' and b'labels'.")
    data, labels = np.asarray(content[b"data"]), np.asarray(content[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * NUM_PIXELS:
        raise ValueError(f"{where}/{name}: b'data' is {data.dtype} of shape {data.shape}; "
                         f"expected uint8 (n, 3072) (R, G, B planes of 32 x 32).")
    if labels.shape != (len(data),):
        raise ValueError(f"{where}/{name}: {len(data)} images but b'labels' of shape "
                         f"{labels.shape}.")
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(f"{where}/{name}: labels outside 0 ... 9.")
    return data, labels.astype(np.uint8)


def _to_images(data):
    """(n, 3072) planes -> (n, 32, 32, 3) HWC: pixel t, channel c = data[c * 1024 + t]."""
    return data.reshape(-1, 3, NUM_PIXELS).transpose(0, 2, 1).reshape(-1, 32, 32, 3)


def _load_batches(read, where):
    parts = [_read_batch(read, name, where) for name in TRAIN_BATCHES]
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    x_test, y_test = _read_batch(read, TEST_BATCH, where)
    return (_to_images(x), y), (_to_images(x_test), y_test)


def _read_file(directory):
    def read(name):
        with open(os.path.join(directory, name), "rb") as f:
            return f.read()
    return read


def _load_archive(path):
    try:
        with tarfile.open(path, "r:*") as archive:
            def read(name):
                member = archive.extractfile(f"{BATCHES_DIR}/{name}")
                if member is None:
                    raise KeyError(name)
                return member.read()
            try:
                return _load_batches(read, f"{path}:{BATCHES_DIR}")
            except KeyError as e:
                raise ValueError(f"{path} lacks {BATCHES_DIR}/{e.args[0]}: not the CIFAR-10 "
                                 f"python archive ({ARCHIVE}).") from None
    except tarfile.TarError as e:
        raise ValueError(f"{path} is not a tar archive: {e}") from e


def _load_tfds(version_dir):
    from keras_rnnzoo.datasets.mnist import read_tfds_arrays

    out = []
    for split, content in zip(("train", "test"), read_tfds_arrays(version_dir)):
        x, y = np.asarray(content["image"]), np.asarray(content["label"])
        if x.dtype != np.uint8 or x.shape[1:] != (32, 32, 3) or y.shape != (len(x),):
            raise ValueError(f"{version_dir}: the {split} split has images {x.dtype} "
                             f"{x.shape} and labels {y.shape}; expected uint8 (N, 32, 32, 3).")
        out.append((x, y.astype(np.uint8)))
    return tuple(out)


def _keras_cache_dirs():
    return [os.path.join(d, "cifar-10-batches-py-target", BATCHES_DIR) for d in keras_cache_dirs()]


def load_cifar10_uint8(data_dir=None):
    """The standard CIFAR-10 splits as uint8 images (N, 32, 32, 3), from files.

    Tries, in order: ``DATA_DIR/cifar-10-batches-py/`` (the extracted
    archive), the batch files directly in ``DATA_DIR``, the archive
    ``DATA_DIR/cifar-10-python.tar.gz`` itself, a prepared TFDS ``cifar10``
    (``DATA_DIR/cifar10/<version>/dataset_info.json``; tensorflow_datasets is
    imported only then; TFDS keeps its own example order), and Keras'
    extracted cache (``~/.keras/datasets/cifar-10-batches-py-target/``).
    Nothing is downloaded.

    Args:
        data_dir: the data directory; default ``$RNNZOO_DATA_DIR``.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: uint8 images (N, 32, 32, 3)
        (HWC, ``x[i, r, c, ch]``) and uint8 labels (N,); 50,000 and 10,000 for
        the standard files.

    Raises:
        DataNotFoundError (a FileNotFoundError): nothing found; the message
            says where to get the data and where to put it.
        ValueError: a file that is not in the CIFAR-10 python format.

    Example:
        >>> (x, y), (x_test, y_test) = load_cifar10_uint8("/data")
        >>> x.shape, x_test.shape
        ((50000, 32, 32, 3), (10000, 32, 32, 3))
    """

    data_dir = resolve_data_dir(data_dir)
    names = TRAIN_BATCHES + (TEST_BATCH,)
    looked = []
    if data_dir is not None:
        for directory in (os.path.join(data_dir, BATCHES_DIR), data_dir):
            if all(os.path.isfile(os.path.join(directory, n)) for n in names):
                return _load_batches(_read_file(directory), directory)
            looked.append(f"{directory}/ (data_batch_1 ... data_batch_5, test_batch)")
        archive = os.path.join(data_dir, ARCHIVE)
        if os.path.isfile(archive):
            return _load_archive(archive)
        looked.append(f"{archive} (the archive, not extracted)")
        version_dir = tfds_version_dir(data_dir, TFDS_NAME)
        if version_dir is not None:
            return _load_tfds(version_dir)
        looked.append(f"{os.path.join(data_dir, TFDS_NAME)}/<version>/dataset_info.json (a "
                      f"prepared TFDS cifar10)")
    for directory in _keras_cache_dirs():
        if all(os.path.isfile(os.path.join(directory, n)) for n in names):
            return _load_batches(_read_file(directory), directory)
        looked.append(f"{directory}/ (Keras' cache)")
    target = data_dir if data_dir is not None else "DATA_DIR"
    raise not_found("CIFAR-10", looked, (
        f"no package registry provides CIFAR-10 (and `python -m keras_rnnzoo.datasets "
        f"prepare` cannot fetch it). Download the CIFAR-10 python version ({ARCHIVE}) from "
        f"{DOWNLOAD_PAGE} and extract it into {target}, giving "
        f"{os.path.join(target, BATCHES_DIR)}/ with data_batch_1 ... data_batch_5, "
        f"test_batch and batches.meta (or leave the archive itself at "
        f"{os.path.join(target, ARCHIVE)}); or, online, let TFDS prepare it: "
        f"`tfds.builder(\"cifar10\", data_dir=\"{target}\").download_and_prepare()`."))


def load_seq_cifar10(data_dir=None):
    """Sequential CIFAR-10: 1024 steps (pixels, row-major) of 3 values (RGB).

    Step t of an image is the RGB triple of pixel t = 32 * row + column:
    ``x[i, t, c] = data[i, c * 1024 + t] / 255`` for a python batch's
    ``b"data"`` row (and ``image[row, column, c] / 255`` for TFDS).

    Args:
        data_dir: the data directory (see :func:`load_cifar10_uint8`); default
            ``$RNNZOO_DATA_DIR``.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: float32 (N, 1024, 3) in
        [0, 1] (uint8 / 255) and int32 labels (N,); the same NumPy arrays on
        every backend.

    Example:
        >>> (x, y), (x_test, y_test) = load_seq_cifar10("/data")
        >>> x.shape, x.dtype, y.dtype
        ((50000, 1024, 3), dtype('float32'), dtype('int32'))
    """
    out = []
    for x, y in load_cifar10_uint8(data_dir):
        x = x.reshape(len(x), NUM_PIXELS, 3).astype(np.float32)
        x /= np.float32(255.0)  # in place: the training split is 614 MB as float32
        out.append((x, y.astype(np.int32)))
    return tuple(out)
