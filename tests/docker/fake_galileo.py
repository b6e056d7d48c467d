"""A stand-in for Galileo's OTLP/HTTP endpoint, for the compose test: it answers like Galileo
(401 without the expected `Galileo-API-Key`, 415 for anything but protobuf, 200 with an empty
ExportTraceServiceResponse) and appends one JSON line per request it accepted to OUT: the
Galileo headers and, per span, its service, name and trace id. Decodes with opentelemetry-proto
(from the interop virtualenv).

    python fake_galileo.py HOST PORT API_KEY OUT
"""

import gzip
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

host, port, api_key, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


class Galileo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path != "/otel/traces":
            return self.answer(404)
        if self.headers.get("galileo-api-key") != api_key:
            return self.answer(401)
        if self.headers.get("content-type") != "application/x-protobuf":
            return self.answer(415)
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest.FromString(body)
        spans = []
        for resource_spans in request.resource_spans:
            service = next(
                (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"),
                "",
            )
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    spans.append({"service": service, "name": span.name, "trace_id": span.trace_id.hex()})
        record = {
            "project": self.headers.get("project"),
            "logstream": self.headers.get("logstream"),
            "spans": spans,
        }
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        self.answer(200, ExportTraceServiceResponse().SerializeToString())

    def answer(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # quiet
        pass


ThreadingHTTPServer((host, port), Galileo).serve_forever()
