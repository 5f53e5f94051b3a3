#!/usr/bin/env bash
# Regenerates link/startup.order: the functions of the `lmcp` binary that run
# during start-up, both handshakes, tools/list and a tool call, over stdio and
# over Streamable HTTP, as mangled
# symbol names. build.rs hands the list to LLD (--symbol-ordering-file) so
# those functions sit together and idle RSS stays small (see build.rs).
#
# Needs valgrind (callgrind) and python3. Run it after upgrading the toolchain
# or dependencies (symbol hashes change), then commit link/startup.order.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "link-order: valgrind is required" >&2; exit 1; }

# The release profile keeps the symbol table, and symbol hashes depend on the
# profile and features, so the list is taken from exactly the builds users
# make: the binary with default features and with `--features web`, and the
# fixture server examples/everything (built with the dev-dependencies, so its
# hashes differ) that the HTTP benchmark drives. All three are linked
# statically like the shipped builds (link/cc), so glibc's functions are
# ordered too.
order=link/startup.order
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp".*' EXIT
for config in default web fixture; do
echo "link-order: untuned release build ($config)" >&2
tool=ping
args='{}'
case $config in
  default) LMCP_NO_LINK_TUNING=1 cargo build --release --bin lmcp >&2; bin=target/release/lmcp ;;
  web) LMCP_NO_LINK_TUNING=1 cargo build --release --bin lmcp --features web >&2; bin=target/release/lmcp ;;
  fixture) LMCP_NO_LINK_TUNING=1 cargo build --release --example everything >&2
    bin=target/release/examples/everything; tool=echo; args='{"text": "link-order"}' ;;
esac
out="$tmp.cg"
rm -f "$out"*

python3 - "$bin" "$out" "$tool" "$args" <<'PY'
import json, os, signal, subprocess, sys, time
binary, out, tool, args = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
p = subprocess.Popen(
    ["valgrind", "--tool=callgrind", "--demangle=no", "--dump-instr=no",
     f"--callgrind-out-file={out}", binary, "--stdio"],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
def call(msg):
    p.stdin.write((json.dumps(msg) + "\n").encode()); p.stdin.flush()
    if "id" in msg:
        line = p.stdout.readline()
        assert line, "lmcp exited"
meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}}
def dump():
    # While idle, so shutdown code does not join the hot set. Each dump
    # holds what ran since the previous one.
    time.sleep(1.0)
    subprocess.run(["callgrind_control", "--dump", str(p.pid)], stdout=subprocess.DEVNULL, check=True)
# Phase 1: start-up and the handshakes of both eras; what an idle stdio
# server has touched. Its functions go first, so idle touches few pages.
call({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}})
call({"jsonrpc": "2.0", "id": 4, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {},
    "clientInfo": {"name": "link-order", "version": "0"}}})
call({"jsonrpc": "2.0", "method": "notifications/initialized"})
call({"jsonrpc": "2.0", "id": 7, "method": "ping"})
dump()
# Phase 2: listing and calling tools in both eras.
call({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": meta}})
call({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
      "params": {"name": tool, "arguments": args, "_meta": meta}})
call({"jsonrpc": "2.0", "id": 5, "method": "tools/list"})
call({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": tool, "arguments": args}})
dump()
time.sleep(1.0)
os.kill(p.pid, signal.SIGKILL)
p.wait()
PY

# The same over Streamable HTTP: both eras, a tool call, keep-alive.
outh="$tmp.cgh"
rm -f "$outh"*
python3 - "$bin" "$outh" "$tool" "$args" <<'PY'
import json, os, re, signal, subprocess, sys, time, urllib.request
binary, out, tool, args = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
p = subprocess.Popen(
    ["valgrind", "--tool=callgrind", "--demangle=no", "--dump-instr=no",
     f"--callgrind-out-file={out}", binary, "--http", "127.0.0.1:0"],
    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
url = None
for line in p.stderr:
    m = re.search(r"listening on (http://\S+)", line)
    if m:
        url = m.group(1)
        break
assert url, "lmcp did not report its address"
meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}}
def post(msg, headers):
    req = urllib.request.Request(url, data=json.dumps(msg).encode(), method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers})
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()
        return r.headers
def modern(i, method, params, name=None):
    h = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method}
    if name:
        h["Mcp-Name"] = name
    post({"jsonrpc": "2.0", "id": i, "method": method, "params": {**params, "_meta": meta}}, h)
for round_ in range(2):
    modern(1, "server/discover", {})
    modern(2, "tools/list", {})
    modern(3, "tools/call", {"name": tool, "arguments": args}, tool)
h = post({"jsonrpc": "2.0", "id": 4, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {},
    "clientInfo": {"name": "link-order", "version": "0"}}}, {})
sid = {"Mcp-Session-Id": h["Mcp-Session-Id"], "MCP-Protocol-Version": "2025-11-25"}
post({"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
post({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": tool, "arguments": args}}, sid)
time.sleep(1.0)
subprocess.run(["callgrind_control", "--dump", str(p.pid)], stdout=subprocess.DEVNULL, check=True)
time.sleep(1.0)
os.kill(p.pid, signal.SIGKILL)
p.wait()
PY

# glibc picks its string and memory functions (memcpy, strlen, ...) for the
# CPU at start-up (IRELATIVE relocations). Under valgrind it sees another CPU
# and picks other variants, so the variants this machine really uses are read
# from the resolved relocation slots of the binary running natively.
python3 - "$bin" >> "$tmp.ifunc" <<'PY'
import bisect, subprocess, sys, time
binary = sys.argv[1]
slots = [int(l.split()[0], 16) for l in subprocess.run(
    ["readelf", "-rW", binary], capture_output=True, text=True, check=True).stdout.splitlines()
    if "IRELATIVE" in l]
syms = sorted((int(a, 16), n) for a, t, n in (l.split()[:3] for l in subprocess.run(
    ["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout.splitlines()
    if len(l.split()) >= 3) if t in "tTwW")
addrs = [a for a, _ in syms]
p = subprocess.Popen([binary, "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
time.sleep(0.5)
base = None
for line in open(f"/proc/{p.pid}/maps"):
    f = line.split()
    if len(f) >= 6 and f[5].endswith(binary.split("/")[-1]) and int(f[2], 16) == 0:
        base = int(f[0].split("-")[0], 16)
        break
with open(f"/proc/{p.pid}/mem", "rb") as mem:
    for off in slots:
        mem.seek(base + off)
        target = int.from_bytes(mem.read(8), "little") - base
        i = bisect.bisect_right(addrs, target) - 1
        if i >= 0 and addrs[i] == target:
            print(syms[i][1])
p.kill()
p.wait()
PY

# Every function of the lmcp binary that ran, per phase (1: stdio start-up
# and handshakes, 2: stdio tool calls, 3: HTTP serving), hottest first
# within a phase, without callgrind's recursion suffixes ('2).
phase=0
for dump in $(ls "$out".* | sort -V | head -2) $(ls "$outh".* | head -1); do
phase=$((phase + 1))
callgrind_annotate --threshold=100 "$dump" \
  | grep -F "[$PWD/$bin]" \
  | sed -E 's/^ *[0-9,]+ +\([^)]*\) +//; s/ \[.*\]$//; s/^[^:]*://; s/'"'"'[0-9]+$//' >> "$tmp.phase$phase"
done
done
# First what runs at start-up but callgrind cannot name: the entry point
# `_start` (its "(below main)"), crtbegin's initialisers, static glibc's set-up
# of the vDSO (valgrind provides none) and glibc's string functions as this CPU
# picks them (above). Then phase 1 of every build: builds share many symbol
# names, and an idle server should touch only the pages of phase 1.
{ printf '%s\n' _start frame_dummy register_tm_clones _dl_new_object _dl_setup_hash \
    _dl_add_to_namespace_list; cat "$tmp.ifunc" "$tmp.phase1" "$tmp.phase2" "$tmp.phase3"; } \
  | awk 'NF && $0 != "(below main)" && !seen[$0]++' > "$order"
echo "link-order: $(wc -l < "$order") functions -> $order; rebuild with cargo build --release" >&2
