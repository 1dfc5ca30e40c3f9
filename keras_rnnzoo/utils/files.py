"""Files written whole: a reader (or a crash) never sees half a file."""

import atexit
import os
import shlex
import socket
import sys
import time


def atomic_write(path, data, mode="w"):
    """Write ``data`` (str, or bytes with ``mode="wb"``) to ``path`` through a
    temporary file beside it + rename. Creates the directory if needed."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp{os.getpid()}")
    try:
        with open(tmp, mode) as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def command_line():
    """This process' command line: ``python`` + ``sys.argv``, shell-quoted."""
    return "python " + " ".join(shlex.quote(a) for a in sys.argv)


def write_command(output_dir):
    """Append this process' command line (``python`` + ``sys.argv``, shell-quoted)
    to ``output_dir/command.txt``, atomically. Returns the file's path."""
    line = command_line()
    path = os.path.join(output_dir, "command.txt")
    previous = ""
    if os.path.exists(path):
        with open(path) as f:
            previous = f.read()
    atomic_write(path, previous + line + "\n")
    return path


LOCK_NAME = ".keras_rnnzoo.lock"
"""The lock file a run holds in its output directory (not part of the run)."""


class DirectoryLockedError(RuntimeError):
    """Another live process holds the directory's lock (``.holder`` says which)."""

    def __init__(self, directory, holder, path):
        self.directory, self.holder, self.path = directory, holder, path
        who = f"process {holder.get('pid')} on {holder.get('host')}"
        if holder.get("since"):
            who += f", since {holder['since']}"
        super().__init__(
            f"{directory} is in use by another run ({who}): wait for it to end or choose "
            f"another directory; if no such process runs any more, delete {path}.")


def _read_holder(path):
    """{"pid", "host", "since"} of a lock file; {} when it is unreadable or half-written."""
    try:
        with open(path) as f:
            fields = f.read().split()
    except OSError:
        return {}
    holder = dict(zip(("pid", "host", "since"), fields))
    try:
        holder["pid"] = int(holder["pid"])
    except (KeyError, ValueError):
        return {}
    return holder


def _alive(holder):
    """Whether the process of ``holder`` may still run (True when it cannot be told:
    another host, or a pid this user may not signal)."""
    if holder.get("host") != socket.gethostname():
        return True
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_holder(directory, name=LOCK_NAME):
    """The holder ({"pid", "host", "since"}) of ``directory``'s lock when another
    live process holds it, else None (no lock, a stale one, or this process')."""
    holder = _read_holder(os.path.join(directory, name))
    if not holder or (holder["pid"] == os.getpid() and holder.get("host") == socket.gethostname()):
        return None
    return holder if _alive(holder) else None


def _create(path):
    """Create the lock file with this process' pid; False when it exists already."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(f"{os.getpid()} {socket.gethostname()} "
                f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
    return True


def lock_directory(directory, name=LOCK_NAME, stale_guard_seconds=60.0):
    """Take ``directory``'s lock (created with the directory if needed) for this process.

    The lock is a file created with ``O_EXCL`` holding ``pid host time``, so of
    two processes that start at the same time exactly one gets it. A lock whose
    process has died (same host, pid gone: a run killed with SIGKILL) is taken
    over, under a second ``O_EXCL`` file so that two processes never both take
    it over; a lock this process holds already is kept (a script's ``main()``
    called again in the same process). Release it with :func:`unlock_directory`
    (:func:`hold_directory_lock` does so at exit).

    Raises:
        DirectoryLockedError: another live process holds the lock; the message
            names it and the fix.
    """
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    guard = path + ".takeover"
    holder = {}
    for _ in range(200):
        if _create(path):
            return path
        holder = _read_holder(path)
        if holder and holder["pid"] == os.getpid() and holder.get("host") == socket.gethostname():
            return path
        if holder and _alive(holder):
            raise DirectoryLockedError(directory, holder, path)
        if not holder:  # empty: its creator is writing it, or died right after creating it
            try:
                age = time.time() - os.path.getmtime(path)
            except OSError:
                continue  # removed meanwhile: try again
            if age < 5.0:
                time.sleep(0.02)
                continue
        # A stale lock: take it over under the guard (one process at a time).
        try:
            if time.time() - os.path.getmtime(guard) > stale_guard_seconds:
                os.remove(guard)  # left by a process that died while taking over
        except OSError:
            pass
        if not _create(guard):
            time.sleep(0.02)  # another process is taking it over: look again
            continue
        try:
            if _read_holder(path) == holder:  # still the stale one
                os.remove(path)
        except FileNotFoundError:
            pass
        finally:
            os.remove(guard)
    raise DirectoryLockedError(directory, holder or {"pid": "?", "host": "?"}, path)


def unlock_directory(directory, name=LOCK_NAME):
    """Remove ``directory``'s lock if this process holds it."""
    path = os.path.join(directory, name)
    holder = _read_holder(path)
    if holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def hold_directory_lock(directory, name=LOCK_NAME):
    """:func:`lock_directory`, released when the process exits (normally, by an
    exception or ``sys.exit``; after SIGKILL the next run takes the stale lock
    over). Returns the lock file's path."""
    path = lock_directory(directory, name)
    atexit.register(unlock_directory, directory, name)
    return path


def damaged(path, kind):
    """Why the file ``path`` cannot be read as ``kind`` (``"json"`` or ``"hdf5"``),
    or None when it reads (or does not exist)."""
    if not os.path.exists(path):
        return None
    try:
        if kind == "json":
            import json

            with open(path) as f:
                json.load(f)
        elif kind == "hdf5":
            import h5py

            with h5py.File(path, "r"):
                pass
        else:
            raise ValueError(f"`kind` must be 'json' or 'hdf5'; got {kind!r}.")
    except (OSError, ValueError) as e:
        if isinstance(e, ValueError) and str(e).startswith("`kind`"):
            raise
        return f"{type(e).__name__}: {e}"
    return None
