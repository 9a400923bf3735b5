#!/usr/bin/env bash
# Bounded soak of cofferd (run by `make bench`, never by `make test`): five
# minutes of mixed load (full handshakes and bearer-token GETs on 64
# keep-alive connections), sampling the broker's RSS and open file
# descriptors every 10 s. Passes when RSS stays within 10% of the first
# post-warm-up sample, no descriptor leaks, and no unexpected error occurred.
#   bench/soak.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
build=${1:-build}
seconds=${2:-${COFFER_SOAK_SECONDS:-300}}
here=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$here/$build" ;; esac
export COFFER_BIN_DIR=${COFFER_BIN_DIR:-$build/bin}
exec "$build/bench/bench_kbs" --soak "$seconds" --connections 64
