#!/usr/bin/env bash
# Builds the test Collector from builder-config.yaml with the OpenTelemetry Collector Builder,
# once: the binary is cached under collector/build/ next to a hash of the manifest, and rebuilt
# only when the manifest (or this script's pinned version) changes. Prints the binary's path.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OTELCOL_VERSION=0.159.0   # must equal the versions in builder-config.yaml and the compose image tag
manifest="$here/builder-config.yaml"
out="$here/build"
bin="$out/otelcol-demo"
stamp="$out/.manifest.sha256"

want="$( (cat "$manifest"; echo "$OTELCOL_VERSION") | sha256sum | cut -d' ' -f1)"
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "collector/build.sh: Go is required to build the Collector" >&2; exit 1; }
gobin="$(go env GOPATH)/bin"
builder="$gobin/builder"
if [[ ! -x "$builder" ]] || ! "$builder" version 2>/dev/null | grep -q "$OTELCOL_VERSION"; then
  echo "collector/build.sh: installing ocb $OTELCOL_VERSION" >&2
  GOFLAGS=-mod=mod CGO_ENABLED=0 go install "go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION" >&2
fi

echo "collector/build.sh: building the Collector (first run takes a few minutes)" >&2
rm -f "$stamp"
# GOMAXPROCS keeps the link step within a small CI machine; ocb runs go mod tidy + go build.
(cd "$here" && GOMAXPROCS="${GOMAXPROCS:-2}" "$builder" --config="$manifest" --skip-strict-versioning=false >&2)
echo "$want" > "$stamp"
echo "$bin"
