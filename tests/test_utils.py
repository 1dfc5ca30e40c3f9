"""``keras_rnnzoo.utils``: atomic files, the command line of a run, thread counts."""

import os
import sys

import pytest

from keras_rnnzoo import utils


def test_atomic_write_and_write_command(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "a.bin"
    utils.atomic_write(str(path), b"\x00\x01", mode="wb")
    assert path.read_bytes() == b"\x00\x01"
    monkeypatch.setattr(sys, "argv", ["run.py", "--name", "two words"])
    for _ in range(2):
        written = utils.write_command(str(tmp_path))
    assert open(written).read() == "python run.py --name 'two words'\n" * 2
    assert sorted(os.listdir(tmp_path)) == ["command.txt", "sub"]  # no temporary files left


def test_set_threads_checks_its_argument():
    utils.set_threads(None)  # the backend's choice: nothing to do
    with pytest.raises(ValueError, match="`threads` must be a positive integer"):
        utils.set_threads(-1)
