"""A Python FastAPI stand-in for the agent service: the same POST /agent contract, instrumented
by opentelemetry-instrumentation-fastapi (which extracts the caller's context).

    python agent.py PORT
"""

import sys

import uvicorn
from fastapi import FastAPI
from opentelemetry import baggage, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from pydantic import BaseModel

import otel_setup

otel_setup.init("python-agent")
app = FastAPI()


class AgentRequest(BaseModel):
    message: str
    sessionId: str | None = None


@app.post("/agent")
def agent(request: AgentRequest) -> dict:
    # What arrived in baggage, recorded so the test can see it crossed the language boundary.
    session = baggage.get_baggage("session.id")
    if session:
        trace.get_current_span().set_attribute("session.id", str(session))
    return {"answer": f"The Python agent heard: {request.message}", "sessionId": request.sessionId or ""}


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


FastAPIInstrumentor.instrument_app(app, excluded_urls="health")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
