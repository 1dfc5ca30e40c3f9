"""Turning a preset handle into a verified local preset directory.

A handle is one of

* a built-in preset name (``"asrnn_copy_t100_h138"``): a directory shipped inside the
  package, verified in place;
* a local preset directory (``"./runs/copy"``, ``"~/presets/copy"``,
  ``"file:///abs/dir"``), verified in place;
* a ``.zip``, ``.tar.gz`` or ``.tgz`` archive of a preset, as a local path, a
  ``file://`` URL or an ``http(s)://`` URL, optionally ending in
  ``#sha256=<64 hex digits>`` (pip's convention) to check the archive: it is
  downloaded with ``keras.utils.get_file``, extracted and verified into the
  zoo's cache (:func:`cache_root`);
* ``hf://org/name[@revision]``: a Hugging Face Hub repository holding the
  preset files (``huggingface_hub.snapshot_download``; ``HF_ENDPOINT``,
  ``HF_TOKEN`` and the Hub's own cache settings apply);
* ``kaggle://owner/model/framework/variation[/version]``: a Kaggle model
  (``kagglehub.model_download``).

Every directory handed back has passed ``verify_directory``: its
``metadata.json`` lists the sha256 of each preset file and every file matches.

The cache holds one directory per archive URL, named after the archive's file
name plus a short sha256 of the URL. An entry appears only complete: the
archive is downloaded and extracted into a temporary directory inside the
cache root, verified, then renamed to the entry's name in one step. When two
processes download the same archive at once, the first rename wins and the
other process uses that entry. A cached entry is verified again on every use;
a damaged one is removed and downloaded afresh.
"""

import contextlib
import difflib
import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib

from keras_rnnzoo.presets._format import CONFIG_FILE
from keras_rnnzoo.presets._format import METADATA_FILE
from keras_rnnzoo.presets._format import WEIGHTS_FILE
from keras_rnnzoo.presets._format import PresetError
from keras_rnnzoo.presets._format import check_versions
from keras_rnnzoo.presets._format import read_metadata
from keras_rnnzoo.presets._format import sha256_file
from keras_rnnzoo.presets._format import verify_directory

CACHE_ENV = "KERAS_RNNZOO_CACHE"
TIMEOUT_ENV = "KERAS_RNNZOO_DOWNLOAD_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")
# Written into a cache entry beside the preset files: where it came from.
SOURCE_FILE = ".keras_rnnzoo_source.json"
_TEMP_PREFIX = ".tmp-"
_STALE_TEMP_SECONDS = 24 * 3600
_SHA256_FRAGMENT = re.compile(r"sha256=([0-9a-fA-F]{64})")

LIST_HINT = ("list the built-in presets with keras_rnnzoo.presets.list_presets() or "
             "`python -m keras_rnnzoo.presets list`")
ACCEPTED_FORMS = (
    "a handle is a built-in preset name; a local preset directory (path or file:///abs/dir); "
    "a .zip/.tar.gz/.tgz preset archive as a path or a file://, http:// or https:// URL, "
    "optionally ending in #sha256=<64 hex digits>; hf://org/name[@revision]; or "
    "kaggle://owner/model/framework/variation[/version]")


class MissingDependencyError(PresetError, ImportError):
    """A handle needs an optional package that is not installed."""


def cache_root():
    """The directory holding downloaded presets.

    ``$KERAS_RNNZOO_CACHE`` if set, else ``$KERAS_HOME/keras_rnnzoo/presets``
    if ``KERAS_HOME`` is set, else ``~/.keras/keras_rnnzoo/presets``.

    Example:

    ```python
    from keras_rnnzoo.presets._handles import cache_root
    print(cache_root())  # e.g. /home/me/.keras/keras_rnnzoo/presets
    ```
    """
    if os.environ.get(CACHE_ENV):
        return os.path.abspath(os.path.expanduser(os.environ[CACHE_ENV]))
    if os.environ.get("KERAS_HOME"):
        base = os.path.expanduser(os.environ["KERAS_HOME"])
    else:
        base = os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.abspath(os.path.join(base, "keras_rnnzoo", "presets"))


def builtin_presets():
    """The built-in preset registry ``{name: entry}``, or ``{}`` when the
    package ships none (``keras_rnnzoo.presets._registry`` absent)."""
    try:
        from keras_rnnzoo.presets._registry import BUILTIN_PRESETS
    except ModuleNotFoundError as e:
        if e.name not in ("keras_rnnzoo.presets._registry", "keras_rnnzoo.presets"):
            raise
        return {}
    return dict(BUILTIN_PRESETS)


def resolve(handle, builtin=None, cache_dir=None, progress=True):
    """Turn a preset handle into a verified local preset directory.

    Args:
        handle: a built-in preset name, a local preset directory, a preset
            archive (``.zip``/``.tar.gz``/``.tgz``) as a path or a ``file://``
            or ``http(s)://`` URL (optionally ``#sha256=<hex>``),
            ``hf://org/name[@revision]`` or
            ``kaggle://owner/model/framework/variation[/version]``.
        builtin: ``{name: entry}`` of built-in presets, each entry a dict with
            at least ``"path"`` (the preset's directory). ``None``: the
            package's registry (``keras_rnnzoo.presets._registry``), empty
            when the package ships none.
        cache_dir: where downloaded archives are extracted; ``None``:
            :func:`cache_root`. Hugging Face snapshots go under its
            ``huggingface`` subdirectory.
        progress: show download progress (``keras.utils.get_file``'s bar, the
            Hub's tqdm bars). ``False`` silences them.

    Returns:
        ``(directory, metadata)``: the absolute path of a directory that
        passed ``verify_directory`` and its ``metadata.json`` contents.

    Raises:
        PresetError: the handle cannot be resolved, downloaded or verified;
            the message names the handle and the fix.
            (``MissingDependencyError``, also an ``ImportError``, when the
            handle needs ``huggingface_hub`` or ``kagglehub``.)

    Example:

    ```python
    directory, metadata = resolve(
        "https://example.org/asrnn_copy_t100_h138.tar.gz#sha256=" + "0" * 64)
    print(directory, metadata["task"])
    ```
    """
    if isinstance(handle, os.PathLike):
        handle = os.fspath(handle)
    if not isinstance(handle, str) or not handle.strip():
        raise PresetError(f"preset handle {handle!r} must be a non-empty string; {ACCEPTED_FORMS}.")
    if "://" in handle:
        scheme, rest = handle.split("://", 1)
        scheme = scheme.lower()
        if scheme == "file":
            return _resolve_file_url(handle, cache_dir, progress)
        if scheme in ("http", "https"):
            url, expected = _split_fragment(handle)
            if not _is_archive(urllib.parse.urlsplit(url).path):
                raise PresetError(
                    f"preset handle {handle!r}: an http(s) URL must name a "
                    f"{'/'.join(ARCHIVE_SUFFIXES)} archive of a preset; {ACCEPTED_FORMS}.")
            return _resolve_archive(handle, url, expected, cache_dir, progress)
        if scheme == "hf":
            return _resolve_hf(handle, rest, cache_dir, progress)
        if scheme == "kaggle":
            return _resolve_kaggle(handle, rest)
        raise PresetError(f"preset handle {handle!r}: unknown scheme {scheme + '://'!r}; "
                          f"{ACCEPTED_FORMS}.")
    if builtin is None:
        builtin = builtin_presets()
    if _looks_like_name(handle) and (handle in builtin or not os.path.isdir(handle)):
        return _resolve_builtin(handle, builtin)
    return _resolve_local_path(handle, handle, cache_dir, progress)


def download(handle, cache_dir=None, progress=True, builtin=None):
    """Resolve ``handle`` (downloading it if needed) and return its directory.

    Args:
        handle: any handle :func:`resolve` accepts.
        cache_dir: the cache root; ``None``: :func:`cache_root`.
        progress: show download progress.
        builtin: the built-in registry, as for :func:`resolve`.

    Returns:
        The verified preset directory.

    Example:

    ```python
    directory = download("hf://my-org/copy-urnn@main")
    ```
    """
    return resolve(handle, builtin=builtin, cache_dir=cache_dir, progress=progress)[0]


def verify(handle, cache_dir=None, builtin=None, progress=True):
    """Resolve ``handle`` and return the metadata of its verified directory.

    Args:
        handle: any handle :func:`resolve` accepts.
        cache_dir: the cache root; ``None``: :func:`cache_root`.
        builtin: the built-in registry, as for :func:`resolve`.
        progress: show download progress.

    Returns:
        The preset's ``metadata.json`` contents (its ``files`` hold the
        sha256 each file was checked against).

    Example:

    ```python
    metadata = verify("./runs/asrnn_copy_t100_h138")
    print(metadata["files"])
    ```
    """
    return resolve(handle, builtin=builtin, cache_dir=cache_dir, progress=progress)[1]


# ---------------------------------------------------------------- handle kinds


def _looks_like_name(handle):
    seps = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return not any(s in handle for s in seps) and not handle.startswith(("~", ".")) \
        and not _is_archive(handle)


def _is_archive(path):
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def _resolve_builtin(handle, builtin):
    if handle not in builtin:
        close = difflib.get_close_matches(handle, [str(name) for name in builtin], n=3)
        if close:
            hint = f"did you mean {', '.join(repr(name) for name in close)}? "
        elif builtin:
            hint = ""
        else:
            hint = "this installation ships no built-in presets. "
        raise PresetError(
            f"unknown preset {handle!r}: {hint}{LIST_HINT}; for a local directory of that name "
            f"write './{handle}'. ({ACCEPTED_FORMS}.)")
    entry = builtin[handle]
    path = entry.get("path") if isinstance(entry, dict) else None
    if not path:
        raise PresetError(f"built-in preset {handle!r} has no 'path' in its registry entry; "
                          f"reinstall keras-rnnzoo.")
    directory = os.path.abspath(path)
    if not os.path.isdir(directory):
        raise PresetError(f"built-in preset {handle!r}: its directory {directory} is missing; "
                          f"reinstall keras-rnnzoo (`pip install --force-reinstall keras-rnnzoo`).")
    return directory, verify_directory(directory, handle)


def _resolve_file_url(handle, cache_dir, progress):
    url, expected = _split_fragment(handle)
    parts = urllib.parse.urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise PresetError(f"preset handle {handle!r}: a file:// URL must name a local path "
                          f"(file:///abs/dir); got host {parts.netloc!r}.")
    path = urllib.request.url2pathname(parts.path)
    if _is_archive(path):
        return _resolve_local_archive(handle, path, expected, cache_dir, progress)
    if expected:
        raise PresetError(f"preset handle {handle!r}: #sha256= applies to archives only; a "
                          f"directory is checked against its own {METADATA_FILE}. Drop the fragment.")
    return _resolve_directory(handle, path)


def _resolve_local_path(handle, path, cache_dir, progress):
    path, expected = _split_fragment(path) if "#sha256=" in path else (path, None)
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.isfile(path) and _is_archive(path):
        return _resolve_local_archive(handle, path, expected, cache_dir, progress)
    if expected:
        raise PresetError(f"preset handle {handle!r}: #sha256= applies to archives only; drop it.")
    return _resolve_directory(handle, path)


def _resolve_directory(handle, path):
    directory = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(directory):
        if os.path.exists(directory):
            what = "is a file, not a preset directory or a " + "/".join(ARCHIVE_SUFFIXES) + " archive"
        else:
            what = "does not exist"
        raise PresetError(f"preset {handle!r}: {directory} {what}; {ACCEPTED_FORMS}.")
    return directory, verify_directory(directory, handle)


def _resolve_local_archive(handle, path, expected, cache_dir, progress):
    path = os.path.abspath(os.path.expanduser(path))
    try:
        stat = os.stat(path)
    except OSError as e:
        raise PresetError(f"preset {handle!r}: cannot read the archive {path} ({e}); check the path.") from e
    url = urllib.parse.urljoin("file:", urllib.request.pathname2url(path))
    # A local file can change in place: its size and mtime are part of the key.
    key = f"{url}\n{stat.st_size}\n{stat.st_mtime_ns}"
    return _resolve_archive(handle, url, expected, cache_dir, progress, key=key)


def _split_fragment(handle):
    url, sep, fragment = handle.partition("#")
    if not sep:
        return handle, None
    match = _SHA256_FRAGMENT.fullmatch(fragment)
    if not match:
        raise PresetError(f"preset handle {handle!r}: unrecognised fragment {'#' + fragment!r}; "
                          f"the only one accepted is #sha256=<64 hex digits> (the archive's sha256).")
    return url, match.group(1).lower()


# ------------------------------------------------------------------ the cache


def _root(cache_dir):
    root = cache_root() if cache_dir is None else os.path.abspath(os.path.expanduser(os.fspath(cache_dir)))
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as e:
        raise PresetError(f"cannot create the preset cache {root} ({e}); set {CACHE_ENV} or pass "
                          f"cache_dir= a writable directory.") from e
    return root


def entry_name(url):
    """The cache directory name of an archive URL: a readable prefix from the
    archive's file name plus 16 hex digits of the URL's sha256 (fragment
    dropped)."""
    url = url.partition("#")[0]
    return _entry_name(url, url)


def _entry_name(url, key):
    base = os.path.basename(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    for suffix in ARCHIVE_SUFFIXES:
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
            break
    prefix = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")[:48] or "preset"
    return f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def _remove_tree(root, path):
    """Take ``path`` out of the cache in one step (a rename), then delete it."""
    try:
        trash = tempfile.mkdtemp(dir=root, prefix=_TEMP_PREFIX)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)
        return
    try:
        os.rename(path, os.path.join(trash, "old"))
    except OSError:
        pass  # already gone (another process removed or replaced it)
    shutil.rmtree(trash, ignore_errors=True)


def _remove_stale_temps(root):
    """Delete temporary directories that a killed process left behind a day ago."""
    now = time.time()
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        if name.startswith(_TEMP_PREFIX):
            path = os.path.join(root, name)
            try:
                if now - os.stat(path).st_mtime > _STALE_TEMP_SECONDS:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass


def _read_source(entry):
    try:
        with open(os.path.join(entry, SOURCE_FILE)) as f:
            source = json.load(f)
        return source if isinstance(source, dict) else {}
    except (OSError, ValueError):
        return {}


def _cached(root, entry, handle, expected):
    """The metadata of a good cache entry, or None (a damaged or stale entry
    is removed). A preset from a newer zoo raises (downloading again would not
    help)."""
    if not os.path.isdir(entry):
        return None
    if expected and _read_source(entry).get("archive_sha256") != expected:
        _remove_tree(root, entry)
        return None
    try:
        metadata = read_metadata(entry, handle)
    except PresetError:
        _remove_tree(root, entry)
        return None
    check_versions(metadata, handle)
    try:
        return verify_directory(entry, handle)
    except PresetError:
        _remove_tree(root, entry)
        return None


def _resolve_archive(handle, url, expected, cache_dir, progress, key=None):
    root = _root(cache_dir)
    entry = os.path.join(root, _entry_name(url, key or url))
    metadata = _cached(root, entry, handle, expected)
    if metadata is not None:
        return entry, metadata
    _remove_stale_temps(root)
    try:
        tmp = tempfile.mkdtemp(dir=root, prefix=_TEMP_PREFIX)
    except OSError as e:
        raise PresetError(f"preset {handle!r}: cannot write to the preset cache {root} ({e}); set "
                          f"{CACHE_ENV} or pass cache_dir= a writable directory.") from e
    try:
        archive = _download(handle, url, os.path.join(tmp, "download"), progress)
        actual = sha256_file(archive)
        if expected and actual != expected:
            raise PresetError(
                f"preset {handle!r}: the downloaded archive has sha256 {actual}, but the handle "
                f"asks for {expected}: the file at {url} is not the one expected (changed, damaged "
                f"or tampered with); check the URL and the #sha256= value.")
        extracted = os.path.join(tmp, "extracted")
        _extract(handle, archive, extracted)
        preset_dir = _find_preset(handle, extracted)
        verify_directory(preset_dir, handle)
        with open(os.path.join(preset_dir, SOURCE_FILE), "w") as f:
            json.dump({"url": url, "archive_sha256": actual, "downloaded": time.time()}, f)
        try:
            os.rename(preset_dir, entry)
        except OSError:
            if not os.path.isdir(entry):
                raise
            # Another process finished first: use its entry, discard ours.
    except PresetError:
        raise
    except OSError as e:
        raise PresetError(f"preset {handle!r}: could not store the preset in the cache {root} "
                          f"({e}); check free disk space and permissions, or set {CACHE_ENV}.") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return entry, verify_directory(entry, handle)


# ------------------------------------------------------------ downloading


_timeout_lock = threading.Lock()
_timeout_users = 0
_timeout_saved = None


@contextlib.contextmanager
def _socket_timeout(seconds):
    """Give urllib's sockets (``keras.utils.get_file`` opens them without a
    timeout) a default timeout while downloads run; restore it afterwards.
    Concurrent downloads in threads share one setting, restored by the last."""
    global _timeout_users, _timeout_saved
    with _timeout_lock:
        if _timeout_users == 0:
            _timeout_saved = socket.getdefaulttimeout()
            socket.setdefaulttimeout(seconds)
        _timeout_users += 1
    try:
        yield
    finally:
        with _timeout_lock:
            _timeout_users -= 1
            if _timeout_users == 0:
                socket.setdefaulttimeout(_timeout_saved)


@contextlib.contextmanager
def _keras_progress(enabled):
    import keras

    disable = not enabled and keras.config.is_interactive_logging_enabled()
    if disable:
        keras.config.disable_interactive_logging()
    try:
        yield
    finally:
        if disable:
            keras.config.enable_interactive_logging()


def download_timeout():
    """Seconds a download may stall: ``$KERAS_RNNZOO_DOWNLOAD_TIMEOUT``, else 60."""
    text = os.environ.get(TIMEOUT_ENV)
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise PresetError(f"{TIMEOUT_ENV}={text!r} must be a positive number of seconds.")
    return seconds


def _download(handle, url, directory, progress):
    import keras

    os.makedirs(directory, exist_ok=True)
    name = os.path.basename(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    suffix = next(s for s in ARCHIVE_SUFFIXES if name.lower().endswith(s))
    fname = "archive" + suffix
    timeout = download_timeout()
    try:
        with _socket_timeout(timeout), _keras_progress(progress):
            return keras.utils.get_file(fname=fname, origin=url, cache_dir=directory,
                                        cache_subdir=directory, force_download=True)
    except Exception as e:
        raise PresetError(_download_error(handle, url, e, timeout)) from e


def _download_error(handle, url, error, timeout):
    chain, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        chain.append(error)
        error = error.__cause__ or error.__context__
    where = f"preset {handle!r}: downloading {url} failed"
    for e in chain:
        if isinstance(e, urllib.error.HTTPError):
            if e.code == 404:
                return (f"{where}: HTTP 404 Not Found: no file at that URL; check the URL "
                        f"(spelling, release name) or list the presets you can use ({LIST_HINT}).")
            hint = ("the server refused access: check the URL and your permissions"
                    if e.code in (401, 403) else "try again later or check the URL")
            return f"{where}: HTTP {e.code} {e.reason}: {hint}."
        if isinstance(e, urllib.error.ContentTooShortError):
            return (f"{where}: the transfer was cut short (fewer bytes than the server announced); "
                    f"try again.")
    for e in chain:
        reason = e.reason if isinstance(e, urllib.error.URLError) else e
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return (f"{where}: the server did not answer for {timeout:g} s (timed out); try again "
                    f"later, or set {TIMEOUT_ENV} to a larger number of seconds.")
        if isinstance(reason, ConnectionRefusedError):
            return (f"{where}: connection refused: no server is listening at that address; check "
                    f"the URL's host and port.")
        if isinstance(e, urllib.error.URLError):
            return (f"{where}: cannot reach the server ({reason}); check the URL and your network "
                    f"connection (proxy settings: HTTPS_PROXY).")
    first = chain[0]
    return f"{where}: {type(first).__name__}: {first}; check the URL and try again."


# ------------------------------------------------------------- extraction


def _check_member(handle, name):
    path = name.replace("\\", "/")
    if path.startswith("/") or re.match(r"[A-Za-z]:", path) or ".." in path.split("/"):
        raise PresetError(
            f"preset {handle!r}: the archive holds a member {name!r} with an absolute path or '..' "
            f"(it would be written outside the extraction directory: path traversal); refusing "
            f"to extract it. Only use archives from sources you trust; rebuild it with relative "
            f"member names.")


def _check_gzip_stream(archive):
    """Read a gzip file to its end, so that its CRC is checked (tarfile stops
    at the tar end marker and would extract damaged data silently)."""
    with open(archive, "rb") as f:
        if f.read(2) != b"\x1f\x8b":
            return
    with gzip.open(archive, "rb") as f:
        while f.read(1 << 20):
            pass


def _extract(handle, archive, destination):
    kind = "zip" if archive.lower().endswith(".zip") else "tar.gz"
    os.makedirs(destination, exist_ok=True)
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _check_member(handle, info.filename)
                    if (info.external_attr >> 16) & 0o170000 == 0o120000:
                        raise PresetError(f"preset {handle!r}: the archive holds a symbolic link "
                                          f"{info.filename!r}; a preset archive holds plain files only.")
                zf.extractall(destination)
        else:
            _check_gzip_stream(archive)
            with tarfile.open(archive, "r:*") as tf:
                members = tf.getmembers()
                for member in members:
                    _check_member(handle, member.name)
                    if not (member.isfile() or member.isdir()):
                        raise PresetError(
                            f"preset {handle!r}: the archive holds {member.name!r}, which is a "
                            f"link or special file; a preset archive holds plain files only.")
                if hasattr(tarfile, "data_filter"):
                    tf.extractall(destination, members=members, filter="data")
                else:
                    tf.extractall(destination, members=members)
    except PresetError:
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise PresetError(
            f"preset {handle!r}: the downloaded file is not a valid {kind} archive or is damaged "
            f"({type(e).__name__}: {e}): it is truncated or corrupted; download it again, and "
            f"if this persists check the URL (it must name a preset archive).") from e


def _find_preset(handle, extracted):
    if os.path.isfile(os.path.join(extracted, METADATA_FILE)):
        return extracted
    entries = sorted(e for e in os.listdir(extracted)
                     if not e.startswith(".") and e != "__MACOSX")
    if len(entries) == 1 and os.path.isfile(os.path.join(extracted, entries[0], METADATA_FILE)):
        return os.path.join(extracted, entries[0])
    found = ", ".join(entries[:8]) + (", ..." if len(entries) > 8 else "") or "nothing"
    raise PresetError(
        f"preset {handle!r}: the archive holds no preset: {CONFIG_FILE}, {WEIGHTS_FILE} and "
        f"{METADATA_FILE} must sit at its top level or inside exactly one top-level directory "
        f"(found: {found}); check the URL, or archive a directory written by save_to_preset.")


# ---------------------------------------------------------- hubs


def _missing(handle, package):
    return MissingDependencyError(
        f"preset {handle!r} needs the optional package {package}, which is not installed: "
        f"`pip install {package}` (or `pip install \"keras-rnnzoo[hub]\"`).")


def _verify_fetched(handle, fetch):
    """Verify what ``fetch(force)`` downloaded; fetch once more (forced) when
    the files do not match their hashes."""
    directory = fetch(False)
    check_versions(read_metadata(directory, handle), handle)
    try:
        return directory, verify_directory(directory, handle)
    except PresetError:
        directory = fetch(True)
        return directory, verify_directory(directory, handle)


def _resolve_hf(handle, rest, cache_dir, progress):
    repo_id, _, revision = rest.partition("@")
    repo_id = repo_id.strip("/")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_id) or "@" in revision:
        raise PresetError(f"preset handle {handle!r}: a Hugging Face handle is "
                          f"hf://org/name or hf://org/name@revision.")
    try:
        import huggingface_hub
    except ImportError as e:
        raise _missing(handle, "huggingface_hub") from e
    from huggingface_hub import utils as hf_utils

    hf_cache = os.path.join(_root(cache_dir), "huggingface")
    endpoint = os.environ.get("HF_ENDPOINT") or None

    def fetch(force):
        disable = not progress and not hf_utils.are_progress_bars_disabled()
        if disable:
            hf_utils.disable_progress_bars()
        try:
            return huggingface_hub.snapshot_download(
                repo_id, revision=revision or None, cache_dir=hf_cache, endpoint=endpoint,
                force_download=force)
        except Exception as e:
            text = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
            raise PresetError(
                f"preset {handle!r}: downloading {repo_id}"
                f"{'@' + revision if revision else ''} from the Hugging Face Hub "
                f"({endpoint or 'https://huggingface.co'}) failed: {type(e).__name__}: {text}; "
                f"check the repository name and revision and your connection; for a private or "
                f"gated repository log in (`hf auth login`) or set HF_TOKEN.") from e
        finally:
            if disable:
                hf_utils.enable_progress_bars()

    return _verify_fetched(handle, fetch)


def _resolve_kaggle(handle, rest):
    parts = rest.strip("/").split("/")
    if len(parts) not in (4, 5) or not all(parts):
        raise PresetError(f"preset handle {handle!r}: a Kaggle handle is "
                          f"kaggle://owner/model/framework/variation[/version].")
    try:
        import kagglehub
    except ImportError as e:
        raise _missing(handle, "kagglehub") from e

    def fetch(force):
        try:
            return kagglehub.model_download("/".join(parts), force_download=force)
        except Exception as e:
            raise PresetError(
                f"preset {handle!r}: downloading the Kaggle model {'/'.join(parts)} failed: "
                f"{type(e).__name__}: {e}; check the handle and your Kaggle credentials "
                f"(KAGGLE_USERNAME/KAGGLE_KEY or ~/.kaggle/kaggle.json).") from e

    return _verify_fetched(handle, fetch)
