"""Fixtures: the real binaries behind a schema-validating tap, driven by the
official MCP Python SDK client."""
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LMCP = Path(os.environ.get("LMCP_BIN", ROOT / "target/release/lmcp"))
# Every lmcp started here checks its tools' structured results against their
# outputSchema (a mismatch answers -32603), as scripts/test.sh also sets.
os.environ.setdefault("LMCP_VALIDATE_OUTPUT", "1")
EVERYTHING = Path(os.environ.get("LMCP_EVERYTHING", ROOT / "target/release/examples/everything"))
TAP = Path(__file__).with_name("tap.py")


@pytest.fixture
def anyio_backend():
    """Every async test runs on asyncio (the SDK's own backend)."""
    return "asyncio"


@pytest.fixture
def tap_log(tmp_path):
    """A log of every line the server wrote; fails the test on schema errors."""
    log = tmp_path / "tap.jsonl"
    log.touch()
    yield log
    bad = []
    entries = log.read_text().splitlines()
    assert any('"line"' in e for e in entries), "the tap saw no server output: was the server started through it?"
    for raw in entries:
        entry = json.loads(raw)
        if entry.get("errors"):
            bad.append(entry)
    assert not bad, "server messages violate the official schema:\n" + "\n".join(json.dumps(b) for b in bad)


def server_lines(log):
    """The server's messages so far, parsed."""
    return [json.loads(json.loads(r)["line"]) for r in log.read_text().splitlines() if '"line"' in r]


@pytest.fixture
def params(tap_log):
    """Build StdioServerParameters for a binary, wrapped by the tap."""
    from mcp.client.stdio import StdioServerParameters

    def make(binary, *args):
        assert Path(binary).exists(), f"{binary} is missing: run cargo build --release --examples first"
        return StdioServerParameters(command=sys.executable, args=[str(TAP), str(tap_log), "--", str(binary), *args])

    return make
