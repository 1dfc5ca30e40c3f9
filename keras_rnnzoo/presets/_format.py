"""The on-disk preset layout (keras-hub's), its metadata and its verification.

A preset is a directory holding

* ``config.json``: the task model, ``keras.saving.serialize_keras_object``;
* ``model.weights.h5``: its weights (``model.save_weights``);
* ``metadata.json``: what the preset is (below), written last: a directory
  is a preset once its ``metadata.json`` exists and every file it lists has
  the sha256 it records.

Other files (a training run's ``metrics.csv``, plots, TensorBoard events) may
sit beside them; they are not part of the preset.

``metadata.json`` keys: ``format_version`` (int), ``keras_rnnzoo_version``,
``keras_version``, ``backend``, ``task`` (the task model's class name),
``parameter_count``, ``files`` ({file name: sha256 hex}) and, when known,
``saved`` (UTC time), ``name``, ``description``, ``data``, ``metrics``
({split: {metric: value}}), ``evaluation`` (how to recompute the metrics),
``command``, ``hyperparameters``, ``training_backend`` and ``training_replicas``
(the replicas of a training script's run: 1, or N under ``--distribute``).
"""

import hashlib
import json
import os
import re

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
PRESET_FILES = (CONFIG_FILE, WEIGHTS_FILE)
FORMAT_VERSION = 1


class PresetError(ValueError):
    """A preset handle that cannot be resolved, downloaded, verified or loaded."""


def sha256_file(path, chunk_size=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def zoo_version():
    from keras_rnnzoo import __version__

    return __version__


def _version_tuple(text):
    return tuple(int(part) for part in re.findall(r"\d+", str(text))[:3])


def read_metadata(directory, handle=None):
    """``metadata.json`` of a preset directory, or a PresetError naming ``handle``."""
    handle = directory if handle is None else handle
    path = os.path.join(directory, METADATA_FILE)
    if not os.path.isfile(path):
        raise PresetError(
            f"preset {handle!r}: {path} not found; a preset directory holds {CONFIG_FILE}, "
            f"{WEIGHTS_FILE} and {METADATA_FILE} (write one with save_to_preset(model, directory)).")
    try:
        with open(path) as f:
            metadata = json.load(f)
    except (OSError, ValueError) as e:
        raise PresetError(f"preset {handle!r}: {path} is not valid JSON ({e}); "
                          f"save the preset again or download it afresh.") from e
    if not isinstance(metadata, dict):
        raise PresetError(f"preset {handle!r}: {path} must hold a JSON object.")
    return metadata


def check_versions(metadata, handle):
    """Refuse a preset written by a newer zoo or in a newer format."""
    written = metadata.get("keras_rnnzoo_version")
    fmt = metadata.get("format_version", FORMAT_VERSION)
    if (isinstance(fmt, int) and fmt > FORMAT_VERSION) or (
            written and _version_tuple(written) > _version_tuple(zoo_version())):
        raise PresetError(
            f"preset {handle!r} was written by keras-rnnzoo {written} (preset format {fmt}); "
            f"this is keras-rnnzoo {zoo_version()} (format {FORMAT_VERSION}): upgrade it with "
            f"`pip install -U keras-rnnzoo` to load this preset.")


def verify_directory(directory, handle=None):
    """Check a preset directory (files present, sha256 as recorded, versions);
    return its metadata. Raises PresetError naming ``handle`` and the fix."""
    handle = directory if handle is None else handle
    metadata = read_metadata(directory, handle)
    check_versions(metadata, handle)
    files = metadata.get("files")
    if not isinstance(files, dict) or not all(name in files for name in PRESET_FILES):
        raise PresetError(f"preset {handle!r}: {METADATA_FILE} must list the sha256 of "
                          f"{' and '.join(PRESET_FILES)} under 'files'; save the preset again.")
    for name, expected in files.items():
        path = os.path.join(directory, name)
        if os.path.basename(name) != name or not os.path.isfile(path):
            raise PresetError(f"preset {handle!r}: {name} is missing from {directory}; "
                              f"save or download the preset again.")
        actual = sha256_file(path)
        if actual != expected:
            raise PresetError(
                f"preset {handle!r}: {name} has sha256 {actual}, but {METADATA_FILE} records "
                f"{expected}: the file was changed or damaged; save or download the preset again.")
    return metadata
