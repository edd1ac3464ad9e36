#!/usr/bin/env bash
# Stops the test VM of one mode, or of every mode; the disk is never written (-snapshot), so nothing persists.
set -uo pipefail
TOOLS_DIR="${XRAY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/container-xray}"
for mode in ${1:-docker containerd}; do
  RUN_DIR="$TOOLS_DIR/vm/run-$mode"
  [ -f "$RUN_DIR/qemu.pid" ] || continue
  pid="$(cat "$RUN_DIR/qemu.pid")"
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null
  rm -rf "$RUN_DIR"
done
