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
timeout -k 10 1800 cargo test --release

step "cargo test --features web (the opt-in fetch/web_search tools, debug build)"
timeout -k 10 1800 cargo test --features web --lib tools::web
timeout -k 10 1800 cargo test --features web --test web_fetch --test web_search --test web_proxy

step "build the lmcp binary with --features tls (https:// upstreams; tests/py/test_hub_tls.py)"
cargo build --release --features tls --bin lmcp

step "peers"
bash scripts/peers.sh

step "Python SDK client tests (stdio and Streamable HTTP, schema-validating taps)"
export LMCP_BIN="$PWD/target/release/lmcp"
export LMCP_EVERYTHING="$PWD/target/release/examples/everything"
# Bounded: a hung server must not eat CI's 90 minutes.
set +e
timeout -k 10 900 .peers/venv/bin/python -m pytest -q -p no:cacheprovider tests/py
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test: pytest collected no tests" >&2
  exit 1
elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "test: pytest timed out after 900 s" >&2
fi
[ "$rc" -eq 0 ] || exit "$rc"

step "conformance suite (HTTP)"
timeout -k 10 1800 bash scripts/conformance.sh

echo
echo "all test steps passed"
