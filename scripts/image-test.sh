#!/usr/bin/env bash
# Builds the image and runs it exactly as users ran the Python tool, next to a container that logs;
# then checks what a user would: the scrape on port 10101 (also through promtool), the log files and
# LAST_* files in the mounted /tmp directory, and a prompt, clean stop. Removes what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER=docker
[ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker
say() { printf 'image-test: %s\n' "$*"; }
fail() { say "FAILED: $*"; "$DOCKER" logs metrics-and-logs-collector 2>&1 | tail -n 20 || true; exit 1; }

bash build.sh

mounted=/tmp/metrics-and-logs-collector
talker=image-test-talker
cleanup() { "$DOCKER" rm -f metrics-and-logs-collector "$talker" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
rm -rf "$mounted"

"$DOCKER" run -d --name "$talker" testbox:latest \
  sh -c 'i=0; while true; do i=$((i+1)); echo "INFO talk $i"; echo "ERROR bad $i" >&2; sleep 0.2; done' >/dev/null

# The Python tool's own command line, with only the image swapped.
docker_run_line() {
  "$DOCKER" run -d --memory 125M --cpus 0.5 -p 10101:10101 \
    --env LOG_LEVELS_MAPPING_PATH=/config/log_levels_mapping.json \
    --volume /var/run/docker.sock:/var/run/docker.sock \
    --volume /tmp/metrics-and-logs-collector:/tmp \
    --name metrics-and-logs-collector metrics-and-logs-collector
}
docker_run_line >/dev/null
say "collector started with the Python tool's docker run line"

scrape=""
for _ in $(seq 1 60); do
  scrape=$(curl -fsS localhost:10101/metrics 2>/dev/null || true)
  grep -q "container_logs_total{container=\"$talker\",level=\"error\"" <<<"$scrape" \
    && grep -q "container_max_memory_bytes{container=\"$talker\"" <<<"$scrape" && break
  sleep 0.5
done
grep -q "container_cpu_usage_percent{container=\"$talker\",machine=\"local-machine\"}" <<<"$scrape" \
  || fail "no CPU series for $talker in the scrape"
grep -q 'container_max_memory_bytes{container="metrics-and-logs-collector",machine="local-machine"} 131072000' <<<"$scrape" \
  || fail "the collector's own 125M limit is not exported"
say "scrape holds the containers' series"

if command -v promtool >/dev/null; then
  remarks=$(promtool check metrics <<<"$scrape" 2>&1) || fail "promtool check metrics: $remarks"
  [ -z "$remarks" ] || fail "promtool check metrics has remarks: $remarks"
  say "promtool check metrics: clean"
fi

log="$mounted/logs/$talker/$talker.log"
for _ in $(seq 1 20); do [ -s "$log" ] && break; sleep 0.5; done
[ -s "$log" ] || fail "no log file $log"
grep -q '^INFO talk 1$' "$log" || fail "first line missing from $log"
grep -q '^ERROR bad 1$' "$log" || fail "first stderr line missing from $log"
! grep -q '^$' "$log" || fail "blank line in $log"
dups=$(sort "$log" | uniq -d | head -n 3)
[ -z "$dups" ] || fail "repeated lines in $log: $dups"
for f in last-metrics-collected-at.txt last-logs-collected-at.txt; do
  grep -Eq '^[0-9]+$' "$mounted/$f" || fail "$f does not hold a unix time: $(cat "$mounted/$f")"
done
say "log files and LAST_* files in the mounted /tmp"

pid=$("$DOCKER" inspect -f '{{.State.Pid}}' metrics-and-logs-collector)
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")
[ "$uids" = "65534 65534 65534 65534" ] || fail "the collector runs with Uid $uids, not 65534"
caps=$(awk '/^CapEff:/ {print $2}' "/proc/$pid/status")
[ "$caps" = 0000000000000000 ] || fail "the collector keeps capabilities $caps"
owner=$(stat -c %u "$log")
[ "$owner" = 65534 ] || fail "$log belongs to uid $owner"
say "running as uid 65534 with no capabilities; files belong to 65534"

start=$(date +%s%N)
"$DOCKER" stop -t 10 metrics-and-logs-collector >/dev/null
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' metrics-and-logs-collector)
[ "$code" = 0 ] || fail "exit code $code after docker stop"
[ "$took_ms" -lt 5000 ] || fail "docker stop took ${took_ms} ms"
say "docker stop: exit 0 after ${took_ms} ms"

# Never root at all: the user and the socket's group given on the command line.
"$DOCKER" rm -f metrics-and-logs-collector >/dev/null
sock_gid=$(stat -c %g /var/run/docker.sock)
"$DOCKER" run -d --user 65534:65534 --group-add "$sock_gid" -p 10101:10101 \
  -p 11111:11111 -e WEB_PORT=11111 \
  --volume /var/run/docker.sock:/var/run/docker.sock \
  --volume /sys/fs/cgroup:/sys/fs/cgroup:ro \
  --volume /proc:/host/proc:ro -e PROC_ROOT=/host/proc \
  --volume /tmp/metrics-and-logs-collector:/tmp \
  --name metrics-and-logs-collector metrics-and-logs-collector >/dev/null
scrape=""
for _ in $(seq 1 60); do
  scrape=$(curl -fsS localhost:10101/metrics 2>/dev/null || true)
  grep -q "container_max_memory_bytes{container=\"$talker\"" <<<"$scrape" && break
  sleep 0.5
done
grep -q "container_max_memory_bytes{container=\"$talker\"" <<<"$scrape" \
  || fail "--user 65534 --group-add $sock_gid: no series for $talker"
lines_before=$(wc -l <"$log")
for _ in $(seq 1 20); do [ "$(wc -l <"$log")" -gt "$lines_before" ] && break; sleep 0.5; done
[ "$(wc -l <"$log")" -gt "$lines_before" ] || fail "--user 65534: $log stopped growing"
dups=$(sort "$log" | uniq -d | head -n 3)
[ -z "$dups" ] || fail "repeated lines in $log after the restart as --user 65534: $dups"
# Read whole first: grep -q stopping early would break the pipe under pipefail.
console=$("$DOCKER" logs metrics-and-logs-collector 2>&1)
grep -q "Stats come from the cgroup v" <<<"$console" \
  || fail "with the host's /sys/fs/cgroup mounted, stats do not come from the cgroup files"
say "--user 65534:65534 --group-add $sock_gid (never root), host cgroups mounted: stats from the cgroup files, logs go on"
# The logs browser of the image: the overview lists the talker, its page and lines are served, under
# the strict policy; the network counters come from the host's /proc on the cgroup path.
overview=$(curl -fsS localhost:11111/api/containers) || fail "the logs browser does not answer on 11111"
grep -q "\"name\":\"$talker\"" <<<"$overview" || fail "the logs browser does not list $talker: $overview"
headers=$(curl -fsS -D - -o /dev/null "localhost:11111/containers/$talker") || fail "no page for $talker"
grep -qi "content-security-policy: default-src 'none'" <<<"$headers" || fail "no strict CSP: $headers"
curl -fsS "localhost:11111/api/containers/$talker/lines?limit=5" | grep -q '"lines":\[{' \
  || fail "no lines of $talker in the logs browser"
[ "$(curl -s -o /dev/null -w '%{http_code}' 'localhost:11111/containers/..%2F..%2Fetc')" = 404 ] \
  || fail "a path outside the table is not 404"
scrape=$(curl -fsS localhost:10101/metrics)
grep -q "container_network_receive_bytes_total{container=\"$talker\",interface=\"eth0\"" <<<"$scrape" \
  || fail "no network counters for $talker on the cgroup path (PROC_ROOT=/host/proc)"
say "logs browser on 11111: $talker listed, its page under a strict CSP, its lines; network counters from the host's /proc"
"$DOCKER" stop -t 10 metrics-and-logs-collector >/dev/null

# No load on the engine: the host's cgroups, /proc and the engine's containers directory mounted
# read-only (as root, who can read the engine's log files): stats and logs come from the files, and
# the log goes on from where the run before left it, through the path switch.
"$DOCKER" rm -f metrics-and-logs-collector >/dev/null
"$DOCKER" run -d -p 10101:10101 \
  --volume /var/run/docker.sock:/var/run/docker.sock \
  --volume /sys/fs/cgroup:/sys/fs/cgroup:ro \
  --volume /proc:/host/proc:ro -e PROC_ROOT=/host/proc \
  --volume /var/lib/docker/containers:/var/lib/docker/containers:ro \
  --volume /tmp/metrics-and-logs-collector:/tmp \
  --name metrics-and-logs-collector metrics-and-logs-collector >/dev/null
lines_before=$(wc -l <"$log")
for _ in $(seq 1 30); do [ "$(wc -l <"$log")" -gt "$((lines_before + 10))" ] && break; sleep 0.5; done
[ "$(wc -l <"$log")" -gt "$((lines_before + 10))" ] || fail "logs from the engine's files: $log stopped growing"
dups=$(sort "$log" | uniq -d | head -n 3)
[ -z "$dups" ] || fail "repeated lines in $log after moving to the engine's files: $dups"
for n in $(seq 1 "$(grep -c '^INFO talk ' "$log")"); do
  grep -qx "INFO talk $n" "$log" || fail "line 'INFO talk $n' lost in $log"
done
console=$("$DOCKER" logs metrics-and-logs-collector 2>&1)
grep -q "Logs are read from the engine's json-file logs under /var/lib/docker/containers" <<<"$console" \
  || fail "with /var/lib/docker/containers mounted, logs do not come from the engine's files: $console"
scrape=$(curl -fsS localhost:10101/metrics)
grep -Eq 'collector_log_reads_total\{machine="local-machine",source="files"\} [1-9]' <<<"$scrape" \
  || fail "no reads from the engine's files in the scrape"
grep -q 'collector_log_reads_total{machine="local-machine",source="engine"} 0' <<<"$scrape" \
  || fail "logs were still asked of the engine"
say "engine's containers directory mounted: logs read from its json-file logs, every line once through the switch"
"$DOCKER" stop -t 10 metrics-and-logs-collector >/dev/null

"$DOCKER" image ls metrics-and-logs-collector --format 'image-test: image size {{.Size}}'
say "passed"
