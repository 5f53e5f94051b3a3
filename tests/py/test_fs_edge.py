"""Edge cases of the file tools through the official Python SDK against the
real `lmcp` binary, over stdio and Streamable HTTP: a 100 MB sparse file,
edits that must not write, CRLF, a read-only directory, `--read-only`,
`--trust-client-roots`, a missing root, names and bytes that are not UTF-8,
and symlinks swapped while the server works."""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import anyio
import pytest
from conftest import LMCP, TAP, server_lines
from mcp.shared.exceptions import MCPError
from fs_support import WRITE_TOOLS, lmcp, peak_rss_kb, running_as_root, server_pids, text, tree  # noqa: F401 (lmcp, tree: fixtures)

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]


async def call(c, name, args):
    r = await c.call_tool(name, args)
    return r, text(r)


@pytest.mark.parametrize("mode", MODES)
async def test_huge_sparse_file_read_with_small_limit(lmcp, tree, mode):
    big = tree.root / "big.txt"
    with open(big, "wb") as f:
        for i in range(2000):
            f.write(b"line %d of a big file\n" % i)
        f.truncate(100 * 1024 * 1024)  # the rest is a hole: one 100 MB line of NULs
    assert big.stat().st_blocks * 512 < 10 * 1024 * 1024, "the file should be sparse"
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        with anyio.fail_after(60):  # liveness only; speed is for the benchmarks
            r, t = await call(c, "read_file", {"path": "big.txt", "limit": 3})
            assert t.startswith("line 0 of a big file\nline 1 of a big file\nline 2 of a big file\n[showed lines 1-3")
            assert r.structured_content["size"] == 100 * 1024 * 1024 and r.structured_content["truncated"]
            r, t = await call(c, "read_file", {"path": "big.txt", "offset": 1999, "limit": 5})
            assert t.startswith("line 1998 of a big file\nline 1999 of a big file\n"), t[:200]
            assert "continue with offset=2001" in t
            # The 100 MB line itself: its start, cut at the output cap, never buffered whole.
            r, t = await call(c, "read_file", {"path": "big.txt", "offset": 2001, "limit": 1})
            assert r.structured_content["line_cut"] is True and len(t) < 300 * 1024
            assert "line 2001 is longer than the output budget" in t
            assert t.startswith("\ufffd" * 1000) and r.structured_content["next_column"] > 10000
            r, t = await call(c, "read_file", {"path": "big.txt", "tail": 1})
            assert r.structured_content["line_cut"] is True and len(t) < 300 * 1024
            r, t = await call(c, "file_info", {"path": "big.txt"})
            assert r.structured_content["size"] == 100 * 1024 * 1024
        pids = server_pids(str(tree.root))
        assert len(pids) == 1, pids
        peak = peak_rss_kb(pids[0])
        assert peak < 64 * 1024, f"peak RSS {peak} KiB: the 100 MB file was buffered"


@pytest.mark.parametrize("mode", MODES)
async def test_edits_that_match_zero_or_two_times_write_nothing(lmcp, tree, mode):
    f = tree.root / "dup.txt"
    original = b"x = 1\nfoo()\n  y = 2\nfoo()\nend"
    f.write_bytes(original)
    mtime = f.stat().st_mtime_ns
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        r, t = await call(c, "edit_file", {"path": "dup.txt", "edits": [{"old_text": "foo()", "new_text": "bar()"}]})
        assert r.is_error and "edit 1: old_text matches 2 times (lines 2, 4)" in t and "nothing was written" in t
        assert f.read_bytes() == original and f.stat().st_mtime_ns == mtime, "a failed edit wrote the file"
        # The first edit alone would apply: all or nothing.
        edits = [{"old_text": "x = 1", "new_text": "x = 9"}, {"old_text": "missing", "new_text": "z"}]
        r, t = await call(c, "edit_file", {"path": "dup.txt", "edits": edits})
        assert r.is_error and t.startswith("edit 2: old_text not found; nothing was written")
        assert f.read_bytes() == original and f.stat().st_mtime_ns == mtime, "a failed edit wrote the file"
        # A whitespace-only near miss is pointed out.
        r, t = await call(c, "edit_file", {"path": "dup.txt", "edits": [{"old_text": "y = 2", "new_text": "y = 3"}]})
        assert not r.is_error, t  # "y = 2" occurs once (indented): an exact substring match
        f.write_bytes(original)
        r, t = await call(c, "edit_file", {"path": "dup.txt", "edits": [{"old_text": "y  =  2", "new_text": "y = 3"}]})
        assert r.is_error and "line 3" in t and "y = 2" in t, t
        assert f.read_bytes() == original
        os.utime(f, ns=(mtime, mtime))
        r, t = await call(c, "edit_file", {"path": "dup.txt", "edits": [{"old_text": "foo()", "new_text": "bar()", "replace_all": True}]})
        assert not r.is_error and f.read_bytes() == original.replace(b"foo()", b"bar()")
    leftovers = [p.name for p in tree.root.iterdir() if ".lmcp-" in p.name]
    assert leftovers == []


@pytest.mark.parametrize("mode", MODES)
async def test_crlf_file_edit_keeps_line_endings(lmcp, tree, mode):
    f = tree.root / "win.txt"
    f.write_bytes(b"first\r\nsecond line\r\nthird\r\n")
    g = tree.root / "nofinal.txt"
    g.write_bytes(b"a\r\nb")
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        edit = {"old_text": "second line\nthird", "new_text": "2nd\nline\nthird"}  # LF in the edit
        r, t = await call(c, "edit_file", {"path": "win.txt", "edits": [edit]})
        assert not r.is_error, t
        assert f.read_bytes() == b"first\r\n2nd\r\nline\r\nthird\r\n"
        r, t = await call(c, "edit_file", {"path": "nofinal.txt", "edits": [{"old_text": "b", "new_text": "B\r\nC"}]})
        assert not r.is_error, t
        assert g.read_bytes() == b"a\r\nB\r\nC", "no final newline was added"


def read_only_dir_wrap(tree, ro):
    """How to make `ro` read-only for the server: permission bits for an
    ordinary user; as root (which ignores them) a read-only bind mount in the
    server's own mount namespace. None when neither is possible."""
    if not running_as_root():
        ro.chmod(0o555)
        return lambda cmd: cmd
    unshare = shutil.which("unshare")
    if not unshare:
        return None
    probe = subprocess.run(
        [unshare, "-m", "sh", "-c", f'mount --bind "{ro}" "{ro}" && mount -o remount,ro,bind "{ro}"'],
        capture_output=True,
    )
    if probe.returncode != 0:
        return None
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"'
    return lambda cmd: [unshare, "-m", "sh", "-c", script, str(ro), *cmd]


@pytest.mark.parametrize("mode", MODES)
async def test_write_into_read_only_directory(lmcp, tree, mode):
    ro = tree.root / "ro"
    ro.mkdir()
    (ro / "keep.txt").write_text("keep\n")
    wrap = read_only_dir_wrap(tree, ro)
    if wrap is None:
        # CI runs as root in a fresh container where unshare -m works: there
        # this is a failure, not a skip.
        assert not os.environ.get("CI"), "CI is set but no read-only bind mount is possible (unshare -m needs CAP_SYS_ADMIN)"
        pytest.skip("running as root (permission bits do not stop root) and no read-only bind mount is possible here (needs unshare -m and CAP_SYS_ADMIN)")
    try:
        async with lmcp.connect(mode, "--root", str(tree.root), wrap=wrap) as c:
            for name, args in [
                ("write_file", {"path": "ro/new.txt", "content": "x"}),
                ("write_file", {"path": "ro/keep.txt", "content": "changed"}),
                ("edit_file", {"path": "ro/keep.txt", "edits": [{"old_text": "keep", "new_text": "gone"}]}),
                ("make_dir", {"path": "ro/sub"}),
                ("move_file", {"path": "ro/keep.txt", "destination": "ro/moved.txt"}),
            ]:
                r, t = await call(c, name, args)
                assert r.is_error, (name, t)
                assert "permission denied" in t or "the file system is read-only" in t, (name, t)
                assert "ro/" in t, t
            r, t = await call(c, "read_file", {"path": "ro/keep.txt"})
            assert t == "keep\n"
    finally:
        ro.chmod(0o755)
    assert sorted(p.name for p in ro.iterdir()) == ["keep.txt"], "a temporary file was left behind"
    assert (ro / "keep.txt").read_text() == "keep\n" and (tree.root / "a.txt").exists()


@pytest.mark.parametrize("mode", MODES)
async def test_read_only_flag_hides_write_tools(lmcp, tree, mode):
    async with lmcp.connect(mode, "--root", str(tree.root), "--read-only") as c:
        names = {t.name for t in (await c.list_tools()).tools}
        assert not names & (WRITE_TOOLS | {"shell", "shell_bg"}), names
        assert {"read_file", "list_dir", "search_files", "file_info"} <= names
        with pytest.raises(MCPError, match="Unknown tool: write_file"):
            await c.call_tool("write_file", {"path": "x.txt", "content": "x"})
        assert (await call(c, "read_file", {"path": "a.txt"}))[1] == "alpha\nbeta\ngamma\n"
    assert not (tree.root / "x.txt").exists()


@pytest.mark.parametrize("trust", [True, False])
async def test_client_roots_narrow_the_roots_in_the_legacy_era(lmcp, tree, trust):
    from mcp.types import ListRootsResult, Root

    asked = []

    async def roots(context):
        asked.append(1)
        return ListRootsResult(roots=[Root(uri=(tree.root / "src").as_uri(), name="src")])

    args = ["--root", str(tree.root)] + (["--trust-client-roots"] if trust else [])
    async with lmcp.connect("legacy", *args, list_roots_callback=roots) as c:
        r, t = await call(c, "read_file", {"path": str(tree.root / "src/lib.rs")})
        assert not r.is_error and "needle" in t
        r, t = await call(c, "read_file", {"path": str(tree.root / "a.txt")})
        if trust:
            assert r.is_error and "outside the allowed roots" in t and str(tree.root / "src") in t, t
            r, t = await call(c, "write_file", {"path": str(tree.root / "b.txt"), "content": "x"})
            assert r.is_error and not (tree.root / "b.txt").exists()
            assert asked, "the server never asked for the client's roots"
        else:
            assert t == "alpha\nbeta\ngamma\n" and not asked
            r, t = await call(c, "read_file", {"path": "a.txt"})
            assert t == "alpha\nbeta\ngamma\n"
    # The modern era has no roots/list: the configured roots apply as they are.
    async with lmcp.connect("auto", *args) as c:
        assert (await call(c, "read_file", {"path": "a.txt"}))[1] == "alpha\nbeta\ngamma\n"


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_missing_root_stops_the_server_with_a_clear_message(tmp_path, transport):
    missing = tmp_path / "no-such-dir"
    cmd = [str(LMCP), "--root", str(missing)] + (["--stdio"] if transport == "stdio" else ["--http", "127.0.0.1:0"])
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    err = p.stderr.decode()
    assert p.returncode == 2, err
    assert str(missing) in err and "pass an existing directory to --root" in err
    assert p.stdout == b""
    (tmp_path / "file").write_text("x")
    p = subprocess.run(cmd[:2] + [str(tmp_path / "file")] + cmd[3:], stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert p.returncode == 2 and "is not a directory" in p.stderr.decode()


@pytest.mark.parametrize("mode", MODES)
async def test_names_that_are_not_utf8(lmcp, tree, mode):
    raw = os.fsencode(str(tree.root)) + b"/caf\xe9.txt"
    with open(raw, "wb") as f:
        f.write(b"needle in latin-1 \xe9\n")
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        r, t = await call(c, "list_dir", {})
        assert "caf\ufffd.txt" in [e["path"] for e in r.structured_content["entries"]]
        r, t = await call(c, "search_files", {"pattern": "needle in"})
        assert [(m["path"], m["text"]) for m in r.structured_content["matches"]] == [("caf\ufffd.txt", "needle in latin-1 \ufffd")]
        # The lossy name is not the file's name: refused as missing, never a crash.
        r, t = await call(c, "read_file", {"path": "caf\ufffd.txt"})
        assert r.is_error and "does not exist" in t
        r, t = await call(c, "search_files", {"pattern": "caf*", "names": True})
        assert "caf\ufffd.txt" in t


def test_request_bytes_that_are_not_utf8_get_a_parse_error(tap_log, tree):
    """JSON cannot carry invalid UTF-8, so the SDK cannot send it: raw lines
    through the stdio tap. The server answers a parse error and goes on."""
    proc = subprocess.Popen(
        [sys.executable, str(TAP), str(tap_log), "--", str(LMCP), "--stdio", "--root", str(tree.root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }

    def req(i, path):
        body = {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "read_file", "arguments": {"path": path}, "_meta": meta}}
        return json.dumps(body).encode()

    bad = req(1, "a\x01.txt").replace(b"\\u0001", b"\xff\xfe")
    surrogate = req(2, "a\x01.txt").replace(b"\\u0001", b"\\udcff")
    out, _ = proc.communicate(bad + b"\n" + surrogate + b"\n" + req(3, "a.txt") + b"\n", timeout=30)
    replies = [json.loads(line) for line in out.splitlines()]
    assert [r["error"]["code"] for r in replies[:2]] == [-32700, -32700], replies
    assert replies[2]["id"] == 3 and replies[2]["result"]["content"][0]["text"] == "alpha\nbeta\ngamma\n"
    assert len(server_lines(tap_log)) == 3


def _flip(stop, path, inside, outside_target, is_dir):
    """Swap `path` between a real entry inside the root and a symlink that
    leads out, as fast as possible, until `stop` is set."""
    tmp_link = path.with_name(path.name + ".link")
    while not stop.is_set():
        os.symlink(outside_target, tmp_link)
        if is_dir:
            os.rename(path, inside)  # the real directory steps aside ...
            os.rename(tmp_link, path)  # ... and a symlink takes its name
            os.rename(path, tmp_link)
            os.rename(inside, path)
            os.unlink(tmp_link)
        else:
            os.rename(tmp_link, path)  # atomic: the file becomes a symlink
            inside.write_text("inside\n")
            os.rename(inside, path)  # and back


@pytest.mark.parametrize("mode", MODES)
async def test_symlinks_swapped_during_the_calls_never_leak(lmcp, tree, mode):
    secret = tree.outside / "secret.txt"
    (tree.root / "flip").write_text("inside\n")
    (tree.root / "dflip").mkdir()
    (tree.root / "dflip/secret.txt").write_text("inside\n")
    before = tree.outside_snapshot()
    stop = threading.Event()
    flippers = [
        threading.Thread(target=_flip, args=(stop, tree.root / "flip", tree.root / "flip.real", secret, False)),
        threading.Thread(target=_flip, args=(stop, tree.root / "dflip", tree.root / "dflip.real", tree.outside, True)),
    ]
    outcomes = {"inside": 0, "refused": 0, "other": 0}
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        for t in flippers:
            t.start()
        try:
            with anyio.fail_after(120):
                for i in range(60):
                    for name, args in [
                        ("read_file", {"path": "flip"}),
                        ("read_file", {"path": "dflip/secret.txt"}),
                        ("file_info", {"path": "dflip/secret.txt"}),
                        ("search_files", {"pattern": "secret", "path": "dflip"}),
                        ("write_file", {"path": "dflip/secret.txt", "content": "pwned\n"}),
                        ("write_file", {"path": "dflip/new.txt", "content": "pwned\n"}),
                        ("edit_file", {"path": "flip", "edits": [{"old_text": "top secret", "new_text": "pwned"}]}),
                    ]:
                        r, t = await call(c, name, args)
                        assert "top secret" not in t and "top secret" not in json.dumps(r.structured_content or {}), (name, t)
                        if not r.is_error:
                            outcomes["inside"] += 1
                        elif "outside the allowed roots" in t:
                            outcomes["refused"] += 1
                        else:
                            outcomes["other"] += 1  # e.g. not found while a directory stepped aside
        finally:
            stop.set()
            for t in flippers:
                t.join()
    assert tree.outside_snapshot() == before, "something outside the root changed"
    assert outcomes["inside"] > 0 and outcomes["refused"] > 0, outcomes


async def test_client_roots_are_asked_once_until_they_change(lmcp, tree):
    """Legacy era, --trust-client-roots: the server keeps the client's roots
    per session and asks again only after notifications/roots/list_changed."""
    import warnings

    from mcp.types import ListRootsResult, Root

    current = {"dir": tree.root / "src"}
    asked = []

    async def roots(context):
        asked.append(current["dir"])
        return ListRootsResult(roots=[Root(uri=current["dir"].as_uri())])

    async with lmcp.connect("legacy", "--root", str(tree.root), "--trust-client-roots", list_roots_callback=roots) as c:
        for _ in range(3):
            r, t = await call(c, "read_file", {"path": str(tree.root / "src/lib.rs")})
            assert not r.is_error, t
            r, t = await call(c, "read_file", {"path": str(tree.root / "a.txt")})
            assert r.is_error and "outside the allowed roots" in t
        assert len(asked) == 1, asked
        current["dir"] = tree.root
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await c.send_roots_list_changed()
        # The notification and the next call are not ordered for the server
        # on every transport, so poll (liveness-bounded) until the new roots apply.
        with anyio.fail_after(30):
            while True:
                r, t = await call(c, "read_file", {"path": str(tree.root / "a.txt")})
                if not r.is_error:
                    break
                await anyio.sleep(0.1)
        assert t == "alpha\nbeta\ngamma\n"
        assert asked[-1] == tree.root and len(asked) == 2, asked
