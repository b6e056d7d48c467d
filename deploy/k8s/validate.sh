#!/usr/bin/env bash
# Renders deploy/k8s with kustomize and validates every manifest strictly against the Kubernetes
# JSON schemas, offline: no cluster runs here, so these manifests are validated, not applied.
# Prints the rendered manifests on stdout (the test suite checks them further:
# tests/suite/kubernetes.rs).
#
#   deploy/k8s/validate.sh         render and validate deploy/k8s
#   deploy/k8s/validate.sh FILE    validate FILE instead (the tests' check that a misspelt field fails)
#
# Tools, built or installed once and cached outside the work tree (~/.cache/rust-agent-tracing):
#   kustomize            from its Go module (KUSTOMIZE_VERSION)
#   kubernetes-validate  from PyPI (tools/requirements.txt), which ships the schemas
#
#   KUBERNETES_VERSIONS  the API versions validated against (default: 1.30.0 and 1.37.0, the
#                        oldest and newest the pinned kubernetes-validate knows and we support)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KUSTOMIZE_VERSION=v5.8.1
cache="${XDG_CACHE_HOME:-$HOME/.cache}/rust-agent-tracing"

kustomize="$cache/kustomize-$KUSTOMIZE_VERSION/kustomize"
if [[ ! -x "$kustomize" ]]; then
  command -v go >/dev/null || { echo "deploy/k8s/validate.sh: Go is required to build kustomize" >&2; exit 1; }
  echo "deploy/k8s/validate.sh: building kustomize $KUSTOMIZE_VERSION (once)" >&2
  GOBIN="$(dirname "$kustomize").tmp.$$" CGO_ENABLED=0 GOMAXPROCS="${GOMAXPROCS:-2}" \
    go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
  mv "$(dirname "$kustomize").tmp.$$" "$(dirname "$kustomize")" 2>/dev/null || rm -rf "$(dirname "$kustomize").tmp.$$"
fi

key="$(sha256sum "$here/tools/requirements.txt" | cut -c1-12)"
venv="$cache/venv-kubernetes-validate-$key"
if [[ ! -x "$venv/bin/kubernetes-validate" ]]; then
  echo "deploy/k8s/validate.sh: installing kubernetes-validate into $venv (once)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/tools/requirements.txt" >&2
fi

rendered="$(mktemp)"
trap 'rm -f "$rendered"' EXIT
if [[ -n "${1:-}" ]]; then
  cp "$1" "$rendered"
else
  # The Collector configs are the repository's own files, outside deploy/k8s (see kustomization.yaml).
  "$kustomize" build --load-restrictor LoadRestrictionsNone "$here" >"$rendered"
fi
for version in ${KUBERNETES_VERSIONS:-1.30.0 1.37.0}; do
  "$venv/bin/kubernetes-validate" --strict --kubernetes-version "$version" "$rendered" >&2 || {
    echo "deploy/k8s/validate.sh: the manifests are not valid Kubernetes $version" >&2
    exit 1
  }
done
cat "$rendered"
