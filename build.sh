#!/usr/bin/env bash
# Builds the image `metrics-and-logs-collector` (also tagged `container-metrics`) from this checkout:
# a statically linked release binary in a FROM scratch image. Needs no registry; starts a Docker
# Engine first if none answers (scripts/engine.sh).
set -euo pipefail
cd "$(dirname "$0")"

bash scripts/engine.sh
DOCKER=docker
[ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker

echo "build.sh: compiling the static release binary"
RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --locked --target x86_64-unknown-linux-gnu
binary=target/x86_64-unknown-linux-gnu/release/container-metrics
# ldd lists shared libraries as "name => path" for a dynamic binary and nothing of the kind otherwise.
if ldd "$binary" 2>/dev/null | grep -q '=>'; then
  echo "build.sh: $binary is dynamically linked; the scratch image needs a static binary" >&2
  exit 1
fi

echo "build.sh: building the image"
"$DOCKER" build -q -t metrics-and-logs-collector -t container-metrics . >/dev/null
"$DOCKER" image ls metrics-and-logs-collector --format 'build.sh: image {{.Repository}}:{{.Tag}} {{.Size}}'
