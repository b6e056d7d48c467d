#!/usr/bin/env bash
# Runs the OpenTelemetry Collector natively, with the repository's otel-collector-config.yaml,
# listening on 127.0.0.1: OTLP gRPC 4317, OTLP HTTP 4318, health 13133, own metrics 8888, the
# services' metrics for Prometheus 8889.
# Builds it first if needed (collector/build.sh: ocb, cached). The "Local development" path:
#
#   collector/run.sh                       # Ctrl-C stops it
#   cargo run -p agent-service             # exports to http://localhost:4318 by default
#   cargo run -p orchestrator
#
# Galileo settings come from the environment (GALILEO_API_KEY, ...; .env is read if present);
# ports from OTLP_GRPC_PORT, OTLP_HTTP_PORT, OTELCOL_HEALTH_PORT, OTELCOL_METRICS_PORT,
# OTELCOL_PROMETHEUS_PORT.
# Extra arguments go to the Collector (e.g. a second --config to overlay).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -f "$here/../.env" ]]; then
  set -a; source "$here/../.env"; set +a
fi
collector="$("$here/build.sh")"
export OTELCOL_DEBUG_VERBOSITY="${OTELCOL_DEBUG_VERBOSITY:-detailed}"
export OTELCOL_OTLP_GRPC_ENDPOINT="127.0.0.1:${OTLP_GRPC_PORT:-4317}"
export OTELCOL_OTLP_HTTP_ENDPOINT="127.0.0.1:${OTLP_HTTP_PORT:-4318}"
export OTELCOL_HEALTH_ENDPOINT="127.0.0.1:${OTELCOL_HEALTH_PORT:-13133}"
export OTELCOL_METRICS_HOST=127.0.0.1
export OTELCOL_METRICS_PORT="${OTELCOL_METRICS_PORT:-8888}"
export OTELCOL_PROMETHEUS_ENDPOINT="127.0.0.1:${OTELCOL_PROMETHEUS_PORT:-8889}"
exec "$collector" --config="$here/../otel-collector-config.yaml" "$@"
