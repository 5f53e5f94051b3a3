"""Issue 23's memory findings in the built-in tools, through the official
Python SDK against the real `lmcp` binary over stdio and Streamable HTTP,
both eras: no single request makes the server's peak RSS (VmHWM) grow with
the size of what it reads or runs.

- `read_file` with a list of paths: the list is capped (100 paths) and the
  whole answer shares one budget, however often a file repeats (a 20 KB
  request once built a 788 MB answer).
- `search_files` over a file with a 100 MB line: lines are bounded (it once
  peaked at twice the longest line).
- `shell` with a progress token and a log level, printing 100 MB: progress
  and log forwarding keep only the latest window (it once buffered all
  output between two ticks).

Each ceiling (64 MiB) is far below what the unbounded behaviour needs for
the sizes used (200 MB and more), and well above an idle debug build."""
import warnings

import pytest
from fs_support import lmcp, peak_rss_kb, server_pids, text, tree  # noqa: F401 (lmcp, tree: fixtures)

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]
CEILING_KB = 64 * 1024


def peak_of(tree):
    pids = server_pids(str(tree.root))
    assert len(pids) == 1, pids
    return peak_rss_kb(pids[0])


@pytest.mark.parametrize("mode", MODES)
async def test_read_file_lists_are_capped_and_share_one_budget(lmcp, tree, mode):
    (tree.root / "b.txt").write_bytes((b"x" * 1023 + b"\n") * 256)  # 256 KiB
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        r = await c.call_tool("read_file", {"path": ["b.txt"] * 3000})
        assert r.is_error and "at most 100" in text(r), text(r)
        r = await c.call_tool("read_file", {"path": ["b.txt"] * 100})
        assert not r.is_error, text(r)
        assert len(text(r)) <= 64 * 1024 + 1024, len(text(r))
        files = r.structured_content["files"]
        assert len(files) == 100 and sum(f.get("skipped") == "budget" for f in files) >= 99, files[:3]
        assert peak_of(tree) < CEILING_KB, f"peak RSS {peak_of(tree)} KiB"


@pytest.mark.parametrize("mode", MODES)
async def test_search_files_does_not_hold_a_huge_line(lmcp, tree, mode):
    with open(tree.root / "one-line.txt", "wb") as f:
        chunk = b"x" * (1 << 20)
        for _ in range(100):
            f.write(chunk)
        f.write(b" needle\n")
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        r = await c.call_tool("search_files", {"pattern": "needle"})
        assert not r.is_error, text(r)
        t = text(r)
        assert "src/lib.rs" in t and "a line longer than" in t, t
        assert peak_of(tree) < CEILING_KB, f"peak RSS {peak_of(tree)} KiB"


@pytest.mark.parametrize("mode", MODES)
async def test_shell_progress_and_logs_keep_a_bounded_window(lmcp, tree, mode):
    progress = []
    logged = []

    async def on_progress(value, total, message):
        progress.append(len(message or ""))

    async def on_log(p):
        if p.logger == "shell":
            logged.append(len(p.data.get("text", "")))

    async with lmcp.connect(mode, "--root", str(tree.root), logging_callback=on_log, log_level="info") as c:
        if mode == "legacy":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # logging is deprecated in the modern era only
                await c.set_logging_level("info")
        r = await c.call_tool(
            "shell",
            {"command": "head -c 100000000 /dev/zero | tr '\\0' y; echo", "timeout_ms": 120000},
            progress_callback=on_progress,
        )
        assert not r.is_error, text(r)
        assert r.structured_content["stdout_bytes"] == 100000001
        assert progress and max(progress) <= 4096 + 16, max(progress)
        assert logged and all(n <= 4096 + 64 for n in logged), logged[:5]
        assert peak_of(tree) < CEILING_KB, f"peak RSS {peak_of(tree)} KiB"
