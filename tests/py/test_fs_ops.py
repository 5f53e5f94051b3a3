"""The file operations agents asked for, through the official Python SDK
against the real `lmcp` binary over stdio and Streamable HTTP, in both eras:
write_file's append mode, copy_file, delete_file, edit_file's flexible
whitespace and expected_replacements, list_roots and `~/` paths, and every
refusal (out of the roots through `..` and symlinks, a root itself, a
non-empty directory, an existing destination, ambiguous or miscounted
edits). Every server message passes the schema-validating tap."""
import hashlib
import os
import stat

import pytest
from fs_support import lmcp, text, tree  # noqa: F401 (lmcp, tree: fixtures)

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]


async def call_ok(c, name, args):
    r = await c.call_tool(name, args)
    assert not r.is_error, f"{name} {args} failed: {text(r)}"
    return r


async def call_err(c, name, args):
    r = await c.call_tool(name, args)
    assert r.is_error, f"{name} {args} should have failed: {text(r)}"
    return text(r)


@pytest.mark.parametrize("mode", MODES)
async def test_write_file_append(lmcp, tree, mode):
    log = tree.root / "log.txt"
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        r = await call_ok(c, "write_file", {"path": "log.txt", "content": "one\n", "mode": "append"})
        assert r.structured_content["created"] is True
        ino = log.stat().st_ino
        r = await call_ok(c, "write_file", {"path": "log.txt", "content": "two\n", "mode": "append"})
        assert r.structured_content["size"] == 8 and r.structured_content["created"] is False
        assert log.read_text() == "one\ntwo\n" and log.stat().st_ino == ino, "appended in place"
        # The optimistic checks still apply.
        t = await call_err(c, "write_file", {"path": "log.txt", "content": "x", "mode": "append", "expected_sha256": "0" * 64})
        assert "changed since it was read" in t
        t = await call_err(c, "write_file", {"path": "log.txt", "content": "x", "mode": "append", "expected_mtime_ms": 1})
        assert "changed since" in t
        sha = hashlib.sha256(b"one\ntwo\n").hexdigest()
        await call_ok(c, "write_file", {"path": "log.txt", "content": "three\n", "mode": "append", "expected_sha256": sha})
        assert log.read_text() == "one\ntwo\nthree\n"
        # Out of the roots, through .. and through a symlinked directory.
        before = tree.outside_snapshot()
        await call_err(c, "write_file", {"path": "../outside/x.txt", "content": "x", "mode": "append"})
        await call_err(c, "write_file", {"path": "link_dir/secret.txt", "content": "x", "mode": "append"})
        await call_err(c, "write_file", {"path": "link_file", "content": "x", "mode": "append"})
        assert tree.outside_snapshot() == before
        # Fast on a big file: a 1 GiB sparse file gets a line appended without a rewrite.
        big = tree.root / "big.bin"
        with open(big, "wb") as f:
            f.truncate(1 << 30)
        r = await call_ok(c, "write_file", {"path": "big.bin", "content": "end\n", "mode": "append"})
        assert r.structured_content["size"] == (1 << 30) + 4
        with open(big, "rb") as f:
            f.seek(1 << 30)
            assert f.read() == b"end\n"
        assert os.stat(big).st_blocks * 512 < (1 << 20), "the file was not rewritten (it stays sparse)"


@pytest.mark.parametrize("mode", MODES)
async def test_copy_file(lmcp, tree, mode):
    root = tree.root
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o751)
    async with lmcp.connect(mode, "--root", str(root)) as c:
        r = await call_ok(c, "copy_file", {"path": "run.sh", "destination": "copy.sh"})
        assert (root / "copy.sh").read_bytes() == (root / "run.sh").read_bytes()
        assert stat.S_IMODE((root / "copy.sh").stat().st_mode) == 0o751
        assert r.structured_content["bytes"] == 18
        # An existing destination needs overwrite.
        (root / "other.txt").write_text("keep me")
        t = await call_err(c, "copy_file", {"path": "run.sh", "destination": "other.txt"})
        assert "already exists" in t and "overwrite" in t
        assert (root / "other.txt").read_text() == "keep me"
        await call_ok(c, "copy_file", {"path": "run.sh", "destination": "other.txt", "overwrite": True})
        assert (root / "other.txt").read_bytes() == (root / "run.sh").read_bytes()
        # A directory needs recursive; symlinks are copied as links.
        t = await call_err(c, "copy_file", {"path": "src", "destination": "src2"})
        assert "recursive" in t and not (root / "src2").exists()
        (root / "src/rel_link").symlink_to("lib.rs")
        (root / "src/out_link").symlink_to(tree.outside / "secret.txt")
        r = await call_ok(c, "copy_file", {"path": "src", "destination": "src2", "recursive": True})
        assert (root / "src2/lib.rs").read_text() == (root / "src/lib.rs").read_text()
        assert os.readlink(root / "src2/rel_link") == "lib.rs"
        assert os.readlink(root / "src2/out_link") == str(tree.outside / "secret.txt"), "copied as a link, not followed"
        assert r.structured_content["symlinks"] == 2
        t = await call_err(c, "copy_file", {"path": "src", "destination": "src/inner", "recursive": True})
        assert "into itself" in t
        # A symlink as the source is copied as a link (never read through).
        await call_ok(c, "copy_file", {"path": "link_file", "destination": "link_copy"})
        assert os.readlink(root / "link_copy") == str(tree.outside / "secret.txt")
        # Both ends confined: .., absolute paths and symlinked directories.
        before = tree.outside_snapshot()
        for args in (
            {"path": "../outside/secret.txt", "destination": "stolen.txt"},
            {"path": str(tree.outside / "secret.txt"), "destination": "stolen.txt"},
            {"path": "link_dir/secret.txt", "destination": "stolen.txt"},
            {"path": "a.txt", "destination": "../outside/planted.txt"},
            {"path": "a.txt", "destination": "link_dir/planted.txt"},
            {"path": "src", "destination": "link_dir/tree", "recursive": True},
        ):
            t = await call_err(c, "copy_file", args)
            assert "outside the allowed roots" in t, t
        assert tree.outside_snapshot() == before
        assert not (root / "stolen.txt").exists()


@pytest.mark.parametrize("mode", MODES)
async def test_delete_file(lmcp, tree, mode):
    root = tree.root
    async with lmcp.connect(mode, "--root", str(root)) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert tools["delete_file"].annotations.destructive_hint is True
        (root / "gone.txt").write_text("x")
        await call_ok(c, "delete_file", {"path": "gone.txt"})
        assert not (root / "gone.txt").exists()
        (root / "empty").mkdir()
        await call_ok(c, "delete_file", {"path": "empty"})
        assert not (root / "empty").exists()
        # A non-empty directory only with recursive.
        t = await call_err(c, "delete_file", {"path": "src"})
        assert "not empty" in t and "recursive" in t and (root / "src/lib.rs").exists()
        (root / "src/deep/er").mkdir(parents=True)
        (root / "src/deep/er/f").write_text("f")
        r = await call_ok(c, "delete_file", {"path": "src", "recursive": True})
        assert not (root / "src").exists() and r.structured_content["files"] >= 3
        # A symlink is removed as a link; its target stays.
        before = tree.outside_snapshot()
        await call_ok(c, "delete_file", {"path": "link_dir", "recursive": True})
        await call_ok(c, "delete_file", {"path": "link_file"})
        assert not os.path.lexists(root / "link_dir") and not os.path.lexists(root / "link_file")
        assert tree.outside_snapshot() == before
        # A root itself is refused, however it is named.
        for p in (".", str(root), "", "a.txt/.."):
            t = await call_err(c, "delete_file", {"path": p, "recursive": True})
        assert (root / "a.txt").exists()
        t = await call_err(c, "delete_file", {"path": str(root), "recursive": True})
        assert "root itself" in t, t
        # Out of the roots through .. and absolute paths: nothing touched.
        (root / "sub").mkdir()
        (root / "sub/escape").symlink_to(tree.outside)
        for p in ("../outside/secret.txt", str(tree.outside / "secret.txt"), "../outside", "sub/escape/secret.txt"):
            t = await call_err(c, "delete_file", {"path": p, "recursive": True})
            assert "outside the allowed roots" in t, (p, t)
        assert tree.outside_snapshot() == before and (tree.outside / "secret.txt").exists()


@pytest.mark.parametrize("mode", MODES)
async def test_edit_file_flexible_whitespace(lmcp, tree, mode):
    f = tree.root / "code.py"
    original = "def f():\n    if x:\n        y()\n    return 1\n"
    f.write_text(original)
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        edit = {"old_text": "if x:\n    y()\n", "new_text": "if x:\n    y()\n    z()\n"}
        # Exact (the default) does not match re-indented text.
        t = await call_err(c, "edit_file", {"path": "code.py", "edits": [edit]})
        assert "not found" in t and f.read_text() == original
        r = await call_ok(c, "edit_file", {"path": "code.py", "edits": [edit], "whitespace": "flexible"})
        assert f.read_text() == "def f():\n    if x:\n        y()\n        z()\n    return 1\n"
        assert r.structured_content["flexible_matches"] == [1]
        assert "Matched ignoring indentation" in text(r)
        # Two flexible matches: nothing written, both places named.
        g = tree.root / "twice.py"
        g.write_bytes(b"  a = 1\n  b = 2\nc\n\ta = 1\n\tb = 2\n")
        before = g.read_bytes()
        t = await call_err(c, "edit_file", {"path": "twice.py", "whitespace": "flexible",
                                            "edits": [{"old_text": "a = 1\nb = 2", "new_text": "a = 3"}]})
        assert "2 times" in t and "lines 1, 4" in t, t
        assert g.read_bytes() == before


@pytest.mark.parametrize("mode", MODES)
async def test_edit_file_expected_replacements(lmcp, tree, mode):
    f = tree.root / "n.txt"
    f.write_bytes(b"x = 1\nx = 1\nx = 1\n")
    before = f.read_bytes()
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        t = await call_err(c, "edit_file", {"path": "n.txt", "edits": [
            {"old_text": "x = 1", "new_text": "x = 2", "replace_all": True, "expected_replacements": 2}]})
        assert "matches 3 times" in t and "expected_replacements is 2" in t
        assert f.read_bytes() == before
        r = await call_ok(c, "edit_file", {"path": "n.txt", "edits": [
            {"old_text": "x = 1", "new_text": "x = 2", "replace_all": True, "expected_replacements": 3}]})
        assert f.read_text() == "x = 2\nx = 2\nx = 2\n" and r.structured_content["replacements"] == [3]


@pytest.mark.parametrize("mode", MODES)
async def test_list_roots_and_home_paths(lmcp, tree, mode, monkeypatch):
    other = tree.base / "second"
    other.mkdir()
    (tree.root / "home.txt").write_text("at home\n")
    # `~/` expands to $HOME, which is the root here; outside the roots it is refused.
    monkeypatch.setenv("HOME", str(tree.root))
    async with lmcp.connect(mode, "--root", str(tree.root), "--root", str(other)) as c:
        r = await call_ok(c, "list_roots", {})
        s = r.structured_content
        assert [x["path"] for x in s["roots"]] == [str(tree.root), str(other)]
        assert [x["first"] for x in s["roots"]] == [True, False]
        assert s["read_only"] is False and s["source"] == "command_line"
        assert str(tree.root) in text(r) and "first" in text(r)
        r = await call_ok(c, "read_file", {"path": "~/home.txt"})
        assert text(r) == "at home\n"
    monkeypatch.setenv("HOME", str(tree.outside))
    async with lmcp.connect(mode, "--root", str(tree.root), "--read-only") as c:
        s = (await call_ok(c, "list_roots", {})).structured_content
        assert s["read_only"] is True
        t = await call_err(c, "read_file", {"path": "~/secret.txt"})
        assert "outside the allowed roots" in t
