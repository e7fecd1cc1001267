# homeswap sidecar image.
#   docker build -t homeswap:0.1.0 .
#   docker run --rm -v /home/agent:/home/agent \
#     -v /etc/homeswap:/etc/homeswap:ro -p 9464:9464 homeswap:0.1.0
# The configuration is a mounted file (HOMESWAP_CONFIG); its serve.listen
# must be 0.0.0.0:9464 for the port to be reachable from outside the
# container. Run it as the uid that owns the homes (--user / runAsUser).

# --- build: the release binary, from the committed lock file ---
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin homeswap \
    && strip target/release/homeswap

# --- runtime: the binary, curl for the health check, a non-root user ---
FROM debian:bookworm-slim
# curl is only for HEALTHCHECK; the security updates of bookworm move its
# exact version, so it is not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin homeswap \
    && mkdir -p /var/lib/homeswap /run/homeswap \
    && chown homeswap:homeswap /var/lib/homeswap /run/homeswap
COPY --from=build /src/target/release/homeswap /usr/local/bin/homeswap
ENV HOMESWAP_CONFIG=/etc/homeswap/homeswap.yaml
USER 10001
# 9464: read-only (metrics, probes); 9465: admin API (bearer token).
EXPOSE 9464 9465
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9464/healthz"]
ENTRYPOINT ["/usr/local/bin/homeswap"]
CMD ["serve", "--log-format", "json"]
