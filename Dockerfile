# syntax=docker/dockerfile:1
#
# One Dockerfile for both services: docker compose passes SERVICE=orchestrator or
# SERVICE=agent-service. Stages:
#   chef     — the Rust toolchain plus cargo-chef
#   planner  — reduces the workspace to a dependency "recipe"
#   builder  — builds the dependencies from the recipe (a cached layer that changes only when
#              Cargo.toml/Cargo.lock do), then our code, with --locked
#   runtime  — Debian slim with CA certificates (for HTTPS to OpenAI) and a non-root user; no
#              curl: the binary checks its own health (`--healthcheck`).
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
ARG SERVICE
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --locked --package ${SERVICE} --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --package ${SERVICE} --bin ${SERVICE} \
 && cp target/release/${SERVICE} /app/service

FROM debian:bookworm-slim AS runtime
ARG SERVICE
ARG PORT
LABEL org.opencontainers.image.title="${SERVICE}"
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home app
COPY --from=builder /app/service /usr/local/bin/service
USER app
ENV PORT=${PORT}
EXPOSE ${PORT}
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 \
  CMD ["/usr/local/bin/service", "--healthcheck"]
ENTRYPOINT ["/usr/local/bin/service"]
