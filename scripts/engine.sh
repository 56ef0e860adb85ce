#!/usr/bin/env bash
# Makes real Docker Engines answer on this machine, idempotently. Two engines can run side by side:
#
#   20.10  Debian 12's docker.io (API 1.41) on unix:///var/run/docker.sock, the default
#   26.1   Debian 13's docker.io and containerd (API 1.45) on unix:///run/docker-26.1.sock, with its
#          own data root, exec root, pid file and bridge; Debian 12's runc (Debian 13's needs a newer
#          glibc). Its two packages are fetched with apt from a Debian 13 source list kept apart from
#          the system's, and unpacked under /opt/docker-26.1; nothing of the system's apt changes.
#
# For each engine asked for: installs what is missing, starts dockerd if it does not answer and waits
# until it does, and builds the offline test image testbox:latest from busybox-static if it is missing
# (no registry is reachable here, so nothing can be pulled).
#
# Usage: scripts/engine.sh [20.10|26.1|all ...]   start engines (default 20.10)
#        scripts/engine.sh stop 20.10|26.1        stop one engine (SIGTERM by its pid file) and wait
#        scripts/engine.sh host 20.10|26.1        print the engine's DOCKER_HOST
# Used by .ci/run, by the real-engine tests (stop and start), and by developers before them.
set -euo pipefail

say() { printf 'engine.sh: %s\n' "$*"; }
die() { printf 'engine.sh: %s\n' "$*" >&2; exit 1; }

# Debian's 20.10 client talks to both engines whatever else is first on PATH.
client() { if [ -x /usr/bin/docker ]; then echo /usr/bin/docker; else echo docker; fi; }

OPT_26=/opt/docker-26.1

host_of() {
  case $1 in
    20.10) echo unix:///var/run/docker.sock ;;
    26.1) echo unix:///run/docker-26.1.sock ;;
    *) die "unknown engine '$1' (20.10 or 26.1)" ;;
  esac
}
pidfile_of() {
  case $1 in
    20.10) echo /var/run/docker.pid ;;
    26.1) echo /run/docker-26.1.pid ;;
  esac
}
log_of() {
  case $1 in
    20.10) echo /tmp/dockerd.log ;;
    26.1) echo /tmp/dockerd-26.1.log ;;
  esac
}

docker_at() { local v=$1; shift; DOCKER_HOST=$(host_of "$v") "$(client)" "$@"; }
answers() { timeout 5 env DOCKER_HOST="$(host_of "$1")" "$(client)" version >/dev/null 2>&1; }

have_busybox() { command -v busybox >/dev/null 2>&1 || [ -x /bin/busybox ]; }

install_20_10() {
  if ! command -v dockerd >/dev/null 2>&1 || ! have_busybox || ! command -v runc >/dev/null 2>&1; then
    say "installing docker.io and busybox-static (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends docker.io busybox-static iptables >/dev/null
  else
    say "dockerd and busybox already installed"
  fi
}

install_26_1() {
  install_20_10 # Debian 12's runc, busybox and the client
  if [ -x "$OPT_26/usr/sbin/dockerd" ] && [ -x "$OPT_26/usr/bin/containerd" ]; then
    say "Docker 26.1 already unpacked in $OPT_26"
    return
  fi
  say "fetching Debian 13's docker.io and containerd (apt-get download, own source list)"
  local apt=/var/cache/container-metrics/apt-trixie
  mkdir -p "$apt/sources" "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
  cat >"$apt/sources/trixie.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  local opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt/sources"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update -qq >/dev/null
  (cd "$apt/debs" && rm -f ./*.deb && apt-get "${opts[@]}" download docker.io containerd >/dev/null)
  rm -rf "$OPT_26.tmp" && mkdir -p "$OPT_26.tmp"
  for deb in "$apt"/debs/*.deb; do dpkg-deb -x "$deb" "$OPT_26.tmp"; done
  # Debian 13's runc needs a newer glibc than Debian 12's; the system's runc (Debian 12) works.
  rm -f "$OPT_26.tmp/usr/sbin/runc" "$OPT_26.tmp/usr/bin/runc"
  rm -rf "$OPT_26" && mv "$OPT_26.tmp" "$OPT_26"
  "$OPT_26/usr/sbin/dockerd" --version | sed 's/^/engine.sh: unpacked /'
}

start_dockerd() {
  local v=$1 log
  log=$(log_of "$v")
  # A dockerd that is still shutting down holds its pid file: a second one would fail to start.
  for _ in $(seq 1 30); do
    running_pid "$v" >/dev/null || break
    answers "$v" && return
    say "waiting for the $v dockerd that is still running to finish"
    sleep 1
  done
  say "starting dockerd $v (log: $log)"
  case $v in
    20.10)
      (exec setsid dockerd >>"$log" 2>&1 </dev/null) &
      ;;
    26.1)
      if ! ip link show docker26 >/dev/null 2>&1; then
        ip link add docker26 type bridge
        ip addr add 172.31.0.1/16 dev docker26
      fi
      ip link set docker26 up
      mkdir -p /var/lib/docker-26.1 /run/docker-26.1
      (
        export PATH="$OPT_26/usr/bin:$OPT_26/usr/sbin:$PATH"
        exec setsid dockerd --data-root /var/lib/docker-26.1 --exec-root /run/docker-26.1 \
          --pidfile "$(pidfile_of 26.1)" -H "$(host_of 26.1)" --bridge docker26 \
          >>"$log" 2>&1 </dev/null
      ) &
      ;;
  esac
  for _ in $(seq 1 60); do
    answers "$v" && return
    sleep 1
  done
  say "dockerd $v did not answer within 60 s; the end of its log:"
  tail -n 30 "$log" >&2 || true
  exit 1
}

# The pid of the engine's dockerd when it runs.
running_pid() {
  local pidfile pid
  pidfile=$(pidfile_of "$1")
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = dockerd ] || return 1
  echo "$pid"
}

build_testbox() {
  local v=$1
  if docker_at "$v" image inspect testbox:latest >/dev/null 2>&1; then
    say "$v: image testbox:latest present"
    return
  fi
  say "$v: building testbox:latest from busybox-static"
  local busybox root
  busybox=$(command -v busybox || echo /bin/busybox)
  [ -x "$busybox" ] || die "busybox not found"
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp "$busybox" "$root/bin/busybox"
  chroot "$root" /bin/busybox --install -s /bin
  tar -C "$root" -c . | docker_at "$v" import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - testbox:latest >/dev/null
  rm -rf "$root"
  say "$v: image testbox:latest built"
}

start() {
  local v=$1
  host_of "$v" >/dev/null
  case $v in
    20.10) install_20_10 ;;
    26.1) install_26_1 ;;
  esac
  if answers "$v"; then
    say "$v: the engine already answers"
  else
    start_dockerd "$v"
    say "$v: the engine answers"
  fi
  docker_at "$v" version --format "engine.sh: $v: engine {{.Server.Version}}, API {{.Server.APIVersion}}, DOCKER_HOST=$(host_of "$v")"
  build_testbox "$v"
}

stop() {
  local v=$1 pid
  host_of "$v" >/dev/null
  if ! pid=$(running_pid "$v"); then
    say "$v: no dockerd running"
    return
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { say "$v: dockerd stopped"; return; }
    sleep 0.5
  done
  die "$v: dockerd $pid did not stop within 30 s"
}

case ${1:-} in
  stop) stop "${2:?engine.sh stop 20.10|26.1}" ;;
  host) host_of "${2:?engine.sh host 20.10|26.1}" ;;
  "") start 20.10 ;;
  *)
    for v in "$@"; do
      if [ "$v" = all ]; then start 20.10; start 26.1; else start "$v"; fi
    done
    ;;
esac
