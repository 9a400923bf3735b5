#!/usr/bin/env bash
# coffer-agent footprint (docs/PERFORMANCE.md, "coffer-agent footprint"):
# binary size stripped and with its shared libraries, idle RSS, RSS after
# 10,000 resource fetches through the REST API (must not grow), and cold
# start to the first served request. Targets: stripped < 1 MiB, idle RSS
# < 8 MiB. Usage: bench/agent_footprint.sh BUILD_DIR [FETCHES]
set -euo pipefail
build=${1:-build}
fetches=${2:-10000}
here=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$here/$build" ;; esac
bin="$build/bin"
for p in cofferd coffer coffer-agent; do
  [ -x "$bin/$p" ] || { echo "agent_footprint: $bin/$p missing (build first)"; exit 0; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/agent-footprint.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

kib() { echo $(( ($1 + 1023) / 1024 )); }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
wait_file() { for _ in $(seq 1 1000); do [ -s "$1" ] && return 0; sleep 0.01; done; return 1; }

# --- sizes ---
cp "$bin/coffer-agent" "$work/agent.stripped"
strip "$work/agent.stripped"
stripped=$(stat -c %s "$work/agent.stripped")
libs=0
libnames=()
while read -r lib; do
  [ -f "$lib" ] || continue
  libs=$((libs + $(stat -L -c %s "$lib")))
  libnames+=("$(basename "$lib")")
done < <(ldd "$bin/coffer-agent" | awk '/=> \// {print $3} /^\s*\/lib/ {print $1}' | sort -u)

# --- a broker with one secret ---
"$bin/cofferd" --dev --listen 127.0.0.1:0 --data-dir "$work/broker" \
  --port-file "$work/broker.port" >"$work/cofferd.log" 2>&1 &
pids+=($!)
wait_file "$work/broker.port"
broker="http://127.0.0.1:$(cat "$work/broker.port")"
head -c 64 /dev/urandom | "$bin/coffer" resource put kbs:///default/bench/k \
  --broker "$broker" --key "$work/broker/admin.jwk"
cat >"$work/agent.toml" <<EOF
[agent]
tee = "sample"
[broker]
url = "$broker"
[limits]
rate_per_second = 0
EOF

# --- cold start: exec -> first /info answer, and -> first secret served ---
read -r cold_info cold_secret agent_pid < <(/usr/bin/python3 - "$bin/coffer-agent" "$work" <<'PY'
import os, subprocess, sys, time, urllib.request
agent, work = sys.argv[1], sys.argv[2]
pf = os.path.join(work, "agent.port")
t0 = time.monotonic()
p = subprocess.Popen([agent, "--config", os.path.join(work, "agent.toml"), "--listen",
                      "127.0.0.1:0", "--port-file", pf], stdout=subprocess.DEVNULL,
                     stderr=open(os.path.join(work, "agent.log"), "wb"), start_new_session=True)
while True:
    try:
        port = int(open(pf).read())
        urllib.request.urlopen("http://127.0.0.1:%d/info" % port, timeout=5).read()
        break
    except (OSError, ValueError):
        time.sleep(0.0005)
t1 = time.monotonic()
urllib.request.urlopen("http://127.0.0.1:%d/cdh/resource/default/bench/k" % port).read()
t2 = time.monotonic()
print("%.1f %.1f %d" % ((t1 - t0) * 1000, (t2 - t0) * 1000, p.pid))
PY
)
pids+=("$agent_pid")
port=$(cat "$work/agent.port")
sleep 0.5
idle=$(rss_kib "$agent_pid")
idle_anon=$(awk '/^RssAnon/ {print $2}' "/proc/$agent_pid/status")
idle_pss=$(awk '/^Pss:/ {print $2}' "/proc/$agent_pid/smaps_rollup" 2>/dev/null || echo 0)

# --- RSS across many fetches (keep-alive client) ---
/usr/bin/python3 - "$port" "$fetches" "$agent_pid" >"$work/fetch.out" <<'PY'
import http.client, sys, time
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def rss():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
marks = {}
t0 = time.monotonic()
for i in range(1, n + 1):
    c.request("GET", "/cdh/resource/default/bench/k")
    r = c.getresponse()
    body = r.read()
    if r.status != 200 or len(body) != 64:
        print("fetch %d failed: %d %r" % (i, r.status, body[:200]), file=sys.stderr)
        sys.exit(1)
    if i in (n // 10, n):
        marks[i] = rss()
dt = time.monotonic() - t0
print(marks[n // 10], marks[n], "%.0f" % (n / dt))
PY
read -r rss_warm rss_end rate <"$work/fetch.out"
growth=$((rss_end - rss_warm))

verdict() { if [ "$1" -lt "$2" ]; then echo met; else echo "NOT met"; fi; }
echo "coffer-agent footprint ($(uname -m), $(basename "$build") build)"
printf '  binary, stripped                 %6d KiB   (target < 1024 KiB: %s)\n' \
  "$(kib "$stripped")" "$(verdict "$stripped" 1048576)"
printf '  binary + shared libraries        %6d KiB   (%s)\n' "$(kib $((stripped + libs)))" \
  "${libnames[*]}"
printf '  idle RSS                         %6d KiB   (target < 8192 KiB: %s)\n' "$idle" \
  "$(verdict "$idle" 8192)"
printf '    of which private (RssAnon)     %6d KiB; PSS (shared pages divided) %d KiB\n' \
  "$idle_anon" "$idle_pss"
printf '  RSS after %d fetches           %6d KiB   (after %d: %d KiB; growth %+d KiB)\n' \
  "$fetches" "$rss_end" $((fetches / 10)) "$rss_warm" "$growth"
printf '  fetch rate (REST -> broker -> JWE) %4s /s\n' "$rate"
printf '  cold start to first /info        %6s ms\n' "$cold_info"
printf '  cold start to first secret       %6s ms   (includes the RCAR handshake)\n' \
  "$cold_secret"
