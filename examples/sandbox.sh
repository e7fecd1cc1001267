#!/usr/bin/env bash
# Builds a sandbox of two account homes and walks through homeswap on it:
# validate (problems), ensure (repairs), swap, validate (ok), status.
#
# Where: $HOMESWAP_SANDBOX, default ${TMPDIR:-/tmp}/homeswap-sandbox. Its
# configuration is examples/homeswap.yaml with the paths moved there.
# Which binary: $HOMESWAP if set; else this checkout's release build
# (under $CARGO_TARGET_DIR or target/), built only when it is missing or
# older than the sources, so a second run starts at once.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
sandbox=${HOMESWAP_SANDBOX:-${TMPDIR:-/tmp}/homeswap-sandbox}

# Only a sandbox this script made (it carries the marker) is replaced.
if [ -e "$sandbox" ]; then
  if [ -f "$sandbox/.homeswap-sandbox" ]; then rm -rf "$sandbox"; else
    echo "sandbox.sh: $sandbox exists and was not made by this script; move it away or set HOMESWAP_SANDBOX" >&2; exit 2
  fi
fi
mkdir -p "$sandbox/claude-a" "$sandbox/claude-b"
touch "$sandbox/.homeswap-sandbox"
sandbox=$(cd "$sandbox" && pwd)   # the configuration wants absolute paths

if [ -n "${HOMESWAP:-}" ]; then
  bin=$HOMESWAP
else
  bin=${CARGO_TARGET_DIR:-$repo/target}/release/homeswap
  newer=$(find "$repo/src" "$repo/Cargo.toml" "$repo/Cargo.lock" -newer "$bin" -print -quit 2>/dev/null || true)
  if [ ! -x "$bin" ] || [ -n "$newer" ]; then
    (cd "$repo" && cargo build --release --quiet)
  fi
fi

config=$sandbox/homeswap.yaml
example=$(<"$here/homeswap.yaml")
# Quoted replacement: a '&' in the path stays a '&'.
printf '%s\n' "${example//\/tmp\/homeswap-sandbox/"$sandbox"}" >"$config"

hs() { echo; echo "\$ homeswap $*"; "$bin" --config "$config" "$@"; }
hs validate || echo "(exit $?: the new homes have no shared links yet, and no account is active)"
hs ensure
hs swap a
hs validate
hs swap b
hs status
