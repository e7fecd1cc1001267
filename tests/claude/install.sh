#!/usr/bin/env bash
# Installs the Claude Code release the end-to-end suite is pinned to
# (tests/claude_e2e.rs) into target/claude-code/, which is never committed
# (target/ is ignored). One line for developers and CI:
#
#   bash tests/claude/install.sh            # the pinned version
#   bash tests/claude/install.sh 2.1.331    # another version, to try it
#
# The suite then finds the native binary there by itself; or point
# HOMESWAP_CLAUDE_BIN at any claude binary. Claude Code is a test
# dependency under Anthropic's own licence: nothing of it goes into git.
set -euo pipefail
cd "$(dirname "$0")/../.."
version="${1:-$(sed -n 's/^pub const PINNED_VERSION: &str = "\(.*\)";$/\1/p' tests/claude/mod.rs)}"
[ -n "$version" ] || { echo "install.sh: no pinned version found in tests/claude/mod.rs" >&2; exit 2; }
dir=target/claude-code
mkdir -p "$dir"
# The package's postinstall only links the native binary; the tests run
# that binary directly, so scripts are not needed.
npm install --prefix "$dir" --no-audit --no-fund --no-save --ignore-scripts \
  "@anthropic-ai/claude-code@$version" >&2
bin=$(ls "$dir"/node_modules/@anthropic-ai/claude-code-linux-*/claude 2>/dev/null | head -n 1)
[ -x "$bin" ] || { echo "install.sh: no native claude binary under $dir/node_modules" >&2; exit 1; }
echo "Claude Code $("$bin" --version | cut -d' ' -f1) at $bin"
