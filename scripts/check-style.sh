#!/usr/bin/env bash
# House checks (STYLE.md): clang-format conformance and the banned functions.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -v '^build')

bad=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  if ! clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
    bad+=("$f")
  fi
done
if ((${#bad[@]})); then
  echo "style: not clang-format clean (run: clang-format -i FILE):"
  printf '  %s\n' "${bad[@]}"
  status=1
fi

banned=$(grep -n -E '\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|sscanf|gets)\s*\(' "${files[@]}" /dev/null |
         grep -v -E '^\S+:[0-9]+:\s*(\*|//|/\*)' || true)
if [ -n "$banned" ]; then
  echo "style: banned functions (STYLE.md, 'From curl'):"
  echo "$banned"
  status=1
fi
if [ $status = 0 ]; then
  echo "style: ${#files[@]} files clang-format clean, no banned functions"
fi
exit $status
