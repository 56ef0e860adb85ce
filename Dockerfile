# The collector as a scratch image: one static binary and the default level mapping. Built by build.sh,
# which compiles the binary first (no registry is needed: FROM scratch pulls nothing).
FROM scratch
COPY target/x86_64-unknown-linux-gnu/release/container-metrics /container-metrics
COPY config/log_levels_mapping.json /config/log_levels_mapping.json
WORKDIR /
# Started as root (so the Python tool's docker run line, with a root-owned socket and mounted directory,
# keeps working), the collector gives LOGS_DIR and the LAST_* files to this user, adds the Docker
# socket's group, and drops root before it starts work. `docker run --user 65534 --group-add <gid of
# the socket>` skips the root start entirely.
ENV RUN_AS=65534:65534
EXPOSE 10101 11111
ENTRYPOINT ["/container-metrics"]
