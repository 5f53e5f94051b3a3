"""Scale-out behind a real load balancer (issue 21): three `lmcp --http
--instance-id iN` sharing one --state-key-file, behind Debian's nginx running
the shipped packaging/nginx/lmcp-cluster.conf, and again behind Debian's
haproxy running the shipped packaging/haproxy/lmcp-cluster.cfg (their
addresses replaced by this test's ports): every scenario runs behind both.
Shows that stateless calls spread over the instances, that a
legacy session (official Python SDK client) and a background job stay on the
instance that minted their ids, that an MRTR retry may land on another
instance, that a killed instance loses no stateless call and its session ends
with 404, that a draining instance gets no new calls while its in-flight
call finishes, and that a subscriptions/listen stream stays on its instance
and ends with its result when that instance stops.

nginx and haproxy are installed with apt-get (packages nginx-light and
haproxy) when missing and the test runs as root, as in CI; without root, the
scenarios of a balancer that is not installed are skipped. Every server
message passes the schema-validating tap."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import LMCP, ROOT
from http_tap import tapped_http
from tap import LEGACY, MODERN, Conversation

SHIPPED = ROOT / "packaging/nginx/lmcp-cluster.conf"
SHIPPED_HAPROXY = ROOT / "packaging/haproxy/lmcp-cluster.cfg"
# The placeholder addresses both shipped files use.
SHIPPED_UPSTREAMS = ["127.0.0.1:8101", "127.0.0.1:8102", "127.0.0.1:8103"]
SHIPPED_LISTEN = "listen 127.0.0.1:8080;"
SHIPPED_BIND = "bind 127.0.0.1:8080\n"
DEADLINE = 20  # seconds any one wait may take
# Each balancer: its command and the Debian package that has it.
BALANCERS = {"nginx": ("nginx", "nginx-light"), "haproxy": ("haproxy", "haproxy")}


def debian_binary(command, package):
    """`command`'s path, installing `package` when missing and root; None otherwise."""
    sbin = Path("/usr/sbin") / command
    found = shutil.which(command) or (str(sbin) if sbin.exists() else None)
    if found or os.geteuid() != 0:
        return found
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    r = subprocess.run(install, env=env, capture_output=True, text=True)
    if r.returncode != 0:  # the package lists may be missing or stale
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=True)
        r = subprocess.run(install, env=env, capture_output=True, text=True)
    assert r.returncode == 0, f"apt-get install {package} failed:\n{r.stderr}"
    return shutil.which(command) or str(sbin)


def nginx_binary():
    """nginx's path, installing nginx-light when missing and root; None otherwise."""
    return debian_binary(*BALANCERS["nginx"])


def haproxy_binary():
    """haproxy's path, installing haproxy when missing and root; None otherwise."""
    return debian_binary(*BALANCERS["haproxy"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(what, check, deadline=DEADLINE):
    """Poll `check` (bounded) until it returns a true value, which is returned."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        v = check()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def healthz(port):
    """The /healthz status on `port`, or None when nothing answers."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/healthz")
        status = c.getresponse().status
        c.close()
        return status
    except OSError:
        return None


class Cluster:
    """Three instances and a balancer (nginx or haproxy); every message the
    test reads goes through the tap log."""

    def __init__(self, tmp, tap_log, balancer="nginx"):
        self.tmp, self.tap_log, self.conv = tmp, tap_log, Conversation()
        self.log = open(tap_log, "a", buffering=1)
        self.lock = threading.Lock()
        self.next_id = 0
        key = tmp / "state.key"
        key.write_text("one secret shared by every instance of the cluster\n")
        self.roots = tmp / "roots"
        self.roots.mkdir()
        self.ports = [free_port() for _ in range(3)]
        self.procs = {}
        for n, port in enumerate(self.ports, 1):
            args = [str(LMCP), "--http", f"127.0.0.1:{port}", "--instance-id", f"i{n}"]
            args += ["--state-key-file", str(key), "--roots-from-client", "--shutdown-grace-ms", "15000"]
            err = open(tmp / f"i{n}.log", "w")
            self.procs[f"i{n}"] = subprocess.Popen(args, stderr=err, stdout=subprocess.DEVNULL, cwd=tmp)
        for port in self.ports:
            until(f"instance on {port}", lambda p=port: healthz(p) == 200)
        self.port = free_port()
        self.balancer = {"nginx": self._start_nginx, "haproxy": self._start_haproxy}[balancer]()
        until(balancer, lambda: healthz(self.port) == 200)

    def _shipped(self, path, listen, new_listen):
        """The shipped config at `path` with this test's ports in place of its placeholders."""
        conf = path.read_text()
        for old, port in zip(SHIPPED_UPSTREAMS, self.ports):
            assert old in conf, f"{path.name} no longer names {old}: update this test"
            conf = conf.replace(old, f"127.0.0.1:{port}")
        assert conf.count(listen) == 1, f"{path.name} no longer listens on 127.0.0.1:8080 once"
        return conf.replace(listen, new_listen)

    def _start_nginx(self):
        nginx = nginx_binary()
        prefix = self.tmp / "nginx"
        prefix.mkdir()
        conf = self._shipped(SHIPPED, SHIPPED_LISTEN, f"listen 127.0.0.1:{self.port};")
        (prefix / "lmcp-cluster.conf").write_text(conf)
        temp = "".join(f"    {k}_temp_path {prefix}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (prefix / "nginx.conf").write_text(
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log info;\n"
            + "events { worker_connections 512; }\n"
            + f"http {{\n    access_log {prefix}/access.log;\n{temp}    include {prefix}/lmcp-cluster.conf;\n}}\n"
        )
        base = [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]
        t = subprocess.run(base + ["-t"], capture_output=True, text=True)
        assert t.returncode == 0, f"nginx -t refused the config:\n{t.stderr}"
        return subprocess.Popen(base, stdout=subprocess.DEVNULL, stderr=open(prefix / "stderr.log", "w"))

    def _start_haproxy(self):
        haproxy = haproxy_binary()
        d = self.tmp / "haproxy"
        d.mkdir()
        # As installed on Debian, the shipped file is loaded after the
        # package's own /etc/haproxy/haproxy.cfg: check that it is accepted
        # there as it is (`haproxy -c` only reads the files).
        stock = Path("/etc/haproxy/haproxy.cfg")
        if stock.exists():
            t = subprocess.run([haproxy, "-c", "-f", str(stock), "-f", str(SHIPPED_HAPROXY)], capture_output=True, text=True)
            assert t.returncode == 0, f"haproxy -c refused the shipped file after {stock}:\n{t.stdout}{t.stderr}"
        conf = self._shipped(SHIPPED_HAPROXY, SHIPPED_BIND, f"bind 127.0.0.1:{self.port}\n")
        (d / "lmcp-cluster.cfg").write_text(conf)
        # Here a minimal `global` in place of Debian's (no chroot, user,
        # daemon or syslog): the log goes to stderr, kept in haproxy/stderr.log.
        (d / "global.cfg").write_text("global\n    log stderr format raw local0 info\n")
        base = [haproxy, "-f", str(d / "global.cfg"), "-f", str(d / "lmcp-cluster.cfg")]
        t = subprocess.run(base + ["-c"], capture_output=True, text=True)
        assert t.returncode == 0, f"haproxy -c refused the config:\n{t.stdout}{t.stderr}"
        # -db: in the foreground, one process, no master; SIGTERM stops it.
        return subprocess.Popen(base + ["-db"], stdout=subprocess.DEVNULL, stderr=open(d / "stderr.log", "w"))

    def close(self):
        # SIGTERM: nginx's master stops its workers before it exits (SIGKILL
        # would leave them running); haproxy stops at once.
        self.balancer.terminate()
        try:
            self.balancer.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.balancer.kill()
            self.balancer.wait(timeout=DEADLINE)
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
            p.wait(timeout=DEADLINE)
        self.log.close()

    # -- raw requests through the balancer, validated --------------------------

    def post(self, msg, headers, port=None):
        """POST one message; returns (status, response headers, parsed server messages)."""
        body = json.dumps(msg)
        self.conv.client_line(msg)
        self.log.write(json.dumps({"client": body}) + "\n")
        c = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=60)
        h = {"content-type": "application/json", "accept": "application/json, text/event-stream", **headers}
        c.request("POST", "/mcp", body=body, headers=h)
        r = c.getresponse()
        raw, rh = r.read().decode(), {k.lower(): v for k, v in r.getheaders()}
        c.close()
        msgs = []
        if rh.get("content-type", "").startswith("application/json"):
            msgs = [json.loads(raw)]
        elif rh.get("content-type", "").startswith("text/event-stream"):
            for ev in raw.replace("\r\n", "\n").split("\n\n"):
                data = "\n".join(ln[5:].lstrip() for ln in ev.split("\n") if ln.startswith("data:"))
                if data.strip():
                    msgs.append(json.loads(data))
        for m in msgs:
            era, errs, _ = self.conv.check(m)
            self.log.write(json.dumps({"line": json.dumps(m), "era": era, "errors": errs}) + "\n")
        return r.status, rh, msgs

    def new_id(self):
        with self.lock:
            self.next_id += 1
            return self.next_id

    def modern_call(self, name, args, caps=None, extra=None, headers=None, port=None):
        """A stateless 2026-07-28 tools/call; returns (status, headers, message)."""
        meta = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientInfo": {"name": "scale-out-test", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": caps or {},
        }
        params = {"name": name, "arguments": args, "_meta": meta, **(extra or {})}
        h = {"mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": name, **(headers or {})}
        status, rh, msgs = self.post({"jsonrpc": "2.0", "id": self.new_id(), "method": "tools/call", "params": params}, h, port)
        return status, rh, (msgs[-1] if msgs else None)

    def legacy_session(self):
        """A legacy session opened through the balancer: its id."""
        init = {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "scale-out-test", "version": "1"}}
        status, rh, msgs = self.post({"jsonrpc": "2.0", "id": self.new_id(), "method": "initialize", "params": init}, {})
        assert status == 200 and "result" in msgs[-1], (status, msgs)
        sid = rh["mcp-session-id"]
        h = {"mcp-session-id": sid, "mcp-protocol-version": LEGACY}
        status, _, _ = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, h)
        assert status == 202, status
        return sid

    def legacy_call(self, sid, name, args):
        h = {"mcp-session-id": sid, "mcp-protocol-version": LEGACY}
        msg = {"jsonrpc": "2.0", "id": self.new_id(), "method": "tools/call", "params": {"name": name, "arguments": args}}
        status, rh, msgs = self.post(msg, h)
        return status, rh, (msgs[-1] if msgs else None)


@pytest.fixture(params=sorted(BALANCERS))
def cluster(request, tmp_path, tap_log):
    """The cluster behind each balancer in turn: every scenario runs behind both."""
    command, package = BALANCERS[request.param]
    if debian_binary(command, package) is None:
        pytest.skip(f"{command} is not installed and the test is not root (it installs {package} as root)")
    c = Cluster(tmp_path, tap_log, request.param)
    yield c
    c.close()


def text(msg):
    return "".join(b.get("text", "") for b in msg["result"].get("content", []))


def ok_ping(cluster):
    status, rh, m = cluster.modern_call("ping", {})
    assert status == 200 and "result" in m and not m["result"].get("isError"), (status, m)
    return rh["lmcp-instance"]


def test_stateless_calls_spread_over_the_instances(cluster):
    seen = [ok_ping(cluster) for _ in range(30)]
    counts = {i: seen.count(i) for i in ("i1", "i2", "i3")}
    assert all(n >= 5 for n in counts.values()), counts


@pytest.mark.anyio
async def test_a_legacy_sdk_session_stays_on_its_instance(cluster):
    from mcp.client import Client

    url = f"http://127.0.0.1:{cluster.port}/mcp"
    async with Client(tapped_http(url, cluster.tap_log), mode="legacy") as c:
        assert c.protocol_version == LEGACY
        # Round-robin would send these to instances that never saw the
        # session (404): they all succeed because the balancer routes on the id.
        for n in range(50):
            r = await c.call_tool("shell", {"command": f"echo call-{n}"})
            assert not r.is_error and f"call-{n}" in r.content[0].text, r


def test_a_job_is_read_and_killed_through_the_balancer(cluster):
    status, rh, m = cluster.modern_call("shell_bg", {"command": "echo ready; exec sleep 60"})
    assert status == 200, m
    job = m["result"]["structuredContent"]["job"]
    owner = rh["lmcp-instance"]
    assert job.startswith(f"job_{owner}."), (job, owner)
    pin = {"mcp-param-job": job}
    for _ in range(6):
        status, rh, m = cluster.modern_call("shell_bg_output", {"job": job, "wait_ms": 2000}, headers=pin)
        assert status == 200 and rh["lmcp-instance"] == owner, (status, rh, m)
        assert "ready" in m["result"]["structuredContent"]["stdout"], m
    # The server checks the routing header against the argument (spec: HeaderMismatch).
    status, _, m = cluster.modern_call("shell_bg_output", {"job": job}, headers={"mcp-param-job": job + "0"})
    assert status == 400 and m["error"]["code"] == -32020, (status, m)
    status, rh, m = cluster.modern_call("shell_bg_kill", {"job": job}, headers=pin)
    assert status == 200 and rh["lmcp-instance"] == owner and not m["result"].get("isError"), m
    status, _, m = cluster.modern_call("shell_bg_output", {"job": job, "wait_ms": 5000}, headers=pin)
    assert m["result"]["structuredContent"]["state"] != "running", m
    # A handle of an instance that is not there: an error naming it, nobody's output.
    ghost = "job_i3.00000000000000000000000000000000" if owner != "i3" else "job_i1.00000000000000000000000000000000"
    status, _, m = cluster.modern_call("shell_bg_output", {"job": ghost}, headers={"mcp-param-job": ghost})
    assert status == 200 and m["result"]["isError"] and ghost in text(m), m


def test_an_mrtr_retry_may_land_on_another_instance(cluster):
    caps = {"roots": {}}
    (cluster.roots / "hello.txt").write_text("hi\n")
    status, rh, first = cluster.modern_call("list_dir", {"path": "."}, caps=caps)
    assert first["result"]["resultType"] == "input_required", first
    asker = rh["lmcp-instance"]
    key = next(iter(first["result"]["inputRequests"]))
    answer = {key: {"roots": [{"uri": cluster.roots.as_uri()}]}}
    extra = {"requestState": first["result"]["requestState"], "inputResponses": answer}
    for _ in range(6):  # round-robin: the next request goes to another instance
        status, rh, m = cluster.modern_call("list_dir", {"path": "."}, caps=caps, extra=extra)
        assert status == 200 and m["result"].get("resultType") == "complete", m
        assert "hello.txt" in text(m), m
        if rh["lmcp-instance"] != asker:
            return
    raise AssertionError(f"every retry went back to {asker}")


def test_a_killed_instance_loses_no_stateless_call_and_its_session_gets_404(cluster):
    sid = cluster.legacy_session()
    victim = sid.split(".")[0]
    status, rh, m = cluster.legacy_call(sid, "ping", {})
    assert status == 200 and rh["lmcp-instance"] == victim, (status, m)
    done, failures, stop = [], [], threading.Event()

    def load():
        while not stop.is_set() and len(done) < 200:
            status, rh, m = cluster.modern_call("ping", {})
            if status == 200 and m and "result" in m:
                done.append(rh["lmcp-instance"])
            else:
                failures.append((status, m))

    worker = threading.Thread(target=load)
    worker.start()
    try:
        until("calls before the kill", lambda: len(done) >= 20)
        cluster.procs[victim].send_signal(signal.SIGKILL)
        cluster.procs[victim].wait(timeout=DEADLINE)
        mark = len(done)
        until("calls after the kill", lambda: len(done) >= mark + 30)
    finally:
        stop.set()
        worker.join(timeout=DEADLINE)
    assert not failures, failures
    assert victim not in done[mark + 3 :], "a dead instance answered"
    status, _, m = cluster.legacy_call(sid, "ping", {})
    assert status == 404, (status, m)


def test_a_draining_instance_gets_no_new_calls_and_finishes_its_own(cluster, tmp_path):
    sid = cluster.legacy_session()
    draining = sid.split(".")[0]
    port = cluster.ports[int(draining[1:]) - 1]
    marker = tmp_path / "started"
    result = {}

    def slow():
        result["call"] = cluster.legacy_call(sid, "shell", {"command": f"touch {marker}; sleep 2; echo finished"})

    caller = threading.Thread(target=slow)
    caller.start()
    until("the slow call to start", marker.exists)
    cluster.procs[draining].send_signal(signal.SIGTERM)
    until("/healthz to report draining", lambda: healthz(port) == 503)
    seen = [ok_ping(cluster) for _ in range(20)]
    assert draining not in seen, seen
    caller.join(timeout=DEADLINE)
    status, rh, m = result["call"]
    assert status == 200 and "finished" in text(m), (status, m)
    assert cluster.procs[draining].wait(timeout=DEADLINE) == 0


def test_a_listen_stream_stays_on_its_instance_and_ends_cleanly_when_it_stops(cluster):
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "scale-out-test", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    msg = {"jsonrpc": "2.0", "id": cluster.new_id(), "method": "subscriptions/listen",
           "params": {"notifications": {"toolsListChanged": True}, "_meta": meta}}
    cluster.conv.client_line(msg)
    c = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=DEADLINE)
    h = {"content-type": "application/json", "accept": "application/json, text/event-stream",
         "mcp-protocol-version": MODERN, "mcp-method": "subscriptions/listen"}
    c.request("POST", "/mcp", body=json.dumps(msg), headers=h)
    r = c.getresponse()
    assert r.status == 200 and r.getheader("content-type", "").startswith("text/event-stream")
    owner = r.getheader("lmcp-instance")

    def event():
        data = []
        while True:
            line = r.readline().decode()
            if line in ("\n", "\r\n", ""):
                if data or not line:
                    return json.loads("\n".join(data)) if data else None
                continue
            if line.startswith("data:"):
                data.append(line[5:].strip())

    def checked(m):
        era, errs, _ = cluster.conv.check(m)
        cluster.log.write(json.dumps({"line": json.dumps(m), "era": era, "errors": errs}) + "\n")
        return m

    ack = checked(event())
    assert ack["method"] == "notifications/subscriptions/acknowledged", ack
    cluster.procs[owner].send_signal(signal.SIGTERM)
    last = None
    while (m := event()) is not None:
        last = checked(m)
    c.close()
    # The stream ends with the listen's result, not a cut connection.
    assert last and last.get("id") == msg["id"] and "result" in last, last
    assert cluster.procs[owner].wait(timeout=DEADLINE) == 0
    assert ok_ping(cluster) != owner
