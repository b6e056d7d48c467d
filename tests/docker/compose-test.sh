#!/usr/bin/env bash
# The README's Docker quick start, run as a user runs it, then checked:
#   1. `docker compose up --build --wait`, timed; every published port on 127.0.0.1 and every
#      container read-only, without capabilities or privilege escalation, memory-limited;
#   2. `/ask` with a restaurant and a booking question: 200, a trace id each;
#   3. both traces, with spans from both services, in `docker compose logs otel-collector`;
#   4. the Collector's Galileo exporter pointed at a fake Galileo on the host (through the
#      compose environment, no file edited): the key and project headers and the spans arrive;
#   5. a request sent right before `docker compose stop` is flushed all the way;
#   6. the services' metrics on the Collector's Prometheus endpoint (localhost:8889/metrics);
#   7. the "Local development" path (docs/local-development.md): the Collector from compose, the services native;
#   8. `COMPOSE_PROFILES=jaeger`: Jaeger's API returns a whole /ask trace from both services;
#   9. `COMPOSE_PROFILES=fleet`: the agent tier routes each trace whole to one of two gateway
#      replicas it finds by DNS; both get traces; their span metrics count every /ask;
#  10. `docker compose down -v`; dockerd stopped if this script started it.
# Engine, compose plugin and base images come from tests/docker/setup.sh. Ports: 8000, 3000,
# 4317, 4318, 13133, 8889, 16686, 18889, 18890 (the compose defaults), and one free port for the
# fake Galileo.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
work="$root/target/compose-test"
rm -rf "$work" && mkdir -p "$work"
passed=0
check() { # description
  passed=$((passed + 1))
  echo "    ok: $1"
}
fail() {
  echo "compose-test: FAILED: $1" >&2
  docker compose logs --no-color --tail 40 >&2 2>/dev/null || true
  echo "0 passed, 1 failed"
  exit 1
}

export DOCKERD_PID_FILE="$work/dockerd.pid"
galileo_pid=""
native_pids=()
cleanup() {
  trap - EXIT INT TERM
  docker compose down -v --remove-orphans >/dev/null 2>&1 || true
  kill ${native_pids[@]+"${native_pids[@]}"} ${galileo_pid:+"$galileo_pid"} 2>/dev/null || true
  wait 2>/dev/null || true
  if [[ -s "$DOCKERD_PID_FILE" ]]; then
    kill "$(cat "$DOCKERD_PID_FILE")" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$(cat "$DOCKERD_PID_FILE")" 2>/dev/null || break; sleep 0.5; done
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> docker: engine, compose plugin, base images (tests/docker/setup.sh)"
tests/docker/setup.sh
[[ -f .env ]] && fail ".env exists: the test runs the defaults a fresh clone has"

echo "==> a fake Galileo on the host"
gateway="$(docker network inspect bridge -f '{{(index .IPAM.Config 0).Gateway}}')"
galileo_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
python="$(tests/interop/venv.sh)"
"$python" tests/docker/fake_galileo.py "$gateway" "$galileo_port" compose-test-key "$work/galileo.jsonl" &
galileo_pid=$!
export GALILEO_OTLP_ENDPOINT="http://host.docker.internal:$galileo_port/otel/traces"
export GALILEO_API_KEY=compose-test-key GALILEO_PROJECT=compose-test OTELCOL_BATCH_TIMEOUT=1s
export OTEL_METRIC_EXPORT_INTERVAL=1000

echo "==> docker compose up --build --wait"
started=$(date +%s)
docker compose up --build --wait --quiet-pull >"$work/up.log" 2>&1 || { tail -n 60 "$work/up.log" >&2; fail "compose up"; }
echo "    up in $(( $(date +%s) - started )) s"
check "both services healthy"

# Safe by default, on the running containers: what the compose file says, as Docker applied it.
locked_down() { # service...
  local service ids id ip bindings
  for service in "$@"; do
    ids="$(docker compose ps -q "$service")"
    [[ -n "$ids" ]] || fail "$service is not running"
    for id in $ids; do
      bindings="$(docker inspect -f '{{range $p, $b := .HostConfig.PortBindings}}{{range $b}}{{.HostIp}} {{end}}{{end}}' "$id")"
      [[ -n "$bindings" ]] || fail "$service publishes no port"
      for ip in $bindings; do
        [[ "$ip" == 127.0.0.1 ]] || fail "$service publishes a port on $ip"
      done
      [[ "$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$id")" == true ]] || fail "$service: writable root filesystem"
      [[ "$(docker inspect -f '{{json .HostConfig.CapDrop}}' "$id")" == '["ALL"]' ]] || fail "$service: capabilities not dropped"
      docker inspect -f '{{json .HostConfig.SecurityOpt}}' "$id" | grep -F 'no-new-privileges:true' >/dev/null \
        || fail "$service: privilege escalation allowed"
      [[ "$(docker inspect -f '{{.HostConfig.Memory}}' "$id")" != 0 ]] || fail "$service: no memory limit"
    done
  done
}
locked_down otel-collector agent-service orchestrator
[[ "$(docker compose port orchestrator 8000)" == 127.0.0.1:8000 ]] || fail "orchestrator published on $(docker compose port orchestrator 8000)"
check "every port on 127.0.0.1; read-only, no capabilities, no new privileges, memory-limited"

ask() { # question -> trace id
  local response
  response="$(curl -fsS -X POST localhost:8000/ask -H 'content-type: application/json' \
    -d "{\"question\":\"$1\"}")" || fail "/ask: $1"
  sed -n 's/.*"trace_id":"\([0-9a-f]\{32\}\)".*/\1/p' <<<"$response"
}
collector_has() { # trace-id
  for _ in $(seq 1 100); do
    # Not `grep -q`: it would stop reading early and, under pipefail, the logs command's
    # SIGPIPE would count as "not found" once the output is long (metrics print every second).
    docker compose logs --no-color otel-collector 2>/dev/null | grep -F "$1" >/dev/null && return 0
    sleep 0.2
  done
  return 1
}
galileo_has() { # trace-id service
  for _ in $(seq 1 100); do
    grep -q "\"service\": \"$2\", \"name\": \"[^\"]*\", \"trace_id\": \"$1\"" "$work/galileo.jsonl" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

echo "==> /ask"
restaurant="$(ask "Find me a good restaurant")"
booking="$(ask "Can you book a table for 4 tomorrow?")"
[[ -n "$restaurant" && -n "$booking" ]] || fail "no trace ids"
check "/ask answered a restaurant and a booking question"

for trace in "$restaurant" "$booking"; do
  collector_has "$trace" || fail "trace $trace not in the Collector's debug output"
done
logs="$(docker compose logs --no-color otel-collector)"
for needle in "service.name: Str(orchestrator)" "service.name: Str(agent-service)" "execute_tool check_availability" "invoke_agent restaurant-assistant"; do
  grep -qF "$needle" <<<"$logs" || fail "the Collector's debug output lacks $needle"
done
check "both traces, from both services, in docker compose logs otel-collector"

for trace in "$restaurant" "$booking"; do
  for service in orchestrator agent-service; do
    galileo_has "$trace" "$service" || fail "Galileo never got $service's spans of $trace"
  done
done
grep -q '"project": "compose-test", "logstream": "default"' "$work/galileo.jsonl" || fail "Galileo headers"
check "the fake Galileo got the spans of both services, with the key, project and log stream"

echo "==> the services' metrics at localhost:8889/metrics"
for _ in $(seq 1 100); do
  metrics="$(curl -fsS localhost:8889/metrics 2>/dev/null || true)"
  grep -q '^gen_ai_client_token_usage_bucket{' <<<"$metrics" && break
  sleep 0.2
done
for series in http_server_request_duration_seconds_bucket http_client_request_duration_seconds_bucket \
  gen_ai_client_operation_duration_seconds_bucket gen_ai_client_token_usage_bucket otel_sdk_exporter_span_exported_total; do
  grep -q "^$series{" <<<"$metrics" || fail "$series is not on the Prometheus endpoint"
done
check "both services' metrics scraped from localhost:8889/metrics"

echo "==> a request right before docker compose stop"
last="$(ask "Find me a sushi place")"
docker compose stop >"$work/stop.log" 2>&1
collector_has "$last" || fail "the last trace was lost on stop"
galileo_has "$last" orchestrator || fail "the last trace never reached Galileo"
galileo_has "$last" agent-service || fail "the last trace's agent spans never reached Galileo"
check "the request sent before stop was flushed to the Collector and Galileo"

echo "==> local development: the Collector from compose, the services from cargo"
docker compose up -d --wait otel-collector >"$work/collector-up.log" 2>&1 || fail "compose up otel-collector"
cargo build --quiet --locked -p orchestrator -p agent-service
bin="${CARGO_TARGET_DIR:-$root/target}/debug"
env -u GALILEO_API_KEY "$bin/agent-service" >"$work/agent-service.log" 2>&1 &
native_pids+=($!)
AGENT_SERVICE_URL=http://localhost:3000 "$bin/orchestrator" >"$work/orchestrator.log" 2>&1 &
native_pids+=($!)
for _ in $(seq 1 100); do curl -fsS -o /dev/null localhost:8000/health 2>/dev/null && break; sleep 0.2; done
native="$(ask "Find me a good restaurant")"
collector_has "$native" || fail "the natively run services' trace is not in the Collector's output"
check "cargo-run services export to the compose Collector on localhost:4318"

kill "${native_pids[@]}" 2>/dev/null || true
wait "${native_pids[@]}" 2>/dev/null || true
native_pids=()

echo "==> COMPOSE_PROFILES=jaeger: the Collector's Jaeger overlay, and Jaeger"
export COMPOSE_PROFILES=jaeger
docker compose up -d --wait >"$work/jaeger-up.log" 2>&1 || { tail -n 40 "$work/jaeger-up.log" >&2; fail "compose up with Jaeger"; }
locked_down jaeger
traced="$(ask "Find me a good restaurant")"
jaeger_trace() { # trace-id -> "spans services..." once Jaeger has the whole trace
  curl -fsS "localhost:16686/api/traces/$1" 2>/dev/null | python3 -c '
import json, sys
data = json.load(sys.stdin)["data"][0]
print(len(data["spans"]), *sorted({p["serviceName"] for p in data["processes"].values()}))' 2>/dev/null
}
for _ in $(seq 1 100); do
  found="$(jaeger_trace "$traced" || true)"
  [[ "$found" == "10 agent-service orchestrator" ]] && break
  sleep 0.2
done
[[ "$found" == "10 agent-service orchestrator" ]] || fail "Jaeger's API has '$found' for trace $traced"
check "Jaeger's API returns the trace: 10 spans from both services"

echo "==> COMPOSE_PROFILES=fleet: the agent tier and two gateway replicas found by DNS"
# Every trace kept, decided 3 s after its first span: the test follows traces, not sampling.
export COMPOSE_PROFILES=fleet OTELCOL_TAIL_SAMPLING_PERCENT=100 OTELCOL_TAIL_DECISION_WAIT=3s
docker compose up -d --wait >"$work/fleet-up.log" 2>&1 || { tail -n 40 "$work/fleet-up.log" >&2; fail "compose up with the fleet"; }
mapfile -t gateways < <(docker compose ps -q otel-gateway)
[[ ${#gateways[@]} == 2 ]] || fail "${#gateways[@]} gateways running, expected 2"
locked_down otel-gateway
fleet_traces=()
for i in $(seq 1 12); do fleet_traces+=("$(ask "Find me a good restaurant ($i)")"); done
holders() { # trace-id -> how many gateways printed it, once one did
  local n
  for _ in $(seq 1 100); do
    n=0
    for id in "${gateways[@]}"; do docker logs "$id" 2>&1 | grep -F "$1" >/dev/null && n=$((n + 1)); done
    ((n)) && { echo "$n"; return; }
    sleep 0.2
  done
  echo 0
}
declare -A held=()
for trace in "${fleet_traces[@]}"; do
  [[ "$(holders "$trace")" == 1 ]] || fail "trace $trace is on $(holders "$trace") gateways, expected exactly 1"
  for id in "${gateways[@]}"; do docker logs "$id" 2>&1 | grep -F "$trace" >/dev/null && held[$id]=1; done
done
[[ ${#held[@]} == 2 ]] || fail "only one gateway got traces: the agent tier did not find both by DNS"
for service in orchestrator agent-service; do
  galileo_has "${fleet_traces[-1]}" "$service" || fail "Galileo never got $service's spans of ${fleet_traces[-1]} through the fleet"
done
check "each of 12 traces whole on one of two gateways (both used), and in Galileo"
asks_counted() { # the gateways' span metrics: POST /ask calls, summed over both replicas
  for port in 18889 18890; do curl -fsS "localhost:$port/metrics" 2>/dev/null || true; done |
    awk '/^traces_span_metrics_calls_total\{/ && /service_name="orchestrator"/ && /span_name="POST \/ask"/ { n += $NF } END { print n + 0 }'
}
for _ in $(seq 1 100); do [[ "$(asks_counted)" == 12 ]] && break; sleep 0.2; done
[[ "$(asks_counted)" == 12 ]] || fail "the gateways' span metrics counted $(asks_counted) /ask calls, expected 12"
check "the gateways' span metrics (localhost:18889, :18890) count all 12 /ask calls"

echo "==> docker compose down -v"
docker compose down -v >"$work/down.log" 2>&1 || fail "compose down"
check "docker compose down -v"
echo "compose: $passed passed, 0 failed"
