#!/usr/bin/env bash
# Soak: the release collector against the project's fake engine (examples/fake_engine.rs) with
# CONTAINERS containers logging 2 lines/s each and 20 of them replaced every minute, for MINUTES
# minutes, with the Python tool's intervals (metrics 20 s, logs 5 s). Samples the collector's RSS and
# open descriptors every 15 s, then checks that every line the engine logged is in the files exactly
# once. Prints a summary; the samples stay in the work directory it names.
#
#   scripts/soak.sh [MINUTES=30] [CONTAINERS=1000]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
containers=${2:-1000}

say() { printf 'soak: %s\n' "$*"; }
cargo build --release --locked --quiet
cargo build --release --locked --quiet --example fake_engine
work=$(mktemp -d /tmp/soak.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
say "work directory $work, engine port $port, $containers containers, $minutes min"
# Copies, so that a build during the soak does not replace what runs.
cp target/release/container-metrics target/release/examples/fake_engine "$work/"

"$work/fake_engine" --port "$port" --containers "$containers" --lines-per-second 2 \
  --stats-delay-ms 1000 --churn-every 60 --churn 20 \
  --report "$work/expected.json" --stop-file "$work/stop" >"$work/engine.log" 2>&1 &
engine=$!
cleanup() { kill "$engine" "${collector:-}" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 50); do grep -q "containers on" "$work/engine.log" 2>/dev/null && break; sleep 0.2; done

DOCKER_HOST="tcp://127.0.0.1:$port" LOGS_DIR="$work/logs" METRICS_EXPORTER_PORT=0 \
  LAST_METRICS_COLLECTED_AT_FILE="$work/last-metrics" LAST_LOGS_COLLECTED_AT_FILE="$work/last-logs" \
  CONTAINER_RETENTION=120 DEFAULT_LOGS_SINCE_NOW=3600 LOG_LEVEL=warning \
  "$work/container-metrics" 2>"$work/collector.log" &
collector=$!

echo "seconds,rss_kib,fds" >"$work/samples.csv"
end=$(( $(date +%s) + minutes * 60 ))
start=$(date +%s)
while [ "$(date +%s)" -lt "$end" ]; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$collector/status")
  fds=$(ls "/proc/$collector/fd" | wc -l)
  echo "$(( $(date +%s) - start )),$rss,$fds" >>"$work/samples.csv"
  sleep 15
done

touch "$work/stop"
say "logging stopped; letting the collector catch up"
sleep 25
cpu_ticks=$(awk '{print $14 + $15}' "/proc/$collector/stat")
kill -TERM "$collector"
wait "$collector" || true
collector=""

python3 - "$work" "$minutes" "$cpu_ticks" <<'PY'
import csv, json, os, sys
work, minutes, ticks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
expected = json.load(open(os.path.join(work, "expected.json")))
logs = os.path.join(work, "logs")
missing = repeated = found = 0
for name, count in expected.items():
    folder = os.path.join(logs, name)
    seen = {}
    if os.path.isdir(folder):
        for f in os.listdir(folder):
            with open(os.path.join(folder, f), "rb") as fh:
                for line in fh:
                    parts = line.split(b" ")
                    if len(parts) >= 2 and parts[0].decode() == name:
                        n = int(parts[1])
                        seen[n] = seen.get(n, 0) + 1
    found += sum(seen.values())
    missing += sum(1 for n in range(1, count + 1) if n not in seen)
    repeated += sum(c - 1 for c in seen.values() if c > 1)
rows = list(csv.DictReader(open(os.path.join(work, "samples.csv"))))
warm = [r for r in rows if int(r["seconds"]) >= 120] or rows
rss = [int(r["rss_kib"]) for r in warm]
fds = [int(r["fds"]) for r in rows]
hz = os.sysconf("SC_CLK_TCK")
print(f"soak: {len(expected)} containers over the run, {sum(expected.values())} lines logged, {found} written")
print(f"soak: lines missing {missing}, repeated {repeated}")
print(f"soak: RSS after warm-up (2 min): first {rss[0]/1024:.1f} MiB, last {rss[-1]/1024:.1f} MiB, max {max(rss)/1024:.1f} MiB")
print(f"soak: open descriptors: max {max(fds)}, last {fds[-1]}")
print(f"soak: collector CPU {ticks/hz:.1f} s in {minutes} min ({ticks/hz/minutes:.2f} CPU-s per minute)")
sys.exit(1 if missing or repeated else 0)
PY
