#!/usr/bin/env bash
# One entry point for a fresh clone: creates (or reuses) .venv, then runs
#   bash dev.sh copy-task [flags]   the copy task on the torch backend (small defaults)
#   bash dev.sh test                the whole test suite on TensorFlow, JAX and PyTorch
#   bash dev.sh test-slow           the slow tier (marked `slow`), all three backends
#   bash dev.sh python ARGS...      the environment's python
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3

# Pins: torch==2.13.0 is the CPU build on this project's machines; an unpinned
# torch would pull a multi-GB CUDA build.
PINS=("keras==3.15.1" "tensorflow-cpu==2.21.0" "torch==2.13.0" "jax==0.10.2" "jaxlib==0.10.2")
STAMP_TEXT="$(printf '%s\n' "${PINS[@]}"; cat pyproject.toml)"
STAMP=.venv/.rnnzoo-installed

ensure_venv() {
  if [ -x .venv/bin/python ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_TEXT" ]; then
    return
  fi
  echo "[dev.sh] setting up .venv (first run takes a few minutes) ..." >&2
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >&2 || true
  .venv/bin/python -m pip install -q --disable-pip-version-check "${PINS[@]}" -e ".[train,test]" >&2
  printf '%s' "$STAMP_TEXT" > "$STAMP"
}

run_tests() {
  local status=0 backend
  for backend in tensorflow jax torch; do
    echo "=== tests on the $backend backend ==="
    KERAS_BACKEND=$backend .venv/bin/python -m pytest -q -p no:cacheprovider "$@" || status=1
  done
  return $status
}

cmd=${1:-help}; shift || true
case "$cmd" in
  copy-task) ensure_venv; exec .venv/bin/python training/copy_task.py --backend=torch "$@" ;;
  test)      ensure_venv; run_tests "$@" ;;
  test-slow) ensure_venv; run_tests -m slow "$@" ;;
  python)    ensure_venv; exec .venv/bin/python "$@" ;;
  *) sed -n '2,7p' "$0"; exit 2 ;;
esac
