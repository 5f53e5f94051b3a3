"""Results sized for a model's context (issue 16), through the official Python
SDK against the real `lmcp` binary, over stdio and Streamable HTTP, in both
eras: read_file answers within the output budget and its offsets (and
columns) lead back to the exact bytes; a list of files shares one budget;
search_files and list_dir page with signed cursors that yield every match or
entry exactly once; bad cursors and budgets are clear. Every server message
passes the schema-validating tap (conftest.tap_log)."""
import json
from pathlib import PurePosixPath

import pytest
from fs_support import lmcp, text, tree  # noqa: F401 (lmcp, tree: fixtures)

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]
DEFAULT_BUDGET = 64 * 1024
MAX_PAGES = 400


async def call_ok(c, name, args):
    r = await c.call_tool(name, args)
    assert not r.is_error, f"{name} {args} failed: {text(r)}"
    return r


async def call_err(c, name, args):
    r = await c.call_tool(name, args)
    assert r.is_error, f"{name} {args} should have failed: {text(r)[:500]}"
    return text(r)


def size(r):
    """Bytes of text in a result (every text block)."""
    return sum(len(c.text.encode()) for c in r.content if getattr(c, "type", "") == "text")


def answer_size(r):
    """Text and structured content together, as the server measures them."""
    structured = json.dumps(r.structured_content, separators=(",", ":"), ensure_ascii=False)
    return size(r) + len(structured.encode())


def body_of(r):
    """The file bytes a read_file page shows: its text without the closing
    note (and without the newline added after a line cut short)."""
    t, s = text(r), r.structured_content
    if not s["truncated"]:
        return t.encode()
    at = t.rindex("\n[")
    assert t[at + 1 :].startswith(("[showed lines", "[line ")), t[at:]
    body = t[: at + 1]
    if s.get("line_cut"):
        body = body[:-1]
    return body.encode()


async def read_all(c, path, **extra):
    """Follow read_file's offsets (and columns) from the start to the end;
    (the bytes read, the pages)."""
    pages, out, pos = [], b"", {}
    for _ in range(MAX_PAGES):
        r = await call_ok(c, "read_file", {"path": path, **pos, **extra})
        pages.append(r)
        out += body_of(r)
        s = r.structured_content
        if not s["truncated"]:
            return out, pages
        pos = {"offset": s["next_offset"]}
        if s.get("next_column") is not None:
            pos["column"] = s["next_column"]
    raise AssertionError(f"read_file of {path} did not end within {MAX_PAGES} pages")


def big_text():
    """About 400 KiB of varied lines: ASCII, accents, CJK, tabs, CRLF, empty
    lines, and a last line without a newline."""
    words = ["alpha", "béta", "γάμμα", "漢字", "tab\there", "x" * 90]
    lines = []
    for i in range(5200):
        line = f"{i:05d} " + " ".join(words[(i + k) % len(words)] for k in range(i % 9))
        end = "\r\n" if i % 17 == 0 else "\n"
        lines.append("" if i % 23 == 0 else line)
        lines[-1] += end
    data = "".join(lines).encode() + "the last line, without a newline ✓".encode()
    assert 380 * 1024 < len(data) < 460 * 1024, len(data)
    return data


@pytest.mark.parametrize("mode", MODES)
async def test_large_file_read_in_pages_reproduces_its_bytes(lmcp, tree, mode):
    data = big_text()
    (tree.root / "big.txt").write_bytes(data)
    total_lines = data.count(b"\n") + 1
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        r = await call_ok(c, "read_file", {"path": "big.txt"})
        s = r.structured_content
        assert size(r) <= DEFAULT_BUDGET
        assert s["truncated"] is True and s["first_line"] == 1 and s["total_lines"] == total_lines
        assert 1 < s["last_line"] < total_lines and s["next_offset"] == s["last_line"] + 1
        assert "sha256" not in s, "a partial read has no whole-file digest"
        note = f"[showed lines 1-{s['last_line']} of {total_lines} (output budget of {DEFAULT_BUDGET} bytes); " \
               f"more follow: continue with offset={s['last_line'] + 1}]"
        assert text(r).endswith(note), text(r)[-300:]

        out, pages = await read_all(c, "big.txt")
        assert out == data, "following the offsets gives back the file exactly"
        assert 6 <= len(pages) <= 12, len(pages)
        assert all(size(p) <= DEFAULT_BUDGET for p in pages)
        firsts = [p.structured_content["first_line"] for p in pages]
        lasts = [p.structured_content["last_line"] for p in pages]
        assert firsts[1:] == [n + 1 for n in lasts[:-1]] and lasts[-1] == total_lines
        # With line numbers the pages continue the same way, and number every line once.
        out, pages = await read_all(c, "big.txt", line_numbers=True)
        numbers = [int(line.split("\t", 1)[0]) for p in pages for line in body_of(p).decode().split("\n") if line]
        assert numbers == list(range(1, total_lines + 1))


@pytest.mark.parametrize("mode", MODES)
async def test_line_longer_than_the_budget_is_cut_with_a_way_on(lmcp, tree, mode):
    long = ("é0123456789漢" * 12000).encode()  # 180,000 bytes, multi-byte characters throughout
    data = b"head\n" + long + b"\ntail\n"
    (tree.root / "long.txt").write_bytes(data)
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        r = await call_ok(c, "read_file", {"path": "long.txt", "offset": 2})
        s, t = r.structured_content, text(r)
        assert size(r) <= DEFAULT_BUDGET
        assert s["line_cut"] is True and s["truncated"] is True and s["next_offset"] == 2
        col = s["next_column"]
        assert DEFAULT_BUDGET // 2 < col < DEFAULT_BUDGET
        assert t.endswith(
            f"\n[line 2 is longer than the output budget of {DEFAULT_BUDGET} bytes: showed bytes 0-{col} of it; "
            f"continue the line with offset=2, column={col}]"
        ), t[-300:]
        assert t[: t.rindex("\n[")].encode() == long[:col], "the cut falls on a character boundary"
        # The note's offset and column go on with the rest of the line.
        r = await call_ok(c, "read_file", {"path": "long.txt", "offset": 2, "column": col})
        assert r.structured_content["column"] == col and body_of(r) == long[col : r.structured_content["next_column"]]
        # Followed from the start (with a smaller per-call budget) it gives back the file exactly.
        out, pages = await read_all(c, "long.txt", max_bytes=20000)
        assert out == data
        assert all(size(p) <= 20000 for p in pages) and len(pages) >= 10
        # The tail of a file whose last line is too long shows that line's end.
        (tree.root / "tail.txt").write_bytes(b"a\n" + long)
        r = await call_ok(c, "read_file", {"path": "tail.txt", "tail": 1, "max_bytes": 4096})
        t = text(r)
        assert size(r) <= 4096 and r.structured_content["line_cut"] is True
        assert t.startswith("[line 2 is longer than the output budget of 4096 bytes: showing its last ")
        assert long.endswith(t.split("]\n", 1)[1].encode())


@pytest.mark.parametrize("mode", MODES)
async def test_a_list_of_files_shares_one_budget(lmcp, tree, mode):
    names = [f"many/f{i:02d}.txt" for i in range(30)]
    (tree.root / "many").mkdir()
    for i, n in enumerate(names):
        (tree.root / n).write_text("".join(f"file {i} line {k}\n" for k in range(6000)))  # ~100 KiB each
    small = [f"small/s{i}.txt" for i in range(10)]
    (tree.root / "small").mkdir()
    for i, n in enumerate(small):
        (tree.root / n).write_text(f"{i}" * 9999 + "\n")
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        # 30 files of 100 KiB: the first is shown in part with a note, the others are left out, all within budget.
        r = await call_ok(c, "read_file", {"path": names})
        files = r.structured_content["files"]
        assert size(r) <= DEFAULT_BUDGET and r.structured_content["budget"] == DEFAULT_BUDGET
        assert files[0]["truncated"] is True and "next_offset" in files[0]
        assert [f.get("skipped") for f in files[1:]] == ["budget"] * 29
        assert "left out to stay within the output budget" in text(r)
        # Ten files of 10 KB under a 32 KiB budget: whole files until the budget is spent, none shortened.
        r = await call_ok(c, "read_file", {"path": small, "max_bytes": 32768})
        files = r.structured_content["files"]
        assert size(r) <= 32768
        shown = [f for f in files if "skipped" not in f]
        assert len(shown) == 3 and all(f["truncated"] is False for f in shown)
        assert [f["skipped"] for f in files[3:]] == ["budget"] * 7
        blocks = [c.text for c in r.content if c.type == "text"]
        for i in range(3):
            assert blocks[i] == f"==> {small[i]} <==\n" + f"{i}" * 9999 + "\n"
        assert blocks[-1].startswith("[left out to stay within the output budget of 32768 bytes: small/s3.txt, ")
        # What was left out is read in another call.
        r = await call_ok(c, "read_file", {"path": small[3:6], "max_bytes": 32768})
        assert [f.get("skipped") for f in r.structured_content["files"]] == [None] * 3


def key(m):
    """The order the server promises: path by components, then line."""
    return (PurePosixPath(m["path"]).parts, m.get("line", 0))


async def search_all(c, args):
    """Every page of a search followed by its cursor; (matches, pages)."""
    matches, pages, cursor = [], [], None
    for _ in range(MAX_PAGES):
        r = await call_ok(c, "search_files", {**args, **({"cursor": cursor} if cursor else {})})
        pages.append(r)
        s = r.structured_content
        matches += s["matches"]
        cursor = s.get("next_cursor")
        assert (cursor is not None) == s["truncated"], s.keys()
        if cursor is None:
            return matches, pages
    raise AssertionError(f"search {args} did not end within {MAX_PAGES} pages")


@pytest.mark.parametrize("mode", MODES)
async def test_search_pages_yield_every_match_once(lmcp, tree, mode):
    (tree.root / "hay").mkdir()
    for d in range(3):
        sub = tree.root / "hay" / f"d{d}"
        sub.mkdir()
        for f in range(10):
            (sub / f"f{f}.txt").write_text("".join(
                f"needle {d}/{f}/{k} " + "straw " * 5 + "\n" + "plain line\n" for k in range(100)))
    (tree.root / "hay/d1.txt").write_text("needle beside the directory\n")  # sorts after d1/ by components
    expected = 3001
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        for args in ({"pattern": "needle", "path": "hay"},
                     {"pattern": "needle", "path": "hay", "context": 1, "max_bytes": 20000},
                     {"pattern": "needle", "path": "hay", "max_results": 250}):
            matches, pages = await search_all(c, args)
            budget = args.get("max_bytes", DEFAULT_BUDGET)
            assert all(answer_size(p) <= budget for p in pages), [answer_size(p) for p in pages]
            seen = [(m["path"], m["line"]) for m in matches]
            assert len(seen) == expected and len(set(seen)) == expected, (args, len(seen), len(set(seen)))
            assert matches == sorted(matches, key=key), "pages come in path, then line order"
            assert len(pages) > 2
            if "max_results" in args:
                assert all(len(p.structured_content["matches"]) <= 250 for p in pages)
            if args.get("context"):
                assert "-2- plain line" in text(pages[0]), "context lines are shown (and counted)"
            again, _ = await search_all(c, args)
            assert again == matches, "two identical searches page the same way"
        # names mode pages too.
        names, pages = await search_all(c, {"pattern": "*.txt", "names": True, "path": "hay", "max_results": 7})
        assert len(pages) == 5 and len({m["path"] for m in names}) == 31 == len(names)


def walk(root):
    """Every path under `root` (relative, POSIX), directories included."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("mode", MODES)
async def test_list_dir_pages_yield_every_entry_once(lmcp, tree, mode):
    base = tree.root / "repo"
    for d in range(12):
        sub = base / f"pkg{d:02d}" / "src"
        sub.mkdir(parents=True)
        for f in range(60):
            (sub / f"module_{f:03d}.rs").write_text("x")
        (base / f"pkg{d:02d}.toml").write_text("y")
    want = walk(base)
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        for extra in ({"max_bytes": 8192}, {"max_entries": 97}, {}):
            entries, cursor, pages = [], None, 0
            for _ in range(MAX_PAGES):
                args = {"path": "repo", "depth": 3, **extra, **({"cursor": cursor} if cursor else {})}
                r = await call_ok(c, "list_dir", args)
                pages += 1
                assert answer_size(r) <= extra.get("max_bytes", DEFAULT_BUDGET)
                entries += r.structured_content["entries"]
                cursor = r.structured_content.get("next_cursor")
                assert (cursor is not None) == (r.structured_content["left_out"] > 0)
                if cursor is None:
                    break
            else:
                raise AssertionError("list_dir did not end")
            paths = [e["path"] for e in entries]
            assert sorted(paths) == want and len(set(paths)) == len(paths), extra
            assert entries == sorted(entries, key=key), "pages come in path order"
            if extra:
                assert pages > 2, (extra, pages)


@pytest.mark.parametrize("mode", MODES)
async def test_bad_cursors_are_clear_errors(lmcp, tree, mode):
    (tree.root / "hay.txt").write_text("needle\n" * 2000)
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        r = await call_ok(c, "search_files", {"pattern": "needle", "max_results": 10})
        cursor = r.structured_content["next_cursor"]
        r = await call_ok(c, "list_dir", {"max_entries": 1})
        list_cursor = r.structured_content["next_cursor"]
        # A cursor from another search, from another tool, altered, or not a cursor at all.
        msg = await call_err(c, "search_files", {"pattern": "needles?", "max_results": 10, "cursor": cursor})
        assert "`cursor`" in msg and "different query" in msg, msg
        msg = await call_err(c, "search_files", {"pattern": "needle", "cursor": list_cursor})
        assert "`cursor`" in msg, msg
        msg = await call_err(c, "list_dir", {"cursor": cursor})
        assert "`cursor`" in msg and "different query" in msg, msg
        flipped = ("A" if cursor[5] != "A" else "B").join([cursor[:5], cursor[6:]])
        for bad in (flipped, "nonsense", cursor + "x", ""):
            msg = await call_err(c, "search_files", {"pattern": "needle", "max_results": 10, "cursor": bad})
            assert "`cursor`" in msg, (bad, msg)
        # The same call with its genuine cursor still works: nothing was spent by the refusals.
        r = await call_ok(c, "search_files", {"pattern": "needle", "max_results": 10, "cursor": cursor})
        assert r.structured_content["matches"][0]["line"] == 11
        # A page size is not part of the query: the cursor continues with another max_results.
        r = await call_ok(c, "search_files", {"pattern": "needle", "max_results": 3, "cursor": cursor})
        assert [m["line"] for m in r.structured_content["matches"]] == [11, 12, 13]
    # A cursor from an earlier server process is refused by the next one.
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        msg = await call_err(c, "search_files", {"pattern": "needle", "max_results": 10, "cursor": cursor})
        assert "`cursor`" in msg and "another server process" in msg, msg


@pytest.mark.parametrize("mode", MODES)
async def test_max_result_bytes_and_per_call_limits(lmcp, tree, mode):
    (tree.root / "big.txt").write_bytes(big_text())
    (tree.root / "hay.txt").write_text("needle in the hay, line after line\n" * 3000)
    (tree.root / "dir").mkdir()
    for i in range(400):
        (tree.root / "dir" / f"entry-{i:04d}.txt").write_text("z")
    async with lmcp.connect(mode, "--root", str(tree.root), "--max-result-bytes", "8192") as c:
        r = await call_ok(c, "read_file", {"path": "big.txt"})
        assert 4096 < size(r) <= 8192 and "(output budget of 8192 bytes)" in text(r)
        r = await call_ok(c, "read_file", {"path": "big.txt", "max_bytes": 2000})
        assert size(r) <= 2000 and "(output budget of 2000 bytes)" in text(r)
        # Asking for more than the server allows gets the server's budget.
        r = await call_ok(c, "read_file", {"path": "big.txt", "max_bytes": 10_000_000})
        assert 4096 < size(r) <= 8192 and "(output budget of 8192 bytes)" in text(r)
        r = await call_ok(c, "read_file", {"path": ["big.txt", "hay.txt"], "max_bytes": 10_000_000})
        assert size(r) <= 8192 and r.structured_content["budget"] == 8192
        for args in ({"pattern": "needle"}, {"pattern": "needle", "max_bytes": 10_000_000}):
            r = await call_ok(c, "search_files", args)
            assert 4096 < answer_size(r) <= 8192 and r.structured_content["next_cursor"]
        r = await call_ok(c, "search_files", {"pattern": "needle", "max_bytes": 3000})
        assert answer_size(r) <= 3000 and r.structured_content["next_cursor"]
        for args in ({"path": "dir"}, {"path": "dir", "max_bytes": 10_000_000}):
            r = await call_ok(c, "list_dir", args)
            assert 4096 < answer_size(r) <= 8192 and r.structured_content["next_cursor"]
        r = await call_ok(c, "list_dir", {"path": "dir", "max_bytes": 3000})
        assert answer_size(r) <= 3000 and r.structured_content["next_cursor"]
        # The schema refuses a budget of zero; a tiny one is raised to the smallest useful budget.
        msg = await call_err(c, "read_file", {"path": "big.txt", "max_bytes": 0})
        assert "max_bytes" in msg, msg
        r = await call_ok(c, "read_file", {"path": "big.txt", "max_bytes": 1})
        assert size(r) <= 256 and r.structured_content["next_offset"] >= 1
    # Without the flag the default budget applies, and a per-call request cannot raise it.
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        r = await call_ok(c, "read_file", {"path": "big.txt", "max_bytes": 10_000_000})
        assert DEFAULT_BUDGET // 2 < size(r) <= DEFAULT_BUDGET
