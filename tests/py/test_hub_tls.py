"""`https://` upstreams: the Python SDK upstream (Streamable HTTP) behind a
TLS-terminating proxy on 127.0.0.1 whose certificate is signed by a CA made
here; the hub and `lmcp client` reach it when told to trust that CA
(`caFile`, `--ca-file`, `SSL_CERT_FILE`) and refuse it, naming the upstream,
when not. Needs lmcp built with the `tls` feature."""
import asyncio
import datetime
import ipaddress
import json
import os
import subprocess
import threading

import pytest
from conftest import LMCP
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from mcp.client import Client
from test_hub import hub, py_http, status, text, wait_status  # noqa: F401 (fixtures)

pytestmark = pytest.mark.anyio


def make_pki(d):
    """A CA and a server certificate for 127.0.0.1/localhost signed by it."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lmcp test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (d / "ca.pem").write_bytes(ca.public_bytes(pem))
    (d / "server.pem").write_bytes(leaf.public_bytes(pem))
    (d / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return d / "ca.pem"


class TlsProxy:
    """Terminates TLS on 127.0.0.1 and relays the bytes to a plain port."""

    def __init__(self, cert, key, target_port):
        import ssl

        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.target = target_port
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        assert ready.wait(10), "the TLS proxy did not start"

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)

        async def pipe(r, w):
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                w.close()

        async def handle(cr, cw):
            try:
                ur, uw = await asyncio.open_connection("127.0.0.1", self.target)
            except OSError:
                cw.close()
                return
            await asyncio.gather(pipe(cr, uw), pipe(ur, cw))

        async def start():
            self.server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=self.ctx)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}/mcp"

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def tls_up(py_http, tmp_path):  # noqa: F811
    ca = make_pki(tmp_path)
    proxy = TlsProxy(tmp_path / "server.pem", tmp_path / "server.key", py_http.port)
    proxy.ca = ca
    yield proxy
    proxy.close()


def lmcp_client(*args, env=None):
    base = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    return subprocess.run(
        [str(LMCP), "client", *args], capture_output=True, text=True, timeout=60, env={**base, **(env or {})}
    )


@pytest.fixture(autouse=True)
def needs_tls():
    out = lmcp_client("--http", "https://127.0.0.1:1/mcp", "tools")
    assert "built without TLS" not in out.stderr, f"{LMCP} lacks the tls feature: cargo build --features tls"


@pytest.mark.parametrize("era", ["auto", "legacy"])
async def test_https_upstream_with_ca_file(hub, tls_up, era):  # noqa: F811
    async with Client(hub({"pys": {"url": tls_up.url, "caFile": str(tls_up.ca), "era": era}})) as c:
        assert text(await c.call_tool("remote_pys_add", {"a": 20, "b": 22})) == "42"
        s = (await status(c))["pys"]
        assert s["state"] == "up" and s["era"].startswith("modern" if era == "auto" else "legacy"), s
        r = await c.get_prompt("remote_pys_greet", {"name": "tls"})
        assert "tls" in r.messages[0].content.text


async def test_untrusted_https_upstream_fails_clearly(hub, tls_up):  # noqa: F811
    async with Client(hub({"pys": {"url": tls_up.url}})) as c:
        s = await wait_status(c, "pys", lambda s: s["state"] == "down")
        err = s["last_error"]
        assert "certificate" in err and "caFile" in err and f"127.0.0.1:{tls_up.port}" in err, err
        names = [t.name for t in (await c.list_tools()).tools]
        assert not any(n.startswith("remote_pys_") for n in names), names


def test_client_cli_trusts_ca_file_or_ssl_cert_file(tls_up):
    out = lmcp_client("--http", tls_up.url, "--ca-file", str(tls_up.ca), "call", "add", '{"a": 1, "b": 2}')
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["structuredContent"] == {"result": 3}
    out = lmcp_client("--http", tls_up.url, "tools", env={"SSL_CERT_FILE": str(tls_up.ca)})
    assert out.returncode == 0, out.stderr
    assert "add" in [t["name"] for t in json.loads(out.stdout)]
    # The system's roots alone do not trust the test CA.
    bad = lmcp_client("--http", tls_up.url, "tools")
    assert bad.returncode != 0 and "certificate" in bad.stderr and "SSL_CERT_FILE" in bad.stderr, bad.stderr


def test_plain_http_to_a_tls_port_fails(tls_up):
    # Speaking plain HTTP to the TLS port must fail, not hang.
    out = lmcp_client("--http", tls_up.url.replace("https://", "http://"), "tools")
    assert out.returncode != 0



def test_hub_status_names_the_untrusted_upstream(tls_up, tmp_path):
    cfg = tmp_path / "hub.json"
    cfg.write_text(json.dumps({"mcpServers": {"good": {"url": tls_up.url, "caFile": "ca.pem"}, "untrusted": {"url": tls_up.url}}}))
    out = subprocess.run(
        [str(LMCP), "hub", "status", "--config", str(cfg), "--json"],
        capture_output=True, text=True, timeout=60, env={k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"},
    )
    assert out.returncode == 1, out.stderr
    rows = {u["name"]: u for u in json.loads(out.stdout)["upstreams"]}
    assert rows["good"]["state"] == "up" and rows["good"]["tools"] == 8, rows  # caFile is relative to the config
    assert rows["untrusted"]["state"] == "failed" and "certificate" in rows["untrusted"]["last_error"], rows
