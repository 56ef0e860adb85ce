# The collector as a scratch image: one static binary and the default level mapping. Built by build.sh,
# which compiles the binary first (no registry is needed: FROM scratch pulls nothing).
FROM scratch
COPY target/x86_64-unknown-linux-gnu/release/container-metrics /container-metrics
COPY config/log_levels_mapping.json /config/log_levels_mapping.json
WORKDIR /
EXPOSE 10101
ENTRYPOINT ["/container-metrics"]
