"""Presets: trained task models in one line, and any model saved as one.

A preset is a directory in keras-hub's layout (``config.json``,
``model.weights.h5``, ``metadata.json``; see ``docs/presets.md``). Handles:

* a built-in name (``list_presets()``; the weights ship inside the package);
* a local directory (a training run's ``--output-dir`` is one) or ``file://``;
* ``https://.../name.zip`` or ``.tar.gz``, optionally ending in
  ``#sha256=<hex>``, downloaded once into the cache (``$KERAS_RNNZOO_CACHE``,
  default ``~/.keras/keras_rnnzoo/presets``);
* ``hf://org/name[@revision]`` (needs ``huggingface_hub``) and
  ``kaggle://owner/model/framework/variation[/version]`` (needs ``kagglehub``).

Example:
    >>> from keras_rnnzoo import presets
    >>> model = presets.from_preset("asrnn_copy_t100_h138")
    >>> model.preset_metadata["metrics"]
"""

import json
import os
import time

import keras

from keras_rnnzoo.presets._format import CONFIG_FILE
from keras_rnnzoo.presets._format import FORMAT_VERSION
from keras_rnnzoo.presets._format import METADATA_FILE
from keras_rnnzoo.presets._format import WEIGHTS_FILE
from keras_rnnzoo.presets._format import PresetError
from keras_rnnzoo.presets._format import sha256_file
from keras_rnnzoo.presets._format import zoo_version
from keras_rnnzoo.presets._registry import BUILTIN_PRESETS
from keras_rnnzoo.presets._registry import TRAINING_DEFAULTS

_RESERVED = ("format_version", "keras_rnnzoo_version", "keras_version", "backend", "task",
             "parameter_count", "files")


def _resolve(handle, cache_dir=None, progress=True):
    from keras_rnnzoo.presets import _handles
    from keras_rnnzoo.presets._recipes import RECIPES

    if isinstance(handle, str) and handle in RECIPES:
        raise PresetError(
            f"{handle!r} is a training recipe (a paper's settings, no weights): train it with "
            f"`python training/{RECIPES[handle][0]} --preset {handle}`, then load the run's "
            f"directory with from_preset(OUTPUT_DIR).")

    return _handles.resolve(handle, builtin=BUILTIN_PRESETS, cache_dir=cache_dir,
                            progress=progress)


def from_preset(handle, load_weights=True, cache_dir=None, progress=True, **config):
    """The task model of preset ``handle``, with its weights.

    The preset's files are verified (sha256 of each, as recorded in its
    ``metadata.json``) before anything is loaded; ``model.preset_metadata``
    holds the metadata afterwards (metrics, training command, ...).

    Args:
        handle: a built-in name, a directory, ``file://``, ``http(s)://``
            archive URL (``#sha256=`` optional), ``hf://`` or ``kaggle://``.
        load_weights: False builds the model from its config only (fresh
            initial weights).
        cache_dir: where downloads are kept (default ``$KERAS_RNNZOO_CACHE``).
        progress: show a progress bar on downloads.
        **config: task-model arguments that replace the preset's (e.g.
            ``dropout=0.0``).

    Fine-tuning: a preset holds no optimizer state; compile the loaded model
    with a new optimizer. A ``.keras`` file saved on the torch backend carries
    a torch-specific Keras optimizer that Keras cannot continue on JAX or
    TensorFlow (a Keras bug); the zoo's ``keras_rnnzoo.optimizers`` can.

    Example:
        >>> model = from_preset("asrnn_copy_t100_h138")
        >>> model.predict(x)   # x: (batch, 120, 10) one-hot copy-task inputs
    """
    directory, metadata = _resolve(handle, cache_dir=cache_dir, progress=progress)
    config_path = os.path.join(directory, CONFIG_FILE)
    try:
        with open(config_path) as f:
            model_config = json.load(f)
    except (OSError, ValueError) as e:
        raise PresetError(f"preset {handle!r}: cannot read {config_path} ({e}).") from e
    if config:
        model_config = dict(model_config)
        model_config["config"] = {**model_config.get("config", {}), **config}
    try:
        model = keras.saving.deserialize_keras_object(model_config)
    except (TypeError, ValueError) as e:
        raise PresetError(
            f"preset {handle!r}: cannot build its model from {CONFIG_FILE} ({e}); it was "
            f"written by keras-rnnzoo {metadata.get('keras_rnnzoo_version')} with Keras "
            f"{metadata.get('keras_version')}; install those versions, or check the "
            f"arguments passed to from_preset.") from e
    if load_weights:
        try:
            model.load_weights(os.path.join(directory, WEIGHTS_FILE))
        except (OSError, ValueError) as e:
            raise PresetError(
                f"preset {handle!r}: cannot load {WEIGHTS_FILE} into its model ({e}); "
                + ("arguments that change the model's shapes need load_weights=False"
                   if config else "save or download the preset again") + ".") from e
    model.preset_metadata = metadata
    return model


def save_to_preset(model, directory, metadata=None):
    """Write ``model`` as a preset into ``directory``; return the metadata written.

    Writes ``config.json`` (the model's serialised config), ``model.weights.h5``
    and, last, ``metadata.json``: ``metadata`` (task data, metrics by split,
    the training command, hyper-parameters, ...) plus what is measured here
    (backend, Keras and zoo versions, parameter count, the sha256 of each
    file). All three are written to temporary names first and renamed into
    place only when all are whole, so an error while writing (a full disk:
    ``OSError`` ENOSPC) leaves an earlier preset in ``directory`` as it was and
    no temporary file; a crash between the renames leaves a preset whose
    files disagree with its metadata, which loading detects (the hashes).
    Other files in ``directory`` are kept.

    Args:
        model: a built task model (``keras_rnnzoo.models``) or any
            serialisable ``keras.Model``.
        directory: the preset directory (created if missing).
        metadata: a JSON-serialisable dict; the keys ``format_version``,
            ``keras_rnnzoo_version``, ``keras_version``, ``backend``,
            ``task``, ``parameter_count`` and ``files`` are set here.

    Example:
        >>> save_to_preset(model, "runs/my_copy_model",
        ...                metadata={"metrics": {"test": {"recall_accuracy": 0.99}}})
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model (a keras_rnnzoo.models task model); "
                         f"got {type(model).__name__}.")
    if not model.built:
        raise ValueError("`model` is not built: call it on a batch (or build it) before "
                         "save_to_preset.")
    metadata = dict(metadata or {})
    clash = sorted(set(metadata) & set(_RESERVED))
    if clash:
        raise ValueError(f"`metadata` keys {clash} are written by save_to_preset itself; "
                         f"remove them.")
    try:
        json.dumps(metadata)
    except TypeError as e:
        raise ValueError(f"`metadata` must be JSON-serialisable: {e}") from e
    os.makedirs(directory, exist_ok=True)
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)  # a preset holds no optimizer, loss or metrics
    if getattr(model, "optimizer", None) is not None:
        # save_weights of a compiled model holds the optimizer's slots too (Adam:
        # 3x the size); a preset holds the model's weights only: save a copy.
        plain = keras.saving.deserialize_keras_object(config)
        plain.set_weights(model.get_weights())
    else:
        plain = model
    # Every file is written under a temporary name first and renamed into place only
    # when all three are whole: a full disk or an error leaves the earlier preset in
    # `directory` as it was (and no temporary file).
    staged = {}
    try:
        staged[CONFIG_FILE] = _stage_text(directory, CONFIG_FILE,
                                          json.dumps(config, indent=1) + "\n")
        staged[WEIGHTS_FILE] = os.path.join(directory, f".tmp{os.getpid()}.{WEIGHTS_FILE}")
        plain.save_weights(staged[WEIGHTS_FILE])
        metadata.update(
            format_version=FORMAT_VERSION,
            keras_rnnzoo_version=zoo_version(),
            keras_version=keras.__version__,
            backend=keras.backend.backend(),
            task=type(model).__name__,
            parameter_count=int(model.count_params()),
            files={name: sha256_file(staged[name]) for name in (CONFIG_FILE, WEIGHTS_FILE)},
        )
        metadata.setdefault("saved", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        staged[METADATA_FILE] = _stage_text(directory, METADATA_FILE,
                                            json.dumps(metadata, indent=1) + "\n")
        for name in (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE):  # metadata.json last
            os.replace(staged.pop(name), os.path.join(directory, name))
    finally:
        for tmp in staged.values():
            if os.path.exists(tmp):
                os.remove(tmp)
    return metadata


def _stage_text(directory, name, text):
    """``text`` written whole to a temporary file beside ``name``; its path."""
    path = os.path.join(directory, f".{name}.tmp{os.getpid()}")
    try:
        with open(path, "w") as f:
            f.write(text)
    except BaseException:
        if os.path.exists(path):
            os.remove(path)
        raise
    return path


def preset_metadata(handle, cache_dir=None, progress=True):
    """The verified ``metadata.json`` of preset ``handle`` (no model is built)."""
    return _resolve(handle, cache_dir=cache_dir, progress=progress)[1]


def training_defaults(task, cell):
    """The per-cell training defaults of a training script's ``task``
    (``"copy_memory"``, ``"adding"``, ``"reverse_ordering"``, ``"music"``, ``"pixel_mnist"``,
    ``"permuted_mnist"``, ``"seq_cifar"``, ``"ptb"``, ``"wikitext"``, ``"atis"``):
    ``{flag: value}`` for the flags a user did not give."""
    if task not in TRAINING_DEFAULTS:
        raise ValueError(f"`task` must be one of {sorted(TRAINING_DEFAULTS)}; got {task!r}.")
    table = TRAINING_DEFAULTS[task]
    return dict(table.get(cell, table["*"]))


def evaluate_preset(model, data_dir=None, verify=True):
    """Recompute the metrics a preset records, the way its run measured them.

    ``model`` is a task model from :func:`from_preset` (or a handle). The
    preset's ``metadata["evaluation"]`` names the function of
    ``keras_rnnzoo.models`` and its arguments: fresh copy-task / adding data
    drawn with a fixed seed, a Morita task's held-out set, or the splits of a
    real data set (music, MNIST, CIFAR-10, PTB, WikiText, ATIS; ``data_dir``:
    the data directory, default ``$RNNZOO_DATA_DIR``, see
    :mod:`keras_rnnzoo.datasets`).

    Returns:
        ``{split: {metric: value}}``, comparable with ``metadata["metrics"]``.

    Example:
        >>> model = from_preset("asrnn_copy_t100_h138")
        >>> evaluate_preset(model)["test"]["recall_accuracy"]
    """
    from keras_rnnzoo import models
    from keras_rnnzoo import tasks

    if isinstance(model, str):
        model = from_preset(model)
    metadata = getattr(model, "preset_metadata", None) or {}
    spec = metadata.get("evaluation")
    if not spec:
        raise ValueError("`model` has no recorded evaluation: load it with from_preset(handle) "
                         "from a preset written by a training script.")
    name, arguments = spec["function"], dict(spec.get("arguments") or {})
    if name == "evaluate_copy_memory":
        return {"test": models.evaluate_copy_memory(model, **arguments)}
    if name == "evaluate_adding":
        return {"test": models.evaluate_adding(model, **arguments)}
    if name == "evaluate_sequences":
        result = models.evaluate_sequences(model, tasks.make_task(**arguments["task"]))
        return {"test": {k: result[k] for k in ("token_accuracy", "sequence_accuracy",
                                               "damerau_levenshtein")}}
    if name == "evaluate_music":
        data_dir = data_dir or os.environ.get("RNNZOO_DATA_DIR")
        if not data_dir:
            raise ValueError(
                f"this preset is scored on the {arguments['dataset']} music files, which no "
                f"package ships: pass data_dir= (or set RNNZOO_DATA_DIR) to the directory of "
                f"the standard Boulanger-Lewandowski .mat files.")
        splits = dict(zip(("train", "valid", "test"),
                          tasks.load_music(arguments["dataset"], data_dir, verify=verify)))
        return {split: {"nll_per_frame": models.evaluate_music(model, splits[split])}
                for split in arguments["splits"]}
    if name == "evaluate_classifier":
        from keras_rnnzoo import datasets

        if arguments["dataset"] == "mnist":
            _, (x, y) = datasets.load_pixel_mnist(arguments.get("permute", False), data_dir)
        else:
            _, (x, y) = datasets.load_seq_cifar10(data_dir)
        n = arguments.get("test_size")
        result = models.evaluate_classifier(model, x[:n], y[:n])
        return {"test": {"accuracy": result["accuracy"]}}
    if name == "evaluate_slot_filling":
        from keras_rnnzoo import datasets

        data = datasets.load_atis(data_dir, dev_size=arguments["dev_size"], verify=verify)
        recorded = metadata.get("data") or {}
        return {split: models.evaluate_slot_filling(model, *data[split], recorded["vocabulary"],
                                                    recorded["tags"])
                for split in arguments["splits"]}
    if name == "evaluate_language_model":
        from keras_rnnzoo import datasets

        if arguments["dataset"] == "ptb":
            data = datasets.load_ptb(arguments["level"], data_dir)
        else:
            data = datasets.load_wikitext(arguments["version"], data_dir)
        out = {}
        for split in arguments["splits"]:
            result = models.evaluate_language_model(model, data[split],
                                                    batch_size=arguments["batch_size"])
            key = "bpc" if arguments.get("level") == "char" else "perplexity"
            out[split] = {"loss": result["loss"], key: result[key]}
        return out
    raise ValueError(f"unknown evaluation {name!r} in the preset's metadata (written by a newer "
                     f"keras-rnnzoo?): upgrade keras-rnnzoo.")


def list_presets():
    """The built-in presets: ``{name: metadata}`` (task, metrics, command, ...)."""
    out = {}
    for name, entry in sorted(BUILTIN_PRESETS.items()):
        path = os.path.join(entry["path"], METADATA_FILE)
        with open(path) as f:
            metadata = json.load(f)
        out[name] = {**metadata, "description": entry.get("description",
                                                          metadata.get("description"))}
    return out


__all__ = ["PresetError", "evaluate_preset", "from_preset", "list_presets", "preset_metadata", "save_to_preset",
           "training_defaults"]
