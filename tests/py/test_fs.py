"""The file tools of the real `lmcp` binary through the official Python SDK,
over stdio and Streamable HTTP, in both eras: each tool's happy path and each
way a path may try to leave the roots. Edge cases (huge files, races,
read-only directories, client roots) are in test_fs_edge.py."""
import base64
import hashlib

import pytest
from fs_support import READ_TOOLS, WRITE_TOOLS, lmcp, text, tree  # noqa: F401 (lmcp, tree: fixtures)

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
async def test_read_tools(lmcp, tree, mode):
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        names = {t.name for t in (await c.list_tools()).tools}
        assert READ_TOOLS | WRITE_TOOLS <= names

        r = await call_ok(c, "read_file", {"path": "a.txt"})
        assert text(r) == "alpha\nbeta\ngamma\n"
        assert r.structured_content["sha256"] == hashlib.sha256(b"alpha\nbeta\ngamma\n").hexdigest()
        assert r.structured_content["total_lines"] == 3
        r = await call_ok(c, "read_file", {"path": "a.txt", "offset": 2, "limit": 1, "line_numbers": True})
        assert text(r).startswith("     2\tbeta\n") and "continue with offset=3" in text(r)
        r = await call_ok(c, "read_file", {"path": "a.txt", "tail": 1})
        assert text(r) == "gamma\n"
        # An absolute path inside the root and a symlink that stays inside both work.
        r = await call_ok(c, "read_file", {"path": str(tree.root / "src/lib.rs")})
        assert "needle" in text(r)
        assert text(await call_ok(c, "read_file", {"path": "inner_link"})) == "alpha\nbeta\ngamma\n"
        # Images come back as image content; other binaries as a description.
        r = await call_ok(c, "read_file", {"path": "pixel.png"})
        assert r.content[0].type == "image" and r.content[0].mime_type == "image/png"
        assert base64.b64decode(r.content[0].data) == (tree.root / "pixel.png").read_bytes()
        r = await call_ok(c, "read_file", {"path": "blob.bin"})
        assert "binary file (ELF" in text(r) and r.structured_content["binary"] is True
        # Several files: one failure does not fail the rest.
        for key in ("path", "paths"):  # a list under `path`, or under the older `paths`
            r = await call_ok(c, "read_file", {key: ["a.txt", "missing.txt", "src/notes.md"]})
            files = r.structured_content["files"]
            assert [("error" in f) for f in files] == [False, True, False]
            assert "missing.txt does not exist" in files[1]["error"]

        r = await call_ok(c, "list_dir", {})
        entries = {e["path"]: e for e in r.structured_content["entries"]}
        assert set(entries) == {"a.txt", "src", "pixel.png", "blob.bin", "link_file", "link_dir", "inner_link"}
        assert entries["a.txt"]["type"] == "file" and entries["a.txt"]["size"] == 17
        assert entries["src"]["type"] == "dir" and entries["link_dir"]["type"] == "symlink"
        r = await call_ok(c, "list_dir", {"show_hidden": True, "include_ignored": True, "depth": 2})
        paths = {e["path"] for e in r.structured_content["entries"]}
        assert {".hidden", "ignored.log", "src/lib.rs", "src/notes.md"} <= paths
        r = await call_ok(c, "list_dir", {"max_entries": 2})
        assert len(r.structured_content["entries"]) == 2 and r.structured_content["left_out"] == 5

        r = await call_ok(c, "search_files", {"pattern": "ne+dle"})
        hits = {(m["path"], m["line"]) for m in r.structured_content["matches"]}
        assert hits == {("src/lib.rs", 2)}, "hidden and .gitignored files are skipped; the match is case-sensitive"
        assert "src/lib.rs:2:" in text(r)
        r = await call_ok(c, "search_files", {"pattern": "NEEDLE", "case_insensitive": True, "include": ["*.md"]})
        assert [(m["path"], m["line"]) for m in r.structured_content["matches"]] == [("src/notes.md", 1)]
        r = await call_ok(c, "search_files", {"pattern": "println!(", "literal": True, "path": "src"})
        assert [m["path"] for m in r.structured_content["matches"]] == ["src/lib.rs"]
        r = await call_ok(c, "search_files", {"pattern": "*.rs", "names": True})
        assert "src/lib.rs" in text(r)

        r = await call_ok(c, "file_info", {"path": "a.txt"})
        info = r.structured_content
        assert info["type"] == "file" and info["size"] == 17 and info["mode"] == "0644"
        assert info["sha256"] == hashlib.sha256(b"alpha\nbeta\ngamma\n").hexdigest()
        assert (await call_ok(c, "file_info", {"path": "src"})).structured_content["type"] == "dir"


@pytest.mark.parametrize("mode", MODES)
async def test_write_tools(lmcp, tree, mode):
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        r = await call_ok(c, "write_file", {"path": "new.txt", "content": "one\n"})
        assert (tree.root / "new.txt").read_text() == "one\n"
        first = r.structured_content
        assert "needs create_parents" in (await call_err(c, "write_file", {"path": "d/e/f.txt", "content": "x"})).replace(
            "pass create_parents: true", "needs create_parents"
        )
        await call_ok(c, "write_file", {"path": "d/e/f.txt", "content": "x", "create_parents": True})
        assert (tree.root / "d/e/f.txt").read_text() == "x"
        # Replacing keeps the old file's permissions.
        (tree.root / "new.txt").chmod(0o600)
        await call_ok(c, "write_file", {"path": "new.txt", "content": "two\n"})
        assert (tree.root / "new.txt").read_text() == "two\n"
        assert (tree.root / "new.txt").stat().st_mode & 0o777 == 0o600
        # The optimistic check refuses a stale hash and leaves the file alone.
        msg = await call_err(c, "write_file", {"path": "new.txt", "content": "three\n", "expected_sha256": first["sha256"]})
        assert "changed since it was read" in msg
        assert (tree.root / "new.txt").read_text() == "two\n"
        now = hashlib.sha256(b"two\n").hexdigest()
        await call_ok(c, "write_file", {"path": "new.txt", "content": "three\n", "expected_sha256": now})
        assert (tree.root / "new.txt").read_text() == "three\n"

        edit = {"path": "a.txt", "edits": [{"old_text": "beta", "new_text": "BETA"}]}
        r = await call_ok(c, "edit_file", {**edit, "dry_run": True})
        assert "-beta\n+BETA" in text(r)
        assert (tree.root / "a.txt").read_text() == "alpha\nbeta\ngamma\n", "dry_run wrote the file"
        r = await call_ok(c, "edit_file", edit)
        assert "-beta\n+BETA" in text(r)
        assert (tree.root / "a.txt").read_text() == "alpha\nBETA\ngamma\n"
        await call_ok(
            c,
            "edit_file",
            {"path": "a.txt", "edits": [{"old_text": "a", "new_text": "4", "replace_all": True}, {"old_text": "BETA", "new_text": "b"}]},
        )
        assert (tree.root / "a.txt").read_text() == "4lph4\nb\ng4mm4\n"

        r = await call_ok(c, "make_dir", {"path": "m/n"})
        assert (tree.root / "m/n").is_dir() and r.structured_content["created"] is True
        assert (await call_ok(c, "make_dir", {"path": "m/n"})).structured_content["created"] is False

        await call_ok(c, "move_file", {"path": "new.txt", "destination": "m/moved.txt"})
        assert (tree.root / "m/moved.txt").read_text() == "three\n" and not (tree.root / "new.txt").exists()
        msg = await call_err(c, "move_file", {"path": "m/moved.txt", "destination": "a.txt"})
        assert "exists" in msg and (tree.root / "m/moved.txt").exists()
        await call_ok(c, "move_file", {"path": "m/moved.txt", "destination": "a.txt", "overwrite": True})
        assert (tree.root / "a.txt").read_text() == "three\n"


@pytest.mark.parametrize("mode", MODES)
async def test_paths_that_leave_the_roots_are_refused(lmcp, tree, mode):
    before = tree.outside_snapshot()
    secret = str(tree.outside / "secret.txt")
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        escapes = ["../outside/secret.txt", "src/../../outside/secret.txt", secret, "link_file", "link_dir/secret.txt"]
        for p in escapes:
            for name, args in [
                ("read_file", {"path": p}),
                ("file_info", {"path": p}),
                ("write_file", {"path": p, "content": "pwned"}),
                ("edit_file", {"path": p, "edits": [{"old_text": "top", "new_text": "pwned"}]}),
                ("move_file", {"path": p, "destination": "stolen.txt"}),
            ]:
                if name == "move_file" and p == "link_file":
                    continue  # moving the link itself is allowed (checked below)
                msg = await call_err(c, name, args)
                assert "outside the allowed roots" in msg and str(tree.root) in msg, (name, p, msg)
                assert "top secret" not in msg
        # Directories outside: listing, searching, creating under them.
        for p in ["..", "../outside", str(tree.outside), "link_dir"]:
            assert "outside the allowed roots" in await call_err(c, "list_dir", {"path": p})
            assert "outside the allowed roots" in await call_err(c, "search_files", {"pattern": "secret", "path": p})
        for p in ["link_dir/new.txt", "../outside/new.txt", str(tree.outside / "new.txt"), "link_dir/sub/x.txt"]:
            msg = await call_err(c, "write_file", {"path": p, "content": "x", "create_parents": True})
            assert "outside the allowed roots" in msg, (p, msg)
            assert "outside the allowed roots" in await call_err(c, "make_dir", {"path": p})
            msg = await call_err(c, "move_file", {"path": "a.txt", "destination": p})
            assert "outside the allowed roots" in msg, (p, msg)
        # A NUL byte is refused before touching the filesystem.
        assert "NUL byte" in await call_err(c, "read_file", {"path": "a.txt\x00../../outside/secret.txt"})
        assert "NUL byte" in await call_err(c, "write_file", {"path": "x\x00y", "content": "x"})
        # Search results never come from beyond a symlink.
        r = await call_ok(c, "search_files", {"pattern": "top secret", "show_hidden": True})
        assert r.structured_content["matches"] == []
        # A missing path inside says so; one outside does not reveal whether it exists.
        assert "does not exist" in await call_err(c, "read_file", {"path": "nope.txt"})
        assert "outside the allowed roots" in await call_err(c, "read_file", {"path": "../outside/nope.txt"})
        # Moving the symlink itself keeps it a symlink and reads through it stay refused.
        await call_ok(c, "move_file", {"path": "link_file", "destination": "renamed_link"})
        assert (tree.root / "renamed_link").is_symlink()
        assert "outside the allowed roots" in await call_err(c, "read_file", {"path": "renamed_link"})
    assert tree.outside_snapshot() == before
    assert not (tree.root / "stolen.txt").exists()
