#!/usr/bin/env bash
# Benchmarks of the release collector against the project's fake engine (examples/fake_engine.rs):
#
#   for each N (default 10 100 1000): N containers, stats answered after 1 s like the real engine's
#   sampler, 2 lines/s of 60 bytes per container, the Python tool's intervals (metrics 20 s, logs 5 s).
#   Prints the time to the first complete set of metrics (every container has its CPU series), the
#   wall time of a later metrics collection (the collector's own collector_collection_duration_seconds),
#   the most containers whose metrics were stale at one of the scrapes made every 15 s meanwhile,
#   CPU seconds per minute and log bytes per second over the window (one scrape at each end), peak
#   RSS (VmHWM), and then the latency of 200 scrapes 50 ms apart (median, p99).
#
#   then one container holding 1,000,000 lines of 100 bytes, read by a collector with one worker
#   thread: bytes written per CPU-second of the collector (the "one fast stream" figure).
#
#   An N written `1000c` runs the engine-free path instead: the fake engine also keeps a cgroup v2
#   tree for its containers and the collector reads CPU and memory from it (CGROUP_ROOT); the engine
#   is then only listed and inspected. The other rows set CGROUP_ROOT empty (stats from the engine).
#
#   scripts/bench.sh [N ...]        N: a count, then c for the cgroup path, f for the engine's json-file
#                                   logs (CONTAINER_LOGS_ROOT), e.g. 1000cf for no per-container engine work;
#                                   BENCH_SECONDS=60 (window per N), BENCH_STREAM=0 skips the stream runs,
#                                   BENCH_ENV="NAME=value ..." adds settings to the collector (every
#                                   run, the fast streams too; e.g. LOG_PATTERNS_PATH=file),
#                                   BENCH_SAMPLER=1 answers stats as the real engine's sampler does
#                                   (plain 1-2 s, one-shot 0-1 s) instead of after exactly 1 s,
#                                   BENCH_BACKLOG=128 serves the engine on a unix socket with that
#                                   listen backlog, as dockerd on a kernel before 5.4 (4096: 5.4 and
#                                   later; unset: TCP), BENCH_MAX_CONNECTIONS=64 caps the connections
#                                   that socket serves at once, as a socket proxy does,
#                                   BENCH_BIN=path runs that collector binary instead of this tree's
#                                   (e.g. a copy of the previous build, for a before/after in one run);
#                                   the build goes where CARGO_TARGET_DIR says (default target/)
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10 100 1000 1000c)
window=${BENCH_SECONDS:-60}
hz=$(getconf CLK_TCK)

say() { printf 'bench: %s\n' "$*" >&2; }
say "building the release binary and the fake engine"
cargo build --release --locked --quiet
cargo build --release --locked --quiet --example fake_engine
target_dir=${CARGO_TARGET_DIR:-target}
bin=${BENCH_BIN:-$target_dir/release/container-metrics}
engine_bin=$target_dir/release/examples/fake_engine

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
metric() { # metric NAME_WITH_LABELS < exposition
  awk -v m="$1" '$1 == m {print $2}'
}

engine="" collector=""
cleanup() { kill "$engine" "$collector" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

start_engine() { # port, fake_engine args...
  local port=$1 log=$2; shift 2
  "$engine_bin" --port "$port" "$@" >"$log" 2>&1 &
  engine=$!
  for _ in $(seq 1 600); do grep -q "containers on" "$log" 2>/dev/null && return; sleep 0.1; done
  say "the fake engine did not start: $(cat "$log")"; exit 1
}

start_collector() { # work dir, engine port, metrics port, extra env...
  local work=$1 eport=$2 mport=$3; shift 3
  local host="tcp://127.0.0.1:$eport"
  [ -z "${BENCH_BACKLOG:-}" ] || host="unix://$work/docker.sock"
  env DOCKER_HOST="$host" LOGS_DIR="$work/logs" METRICS_EXPORTER_PORT="$mport" \
    METRICS_EXPORTER_ADDRESS=127.0.0.1 \
    LAST_METRICS_COLLECTED_AT_FILE="$work/last-metrics" LAST_LOGS_COLLECTED_AT_FILE="$work/last-logs" \
    DEFAULT_LOGS_SINCE_NOW=3600 LOG_LEVEL=warning "$@" "$bin" 2>"$work/collector.log" &
  collector=$!
}

machine=$(printf '%s, %s cores, %s GiB' "$(uname -sr)" "$(nproc)" \
  "$(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo)")
printf '| N | first complete metrics | later metrics collection | stale at a scrape (most) | CPU-s per minute | peak RSS | scrape median | scrape p99 | log bytes/s |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
if [ "${BENCH_SAMPLER:-0}" = 1 ]; then stats_timing=(--sampler); else stats_timing=(--stats-delay-ms 1000); fi
socket_args() { # work dir: the fake engine's unix socket, when BENCH_BACKLOG asks for one
  [ -n "${BENCH_BACKLOG:-}" ] || return 0
  printf '%s\n' --socket "$1/docker.sock" --backlog "$BENCH_BACKLOG"
  [ -z "${BENCH_MAX_CONNECTIONS:-}" ] || printf '%s\n' --max-connections "$BENCH_MAX_CONNECTIONS"
}
for spec in "${sizes[@]}"; do
  n=${spec%%[cf]*}
  work=$(mktemp -d /tmp/bench.XXXXXX)
  eport=$(free_port); mport=$(free_port)
  say "N=$spec: engine on $eport, work directory $work"
  if [[ $spec == *c* ]]; then
    path_engine=(--cgroup-root "$work/cgroup") path_env=(CGROUP_ROOT="$work/cgroup")
  else
    path_engine=() path_env=(CGROUP_ROOT=)
  fi
  if [[ $spec == *f* ]]; then
    path_engine+=(--json-dir "$work/containers") path_env+=(CONTAINER_LOGS_ROOT="$work/containers")
  else
    path_env+=(CONTAINER_LOGS_ROOT=)
  fi
  mapfile -t socket < <(socket_args "$work")
  start_engine "$eport" "$work/engine.log" --containers "$n" --lines-per-second 2 --line-bytes 60 \
    "${stats_timing[@]}" "${path_engine[@]}" "${socket[@]}"
  t0=$(now_ms)
  # shellcheck disable=SC2086
  start_collector "$work" "$eport" "$mport" METRICS_COLLECTION_INTERVAL=20 LOGS_COLLECTION_INTERVAL=5 \
    "${path_env[@]}" ${BENCH_ENV:-}
  first="" first_text=""
  while [ -z "$first_text" ]; do
    kill -0 "$collector" 2>/dev/null || { say "the collector died: $(tail -n 5 "$work/collector.log")"; exit 1; }
    count=$(curl -fsS "127.0.0.1:$mport/metrics" 2>/dev/null | grep -c '^container_cpu_usage_percent{' || true)
    if [ "$count" -ge "$n" ]; then first=$(( $(now_ms) - t0 )); first_text=$(awk -v f="$first" 'BEGIN {printf "%.2f s", f / 1000}'); fi
    # A collector that never gets them all is measured all the same, from then on.
    [ $(( $(now_ms) - t0 )) -lt 120000 ] || first_text="none in 120 s ($count of $n)"
    sleep 0.02
  done
  say "N=$n: first complete metrics: $first_text; measuring for $window s"
  scrape=$(curl -fsS "127.0.0.1:$mport/metrics")
  bytes0=$(metric "collector_log_bytes_written_total{machine=\"local-machine\"}" <<<"$scrape")
  ticks0=$(cpu_ticks "$collector"); w0=$(now_ms)
  # A scrape every 15 s, as Prometheus makes them: how many containers' metrics are stale (not
  # collected by the last collection: container_up_timestamp_seconds over 30 s old at a 20 s interval).
  stale=0 next_scrape=$(( w0 + 15000 ))
  while [ $(( $(now_ms) - w0 )) -lt $(( window * 1000 )) ]; do
    if [ "$(now_ms)" -ge "$next_scrape" ]; then
      now_s=$(( $(now_ms) / 1000 ))
      k=$(curl -fsS "127.0.0.1:$mport/metrics" | awk -v now="$now_s" \
        '/^container_up_timestamp_seconds\{/ && $2 < now - 30 {k++} END {print k + 0}')
      [ "$k" -le "$stale" ] || stale=$k
      next_scrape=$(( next_scrape + 15000 ))
    fi
    sleep 0.2
  done
  ticks1=$(cpu_ticks "$collector"); w1=$(now_ms)
  scrape=$(curl -fsS "127.0.0.1:$mport/metrics")
  # Then 200 scrapes, 50 ms apart.
  lat="$work/scrape-latency.txt"; : >"$lat"
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null -w '%{time_total}\n' "127.0.0.1:$mport/metrics" >>"$lat"
    sleep 0.05
  done
  bytes1=$(metric "collector_log_bytes_written_total{machine=\"local-machine\"}" <<<"$scrape")
  later=$(metric "collector_collection_duration_seconds{kind=\"metrics\",machine=\"local-machine\"}" <<<"$scrape")
  hwm=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$collector/status")
  read -r median p99 < <(sort -n "$lat" | awk '{v[NR]=$1} END {m=v[int((NR+1)/2)]; p=v[int(NR*0.99+0.999)]; printf "%.1f %.1f\n", m*1000, p*1000}')
  awk -v n="$spec" -v first="$first_text" -v later="$later" -v t0="$ticks0" -v t1="$ticks1" -v hz="$hz" \
    -v w0="$w0" -v w1="$w1" -v hwm="$hwm" -v med="$median" -v p99="$p99" -v b0="$bytes0" -v b1="$bytes1" \
    -v stale="$stale" \
    'BEGIN {
       secs = (w1 - w0) / 1000
       printf "| %s | %s | %.2f s | %d | %.2f | %s MiB | %s ms | %s ms | %.0f |\n",
         n, first, later, stale, (t1 - t0) / hz / secs * 60, hwm, med, p99, (b1 - b0) / secs
     }'
  kill "$collector" "$engine"; wait "$collector" "$engine" 2>/dev/null || true
  collector="" engine=""
  rm -rf "$work"
done

if [ "${BENCH_STREAM:-1}" != 0 ]; then
  for from in engine files; do
    work=$(mktemp -d /tmp/bench.XXXXXX)
    eport=$(free_port); mport=$(free_port)
    lines=1000000
    if [ "$from" = files ]; then
      from_engine=(--json-dir "$work/containers") from_env=(CONTAINER_LOGS_ROOT="$work/containers")
    else
      from_engine=() from_env=(CONTAINER_LOGS_ROOT=)
    fi
    say "one fast stream from the $from: $lines lines of 100 bytes from one container"
    mapfile -t socket < <(socket_args "$work")
    start_engine "$eport" "$work/engine.log" --containers 1 --lines-per-second 0 --line-bytes 100 \
      --preload-lines "$lines" "${from_engine[@]}" "${socket[@]}"
    # shellcheck disable=SC2086
    start_collector "$work" "$eport" "$mport" MAX_COLLECTOR_THREADS=1 ENGINE_TIMEOUT=120 \
      LOGS_COLLECTION_INTERVAL=1 METRICS_COLLECTION_INTERVAL=3600 "${from_env[@]}" ${BENCH_ENV:-}
    done_lines=0 written=0
    for _ in $(seq 1 1200); do
      scrape=$(curl -fsS "127.0.0.1:$mport/metrics" 2>/dev/null || true)
      done_lines=$(metric "collector_log_lines_written_total{machine=\"local-machine\"}" <<<"$scrape")
      written=$(metric "collector_log_bytes_written_total{machine=\"local-machine\"}" <<<"$scrape")
      [ "${done_lines:-0}" -ge "$lines" ] && break
      sleep 0.1
    done
    [ "${done_lines:-0}" -ge "$lines" ] || { say "only ${done_lines:-0} of $lines lines written"; exit 1; }
    ticks=$(cpu_ticks "$collector")
    awk -v b="$written" -v t="$ticks" -v hz="$hz" -v from="$from" 'BEGIN {
      printf "\none fast stream from the %s: %.1f MB written, collector CPU %.2f s: %.0f MB/s per core\n", from, b / 1e6, t / hz, b / 1e6 / (t / hz) }'
    kill "$collector" "$engine"; wait "$collector" "$engine" 2>/dev/null || true
    collector="" engine=""
    rm -rf "$work"
  done
fi
printf '\nmachine: %s; release binary %s bytes\n' "$machine" "$(stat -c %s "$bin")"
