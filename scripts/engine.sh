#!/usr/bin/env bash
# Makes a real Docker Engine answer on this machine, idempotently:
#   1. installs Debian's docker.io and busybox-static if dockerd is missing;
#   2. starts dockerd if `docker version` gets no answer, and waits until it answers;
#   3. builds the offline test image testbox:latest from busybox-static if it is missing
#      (no registry is reachable here, so nothing can be pulled).
# Used by .ci/run and by developers before the real-engine tests: `scripts/engine.sh`.
set -euo pipefail

say() { printf 'engine.sh: %s\n' "$*"; }

# Debian's 20.10 client talks to the 20.10 engine whatever else is first on PATH.
DOCKER=docker
[ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker

have_busybox() { command -v busybox >/dev/null 2>&1 || [ -x /bin/busybox ]; }
if ! command -v dockerd >/dev/null 2>&1 || ! have_busybox; then
  say "installing docker.io and busybox-static (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends docker.io busybox-static iptables >/dev/null
  [ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker
else
  say "dockerd and busybox already installed"
fi

answers() { timeout 5 "$DOCKER" version >/dev/null 2>&1; }

if answers; then
  say "the engine already answers"
else
  # A dockerd that is still shutting down holds its pid file: a second one would fail to start.
  for _ in $(seq 1 30); do
    pgrep -x dockerd >/dev/null || break
    say "waiting for the dockerd that is still running to finish"
    sleep 1
    answers && break
  done
fi
if ! answers; then
  say "starting dockerd (log: /tmp/dockerd.log)"
  setsid dockerd >>/tmp/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    answers && break
    sleep 1
  done
  if ! answers; then
    say "dockerd did not answer within 60 s; the end of its log:"
    tail -n 30 /tmp/dockerd.log >&2 || true
    exit 1
  fi
  say "the engine answers"
fi
"$DOCKER" version --format 'engine.sh: engine {{.Server.Version}}, API {{.Server.APIVersion}}'

if "$DOCKER" image inspect testbox:latest >/dev/null 2>&1; then
  say "image testbox:latest present"
else
  say "building testbox:latest from busybox-static"
  busybox=$(command -v busybox || echo /bin/busybox)
  [ -n "$busybox" ] || { say "busybox not found"; exit 1; }
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp "$busybox" "$root/bin/busybox"
  chroot "$root" /bin/busybox --install -s /bin
  tar -C "$root" -c . | "$DOCKER" import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - testbox:latest >/dev/null
  say "image testbox:latest built"
fi
