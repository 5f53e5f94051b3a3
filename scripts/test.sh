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

# Each step prints how long the one before it took, and the total so far.
step_start=$SECONDS
step() {
  printf '\n(%ds; %ds in all)\n==> %s\n' "$((SECONDS - step_start))" "$SECONDS" "$*"
  step_start=$SECONDS
}

# Every lmcp the tests start checks its tools' structuredContent against
# their outputSchema (a mismatch answers -32603): release binaries included.
export LMCP_VALIDATE_OUTPUT=1

# The peers (Python venv, Node packages) download while the build compiles:
# scripts/peers.sh needs no CPU to speak of, and no Rust test uses them. Its
# output is shown at the "peers" step, where the tests wait for it.
mkdir -p target
bash scripts/peers.sh > target/peers.log 2>&1 &
peers_pid=$!
# A step that fails ends the script: the download ends with it.
trap 'kill "$peers_pid" 2>/dev/null || true' EXIT

step "build (release: binary, examples)"
cargo build --release --all-targets --features fuzzing

step "feature combinations (the engine alone, each feature on its own; debug)"
# An embedder's `default-features = false` build and each feature alone must
# compile cleanly; the engine's unit tests and the hub config parser's run
# in reduced builds (the latter checks https:// is refused without tls).
timeout -k 10 900 cargo check --lib --no-default-features
for feature in cli tools hub tls web docs oauth; do
  timeout -k 10 900 cargo check --lib --no-default-features --features "$feature"
done
timeout -k 10 900 cargo clippy --lib --no-default-features -- -D warnings
timeout -k 10 900 cargo test --lib --no-default-features
timeout -k 10 900 cargo test --lib --no-default-features --features hub hub::config

step "formatting and API docs (cargo fmt; rustdoc with every feature, broken links fail)"
cargo fmt --check
RUSTDOCFLAGS="-D warnings" timeout -k 10 900 cargo doc --no-deps --all-features --lib

step "cargo test (release)"
timeout -k 10 1800 cargo test --release --features fuzzing

step "web binary (fetch and web_search are in the default build; tests/py/test_web.py uses LMCP_WEB_BIN)"
mkdir -p target/web
# fetch and read_file parse pages and documents in lmcp-extract, which lmcp
# finds next to itself.
cp target/release/lmcp target/release/lmcp-extract target/web/

step "packaging and docs (docs/configuration.md with the web flags; .deb from the release binary; layout of it and of the Arch PKGBUILD)"
timeout -k 10 1800 cargo test --features web --test docs_config
# The binary as users build it (`cargo build --release`): built alone, not
# beside the tests, whose dev-dependencies change its dependencies' features
# and so every symbol hash that build.rs's link order names. The package, the
# link-order check and the Python tests use this one.
timeout -k 10 1800 cargo build --release --bin lmcp --bin lmcp-extract
cp target/release/lmcp target/release/lmcp-extract target/web/
timeout -k 10 1800 bash scripts/package.sh --no-build >/dev/null
timeout -k 10 300 bash scripts/check-package.sh

step "fuzz (every target briefly, from the committed corpora; scripts/fuzz.sh for long runs)"
timeout -k 10 1200 bash scripts/fuzz.sh --check "${LMCP_FUZZ_SECONDS:-15}"

step "peers"
peers_rc=0
wait "$peers_pid" || peers_rc=$?
cat target/peers.log
if [ "$peers_rc" -ne 0 ]; then
  echo "test: scripts/peers.sh failed (exit $peers_rc); its output is above" >&2
  exit "$peers_rc"
fi

step "Python SDK client tests (stdio and Streamable HTTP, schema-validating taps)"
export LMCP_BIN="$PWD/target/release/lmcp"
export LMCP_EVERYTHING="$PWD/target/release/examples/everything"
export LMCP_WEB_BIN="$PWD/target/web/lmcp"
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

printf '\n(%ds; %ds in all)\n' "$((SECONDS - step_start))" "$SECONDS"
echo "all test steps passed"
