#!/usr/bin/env bash
# Creates (once) the virtualenv with the official OpenTelemetry Python SDK that the
# cross-language tests run, keyed by requirements.txt, outside the work tree; prints its python.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
key="$(sha256sum "$here/requirements.txt" | cut -c1-12)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/rust-agent-tracing/venv-interop-$key"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import opentelemetry.sdk, fastapi, uvicorn, httpx' 2>/dev/null; then
  echo "tests/interop/venv.sh: installing the OpenTelemetry Python SDK into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
fi
echo "$venv/bin/python"
