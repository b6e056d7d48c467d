# syntax=docker/dockerfile:1
#
# One Dockerfile for both services: docker compose passes SERVICE=orchestrator or
# SERVICE=agent-service. Stages:
#   chef     — the Rust toolchain plus cargo-chef
#   planner  — reduces the workspace to a dependency "recipe"
#   builder  — builds the dependencies from the recipe (a cached layer that changes only when
#              Cargo.toml/Cargo.lock do), then our code, with --locked
#   runtime  — distroless: glibc, CA certificates (for HTTPS to OpenAI) and a non-root user,
#              no shell; the binary checks its own health (`--healthcheck`).
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

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG SERVICE
ARG PORT
LABEL org.opencontainers.image.title="${SERVICE}"
COPY --from=builder /app/service /usr/local/bin/service
USER nonroot:nonroot
ENV PORT=${PORT}
EXPOSE ${PORT}
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 \
  CMD ["/usr/local/bin/service", "--healthcheck"]
ENTRYPOINT ["/usr/local/bin/service"]
