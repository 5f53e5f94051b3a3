"""Issue 17 through a real client: `lmcp --sandbox` confines shell and shell_bg
commands with the kernel (Landlock), in both eras, every server message checked
against the schema by the tap.

Inside the root files can be made, read, changed and removed, and ordinary
tools (ls, python3, git) run; outside it reads, writes, links and moves fail
and nothing changes. --sandbox-net none refuses TCP to a loopback listener,
a command cannot signal lmcp, and a fork bomb stays bounded while lmcp keeps
answering. Skipped loudly where the kernel lacks Landlock (failed on CI)."""
import ctypes
import os
import re
import resource
import selectors
import signal
import shutil
import socket
import subprocess
import time
import uuid

import anyio
import pytest
from conftest import LMCP
from http_tap import tapped_http
from mcp.client import Client

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]


def landlock_abi():
    """The kernel's Landlock ABI (landlock_create_ruleset(NULL, 0, VERSION))."""
    libc = ctypes.CDLL(None, use_errno=True)
    v = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(v, 0)


ABI = landlock_abi()
if ABI < 1:
    msg = "THIS KERNEL HAS NO LANDLOCK: the sandbox tests cannot run here"
    if os.environ.get("CI") == "true":
        raise RuntimeError(msg + " (CI's kernel must have it)")
    pytestmark = [pytestmark, pytest.mark.skip(reason=msg)]


@pytest.fixture
def area(tmp_path):
    """A root, and beside it an outside directory holding a secret."""
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP-SECRET\n")
    (root / "mine.txt").write_text("mine\n")
    return root, outside


def snapshot(d):
    return sorted((p.name, p.read_bytes() if p.is_file() else b"") for p in d.iterdir())


async def sh(c, command, **kw):
    r = await c.call_tool("shell", {"command": command, **kw})
    return r.structured_content


async def ok(c, command, **kw):
    s = await sh(c, command, **kw)
    assert s["exit_code"] == 0, (command, s)
    return s


async def refused(c, command):
    s = await sh(c, command)
    assert s["exit_code"] != 0, (command, s)
    return s


async def answers(c, within=1.0):
    """lmcp answers promptly: the `ping` method (legacy era only: the modern
    era removed it) and the `ping` tool, each within `within` seconds."""
    with anyio.fail_after(within):
        if c.protocol_version < "2026-07-28":
            await c.send_ping()
    with anyio.fail_after(within):
        r = await c.call_tool("ping", {})
    assert not r.is_error and "pong" in r.content[0].text


async def job_until(c, job, done, wait_ms=2000, rounds=30):
    """Reads a background job's output as it comes (each read returns on new
    output or the job's end) until `done(stdout, stderr, state)`; bounded."""
    out = err = ""
    so = eo = 0
    for _ in range(rounds):
        o = (await c.call_tool("shell_bg_output", {"job": job, "wait_ms": wait_ms,
                                                   "stdout_offset": so, "stderr_offset": eo})).structured_content
        out += o["stdout"]
        err += o["stderr"]
        so, eo = o["stdout_offset"], o["stderr_offset"]
        if done(out, err, o["state"]):
            return out, err, o["state"]
    raise AssertionError(f"job {job} never got there: state {o['state']}, stdout {out!r}, stderr {err!r}")


@pytest.mark.parametrize("mode", MODES)
async def test_inside_the_root_works_and_outside_is_refused(params, area, mode):
    root, outside = area
    before = snapshot(outside)
    stray = [f"/tmp/lmcp-sbx-{uuid.uuid4().hex}", os.path.expanduser(f"~/lmcp-sbx-{uuid.uuid4().hex}")]
    async with Client(params(LMCP, "--stdio", "--sandbox", "--root", str(root)), mode=mode) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert "Sandboxed" in tools["shell"].description and str(root) in tools["shell"].description
        assert "Sandboxed" in tools["shell_bg"].description
        # Inside: create, read, change, rename, delete.
        s = await ok(c, "echo hi > a.txt && cat a.txt && echo more >> a.txt && mkdir d && mv a.txt d/b.txt "
                        "&& cat d/b.txt && rm d/b.txt && rmdir d && cat mine.txt")
        assert s["stdout"] == "hi\nhi\nmore\nmine\n"
        assert not (root / "d").exists()
        assert (await ok(c, "ls /usr/bin | grep -c ."))["stdout"].strip() != "0"
        assert (await ok(c, "python3 -c 'print(6*7)'"))["stdout"] == "42\n"
        if shutil.which("git"):
            await ok(c, "git init -q repo && cd repo && echo x > f && git add f && git status --short")
        else:
            print("NOTE: git is not installed; the git status check is skipped")
        s = await ok(c, 'echo t > "$TMPDIR/t" && cat "$TMPDIR/t" && echo "$TMPDIR"')
        tmpdir = s["stdout"].split("\n")[1]
        assert s["stdout"].startswith("t\n") and "lmcp-sandbox-" in tmpdir
        # Outside: every read, write, link and move fails.
        s = await refused(c, f"cat {outside}/secret.txt")
        assert "TOP-SECRET" not in s["stdout"] and "ermission denied" in s["stderr"]
        await refused(c, f"ls {outside}")
        for path in stray:
            await refused(c, f"echo x > {path}")
        await refused(c, f"cd {outside} && echo x > new.txt")
        await ok(c, f"ln -s {outside}/secret.txt link && ln -s {outside}/made.txt wlink")
        s = await refused(c, "cat link")
        assert "TOP-SECRET" not in s["stdout"]
        await refused(c, "echo x > wlink")
        await refused(c, f"ln mine.txt {outside}/hard.txt")
        await refused(c, f"mv mine.txt {outside}/moved.txt")
        await refused(c, f"cp mine.txt {outside}/copy.txt")
        await refused(c, "cat /etc/shadow")
        assert (root / "mine.txt").read_text() == "mine\n"
        # Background jobs are confined the same way.
        j = (await c.call_tool("shell_bg", {"command": f"cat {outside}/secret.txt; echo x > {outside}/bg.txt; "
                                                       f"echo y > {stray[0]}; echo end"})).structured_content
        out, err, _ = await job_until(c, j["job"], lambda o, e, state: state != "running")
        assert out == "end\n" and "TOP-SECRET" not in out
        assert err.count("ermission denied") == 3, err
        # The kernel-level settings every command gets.
        s = await ok(c, "grep NoNewPrivs /proc/self/status && ulimit -n")
        nofile = min(4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        assert s["stdout"].split() == ["NoNewPrivs:", "1", str(nofile)], s
        sysinfo = (await c.call_tool("systeminfo", {})).structured_content["sandbox"]
        assert sysinfo["enabled"] and sysinfo["mode"] == "enforce" and sysinfo["landlock_abi"] == min(ABI, 7)
        assert sysinfo["files"] is True and sysinfo["tmpdir"] == tmpdir
    assert snapshot(outside) == before, "the sandboxed commands changed the outside directory"
    for path in stray:
        assert not os.path.exists(path)
    assert not os.path.exists(tmpdir), "the private TMPDIR outlived the server"


@pytest.mark.parametrize("mode", MODES)
async def test_without_sandbox_nothing_changes(params, area, mode):
    root, outside = area
    async with Client(params(LMCP, "--stdio", "--root", str(root)), mode=mode) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert "Sandboxed" not in tools["shell"].description
        assert (await ok(c, f"cat {outside}/secret.txt"))["stdout"] == "TOP-SECRET\n"
        await ok(c, f"echo x > {outside}/new.txt")
        sysinfo = (await c.call_tool("systeminfo", {})).structured_content["sandbox"]
        assert sysinfo["enabled"] is False and sysinfo["landlock_abi"] == min(ABI, 7)
    assert (outside / "new.txt").read_text() == "x\n"


@pytest.mark.parametrize("mode", MODES)
async def test_allowed_directories_add_to_the_sandbox(params, area, tmp_path, mode):
    """--sandbox-allow-read opens a directory for reading only, --sandbox-allow-write for
    writing too; best-effort mode confines the same where the kernel can, and says so."""
    root, outside = area
    extra = tmp_path / "extra"
    extra.mkdir()
    args = ["--stdio", "--sandbox", "best-effort", "--root", str(root),
            "--sandbox-allow-read", str(outside), "--sandbox-allow-write", str(extra)]
    async with Client(params(LMCP, *args), mode=mode) as c:
        assert (await ok(c, f"cat {outside}/secret.txt"))["stdout"] == "TOP-SECRET\n"
        await refused(c, f"echo x > {outside}/new.txt")
        await ok(c, f"echo x > {extra}/new.txt && cp {outside}/secret.txt {extra}/")
        await refused(c, f"echo x > {tmp_path}/beside.txt")
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert str(extra) in tools["shell"].description
        info = (await c.call_tool("systeminfo", {})).structured_content["sandbox"]
        assert info["mode"] == "best-effort" and info["files"] is True and str(extra) in info["writable"]
    assert not (outside / "new.txt").exists() and not (tmp_path / "beside.txt").exists()
    assert (extra / "new.txt").read_text() == "x\n" and (extra / "secret.txt").exists()


def listening_url(proc, within=20.0):
    """The URL lmcp prints on stderr once it listens, read as it comes (bounded)."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + within
    text = ""
    while (left := deadline - time.monotonic()) > 0 and sel.select(left):
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        text += chunk.decode(errors="replace")
        m = re.search(r"listening on (http://\S+)\n", text)
        if m:
            return m.group(1)
    raise AssertionError(f"lmcp did not start listening: {text}")


@pytest.mark.parametrize("mode", MODES)
async def test_over_http_commands_are_confined_and_sigterm_cleans_up(area, tap_log, mode):
    """HTTP mode (the packaged service runs --sandbox): confined the same way, and on
    SIGTERM lmcp removes its private TMPDIR and pids cgroup."""
    root, outside = area
    p = subprocess.Popen([str(LMCP), "--http", "127.0.0.1:0", "--sandbox", "--root", str(root)],
                         stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = listening_url(p)
        async with Client(tapped_http(url, tap_log), mode=mode) as c:
            await ok(c, "echo x > in.txt && cat in.txt")
            s = await refused(c, f"cat {outside}/secret.txt")
            assert "TOP-SECRET" not in s["stdout"] and "ermission denied" in s["stderr"]
            await refused(c, f"echo x > {outside}/new.txt")
            info = (await c.call_tool("systeminfo", {})).structured_content
            if ABI >= 6:
                await refused(c, f"kill -TERM {info['lmcp']['pid']}")
            await answers(c)
        sb = info["sandbox"]
        assert os.path.isdir(sb["tmpdir"])
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert (root / "in.txt").read_text() == "x\n" and not (outside / "new.txt").exists()
    assert not os.path.exists(sb["tmpdir"]), "the private TMPDIR outlived the server"
    if sb["pids_cgroup"]:
        assert not os.path.exists(sb["pids_cgroup"]), "the pids cgroup outlived the server"


@pytest.fixture
def listener():
    """A TCP listener on loopback: the kernel completes connects to it (up to
    the backlog) without an accept, so no thread is needed."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as srv:
        yield srv.getsockname()[1]


CONNECT = "python3 -c 'import socket,sys; socket.create_connection((\"127.0.0.1\", int(sys.argv[1])), 3)' {}"


@pytest.mark.skipif(ABI < 4, reason="Landlock network rules need ABI 4")
@pytest.mark.parametrize("mode", MODES)
async def test_net_none_refuses_tcp_and_ports_allow_some(params, area, listener, mode):
    root, _ = area
    async with Client(params(LMCP, "--stdio", "--sandbox", "--root", str(root)), mode=mode) as c:
        await ok(c, CONNECT.format(listener))
    async with Client(params(LMCP, "--stdio", "--sandbox", "--sandbox-net", "none", "--root", str(root)), mode=mode) as c:
        s = await refused(c, CONNECT.format(listener))
        assert "PermissionError" in s["stderr"], s
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert "No network" in tools["shell"].description
    async with Client(params(LMCP, "--stdio", "--sandbox", "--sandbox-net", str(listener), "--root", str(root)),
                      mode=mode) as c:
        await ok(c, CONNECT.format(listener))
        s = await refused(c, CONNECT.format(1 if listener != 1 else 2))
        assert "PermissionError" in s["stderr"], s


@pytest.mark.skipif(ABI < 6, reason="Landlock signal scoping needs ABI 6")
@pytest.mark.parametrize("mode", MODES)
async def test_a_command_cannot_signal_lmcp(params, area, mode):
    root, _ = area
    async with Client(params(LMCP, "--stdio", "--sandbox", "--root", str(root)), mode=mode) as c:
        pid = (await c.call_tool("systeminfo", {})).structured_content["lmcp"]["pid"]
        s = await refused(c, f"kill -TERM {pid}")
        assert "ermitted" in s["stderr"] or "ermission" in s["stderr"], s
        await refused(c, f"kill -KILL {os.getpid()}")
        # A background job cannot either, and lmcp outlives both.
        j = (await c.call_tool("shell_bg", {"command": f"kill -TERM {pid}; echo rc=$?"})).structured_content
        out, err, _ = await job_until(c, j["job"], lambda o, e, state: state != "running")
        assert out == "rc=1\n" and ("ermitted" in err or "ermission" in err), (out, err)
        await answers(c)
        assert (await ok(c, "echo alive"))["stdout"] == "alive\n"


def processes_in(cgroup):
    try:
        with open(os.path.join(cgroup, "pids.current")) as f:
            return int(f.read())
    except OSError:
        return None


@pytest.mark.parametrize("mode", MODES)
async def test_a_fork_bomb_stays_bounded_and_lmcp_keeps_answering(params, area, mode):
    root, _ = area
    args = ["--stdio", "--sandbox", "--sandbox-limits", "nproc=64", "--root", str(root)]
    async with Client(params(LMCP, *args), mode=mode) as c:
        info = (await c.call_tool("systeminfo", {})).structured_content["sandbox"]
        if os.geteuid() == 0 and not info["pids_cgroup"]:
            pytest.skip("running as root without a writable pids cgroup: RLIMIT_NPROC does not bind root, "
                        "so a fork bomb would not be contained here (documented in SECURITY.md)")
        j = (await c.call_tool("shell_bg", {"command": "bomb() { bomb | bomb & }; bomb; sleep 30"})).structured_content
        # The bomb has hit its bound once a fork fails (the shell says so on stderr).
        _, err, state = await job_until(c, j["job"], lambda o, e, state: "fork" in e.lower() or state != "running")
        assert "fork" in err.lower(), err
        # At the bound, lmcp answers each time within a second.
        for _ in range(10):
            await answers(c, within=1.0)
        if info["pids_cgroup"]:
            groups = [os.path.join(info["pids_cgroup"], d) for d in os.listdir(info["pids_cgroup"])]
            counts = [n for n in map(processes_in, groups) if n is not None]
            assert counts and max(counts) <= 64, counts
        await c.call_tool("shell_bg_kill", {"job": j["job"]})
        await job_until(c, j["job"], lambda o, e, state: state != "running")
        assert (await ok(c, "echo after"))["stdout"] == "after\n"
    if info["pids_cgroup"]:
        assert not os.path.exists(info["pids_cgroup"]), "the pids cgroup outlived the server"


async def test_sandbox_flags_are_checked_at_start(tmp_path):
    r = subprocess.run([str(LMCP), "--stdio", "--sandbox-net", "none"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=10)
    assert r.returncode == 2 and "need --sandbox" in r.stderr
    r = subprocess.run([str(LMCP), "--stdio", "--sandbox", "--sandbox-limits", "mem=1"], capture_output=True,
                       text=True, stdin=subprocess.DEVNULL, timeout=10)
    assert r.returncode == 2 and "nproc" in r.stderr
    r = subprocess.run([str(LMCP), "--stdio", "--sandbox", "--sandbox-allow-read", str(tmp_path / "nope")],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=10)
    assert r.returncode == 2 and "does not exist" in r.stderr
