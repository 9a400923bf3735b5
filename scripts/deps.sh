#!/usr/bin/env bash
# Installs every Debian package Coffer's build, tests and demo need, and the
# interop tests' npm packages from the committed lock file. Nothing else is
# downloaded. Safe to run repeatedly: it only acts on what is missing.
set -euo pipefail

PACKAGES=(
  # build
  gcc make cmake pkg-config clang clang-format
  libssl-dev libjansson-dev libmicrohttpd-dev
  libsqlite3-dev libpcre2-dev libyaml-dev libjemalloc-dev
  # tests
  libcmocka-dev python3-jwcrypto python3-cryptography python3-yaml
  sqlite3 haproxy curl openssl procps
  # benchmarks (bench/wrk_p99.sh)
  wrk
)
# Node.js and npm may come from Debian or be preinstalled from elsewhere (with
# npm bundled, which conflicts with Debian's npm package): check the commands.
COMMANDS=(node:nodejs npm:npm)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

for c in "${COMMANDS[@]}"; do
  command -v "${c%%:*}" >/dev/null 2>&1 || missing+=("${c#*:}")
done

if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  # update once when the package lists are missing or older than a day
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n1)" ]; then
    $SUDO apt-get update -qq
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages for the interop tests (the `jose` package), pinned by the lock file.
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$here/tests/interop/package-lock.json" ]; then
  if [ ! -d "$here/tests/interop/node_modules/jose" ] ||
     [ "$here/tests/interop/package-lock.json" -nt "$here/tests/interop/node_modules/.package-lock.json" ]; then
    echo "deps: npm ci in tests/interop"
    (cd "$here/tests/interop" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi
