#!/usr/bin/env bash
# What the collector costs the real Docker Engine (needs scripts/engine.sh: dockerd and testbox:latest).
#
# 1. The two stats paths with CONTAINERS idle containers (default 100): the release collector with
#    metrics and logs every 10 s, once asking the engine for stats (CGROUP_ROOT empty) and once reading
#    the host's cgroup files (CGROUP_ROOT=/sys/fs/cgroup), WINDOW seconds each (default 60). Prints the
#    wall time of a metrics collection (collector_collection_duration_seconds) and dockerd's CPU seconds
#    per tick.
# 2. Reading logs: a container whose log holds 2,000,000 lines (about 300 MB in the json-file driver) and
#    then logs a line a second. dockerd's CPU over WINDOW seconds while nobody reads, while
#    `logs?since=<now-1s>` is asked every 5 s (polling from the cursor), while
#    `logs?since=<now-6s>&tail=256` is asked every 5 s (polling from the end of the log), while one
#    `logs?follow=1&since=<now>` stream stays open, and while the release collector reads that
#    container's log every 5 s (after its first read).
#
# 3. Every path at default settings: CONTAINERS_PATHS logging containers (default "30 100"), each
#    logging 2 lines a second (one stdout, one stderr), the release collector at the Python tool's
#    intervals (metrics 20 s, logs 5 s). dockerd's CPU over WINDOW seconds with no collector, then
#    with the collector on each path: stats and logs from the engine; stats from the cgroup files;
#    logs from the engine's json-file files (CONTAINER_LOGS_ROOT); both (no per-container engine
#    work). Prints dockerd's CPU-s per minute and what the collector adds to it, and the collector's
#    own CPU-s per minute.
#
#   scripts/bench-engine.sh [CONTAINERS] [WINDOW]
#   PARTS=logs scripts/bench-engine.sh   (only part 2; PARTS=stats for only part 1, PARTS=paths for 3)
set -euo pipefail
cd "$(dirname "$0")/.."
containers=${1:-100}
window=${2:-60}
DOCKER=docker
[ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker
hz=$(getconf CLK_TCK)
say() { printf 'bench-engine: %s\n' "$*" >&2; }

bash scripts/engine.sh >/dev/null
cargo build --release --locked --quiet
# The 20.10 engine's own pid (a 26.1 engine may run beside it).
dockerd_pid=$(cat /var/run/docker.pid)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
prefix="bench-engine-$$"
cleanup() {
  kill "${collector:-}" "${follower:-}" 2>/dev/null || true
  "$DOCKER" ps -aq --filter "name=$prefix" | xargs -r "$DOCKER" rm -f >/dev/null 2>&1 || true
}
trap cleanup EXIT

parts=${PARTS:-stats logs paths}
if [[ " $parts " == *" stats "* ]]; then
say "starting $containers idle containers"
for i in $(seq 1 "$containers"); do
  "$DOCKER" run -d --name "$prefix-idle-$i" testbox:latest sleep 100000 >/dev/null
done

echo "| stats from | containers | metrics collection (wall) | dockerd CPU-s per 10 s tick |"
echo "|---|---|---|---|"
for root in "" /sys/fs/cgroup; do
  work=$(mktemp -d /tmp/bench-engine.XXXXXX)
  port=$(free_port)
  CGROUP_ROOT="$root" LOGS_DIR="$work/logs" METRICS_EXPORTER_PORT="$port" \
    METRICS_EXPORTER_ADDRESS=127.0.0.1 METRICS_COLLECTION_INTERVAL=10 LOGS_COLLECTION_INTERVAL=10 \
    LAST_METRICS_COLLECTED_AT_FILE="$work/lm" LAST_LOGS_COLLECTED_AT_FILE="$work/ll" LOG_LEVEL=warning \
    target/release/container-metrics 2>"$work/collector.log" &
  collector=$!
  sleep 15 # the first collections (a new container's first CPU figure takes two readings)
  t0=$(ticks "$dockerd_pid"); s0=$(date +%s%N)
  sleep "$window"
  t1=$(ticks "$dockerd_pid"); s1=$(date +%s%N)
  took=$(curl -fsS "127.0.0.1:$port/metrics" | awk '$1 ~ /^collector_collection_duration_seconds\{kind="metrics"/ {print $2}')
  kill "$collector"; wait "$collector" 2>/dev/null || true; collector=""
  awk -v r="${root:-the engine}" -v n="$containers" -v took="$took" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
    -v s0="$s0" -v s1="$s1" 'BEGIN {
      ticks = (s1 - s0) / 1e9 / 10
      printf "| %s | %d | %.3f s | %.3f |\n", r, n, took, (t1 - t0) / hz / ticks }'
  rm -rf "$work"
done
"$DOCKER" ps -aq --filter "name=$prefix-idle" | xargs -r "$DOCKER" rm -f >/dev/null
fi
if [[ " $parts " == *" paths "* ]]; then
echo
echo "| containers logging | stats from | logs from | dockerd CPU-s per minute | added by the collector | collector CPU-s per minute |"
echo "|---|---|---|---|---|---|"
for n in ${CONTAINERS_PATHS:-30 100}; do
  say "starting $n containers logging 2 lines a second"
  for i in $(seq 1 "$n"); do
    "$DOCKER" run -d --name "$prefix-log-$i" testbox:latest \
      sh -c 'i=0; while :; do i=$((i+1)); echo "INFO line $i"; echo "WARN line $i" >&2; sleep 1; done' >/dev/null
  done
  sleep 10
  t0=$(ticks "$dockerd_pid"); s0=$(date +%s%N)
  sleep "$window"
  t1=$(ticks "$dockerd_pid"); s1=$(date +%s%N)
  base=$(awk -v t0="$t0" -v t1="$t1" -v hz="$hz" -v s0="$s0" -v s1="$s1" \
    'BEGIN { printf "%.3f", (t1 - t0) / hz / ((s1 - s0) / 6e10) }')
  echo "| $n | (no collector) | | $base | | |"
  for mode in "the engine:the engine" "cgroup files:the engine" "the engine:json-file files" "cgroup files:json-file files"; do
    stats=${mode%%:*} logs=${mode#*:}
    cgroup_root="" logs_root=""
    [ "$stats" = "cgroup files" ] && cgroup_root=/sys/fs/cgroup
    [ "$logs" = "json-file files" ] && logs_root=/var/lib/docker/containers
    work=$(mktemp -d /tmp/bench-engine.XXXXXX)
    port=$(free_port)
    CGROUP_ROOT="$cgroup_root" CONTAINER_LOGS_ROOT="$logs_root" INCLUDE_CONTAINERS="$prefix-log-*" \
      LOGS_DIR="$work/logs" METRICS_EXPORTER_PORT="$port" METRICS_EXPORTER_ADDRESS=127.0.0.1 \
      LAST_METRICS_COLLECTED_AT_FILE="$work/lm" LAST_LOGS_COLLECTED_AT_FILE="$work/ll" LOG_LEVEL=warning \
      target/release/container-metrics 2>"$work/collector.log" &
    collector=$!
    # Not measured: the first collections (inspects, first CPU readings, the first log reads).
    sleep 25
    t0=$(ticks "$dockerd_pid"); c0=$(ticks "$collector"); s0=$(date +%s%N)
    sleep "$window"
    t1=$(ticks "$dockerd_pid"); c1=$(ticks "$collector"); s1=$(date +%s%N)
    reads=$(curl -fsS "127.0.0.1:$port/metrics" | awk '$1 ~ /^collector_log_reads_total/ {printf "%s ", $0}')
    kill "$collector"; wait "$collector" 2>/dev/null || true; collector=""
    case "$logs:$reads" in
      "json-file files:"*'source="engine"} 0'*|"the engine:"*'source="files"} 0'*) ;;
      *) say "logs were not read from $logs only: $reads"; exit 1 ;;
    esac
    awk -v n="$n" -v st="$stats" -v lg="$logs" -v base="$base" -v t0="$t0" -v t1="$t1" -v c0="$c0" \
      -v c1="$c1" -v hz="$hz" -v s0="$s0" -v s1="$s1" 'BEGIN {
        min = (s1 - s0) / 6e10
        d = (t1 - t0) / hz / min
        printf "| %d | %s | %s | %.3f | %.3f | %.3f |\n", n, st, lg, d, d - base, (c1 - c0) / hz / min }'
    rm -rf "$work"
  done
  "$DOCKER" ps -aq --filter "name=$prefix-log-" | xargs -r "$DOCKER" rm -f >/dev/null
done
fi
[[ " $parts " == *" logs "* ]] || exit 0

say "filling a container's log with 2,000,000 lines"
big="$prefix-big"
"$DOCKER" run -d --name "$big" testbox:latest sh -c \
  'yes "$(printf "%090d" 0)" | head -n 2000000; while :; do echo tick; sleep 1; done' >/dev/null
for _ in $(seq 1 600); do
  "$DOCKER" logs --tail 1 "$big" 2>/dev/null | grep -q tick && break
  sleep 1
done
log_path=$("$DOCKER" inspect -f '{{.LogPath}}' "$big")
size=$(stat -c %s "$log_path")
sock=/var/run/docker.sock
api="http://docker/containers/$big/logs?stdout=1&stderr=1&timestamps=1"

measure() { # label, then what runs during the window (a function name and its arguments)
  local t0 t1
  t0=$(ticks "$dockerd_pid")
  "${@:2}"
  t1=$(ticks "$dockerd_pid")
  awk -v l="$1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v w="$window" -v size="$size" 'BEGIN {
    printf "| %s | %.0f MB | %d s | %.2f |\n", l, size / 1e6, w, (t1 - t0) / hz }'
}
idle() { sleep "$window"; }
polling() { # seconds back for since, then more of the query
  local end=$(( $(date +%s) + window ))
  while [ "$(date +%s)" -lt "$end" ]; do
    curl -fsS --unix-socket "$sock" -o /dev/null "$api&since=$(( $(date +%s) - $1 ))$2"
    sleep 5
  done
}
following() {
  timeout "$window" curl -fsS --unix-socket "$sock" -o /dev/null "$api&follow=1&since=$(date +%s)" || true
}
collecting() { # CONTAINER_LOGS_ROOT, then what runs during the window
  local work port logs_root=$1
  shift
  work=$(mktemp -d /tmp/bench-engine.XXXXXX)
  port=$(free_port)
  CGROUP_ROOT=/sys/fs/cgroup CONTAINER_LOGS_ROOT="$logs_root" INCLUDE_CONTAINERS="$big" DEFAULT_LOGS_SINCE_NOW=10 LOGS_DIR="$work/logs" \
    METRICS_EXPORTER_PORT="$port" METRICS_EXPORTER_ADDRESS=127.0.0.1 METRICS_COLLECTION_INTERVAL=3600 \
    LOGS_COLLECTION_INTERVAL=5 LAST_METRICS_COLLECTED_AT_FILE="$work/lm" \
    LAST_LOGS_COLLECTED_AT_FILE="$work/ll" LOG_LEVEL=warning \
    target/release/container-metrics 2>"$work/collector.log" &
  collector=$!
  # Not measured: the first read, which asks from DEFAULT_LOGS_SINCE_NOW on.
  for _ in $(seq 1 60); do
    [ -s "$work/logs/$big/$big.log" ] && break
    sleep 1
  done
  sleep 6
  "$@"
  kill "$collector"; wait "$collector" 2>/dev/null || true; collector=""
  rm -rf "$work"
}
collector_window() { # label
  local t0 t1
  t0=$(ticks "$dockerd_pid")
  sleep "$window"
  t1=$(ticks "$dockerd_pid")
  awk -v l="$1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v w="$window" -v size="$size" 'BEGIN {
    printf "| the collector, logs every 5 s (%s) | %.0f MB | %d s | %.2f |\n", l, size / 1e6, w, (t1 - t0) / hz }'
}
echo
echo "| reading the log | log file | window | dockerd CPU-s |"
echo "|---|---|---|---|"
measure "nobody reads" idle
measure "polling: since=<now-1s> every 5 s" polling 1 ""
measure "polling from the end: since=<now-6s>&tail=256 every 5 s" polling 6 "&tail=256"
measure "one follow stream" following
collecting "" collector_window "asking the engine: tail reads"
collecting /var/lib/docker/containers collector_window "from the engine's json-file files"
