"""The tap itself must catch what it claims to: drive it with a scripted fake
server that writes chosen lines, and check which ones it flags."""
import json
import subprocess
import sys
import textwrap

import pytest
from conftest import TAP

# A fake server: for each client request line, prints the replies scripted
# for its method (a list of JSON templates; "$ID" becomes the request's id).
FAKE = textwrap.dedent(
    """
    import json, sys
    script = json.loads(sys.argv[1])
    for raw in sys.stdin:
        msg = json.loads(raw)
        for reply in script.get(msg.get("method"), []):
            text = reply if isinstance(reply, str) else json.dumps(reply)
            sys.stdout.write(text.replace('"$ID"', json.dumps(msg.get("id"))) + "\\n")
            sys.stdout.flush()
    """
)

MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}
TOOL = {"name": "t", "inputSchema": {"type": "object"}}


def run_tap(tmp_path, script, client_lines):
    fake = tmp_path / "fake.py"
    fake.write_text(FAKE)
    log = tmp_path / "tap.jsonl"
    stdin = "".join(json.dumps(m) + "\n" for m in client_lines)
    subprocess.run(
        [sys.executable, str(TAP), str(log), "--", sys.executable, str(fake), json.dumps(script)],
        input=stdin.encode(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    return [json.loads(r) for r in log.read_text().splitlines() if '"line"' in r]


def legacy_req(id_, method, params=None):
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params or {}}


def modern_req(id_, method, params=None):
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": {**(params or {}), "_meta": MODERN_META}}


def test_valid_lines_pass_in_both_eras(tmp_path):
    script = {
        "tools/list": [{"jsonrpc": "2.0", "id": "$ID", "result": {"tools": [TOOL], "resultType": "complete", "ttlMs": 0, "cacheScope": "public"}}],
    }
    entries = run_tap(tmp_path, script, [legacy_req(1, "tools/list"), modern_req(2, "tools/list")])
    assert [e["era"] for e in entries] == ["2025-11-25", "2026-07-28"]
    assert all(e["errors"] == [] for e in entries), entries


@pytest.mark.parametrize(
    "case, client, replies, expect",
    [
        ("legacy result missing a required field", legacy_req(1, "tools/list"),
         [{"jsonrpc": "2.0", "id": "$ID", "result": {}}], "tools"),
        ("modern result without resultType", modern_req(1, "tools/call", {"name": "t"}),
         [{"jsonrpc": "2.0", "id": "$ID", "result": {"content": []}}], "resultType"),
        ("response to an id never sent", legacy_req(1, "ping"),
         [{"jsonrpc": "2.0", "id": 99, "result": {}}], "never sent"),
        ("two responses to one request", legacy_req(1, "ping"),
         [{"jsonrpc": "2.0", "id": "$ID", "result": {}}] * 2, "second response"),
        ("server request in a modern conversation", modern_req(1, "tools/call", {"name": "t"}),
         [{"jsonrpc": "2.0", "id": "s1", "method": "roots/list", "params": {}}], "outside a legacy session"),
        ("not JSON", legacy_req(1, "ping"), ["hello from a stray println"], "invalid line"),
        ("error without a code", legacy_req(1, "ping"),
         [{"jsonrpc": "2.0", "id": "$ID", "error": {"message": "x"}}], "code"),
        ("progress for an unknown token", legacy_req(1, "ping"),
         [{"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "zz", "progress": 1}}], "no request carried"),
    ],
)
def test_tap_flags(tmp_path, case, client, replies, expect):
    script = {client["method"]: replies}
    entries = run_tap(tmp_path, script, [client])
    errors = [err for e in entries for err in e["errors"]]
    assert any(expect in err for err in errors), f"{case}: {errors}"
