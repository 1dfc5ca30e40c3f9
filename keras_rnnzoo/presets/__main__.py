"""``python -m keras_rnnzoo.presets``: list, download and verify presets.

Commands:

* ``list [--markdown] [--recipes]``: one line per built-in preset (name,
  task, first metric, parameters), or the README's Markdown table with the
  commands; ``--recipes``: the papers' training settings (``--preset NAME``
  of a training script, no weights);
* ``download HANDLE [--cache-dir DIR] [--quiet]``: resolve the handle
  (downloading it into the cache if needed) and print its directory;
* ``verify HANDLE [--cache-dir DIR]``: check every file against the sha256 in
  ``metadata.json``; print ``OK <directory>`` and the hashes, or the error and
  exit 1.

No model is built or loaded. Example::

    python -m keras_rnnzoo.presets download https://example.org/copy.tar.gz
    python -m keras_rnnzoo.presets verify ./runs/asrnn_copy_t100_h138
"""

import argparse
import contextlib
import os
import sys

from keras_rnnzoo.presets import _handles
from keras_rnnzoo.presets._format import PresetError
from keras_rnnzoo.presets._format import read_metadata

PROG = "python -m keras_rnnzoo.presets"


def _first_metric(metrics):
    if not isinstance(metrics, dict):
        return "-"
    for split, values in metrics.items():
        if isinstance(values, dict):
            for metric, value in values.items():
                text = f"{value:.4g}" if isinstance(value, float) else str(value)
                return f"{metric}={text} ({split})"
        elif values is not None:
            return f"{split}={values}"
    return "-"


def _preset_rows(registry):
    rows = []
    for name, entry in registry.items():
        entry = entry if isinstance(entry, dict) else {}
        metadata = {}
        path = entry.get("path")
        if path and os.path.isfile(os.path.join(path, "metadata.json")):
            try:
                metadata = read_metadata(path, name)
            except PresetError:
                metadata = {}

        def get(key):
            value = metadata.get(key)
            return entry.get(key) if value is None else value

        count = get("parameter_count")
        count = f"{count:,}" if isinstance(count, int) else (str(count) if count else "-")
        rows.append((str(name), str(get("task") or "-"), _first_metric(get("metrics")),
                     f"{count} params" if count != "-" else "-"))
    return rows


def markdown_table(registry=None):
    """The README's table of built-in presets: name, task, metric, parameters, command."""
    registry = _handles.builtin_presets() if registry is None else registry
    lines = ["| preset | task | metrics (split) | parameters | command |",
             "|---|---|---|---|---|"]
    for (name, task, _, count), entry in zip(_preset_rows(registry), registry.values()):
        metadata = read_metadata(entry["path"], name)
        command = metadata.get("command", "-").split(" --output-dir")[0]
        metrics = "; ".join(
            f"{split}: " + ", ".join(f"{k} {v:.4g}" for k, v in values.items())
            for split, values in (metadata.get("metrics") or {}).items())
        lines.append(f"| `{name}` | {task} | {metrics} | {count.replace(' params', '')} | "
                     f"`{command}` |")
    return "\n".join(lines) + "\n"


def recipes_table():
    """The papers' training recipes (``--preset NAME`` of a script) as Markdown."""
    from keras_rnnzoo.presets._recipes import RECIPES

    lines = ["| recipe | command | setting |", "|---|---|---|"]
    for name, (script, _, description) in RECIPES.items():
        lines.append(f"| `{name}` | `python training/{script} --preset {name}` | "
                     f"{description} |")
    return "\n".join(lines) + "\n"


def _list(args):
    if args.recipes:
        print(recipes_table(), end="")
        return 0
    if args.markdown:
        print(markdown_table(), end="")
        return 0
    rows = _preset_rows(_handles.builtin_presets())
    if not rows:
        print("no built-in presets in this installation")
        return 0
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    return 0


def _download(args):
    # Progress goes to stderr so that stdout holds only the directory.
    with contextlib.redirect_stdout(sys.stderr):
        directory = _handles.download(args.handle, cache_dir=args.cache_dir,
                                      progress=not args.quiet)
    print(directory)
    return 0


def _verify(args):
    with contextlib.redirect_stdout(sys.stderr):
        directory, metadata = _handles.resolve(args.handle, cache_dir=args.cache_dir,
                                               progress=not args.quiet)
    print(f"OK {directory}")
    for name, digest in sorted(metadata.get("files", {}).items()):
        print(f"  {digest}  {name}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description="List, download and verify keras-rnnzoo presets.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    listing = commands.add_parser("list", help="list the built-in presets")
    listing.add_argument("--markdown", action="store_true",
                         help="a Markdown table with the training commands (the README's)")
    listing.add_argument("--recipes", action="store_true",
                         help="the papers' training settings (no weights): --preset NAME of "
                              "a training script (a Markdown table)")
    listing.set_defaults(run=_list)
    for name, run, text in (
            ("download", _download, "resolve a handle (downloading it) and print its directory"),
            ("verify", _verify, "check a preset's files against metadata.json")):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("handle", help="a built-in name, a directory, an archive path or URL "
                                        "(http(s)://, file://), hf://org/name[@rev] or kaggle://...")
        sub.add_argument("--cache-dir", default=None,
                         help="cache root for downloads (default: $KERAS_RNNZOO_CACHE, "
                              "$KERAS_HOME/keras_rnnzoo/presets or ~/.keras/keras_rnnzoo/presets)")
        sub.add_argument("--quiet", action="store_true", help="no download progress")
        sub.set_defaults(run=run)
    return parser


def main(argv=None):
    """Run the command line; return the exit status (2 on bad usage, via
    argparse's SystemExit; 1 when a preset fails).

    Example: ``main(["verify", "./runs/asrnn_copy_t100_h138"])``.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except PresetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
