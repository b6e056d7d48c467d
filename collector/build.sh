#!/usr/bin/env bash
# Builds the test Collector from builder-config.yaml with the OpenTelemetry Collector Builder
# (ocb), once: the binary is cached outside the work tree, keyed by a hash of the manifest and
# this script, so fresh clones on the same machine reuse it and a changed manifest rebuilds.
# Prints the binary's path on stdout.
#
#   OTELCOL_CACHE_DIR   where binaries are kept (default: ~/.cache/rust-agent-tracing)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OTELCOL_VERSION=0.161.0   # must equal the versions in builder-config.yaml and the compose image tag
manifest="$here/builder-config.yaml"

source "$here/../scripts/lib/binary-cache.sh"
binary_cache "otelcol-$OTELCOL_VERSION" otelcol-demo "$manifest" "${BASH_SOURCE[0]}"

command -v go >/dev/null || { echo "collector/build.sh: Go >= 1.25 is required to build the Collector" >&2; exit 1; }
builder="$(go env GOPATH)/bin/builder"
installed="$("$builder" version 2>&1 || true)"
if [[ "$installed" != *"v$OTELCOL_VERSION"* ]]; then
  echo "collector/build.sh: installing ocb $OTELCOL_VERSION" >&2
  CGO_ENABLED=0 go install "go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION" >&2
fi

echo "collector/build.sh: building the Collector (the first build takes a few minutes)" >&2
# ocb writes sources and the binary to output_path (collector/build/, git-ignored), then runs
# go mod tidy and go build. GOMAXPROCS keeps the link step within a small CI machine.
(cd "$here" && GOMAXPROCS="${GOMAXPROCS:-2}" "$builder" --config="$manifest" --skip-strict-versioning=false >&2)
binary_store "$here/build/otelcol-demo"
