"""What the loaders share: the data directory, clear "not found" errors,
checksums and atomic writes (a temporary sibling, then one rename)."""

import contextlib
import glob
import hashlib
import os
import shutil
import tempfile

DATA_DIR_VARIABLE = "RNNZOO_DATA_DIR"
"""The environment variable every loader reads when ``data_dir`` is None."""

PREPARE = "python -m keras_rnnzoo.datasets prepare"


class DataNotFoundError(FileNotFoundError):
    """A data set is not where the loader looked: the message names the data
    set, every place looked in, and how to supply it."""


def resolve_data_dir(data_dir):
    """``data_dir``, else ``$RNNZOO_DATA_DIR``, else None (as a str path)."""
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_VARIABLE) or None
    return None if data_dir is None else os.fspath(data_dir)


def not_found(dataset, looked_in, supply):
    """The error of a missing data set: ``looked_in`` (the paths or sources
    tried, in order) and ``supply`` (the command or layout that provides it)."""
    places = "\n".join(f"  - {p}" for p in looked_in) or "  (nothing: no data_dir given)"
    return DataNotFoundError(
        f"{dataset} not found. Looked in:\n{places}\nTo supply it: {supply}\n(pass "
        f"`data_dir=` / --data-dir, or set ${DATA_DIR_VARIABLE}.)")


def sha256(path):
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_directory(path):
    """Yield a temporary directory beside ``path``; on success it replaces
    ``path`` (one rename), on an exception it is removed and ``path`` is
    untouched."""
    path = os.path.abspath(os.fspath(path))
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.tmp-", dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would make the data private
    try:
        yield tmp
        if os.path.isdir(path):
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old-", dir=parent)
            os.rename(path, os.path.join(old, "x"))
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=os.path.dirname(
        os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def tfds_version_dir(data_dir, name):
    """The newest ``DATA_DIR/<name>/<version>/`` holding a ``dataset_info.json``."""
    found = glob.glob(os.path.join(glob.escape(data_dir), name, "*", "dataset_info.json"))

    def version(path):
        text = os.path.basename(os.path.dirname(path))
        try:
            return tuple(int(p) for p in text.split("."))
        except ValueError:
            return ()
    found = [p for p in found if version(p)]
    return os.path.dirname(max(found, key=version)) if found else None


def keras_cache_dirs():
    """Keras' dataset cache folders ($KERAS_HOME, ~/.keras, /tmp/.keras)."""
    homes = [os.environ.get("KERAS_HOME") or None, os.path.join("~", ".keras"),
             os.path.join("/tmp", ".keras")]
    dirs = []
    for home in homes:
        if home:
            d = os.path.join(os.path.expanduser(home), "datasets")
            if d not in dirs:
                dirs.append(d)
    return dirs
