#!/usr/bin/env bash
# Schema-based fuzzing of both services with Schemathesis: it reads each service's
# /openapi.json (generated from the code by utoipa) and sends generated valid and invalid
# requests. Passes only with zero 5xx responses and zero responses that break the document
# (undocumented status, wrong content type, body not matching its schema).
#
# Bounded: at most N examples per operation (default 100), one worker, all on 127.0.0.1.
# Installs Schemathesis (pinned) into a cached virtualenv on first use.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
version=4.32.5
examples="${SCHEMATHESIS_MAX_EXAMPLES:-100}"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/rust-agent-tracing/venv-schemathesis-$version"
if [[ ! -x "$venv/bin/schemathesis" ]]; then
  echo "==> installing schemathesis $version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$version"
fi

cargo build --quiet --locked -p orchestrator -p agent-service
bin="${CARGO_TARGET_DIR:-$root/target}/debug"
logs="$root/target/schemathesis"
mkdir -p "$logs"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
agent_port="$(free_port)"; orchestrator_port="$(free_port)"
pids=()
trap 'kill ${pids[@]+"${pids[@]}"} 2>/dev/null || true; wait 2>/dev/null || true' EXIT
export OTEL_SDK_DISABLED=true MOCK_LLM_LATENCY_MS=0 RUST_LOG=warn
PORT="$agent_port" "$bin/agent-service" >"$logs/agent-service.log" 2>&1 &
pids+=($!)
PORT="$orchestrator_port" AGENT_SERVICE_URL="http://127.0.0.1:$agent_port" "$bin/orchestrator" >"$logs/orchestrator.log" 2>&1 &
pids+=($!)

# Schemathesis keeps a cache (.schemathesis/) in its working directory: run it from the logs
# folder under target/, so a test run leaves the work tree as it found it.
cd "$logs"
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
status=0
for port in "$agent_port" "$orchestrator_port"; do
  echo "==> schemathesis against 127.0.0.1:$port"
  "$venv/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
    --wait-for-schema 30 --checks "$checks" --max-examples "$examples" --workers 1 \
    --seed 20261121 --request-timeout 10 --no-color || status=$?
done
exit "$status"
