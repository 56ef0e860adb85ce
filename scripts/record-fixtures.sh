#!/usr/bin/env bash
# Re-records, from a real Docker Engine, the responses the mock tests serve (fixtures/<set>/), the way
# fixtures/docker-20.10/README.md describes: t1 logging INFO/ERROR lines under --memory 64m --cpus 0.5,
# t2-tty with a TTY, t3-exited that exited with code 3. Every body X is saved with its response
# headers in X.headers.txt. Also the engine's own json-file logs (for reading logs without the
# engine): t1's `<id>-json.log`, and t4-rotating's files after the engine rotated and gzipped them
# (--log-opt max-size=10k max-file=3 compress=true), with the container id in their names replaced
# by `ID`.
#
#   scripts/record-fixtures.sh [--engine 20.10|26.1] [target-dir]
#       (default engine 20.10, see scripts/engine.sh; default target: fixtures/docker-<major.minor>)
#
# Run it on an engine with no other containers, so the lists hold only these three.
set -euo pipefail
cd "$(dirname "$0")/.."

engine=20.10
if [ "${1:-}" = --engine ]; then
  engine=${2:?--engine 20.10|26.1}
  shift 2
fi
bash scripts/engine.sh "$engine"
DOCKER_HOST=$(bash scripts/engine.sh host "$engine")
export DOCKER_HOST
socket=${DOCKER_HOST#unix://}
DOCKER=docker
[ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker
say() { printf 'record-fixtures: %s\n' "$*"; }

version=$("$DOCKER" version --format '{{.Server.Version}}')
target=${1:-fixtures/docker-$(cut -d. -f1,2 <<<"$version")}
mkdir -p "$target"
say "engine $version -> $target"

names=(t1 t2-tty t3-exited t4-rotating)
cleanup() { "$DOCKER" rm -f "${names[@]}" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup

others=$("$DOCKER" ps -aq | wc -l)
[ "$others" -eq 0 ] || say "warning: $others other container(s) on this engine will show in the lists"

# GET <path> into <file> (+ <file>.headers.txt) over the engine's socket.
get() {
  local path=$1 file=$2
  curl -sS --unix-socket "$socket" -D "$target/$file.headers.txt" -o "$target/$file" "http://localhost$path"
}

"$DOCKER" run -d --name t1 --memory 64m --cpus 0.5 testbox:latest \
  sh -c 'i=0; while true; do echo "INFO line $i"; echo "ERROR oops $i" >&2; i=$((i+1)); sleep 0.2; done' >/dev/null
say "t1 started; letting it log for 30 s"
sleep 30

get /containers/json containers_json.json
get /version version.json
get /info info.json
get /images/json images_json.json
get /containers/t1/json container_t1_inspect.json
get '/containers/t1/stats?stream=false' stats_stream_false.json
get '/containers/t1/stats?stream=false&one-shot=true' stats_one_shot.json
# Three frames of the streaming answer (one a second), then hang up.
curl -sS --unix-socket "$socket" -D "$target/stats_stream_true_3frames.ndjson.headers.txt" \
  'http://localhost/containers/t1/stats?stream=true' 2>/dev/null | head -n 3 >"$target/stats_stream_true_3frames.ndjson" || true
get '/containers/t1/logs?stdout=1&stderr=1&timestamps=1&since=0' logs_t1_since0_full.raw
get '/containers/t1/logs?stdout=1&stderr=1&timestamps=1&tail=40' logs_t1_stdout_stderr_timestamps.raw
get '/containers/t1/logs?stdout=1&stderr=1&tail=20' logs_t1_stdout_stderr.raw
get /containers/doesnotexist/json error_404_no_such_container.json

"$DOCKER" run -d -t --name t2-tty testbox:latest sh -c 'echo "tty out"; echo "tty err" >&2; sleep 3600' >/dev/null
"$DOCKER" run -d --name t3-exited testbox:latest sh -c 'echo bye; exit 3' >/dev/null
sleep 2
get '/containers/t2-tty/logs?stdout=1&stderr=1&timestamps=1' logs_t2_tty_nonmultiplexed.raw
get /containers/t3-exited/json container_t3_exited_inspect.json
get '/containers/t3-exited/stats?stream=false' stats_t3_exited_stream_false.json
get '/containers/json?all=1' containers_json_all.json

# The engine's json-file logs. t1's as it is now; t4-rotating logs 100-byte lines until the engine
# has rotated (and gzipped) its file twice.
t1_log=$("$DOCKER" inspect -f '{{.LogPath}}' t1)
cp "$t1_log" "$target/json_file_t1.log"
"$DOCKER" run -d --name t4-rotating --log-opt max-size=10k --log-opt max-file=3 --log-opt compress=true \
  testbox:latest sh -c 'i=0; while [ $i -lt 400 ]; do printf "line %05d %090d\n" $i 0; i=$((i+1)); done; sleep 3600' >/dev/null
sleep 3
t4_log=$("$DOCKER" inspect -f '{{.LogPath}}' t4-rotating)
t4_id=$("$DOCKER" inspect -f '{{.Id}}' t4-rotating)
rm -rf "$target/json_file_t4_rotating" && mkdir -p "$target/json_file_t4_rotating"
for f in "$t4_log"*; do
  cp "$f" "$target/json_file_t4_rotating/$(basename "$f" | sed "s/$t4_id/ID/")"
done
ls "$target/json_file_t4_rotating" | grep -q 'gz$' || { say "t4-rotating's log was not rotated and gzipped"; exit 1; }

# The recording must look like one: JSON where JSON is expected, multiplexed frames in t1's logs.
for f in "$target"/*.json; do
  python3 -m json.tool "$f" >/dev/null || { say "not JSON: $f"; exit 1; }
done
head -c 1 "$target/logs_t1_since0_full.raw" | od -An -tu1 | grep -Eq '^ *[12]$' \
  || { say "t1's logs are not multiplexed"; exit 1; }
say "recorded $(ls "$target" | wc -l) files into $target"
