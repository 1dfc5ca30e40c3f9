"""Files written whole: a reader (or a crash) never sees half a file."""

import os
import shlex
import sys


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
