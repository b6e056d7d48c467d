"""A Python caller of /ask: its own span, a session in W3C baggage, and an httpx request
instrumented by opentelemetry-instrumentation-httpx (which injects the context).

    python client.py URL SESSION  ->  prints {"status": ..., "body": ...}
"""

import json
import sys

import httpx
from opentelemetry import baggage, context, trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

import otel_setup

provider = otel_setup.init("python-client")
HTTPXClientInstrumentor().instrument()
url, session = sys.argv[1], sys.argv[2]

token = context.attach(baggage.set_baggage("session.id", session))
with trace.get_tracer("interop-client").start_as_current_span("python caller"):
    response = httpx.post(url, json={"question": "Find me a good restaurant"}, timeout=20)
context.detach(token)
provider.shutdown()
print(json.dumps({"status": response.status_code, "body": response.json()}))
