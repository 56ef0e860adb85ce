#!/usr/bin/env bash
# Benchmarks of the logs browser (WEB_PORT) with the release collector and the project's fake engine:
#
#   search   one container's history of about 1 GiB (11 files of 100 MiB, the rotation's own names)
#            searched through the API for a line in the oldest file: plain text, a regular expression,
#            and a level filter with no hit; each the median of 5 (curl's time_total)
#   searchall one search of every container (GET /api/search) over 1000 kept histories of 2 GiB in all
#            (two files of about 1 MiB each and a time index per container, the rotation's own names),
#            beside 1000 running containers of the fake engine, files in the page cache: a rare plain
#            text, a regular expression and a text in every line, each the median of 5; the same rare
#            text asked of the per-container API one container after another (the baseline, median of
#            5); the scrape median while searches run and idle; the collector's RSS peak during the
#            searches minus its RSS before
#   overview GET /api/containers with 1000 containers (median of 20), the page itself, and the peak
#            RSS of the collector with the logs browser on and off (the charts' memory is the
#            difference; their slots are allocated when a container is first seen)
#   tail     how long a line the fake engine logs takes to reach an open live stream (5 lines)
#   busy     scrape latency (median, p99 of 200) and collector CPU over 60 s at 1000 containers,
#            with and without a page open (the overview polled every 15 s as the page does, and a
#            live stream open)
#   conns    RSS of the collector before and while 10,000 connections send half a request each,
#            with MAX_CONNECTIONS at its default (256)
#
#   scripts/bench-web.sh [search|searchall|overview|tail|busy|conns ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(search searchall overview tail busy conns)

say() { printf 'bench-web: %s\n' "$*" >&2; }
say "building the release binary and the fake engine"
cargo build --release --locked --quiet
cargo build --release --locked --quiet --example fake_engine
target=${CARGO_TARGET_DIR:-target}
bin=$target/release/container-metrics
engine_bin=$target/release/examples/fake_engine
hz=$(getconf CLK_TCK)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
hwm() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
median() { sort -n | awk '{v[NR]=$1} END {printf "%.1f", v[int((NR+1)/2)]*1000}'; }
p99() { sort -n | awk '{v[NR]=$1} END {printf "%.1f", v[int(NR*0.99+0.999)]*1000}'; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

start_engine() { # port log args...
  local port=$1 log=$2; shift 2
  "$engine_bin" --port "$port" "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do grep -q "containers on" "$log" 2>/dev/null && return; sleep 0.1; done
  say "the fake engine did not start: $(cat "$log")"; exit 1
}

# start_collector work eport mport wport env... ; sets $collector
start_collector() {
  local work=$1 eport=$2 mport=$3 wport=$4; shift 4
  local web=()
  [ "$wport" = off ] || web=(WEB_PORT="$wport" WEB_ADDRESS=127.0.0.1)
  env DOCKER_HOST="tcp://127.0.0.1:$eport" LOGS_DIR="$work/logs" METRICS_EXPORTER_PORT="$mport" \
    METRICS_EXPORTER_ADDRESS=127.0.0.1 "${web[@]}" \
    LAST_METRICS_COLLECTED_AT_FILE="$work/last-metrics" LAST_LOGS_COLLECTED_AT_FILE="$work/last-logs" \
    DEFAULT_LOGS_SINCE_NOW=3600 LOG_LEVEL=warning "$@" "$bin" 2>"$work/collector.log" &
  collector=$!
  pids+=("$collector")
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "127.0.0.1:$mport/metrics" 2>/dev/null && return; sleep 0.1; done
  say "the collector did not start: $(tail -n 5 "$work/collector.log")"; exit 1
}

wait_for_containers() { # mport n
  for _ in $(seq 1 1200); do
    c=$(curl -fsS "127.0.0.1:$1/metrics" | grep -c '^container_cpu_usage_percent{' || true)
    [ "$c" -ge "$2" ] && return
    sleep 0.1
  done
  say "only $c of $2 containers collected"; exit 1
}

machine=$(printf '%s, %s cores' "$(uname -sr)" "$(nproc)")
say "machine: $machine"

for part in "${parts[@]}"; do
  work=$(mktemp -d /tmp/bench-web.XXXXXX)
  eport=$(free_port); mport=$(free_port); wport=$(free_port)
  case $part in
  search)
    say "search: writing about 1 GiB of history for container 'big'"
    python3 - "$work/logs/big" <<'PY'
import os, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
line = b"INFO GET /api/items?page=%07d 200 in 12 ms user=anonymous agent=curl/8.0 " + b"x" * 40 + b"\n"
per_file = 100 * 1024 * 1024
n = 0
for age in range(10, -1, -1):
    name = os.path.join(d, "big.log" + ("" if age == 0 else f".{age}"))
    with open(name, "wb") as f:
        written = 0
        chunk = []
        while written < per_file:
            l = line % n
            if age == 10 and n == 1000:
                l = b"ERROR needle-in-the-oldest-file order=42 failed\n"
            chunk.append(l)
            written += len(l)
            n += 1
            if len(chunk) == 10000:
                f.write(b"".join(chunk)); chunk = []
        f.write(b"".join(chunk))
print(n)
PY
    du -sh "$work/logs/big" >&2
    start_engine "$eport" "$work/engine.log" --containers 1 --lines-per-second 0
    start_collector "$work" "$eport" "$mport" "$wport" LOGS_CONTAINER_MAX_FILE_SIZE=104857600 \
      LOGS_CONTAINER_MAX_FILES=10
    curl -fsS "127.0.0.1:$wport/api/containers" | grep -q '"name":"big"' || { say "big is not listed"; exit 1; }
    printf '| search of ~1 GiB (11 files) | median of 5 | lines found | bytes read |\n|---|---|---|---|\n'
    for q in "q=needle-in-the-oldest&limit=10" "q=needle-in-the-.*order%3D4%5B0-9%5D&regex=1&limit=10" \
      "level=error&limit=10" "q=page%3D0999999&limit=10"; do
      times="$work/times"; : >"$times"
      for _ in 1 2 3 4 5; do
        curl -fsS -o "$work/answer" -w '%{time_total}\n' "127.0.0.1:$wport/api/containers/big/lines?$q" >>"$times"
      done
      found=$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print(len(a["lines"]), a["bytes_read"], a["stopped"])' "$work/answer")
      read -r n bytes stopped <<<"$found"
      printf '| `%s` | %s ms | %s | %s (stopped: %s) |\n' "$q" "$(median <"$times")" "$n" "$bytes" "$stopped"
    done
    ;;
  searchall)
    say "searchall: writing 1000 histories of about 2 MiB each, with their time indexes"
    python3 - "$work/logs" <<'PY'
import os, struct, sys, time
root = sys.argv[1]
os.makedirs(os.path.join(root, ".state", "times"), exist_ok=True)
line = b"INFO GET /api/items?page=%07d 200 in 12 ms user=anonymous agent=curl/8.0 status=200 " + b"x" * 24 + b"\n"
block = b"".join(line % i for i in range(10_000))  # about 1 MiB, whole lines
per_tick = 64 * len(line)  # a tick every 64 lines
now = time.time_ns()
for c in range(1000):
    name = f"h{c:04d}"
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    records = []
    for gen, suffix in ((0, ".1"), (1, "")):
        data = block
        if gen == 0 and c % 250 == 7:
            # The rare line: in the older file of 4 containers.
            data = block[:len(line) * 5000] + b"ERROR rare-needle-4711 order=42 failed\n" + block[len(line) * 5000:]
        if gen == 1 and c % 100 == 3:
            data = block[:len(line) * 20] + b"WARN login user=root from 10.1.2.3 status=503 denied\n" + block[len(line) * 20:]
        with open(os.path.join(d, name + ".log" + suffix), "wb") as f:
            f.write(data)
        for k, off in enumerate(range(0, len(data) - 1, per_tick)):
            # Ticks of every container interleave: one a second, the containers a ms apart.
            ts = now - 86_400_000_000_000 + (gen * 200 + k) * 1_000_000_000 + c * 1_000_000
            records.append(struct.pack("<qQQQ", ts, gen, off, gen))
    with open(os.path.join(root, ".state", "times", name), "wb") as f:
        f.write(b"".join(records))
PY
    du -sh --exclude=.state "$work/logs" >&2
    # Into the page cache.
    cat "$work"/logs/h*/h* >/dev/null
    start_engine "$eport" "$work/engine.log" --containers 1000 --lines-per-second 1 --line-bytes 60
    start_collector "$work" "$eport" "$mport" "$wport" LOGS_CONTAINER_MAX_FILE_SIZE=1100000 \
      LOGS_CONTAINER_MAX_FILES=1 CGROUP_ROOT=
    wait_for_containers "$mport" 1000
    sleep 3
    listed=$(curl -fsS "127.0.0.1:$wport/api/containers" | grep -o '"name":"h[0-9]*"' | wc -l)
    [ "$listed" -eq 1000 ] || { say "only $listed histories listed"; exit 1; }
    idle_rss=$(rss "$collector")
    echo 5 >"/proc/$collector/clear_refs" 2>/dev/null || say "cannot reset the RSS peak: it is since the start"
    printf '| search of every container, 1000 histories (2 GiB) + 1000 running | median of 5 | lines | left out | bytes read | containers searched | stopped |\n|---|---|---|---|---|---|---|\n'
    for q in "q=rare-needle-4711&limit=100" "q=user%3D(admin%7Croot)+.*status%3D5%5B0-9%5D%7B2%7D&regex=1&limit=100" \
      "q=INFO+GET&limit=1000"; do
      times="$work/times"; : >"$times"
      for _ in 1 2 3 4 5; do
        curl -fsS -o "$work/answer" -w '%{time_total}\n' "127.0.0.1:$wport/api/search?$q" >>"$times"
      done
      found=$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print(len(a["lines"]), a["left_out"], a["bytes_read"], a["containers_searched"], a["containers"], a["stopped"])' "$work/answer")
      read -r n left bytes searched all stopped <<<"$found"
      printf '| `%s` | %s ms | %s | %s | %s | %s of %s | %s |\n' "$q" "$(median <"$times")" "$n" "$left" "$bytes" "$searched" "$all" "$stopped"
    done
    peak=$(hwm "$collector")
    # The baseline: the per-container API, one container after another on one kept-alive connection.
    python3 - "$wport" <<'PY'
import http.client, json, statistics, sys, time
port = int(sys.argv[1])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
c.request("GET", "/api/containers"); names = [x["name"] for x in json.loads(c.getresponse().read())["containers"]]
runs = []
for _ in range(5):
    t = time.time(); found = 0
    for n in names:
        c.request("GET", f"/api/containers/{n}/lines?q=rare-needle-4711&limit=100")
        found += len(json.loads(c.getresponse().read())["lines"])
    runs.append(time.time() - t)
print(f"| baseline: `lines?q=rare-needle-4711` of each of the {len(names)} containers in turn | {statistics.median(runs) * 1000:.1f} ms | {found} | | | | |")
PY
    printf '\n| while searching | figure |\n|---|---|\n'
    printf '| collector RSS before the searches | %s MiB |\n| RSS peak during them | %s MiB (+%s) |\n' \
      "$idle_rss" "$peak" "$(awk -v a="$idle_rss" -v b="$peak" 'BEGIN {printf "%.1f", b - a}')"
    # Idle and busy in turns (5 rounds of 20 scrapes each), so that what else runs on the machine
    # weighs on both alike.
    idle="$work/idle"; busy="$work/busy"; : >"$idle"; : >"$busy"
    for _ in 1 2 3 4 5; do
      for _ in $(seq 1 20); do curl -fsS -o /dev/null -w '%{time_total}\n' "127.0.0.1:$mport/metrics" >>"$idle"; sleep 0.05; done
      (while :; do curl -fsS -o /dev/null "127.0.0.1:$wport/api/search?q=user%3D(admin%7Croot)+.*status%3D5%5B0-9%5D%7B2%7D&regex=1"; done) &
      searcher=$!; pids+=("$searcher")
      sleep 0.5
      for _ in $(seq 1 20); do curl -fsS -o /dev/null -w '%{time_total}\n' "127.0.0.1:$mport/metrics" >>"$busy"; sleep 0.05; done
      kill "$searcher" 2>/dev/null || true; wait "$searcher" 2>/dev/null || true
      sleep 1
    done
    printf '| scrape median, idle (5 x 20, in turns with the next row) | %s ms |\n' "$(median <"$idle")"
    printf '| scrape median while searches run back to back (5 x 20) | %s ms |\n' "$(median <"$busy")"
    ;;
  overview)
    printf '| overview, 1000 containers | figure |\n|---|---|\n'
    start_engine "$eport" "$work/engine.log" --containers 1000 --lines-per-second 2 --line-bytes 60
    start_collector "$work" "$eport" "$mport" "$wport" METRICS_COLLECTION_INTERVAL=5 LOGS_COLLECTION_INTERVAL=5
    wait_for_containers "$mport" 1000
    sleep 6
    times="$work/times"; : >"$times"
    for _ in $(seq 1 20); do
      curl -fsS -o /dev/null -w '%{time_total}\n' "127.0.0.1:$wport/api/containers" >>"$times"
    done
    printf '| `GET /api/containers` median of 20 | %s ms |\n' "$(median <"$times")"
    printf '| its size | %s KiB |\n' $(( $(curl -fsS "127.0.0.1:$wport/api/containers" | wc -c) / 1024 ))
    printf '| `GET /` | %s ms |\n' "$(curl -fsS -o /dev/null -w '%{time_total}\n' "127.0.0.1:$wport/" | median)"
    with=$(hwm "$collector")
    kill "$collector"; wait "$collector" 2>/dev/null || true
    rm -rf "$work/logs"
    start_collector "$work" "$eport" "$mport" off METRICS_COLLECTION_INTERVAL=5 LOGS_COLLECTION_INTERVAL=5
    wait_for_containers "$mport" 1000
    sleep 6
    without=$(hwm "$collector")
    printf '| peak RSS with the logs browser | %s MiB |\n| peak RSS without | %s MiB |\n' "$with" "$without"
    ;;
  tail)
    printf '| live tail | figure |\n|---|---|\n'
    start_engine "$eport" "$work/engine.log" --containers 1 --lines-per-second 1 --line-bytes 60
    start_collector "$work" "$eport" "$mport" "$wport" LOGS_COLLECTION_INTERVAL=5
    wait_for_containers "$mport" 1
    name=$(curl -fsS "127.0.0.1:$wport/api/containers" | python3 -c 'import json,sys; print(json.load(sys.stdin)["containers"][0]["name"])')
    # Each line carries its number; the fake engine writes line k at about start + k seconds. The
    # delay is what the stream adds to the engine's own time, i.e. up to one tick plus the poll.
    python3 - "$wport" "$name" <<'PY'
import http.client, json, sys, time
port, name = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("GET", f"/api/containers/{name}/stream")
r = c.getresponse()
seen, delays, start = 0, [], time.time()
buf = b""
while seen < 5 and time.time() - start < 60:
    buf += r.read1(65536)
    while b"\n\n" in buf:
        event, buf = buf.split(b"\n\n", 1)
        for l in event.split(b"\n"):
            if l.startswith(b"data: "):
                seen += 1
                delays.append(time.time())
gaps = [b - a for a, b in zip(delays, delays[1:])]
print(f"| lines shown by the stream | {seen} in {time.time() - start:.1f} s |")
print(f"| gap between batches (the tick: LOGS_COLLECTION_INTERVAL=5) | max {max(gaps or [0]):.2f} s |")
PY
    ;;
  busy)
    printf '| 1000 containers, 60 s | scrape median | scrape p99 | collector CPU-s/min |\n|---|---|---|---|\n'
    start_engine "$eport" "$work/engine.log" --containers 1000 --lines-per-second 2 --line-bytes 60 \
      --stats-delay-ms 1000
    for mode in closed open; do
      start_collector "$work" "$eport" "$mport" "$wport" CGROUP_ROOT=
      wait_for_containers "$mport" 1000
      watcher=""
      if [ "$mode" = open ]; then
        first=$(curl -fsS "127.0.0.1:$wport/api/containers" | python3 -c 'import json,sys; print(json.load(sys.stdin)["containers"][0]["name"])')
        # As the overview page does (overview.js): every 15 s.
        (while :; do curl -fsS -o /dev/null "127.0.0.1:$wport/api/containers"; sleep 15; done) &
        watcher=$!; pids+=("$watcher")
        curl -fsS -N -o /dev/null "127.0.0.1:$wport/api/containers/$first/stream" &
        pids+=($!); stream=$!
      fi
      t0=$(cpu_ticks "$collector"); w0=$(now_ms)
      sleep 60
      t1=$(cpu_ticks "$collector"); w1=$(now_ms)
      lat="$work/lat"; : >"$lat"
      for _ in $(seq 1 200); do curl -fsS -o /dev/null -w '%{time_total}\n' "127.0.0.1:$mport/metrics" >>"$lat"; sleep 0.05; done
      cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s=$(( w1 - w0 )) 'BEGIN {printf "%.2f", (b - a) / hz / (s / 1000) * 60}')
      printf '| pages %s | %s ms | %s ms | %s |\n' "$mode" "$(median <"$lat")" "$(p99 <"$lat")" "$cpu"
      [ -z "$watcher" ] || { kill "$watcher" "$stream" 2>/dev/null || true; }
      kill "$collector"; wait "$collector" 2>/dev/null || true
      rm -rf "$work/logs"
    done
    ;;
  conns)
    printf '| 10,000 connections sending half a request | collector RSS |\n|---|---|\n'
    start_engine "$eport" "$work/engine.log" --containers 10 --lines-per-second 1
    start_collector "$work" "$eport" "$mport" "$wport"
    wait_for_containers "$mport" 10
    printf '| before | %s MiB |\n' "$(rss "$collector")"
    ulimit -n 20000 2>/dev/null || true
    python3 - "$mport" "$collector" <<'PY'
import socket, sys, time
port, pid = int(sys.argv[1]), sys.argv[2]
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"):
            return int(l.split()[1]) / 1024
held, refused, peak = [], 0, 0.0
start = time.time()
for i in range(10000):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Half: ")
        held.append(s)
    except OSError:
        refused += 1
    if i % 500 == 0:
        peak = max(peak, rss())
time.sleep(1)
peak = max(peak, rss())
# Were the ones beyond the cap closed by the collector?
closed = 0
for s in held:
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            closed += 1
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
print(f"| while 10,000 connect within {time.time() - start:.1f} s (peak) | {peak:.1f} MiB |")
print(f"| connections closed by the collector at once | {closed} of {len(held)} (refused by the kernel: {refused}) |")
s = socket.create_connection(("127.0.0.1", port), timeout=5)
for h in held:
    h.close()
time.sleep(0.5)
PY
    printf '| after they are gone | %s MiB |\n' "$(rss "$collector")"
    curl -fsS -o /dev/null -w '| a scrape afterwards | %{http_code} in %{time_total} s |\n' "127.0.0.1:$mport/metrics"
    ;;
  *) say "unknown part $part"; exit 2 ;;
  esac
  cleanup; pids=()
  rm -rf "$work"
done
