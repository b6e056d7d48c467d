#!/usr/bin/env bash
# Builds Jaeger v2 (the OpenTelemetry-Collector-based Jaeger, cmd/jaeger) from its Go module,
# once: the binary is cached outside the work tree (scripts/lib/binary-cache.sh), keyed by this
# script. Prints the binary's path on stdout.
#
# The module is tagged with Jaeger's v1 numbers: v1.75.0 is Jaeger 2.12.0, the image tag
# docker-compose.yml pins. Built from the module, the binary serves Jaeger's API and a
# placeholder page instead of the UI (the UI's assets are built from a separate npm project and
# are not in the Go module); the image from a registry has the UI.
#
#   OTELCOL_CACHE_DIR   where binaries are kept (default: ~/.cache/rust-agent-tracing)
set -euo pipefail
JAEGER_MODULE_VERSION=v1.75.0   # Jaeger 2.12.0; must match the image tag in docker-compose.yml

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../scripts/lib/binary-cache.sh"
binary_cache "jaeger-$JAEGER_MODULE_VERSION" jaeger "${BASH_SOURCE[0]}"

command -v go >/dev/null || { echo "jaeger/build.sh: Go >= 1.25 is required to build Jaeger" >&2; exit 1; }
echo "jaeger/build.sh: building Jaeger $JAEGER_MODULE_VERSION (the first build takes a few minutes)" >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A throwaway module that requires Jaeger as a tool: `go install pkg@version` refuses modules
# whose go.mod has replace directives, as Jaeger's does.
(
  cd "$work"
  go mod init jaeger-build >/dev/null 2>&1
  go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_MODULE_VERSION" >&2
  CGO_ENABLED=0 GOMAXPROCS="${GOMAXPROCS:-2}" go build -trimpath -o jaeger github.com/jaegertracing/jaeger/cmd/jaeger >&2
)
binary_store "$work/jaeger"
