# Sourced by collector/build.sh and jaeger/build.sh: a binary built from Go modules is cached
# outside the work tree, keyed by a hash of the files that define it, so fresh clones on the
# same machine reuse it and a changed definition rebuilds.
#
#   binary_cache NAME BINARY FILE...   sets $bin (cache/NAME-hash/BINARY); if it is built
#                                      already, prints its path and exits
#   binary_store BUILT                 puts a fresh build at $bin (atomically), prints the path
#
#   OTELCOL_CACHE_DIR   where binaries are kept (default: ~/.cache/rust-agent-tracing)

binary_cache() {
  local name="$1" binary="$2"; shift 2
  local key
  key="$(cat "$@" | sha256sum | cut -c1-16)"
  bin="${OTELCOL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-agent-tracing}/$name-$key/$binary"
  if [[ -x "$bin" ]]; then
    echo "$bin"
    exit 0
  fi
}

binary_store() {
  mkdir -p "$(dirname "$bin")"
  # A private temporary name, then a rename: two builds finishing together never mix.
  cp "$1" "$bin.tmp.$$"
  mv "$bin.tmp.$$" "$bin"
  echo "$bin"
}
