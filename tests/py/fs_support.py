"""Shared pieces of the file-tool tests: a fixture tree (a root and a
directory outside it, with symlinks that lead out), and the real `lmcp`
binary reached over stdio or Streamable HTTP, always behind a schema-validating
tap (tap.py / http_tap.py) and driven by the official Python SDK client."""
import os
import re
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from conftest import LMCP, TAP
from http_tap import tapped_http
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000000030101009a5c2f8c0000000049454e44ae426082"
)
WRITE_TOOLS = {"write_file", "edit_file", "make_dir", "move_file", "copy_file", "delete_file"}
READ_TOOLS = {"read_file", "list_dir", "search_files", "file_info", "list_roots"}


class Tree:
    """`base/root` (the only root) and `base/outside` (must stay untouched)."""

    def __init__(self, base: Path):
        self.base = base
        self.root = base / "root"
        self.outside = base / "outside"
        self.root.mkdir()
        self.outside.mkdir()
        (self.outside / "secret.txt").write_text("top secret\n")
        (self.root / "a.txt").write_text("alpha\nbeta\ngamma\n")
        (self.root / "src").mkdir()
        (self.root / "src/lib.rs").write_text('fn main() {\n    println!("needle");\n}\n')
        (self.root / "src/notes.md").write_text("A Needle in the notes\n")
        (self.root / ".hidden").write_text("hidden needle\n")
        (self.root / ".gitignore").write_text("ignored.log\n")
        (self.root / "ignored.log").write_text("ignored needle\n")
        (self.root / "pixel.png").write_bytes(PNG)
        (self.root / "blob.bin").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(64))
        (self.root / "link_file").symlink_to(self.outside / "secret.txt")
        (self.root / "link_dir").symlink_to(self.outside)
        (self.root / "inner_link").symlink_to("a.txt")

    def outside_snapshot(self):
        """Every entry under `outside` with its bytes, to prove nothing changed there."""
        out = {}
        for p in sorted(self.outside.rglob("*")):
            out[str(p.relative_to(self.outside))] = p.read_bytes() if p.is_file() else None
        return out


def text(result):
    """All text blocks of a tool result, joined."""
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def start_http(cmd, log_dir):
    """Start an HTTP server command on an ephemeral port; (url, process)."""
    err_path = Path(log_dir) / f"server-{time.monotonic_ns()}.err"
    err = open(err_path, "wb")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        # A whole line only: the address is not complete until its newline.
        m = re.search(r"listening on (http://\S+)\n", err_path.read_text(errors="replace"))
        if m:
            return m.group(1), proc
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {err_path.read_text(errors='replace')}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"server did not report its address: {err_path.read_text(errors='replace')}")


class Lmcp:
    """Connects SDK clients to fresh `lmcp` processes over one transport."""

    def __init__(self, transport, tap_log, log_dir, binary=None):
        self.transport, self.tap_log, self.log_dir = transport, tap_log, log_dir
        self.binary = binary or LMCP
        self.procs = []

    def command(self, args, wrap=None):
        base = [str(self.binary)] + (["--stdio"] if self.transport == "stdio" else ["--http", "127.0.0.1:0"]) + list(args)
        return wrap(base) if wrap else base

    @asynccontextmanager
    async def connect(self, mode, *args, wrap=None, **client_kw):
        """An SDK client (`mode` "auto" = 2026-07-28, "legacy" = 2025-11-25)
        on a new server started with `args`; `wrap` rewrites the command."""
        cmd = self.command(args, wrap)
        if self.transport == "stdio":
            server = StdioServerParameters(command=sys.executable, args=[str(TAP), str(self.tap_log), "--", *cmd])
            async with Client(server, mode=mode, **client_kw) as c:
                yield c
        else:
            url, proc = start_http(cmd, self.log_dir)
            self.procs.append(proc)
            try:
                async with Client(tapped_http(url, self.tap_log), mode=mode, **client_kw) as c:
                    yield c
            finally:
                proc.terminate()
                proc.wait(timeout=15)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def server_pids(marker):
    """Pids of running lmcp processes whose command line mentions `marker`."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"lmcp") and any(marker.encode() in a for a in argv):
            pids.append(int(d.name))
    return pids


def peak_rss_kb(pid):
    """The process's peak resident set (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


def running_as_root():
    return os.geteuid() == 0


@pytest.fixture
def tree(tmp_path):
    """The fixture tree (imported by the file-tool test modules)."""
    return Tree(tmp_path)


@pytest.fixture(params=["stdio", "http"])
def lmcp(request, tap_log, tmp_path):
    """Servers over each transport (imported by the file-tool test modules)."""
    servers = Lmcp(request.param, tap_log, tmp_path)
    yield servers
    servers.close()
