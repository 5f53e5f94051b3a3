"""Issue 23's file-tool findings, through the official Python SDK against
the real `lmcp` binary over stdio and Streamable HTTP: FIFOs and sockets are
refused at once (they used to block a pool thread forever), a directory that
cannot be read is an error (it used to list as "(empty)" when out of
descriptors), control characters in file names are escaped in text, and
edit_file racing an appender loses no appended line."""
import os
import socket
import sys
import threading

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from fs_support import lmcp, text, tree  # noqa: F401 (lmcp, tree: fixtures)

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]


@pytest.mark.parametrize("mode", MODES)
async def test_fifos_and_sockets_are_refused_without_blocking(lmcp, tree, mode):
    os.mkfifo(tree.root / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tree.root / "sock"))
    try:
        async with lmcp.connect(mode, "--root", str(tree.root)) as c:
            with anyio.fail_after(30):
                # More calls than the blocking pool has threads: none may hang.
                for _ in range(3):
                    for tool in ("read_file", "file_info", "edit_file"):
                        args = {"path": "pipe"}
                        if tool == "edit_file":
                            args["edits"] = [{"old_text": "a", "new_text": "b"}]
                        r = await c.call_tool(tool, args)
                        assert r.is_error and "FIFO" in text(r), (tool, text(r))
                r = await c.call_tool("read_file", {"path": "sock"})
                assert r.is_error and "socket" in text(r), text(r)
                with pytest.raises(MCPError, match="FIFO"):
                    await c.read_resource((tree.root / "pipe").as_uri())
                r = await c.call_tool("read_file", {"path": "a.txt"})
                assert text(r) == "alpha\nbeta\ngamma\n"
    finally:
        sock.close()


def limited(nofile):
    """A command wrapper running the server with RLIMIT_NOFILE (soft and hard) at `nofile`."""
    code = (
        "import os, resource, sys; "
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({nofile}, {nofile})); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    return lambda cmd: [sys.executable, "-c", code, *cmd]


async def test_a_directory_that_cannot_be_read_is_an_error_not_empty(lmcp, tree):
    """Out of descriptors, list_dir must fail, never answer "(empty)" for a
    directory that has entries. Try descriptor limits from barely enough to
    start up to plenty: each answer is the full listing or an error."""
    listed = errors = 0
    for nofile in range(8, 40, 2):
        try:
            async with lmcp.connect("legacy", "--root", str(tree.root), wrap=limited(nofile)) as c:
                with anyio.fail_after(20):
                    r = await c.call_tool("list_dir", {"path": "src"})
        except Exception:  # the server could not even start or answer with so few descriptors
            continue
        if r.is_error:
            errors += 1
            assert "cannot" in text(r), text(r)
        else:
            listed += 1
            assert "(empty)" not in text(r), f"nofile={nofile}: {text(r)}"
            assert {e["path"] for e in r.structured_content["entries"]} == {"lib.rs", "notes.md"}
    assert listed, "no descriptor limit let list_dir work at all"


@pytest.mark.parametrize("mode", MODES)
async def test_control_characters_in_names_are_escaped_in_text(lmcp, tree, mode):
    d = tree.root / "odd"
    d.mkdir()
    (d / "two\nlines.txt").write_text("x")
    (d / "red\x1b[31m.txt").write_text("x")
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        r = await c.call_tool("list_dir", {"path": "odd"})
        t = text(r)
        assert "two\\nlines.txt" in t and "red\\x1b[31m.txt" in t, t
        assert "\x1b" not in t and "two\nlines" not in t
        names = {e["path"] for e in r.structured_content["entries"]}
        assert names == {"two\nlines.txt", "red\x1b[31m.txt"}, "structured content keeps the real names"


@pytest.mark.parametrize("mode", MODES)
async def test_edit_racing_an_appender_loses_no_line(lmcp, tree, mode):
    f = tree.root / "race.log"
    f.write_text("header 0\n")
    lines = 200
    done = threading.Event()

    def append():
        for i in range(lines):
            with open(f, "a") as out:
                out.write(f"line {i}\n")
        done.set()

    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        t = threading.Thread(target=append)
        t.start()
        n = 0
        with anyio.fail_after(120):
            while not done.is_set() or n < 5:
                r = await c.call_tool("edit_file", {"path": "race.log", "edits": [
                    {"old_text": f"header {n}\n", "new_text": f"header {n + 1}\n"}]})
                if r.is_error:
                    # Refusing (the file kept changing) is allowed; losing lines is not.
                    assert "changed while it was being edited" in text(r), text(r)
                    continue
                n += 1
        t.join()
    got = f.read_text().splitlines()
    assert got[0] == f"header {n}"
    missing = [i for i in range(lines) if f"line {i}" not in got]
    assert not missing, f"{len(missing)} appended lines lost: {missing[:10]}"
