#!/usr/bin/env bash
# Makes `docker compose up --build` possible on this machine, as a test needs it:
#   1. a Docker engine: Debian's docker.io, installed if missing; dockerd started by this script
#      when none answers (there may be no init system) — its PID is written to $DOCKERD_PID_FILE
#      so the caller stops it at the end;
#   2. the compose v2 CLI plugin: built from the Go module proxy when `docker compose` is missing
#      (cached outside the work tree);
#   3. every image docker-compose.yml and the Dockerfile start FROM: pulled where a registry is
#      reachable; otherwise a local stand-in under the same name, built once and kept by the
#      engine — Debian from debootstrap (with this host's CA certificates, so HTTPS from a
#      build container trusts what the host trusts), a Rust builder from this host's toolchain,
#      and the Collector from the ocb build of collector/builder-config.yaml, Jaeger from its Go
#      module (jaeger/build.sh).
#
# Environment: DOCKERD_PID_FILE (default: $cache/dockerd.pid), DOCKER_SETUP_LOG.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/rust-agent-tracing/docker"
mkdir -p "$cache"
pid_file="${DOCKERD_PID_FILE:-$cache/dockerd.pid}"
log="${DOCKER_SETUP_LOG:-$cache/setup.log}"
say() { echo "tests/docker/setup.sh: $*" >&2; }

# --- 1. the engine --------------------------------------------------------------------------
if ! command -v dockerd >/dev/null; then
  say "installing the Docker engine (Debian's docker.io)"
  apt-get update -qq >>"$log" 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >>"$log" 2>&1
fi
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (log: $cache/dockerd.log)"
  dockerd >"$cache/dockerd.log" 2>&1 &
  echo $! >"$pid_file"
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { tail -n 20 "$cache/dockerd.log" >&2; say "dockerd did not start"; exit 1; }
fi

# --- 2. compose v2 ------------------------------------------------------------------------
compose_version=v5.6.0
if ! docker compose version >/dev/null 2>&1; then
  plugin="$cache/docker-compose-$compose_version"
  if [[ ! -x "$plugin" ]]; then
    say "building the compose $compose_version CLI plugin from the Go module proxy (a few minutes, once)"
    work="$(mktemp -d)"
    # `go install …@version` is refused (its go.mod has exclude directives): a throwaway module.
    (cd "$work" && go mod init compose-build >>"$log" 2>&1 \
      && go get "github.com/docker/compose/v5/cmd@$compose_version" >>"$log" 2>&1 \
      && GOMAXPROCS="${GOMAXPROCS:-2}" go build -o "$plugin.tmp" github.com/docker/compose/v5/cmd >>"$log" 2>&1)
    rm -rf "$work"
    mv "$plugin.tmp" "$plugin"
  fi
  mkdir -p /usr/local/lib/docker/cli-plugins
  install -m 0755 "$plugin" /usr/local/lib/docker/cli-plugins/docker-compose
fi

# --- 3. the images --------------------------------------------------------------------------
have() { docker image inspect "$1" >/dev/null 2>&1; }
pulled() { timeout 60 docker pull -q "$1" >>"$log" 2>&1; }

debian_image=debian:bookworm-slim
rust_version="$(sed -n 's/^ARG RUST_VERSION=//p' "$root/Dockerfile")"
rust_image="rust:${rust_version}-slim-bookworm"
collector_image="$(sed -n 's/^ *image: *\(otel\/opentelemetry-collector-contrib:[0-9.]*\).*/\1/p' "$root/docker-compose.yml" | head -n1)"

if ! have "$debian_image" && ! pulled "$debian_image"; then
  say "making $debian_image with debootstrap (about a minute, once)"
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >>"$log" 2>&1
  mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)"
  [[ -n "$mirror" ]] || mirror="$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)"
  rootfs="$(mktemp -d)"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >>"$log" 2>&1
  # The apt sources the image uses are this host's (the mirror it can reach).
  cp /etc/apt/sources.list.d/*.sources "$rootfs/etc/apt/sources.list.d/" 2>/dev/null || true
  # Trust what this host trusts, so HTTPS from build containers works behind its proxy: the
  # images' `apt-get install ca-certificates` adds these to the system store.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null \
      || { mkdir -p "$rootfs/usr/local/share/ca-certificates" && cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"; }
  fi
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' - "$debian_image" >>"$log"
  rm -rf "$rootfs"
fi

if ! have "$rust_image" && ! pulled "$rust_image"; then
  say "making $rust_image from this host's Rust toolchain (once)"
  toolchain="$(rustc --print sysroot)"
  context="$(mktemp -d)"
  mkdir -p "$context/rust"
  cp -a "$toolchain/bin" "$toolchain/lib" "$context/rust/"
  cat >"$context/Dockerfile" <<'EOF'
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev make ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY rust /usr/local/rust
ENV CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:/usr/local/rust/bin:$PATH
RUN mkdir -p /usr/local/cargo/bin && rustc --version && cargo --version
EOF
  docker build -q -t "$rust_image" "$context" >>"$log" 2>&1 || { tail -n 30 "$log" >&2; exit 1; }
  rm -rf "$context"
fi

# An image made of one binary we build from Go modules: `stand_in IMAGE BUILD_SCRIPT NAME`, with
# the Dockerfile (which COPYs NAME) on stdin. The image is labelled with the cached binary's
# path, which names the hash of what defined it (scripts/lib/binary-cache.sh).
stand_in() {
  local image="$1" binary context
  binary="$("$root/$2")"
  context="$(mktemp -d)"
  cp "$binary" "$context/$3"
  cat >"$context/Dockerfile"
  echo "LABEL rust-agent-tracing.built-from=\"$binary\"" >>"$context/Dockerfile"
  docker build -q -t "$image" "$context" >>"$log" 2>&1 || { tail -n 30 "$log" >&2; exit 1; }
  rm -rf "$context"
}

# `current IMAGE BUILD_SCRIPT`: a stand-in of the binary the build script makes today is there
# (a changed ocb manifest makes a new one). A registry's image is refreshed by `pulled` instead.
current() {
  have "$1" || return 1
  local label
  label="$(docker image inspect -f '{{index .Config.Labels "rust-agent-tracing.built-from"}}' "$1" 2>/dev/null)"
  [[ "$label" == "$("$root/$2")" ]]
}

if ! current "$collector_image" collector/build.sh && ! pulled "$collector_image"; then
  say "making $collector_image from the ocb-built Collector (once)"
  # The real image's layout: the binary at /otelcol-contrib, its default config path, uid 10001.
  stand_in "$collector_image" collector/build.sh otelcol-contrib <<'EOF'
FROM scratch
COPY otelcol-contrib /otelcol-contrib
USER 10001
EXPOSE 4317 4318
ENTRYPOINT ["/otelcol-contrib"]
CMD ["--config", "/etc/otelcol-contrib/config.yaml"]
EOF
fi

jaeger_image="$(sed -n 's/^ *image: *\(jaegertracing\/jaeger:[0-9.]*\).*/\1/p' "$root/docker-compose.yml")"
if ! current "$jaeger_image" jaeger/build.sh && ! pulled "$jaeger_image"; then
  say "making $jaeger_image from Jaeger's Go module (once; its UI is a placeholder, see jaeger/build.sh)"
  # The real image's layout: the binary at /cmd/jaeger/jaeger-linux, listening on all
  # interfaces (its built-in all-in-one config reads JAEGER_LISTEN_HOST), uid 10001.
  stand_in "$jaeger_image" jaeger/build.sh jaeger-linux <<'EOF'
FROM scratch
COPY jaeger-linux /cmd/jaeger/jaeger-linux
ENV JAEGER_LISTEN_HOST=0.0.0.0
USER 10001
EXPOSE 4317 4318 16686
ENTRYPOINT ["/cmd/jaeger/jaeger-linux"]
EOF
fi
say "ready: $(docker compose version --short 2>/dev/null || echo compose), images $debian_image, $rust_image, $collector_image, $jaeger_image"
