#!/usr/bin/env bash
# THE test command (README, .ci/run): builds everything, runs the Rust tests,
# installs the peers (scripts/peers.sh) and runs the peer tests against the
# real binaries. Exits non-zero if any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f ../shared/spec/2026-07-28/schema.json ]; then
  echo "test: ../shared/spec is missing (the official MCP schemas must sit beside the repo)" >&2
  exit 1
fi

step() { printf '\n==> %s\n' "$*"; }

step "build (release: binary, examples)"
cargo build --release --all-targets

step "cargo test (release)"
cargo test --release

step "peers"
bash scripts/peers.sh

step "Python SDK client tests (stdio)"
export LMCP_BIN="$PWD/target/release/lmcp"
export LMCP_EVERYTHING="$PWD/target/release/examples/everything"
set +e
.peers/venv/bin/python -m pytest -q tests/py
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test: pytest collected no tests" >&2
  exit 1
fi
[ "$rc" -eq 0 ] || exit "$rc"

step "conformance suite (HTTP)"
bash scripts/conformance.sh

echo
echo "all test steps passed"
