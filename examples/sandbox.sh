#!/usr/bin/env bash
# Builds the sandbox that examples/homeswap.yaml describes, in
# /tmp/homeswap-sandbox, and walks through homeswap on it:
# validate (problems), ensure (repairs), swap, validate (ok), status.
set -euo pipefail
cd "$(dirname "$0")/.."
sandbox=/tmp/homeswap-sandbox
# Only a sandbox this script made (it carries the marker) is replaced.
if [ -e "$sandbox" ]; then
  if [ -f "$sandbox/.homeswap-sandbox" ]; then rm -rf "$sandbox"; else
    echo "sandbox.sh: $sandbox exists and was not made by this script; move it away first" >&2; exit 2
  fi
fi
mkdir -p "$sandbox/claude-a" "$sandbox/claude-b"
touch "$sandbox/.homeswap-sandbox"
cargo build --release --quiet
hs() { echo; echo "\$ homeswap $*"; ./target/release/homeswap --config examples/homeswap.yaml "$@"; }
hs validate || echo "(exit $?: the new homes have no shared links yet, and no account is active)"
hs ensure
hs swap a
hs validate
hs swap b
hs status
