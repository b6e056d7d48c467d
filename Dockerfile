# One Dockerfile for both services; docker compose picks the final stage with `target:`
# (`orchestrator` or `agent-service`). Stages:
#   chef      — the Rust toolchain plus cargo-chef
#   planner   — reduces the workspace to a dependency "recipe"
#   builder   — builds the dependencies from the recipe (a cached layer that changes only when
#               Cargo.toml/Cargo.lock do), then both binaries at once, with --locked: the
#               dependency tree is compiled once for the two services
#   runtime   — Debian slim with CA certificates (for HTTPS to OpenAI) and a non-root user; no
#               curl: the binary checks its own health (`--healthcheck`)
#   orchestrator, agent-service — the runtime plus one binary each
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --locked --package orchestrator --package agent-service \
      --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --package orchestrator --package agent-service

FROM debian:bookworm-slim AS runtime
# Inside its own network namespace a service must listen on every interface to be reachable
# from the other containers (the binaries' default is loopback); compose publishes the ports
# on the host's loopback only.
ENV BIND_ADDRESS=0.0.0.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 app \
 && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin app
USER app
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 \
  CMD ["/usr/local/bin/service", "--healthcheck"]
ENTRYPOINT ["/usr/local/bin/service"]

FROM runtime AS agent-service
LABEL org.opencontainers.image.title="agent-service"
COPY --from=builder /app/target/release/agent-service /usr/local/bin/service
ENV PORT=3000
EXPOSE 3000

FROM runtime AS orchestrator
LABEL org.opencontainers.image.title="orchestrator"
COPY --from=builder /app/target/release/orchestrator /usr/local/bin/service
ENV PORT=8000
EXPOSE 8000
