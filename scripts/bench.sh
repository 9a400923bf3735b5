#!/usr/bin/env bash
# Runs every benchmark built in BUILD/bench (bench/bench_*.c) and every
# bench/*.sh script, in name order. Figures go to stdout; docs/PERFORMANCE.md
# records them with the command that reproduces them.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
export COFFER_BIN_DIR="$here/$build/bin" COFFER_SOURCE_DIR="$here"
export COFFER_VECTORS=${COFFER_VECTORS:-$here/../shared/vectors}
for b in "$build"/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
done
for s in "$here"/bench/*.sh; do
  [ -x "$s" ] || continue
  echo "== $(basename "$s")"
  "$s" "$build"
done
