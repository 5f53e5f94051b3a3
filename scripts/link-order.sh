#!/usr/bin/env bash
# Regenerates link/startup.order: the functions of the `lmcp` binary that run
# during start-up, both handshakes, tools/list and a tool call, over stdio and
# over Streamable HTTP, as mangled symbol names; and link/rodata.ld: the
# read-only input sections (constants, jump tables, glibc's C tables) those
# phases read. build.rs hands both to LLD (--symbol-ordering-file, -T) so that
# what runs sits together and idle RSS stays small (see build.rs).
#
# Needs valgrind (callgrind, lackey) and python3. Run it after upgrading the toolchain
# or dependencies (symbol hashes change), then commit link/startup.order.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "link-order: valgrind is required" >&2; exit 1; }

# The release profile keeps the symbol table, and symbol hashes depend on the
# profile and features, so the list is taken from exactly the builds users
# make: the binary with default features (web is one of them), and the
# fixture server examples/everything (built with the dev-dependencies, so its
# hashes differ) that the HTTP benchmark drives. Both are linked
# statically like the shipped builds (build.rs), so glibc's functions are
# ordered too.
order=link/startup.order
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp".*' EXIT
cat > "$tmp.driver" <<'PY'
"""Drives BINARY under valgrind through the phases of link-order.sh.
usage: MODE(callgrind|lackey) TRANSPORT(stdio|http) BINARY OUT TOOL ARGS
callgrind: one dump per phase (OUT.1, OUT.2, ...); lackey: the trace in OUT
and, in OUT.cuts, its length at the end of each phase."""
import json, os, re, signal, subprocess, sys, time, urllib.request
mode, transport, binary, out, tool, args = sys.argv[1:6] + [json.loads(sys.argv[6])]
vg = {"callgrind": ["--tool=callgrind", "--demangle=no", "--dump-instr=no",
                    f"--callgrind-out-file={out}"],
      "lackey": ["--tool=lackey", "--trace-mem=yes", f"--log-file={out}"]}[mode]
cuts = []
def phase_end():
    # While idle, so shutdown code does not join the phase. A callgrind dump
    # holds what ran since the previous one; a lackey trace is cut by length.
    time.sleep(1.0)
    if mode == "callgrind":
        subprocess.run(["callgrind_control", "--dump", str(p.pid)],
                       stdout=subprocess.DEVNULL, check=True)
    else:
        cuts.append(os.path.getsize(out))
meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}}
if transport == "stdio":
    p = subprocess.Popen(["valgrind", *vg, binary, "--stdio"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    def call(msg):
        p.stdin.write((json.dumps(msg) + "\n").encode()); p.stdin.flush()
        if "id" in msg:
            assert p.stdout.readline(), "lmcp exited"
    # Phase 1: start-up and the handshakes of both eras; what an idle stdio
    # server has touched. It goes first, so idle touches few pages.
    call({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}})
    call({"jsonrpc": "2.0", "id": 4, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "link-order", "version": "0"}}})
    call({"jsonrpc": "2.0", "method": "notifications/initialized"})
    call({"jsonrpc": "2.0", "id": 7, "method": "ping"})
    phase_end()
    # Phase 2: listing and calling tools in both eras.
    call({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": meta}})
    call({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
          "params": {"name": tool, "arguments": args, "_meta": meta}})
    call({"jsonrpc": "2.0", "id": 5, "method": "tools/list"})
    call({"jsonrpc": "2.0", "id": 6, "method": "tools/call",
          "params": {"name": tool, "arguments": args}})
    phase_end()
else:
    # Phase 3: the same over Streamable HTTP: both eras, a tool call, keep-alive.
    p = subprocess.Popen(["valgrind", *vg, binary, "--http", "127.0.0.1:0"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    url = None
    for line in p.stderr:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            url = m.group(1)
            break
    assert url, "lmcp did not report its address"
    def post(msg, headers):
        req = urllib.request.Request(url, data=json.dumps(msg).encode(), method="POST", headers={
            "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
            **headers})
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
            return r.headers
    def modern(i, method, params, name=None):
        h = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method}
        if name:
            h["Mcp-Name"] = name
        post({"jsonrpc": "2.0", "id": i, "method": method,
              "params": {**params, "_meta": meta}}, h)
    for round_ in range(2):
        modern(1, "server/discover", {})
        modern(2, "tools/list", {})
        modern(3, "tools/call", {"name": tool, "arguments": args}, tool)
    h = post({"jsonrpc": "2.0", "id": 4, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "link-order", "version": "0"}}}, {})
    sid = {"Mcp-Session-Id": h["Mcp-Session-Id"], "MCP-Protocol-Version": "2025-11-25"}
    post({"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
    post({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
          "params": {"name": tool, "arguments": args}}, sid)
    phase_end()
time.sleep(1.0)
os.kill(p.pid, signal.SIGKILL)
p.wait()
if mode == "lackey":
    with open(out + ".cuts", "w") as f:
        json.dump(cuts, f)
PY
for config in default fixture; do
echo "link-order: untuned release build ($config)" >&2
tool=ping
args='{}'
# build.rs has LLD write where each input section went (the link map).
map=$tmp.map.$config
case $config in
  default) LMCP_LINK_MAP=$map LMCP_NO_LINK_TUNING=1 cargo build --release --bin lmcp >&2
    bin=target/release/lmcp ;;
  fixture) LMCP_LINK_MAP=$map LMCP_NO_LINK_TUNING=1 cargo build --release --example everything >&2
    bin=target/release/examples/everything; tool=echo; args='{"text": "link-order"}' ;;
esac
# Each build runs the same session twice: under callgrind (which functions
# run, per phase) and under lackey (which bytes of read-only data are read).
for mode in callgrind lackey; do
  python3 "$tmp.driver" "$mode" stdio "$bin" "$tmp.$mode.$config" "$tool" "$args"
  python3 "$tmp.driver" "$mode" http "$bin" "$tmp.$mode.$config.http" "$tool" "$args"
done
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
for dump in "$tmp.callgrind.$config.1" "$tmp.callgrind.$config.2" "$tmp.callgrind.$config.http.1"; do
phase=$((phase + 1))
callgrind_annotate --threshold=100 "$dump" \
  | grep -F "[$PWD/$bin]" \
  | sed -E 's/^ *[0-9,]+ +\([^)]*\) +//; s/ \[.*\]$//; s/^[^:]*://; s/'"'"'[0-9]+$//' >> "$tmp.phase$phase"
done
# The read-only input sections each phase read (lackey's loads, placed with
# the link map), as linker-script patterns, first reader first.
python3 - "$bin" "$map" "$tmp.lackey.$config" "$tmp.rodata" <<'PY'
import bisect, json, re, subprocess, sys
binary, mapf, trace, out = sys.argv[1:5]
entry = int(re.search(r"Entry point address:\s+0x([0-9a-f]+)", subprocess.run(
    ["readelf", "-hW", binary], capture_output=True, text=True, check=True).stdout).group(1), 16)
# The input sections of .rodata: address, size, section name and file.
# LLD's map indents output sections by 1 after the alignment, input sections by 9.
secs, output = [], None
for line in open(mapf):
    m = re.match(r"\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+( +)(\S.*)$", line)
    if not m:
        continue
    if len(m.group(3)) == 1:
        output = m.group(4)
    elif len(m.group(3)) == 9 and output == ".rodata" and int(m.group(2), 16):
        i = re.match(r"(.+):\((\.[^)]*)\)$", m.group(4))
        if i:
            secs.append((int(m.group(1), 16), int(m.group(2), 16), i.group(2), i.group(1)))
secs.sort()
starts = [s[0] for s in secs]
def pattern(name, path):
    if path == "<internal>":  # merged constants and strings: placed as a whole
        return None
    if name.startswith(".rodata."):  # one constant or jump table per section
        return f"*({name})"
    # The .rodata of one object (C, assembly), named by file, or archive and
    # member, without the hashes of Rust's file names.
    m = re.search(r"([^/]+\.(?:a|rlib))\(([^)]+)\)$", path)
    f = f"{m.group(1)}:{m.group(2)}" if m else path.split("/")[-1]
    return f"*{re.sub(r'[0-9a-f]{16}', '*', f)}({name})"
def phases(trace, cuts):
    """Yields (phase index, address, size) of every load and store."""
    base, done, phase = None, 0, 0
    with open(trace, "rb") as f:
        for line in f:
            done += len(line)
            while phase < len(cuts) and done > cuts[phase]:
                phase += 1
            if base is None and line.startswith(b"I "):
                base = int(line[3:].split(b",")[0], 16) - entry  # the first is the entry point
            elif line[:2] in (b" L", b" S", b" M") and base is not None:
                a, size = line[3:].split(b",")
                yield phase, int(a, 16) - base, int(size)
with open(out, "a") as o:
    for name, first in ((trace, 0), (trace + ".http", 2)):
        seen = set()
        for phase, a, size in phases(name, json.load(open(name + ".cuts"))):
            i = bisect.bisect_right(starts, a) - 1
            while 0 <= i < len(secs) and secs[i][0] < a + size:
                s = secs[i]
                if s[0] + s[1] > a and s not in seen:
                    seen.add(s)
                    p = pattern(s[2], s[3])
                    if p:
                        o.write(f"{min(first + phase, 2) + 1} {p}\n")
                i += 1
PY
rm -f "$tmp".lackey.* "$tmp".callgrind.* "$map"
done
# First what runs at start-up but callgrind cannot name: the entry point
# `_start` (its "(below main)"), crtbegin's initialisers, static glibc's set-up
# of the vDSO (valgrind provides none) and glibc's string functions as this CPU
# picks them (above). Then phase 1 of every build: builds share many symbol
# names, and an idle server should touch only the pages of phase 1.
{ printf '%s\n' _start frame_dummy register_tm_clones _dl_new_object _dl_setup_hash \
    _dl_add_to_namespace_list; cat "$tmp.ifunc" "$tmp.phase1" "$tmp.phase2" "$tmp.phase3"; } \
  | awk 'NF && $0 != "(below main)" && !seen[$0]++' > "$order"
echo "link-order: $(wc -l < "$order") functions -> $order" >&2

# The constants: phase 1's, then the merged constants and string literals
# (most of them are read during start-up anyway), then phases 2 and 3.
rodata=link/rodata.ld
{
  cat <<'EOF'
/* Made by scripts/link-order.sh; passed to LLD by build.rs (-T). It only
   adds to the default layout: the read-only input sections that start-up,
   the handshakes, tool calls and HTTP serving read, gathered before .rodata
   so that an idle server maps few pages of constants. A pattern that matches
   nothing (a stale list) is harmless. */
SECTIONS
{
  .rodata.hot : {
EOF
  awk '$1 == 1 && !seen[$2]++ { print "    " $2 }' "$tmp.rodata"
  echo "    *(.rodata.cst*) *(.rodata.str*)"
  awk '$1 == 1 { seen[$2] = 1 } $1 > 1 && !seen[$2]++ { print "    " $2 }' "$tmp.rodata"
  printf '  }\n}\nINSERT BEFORE .rodata;\n'
} > "$rodata"
echo "link-order: $(grep -c '^    \*' "$rodata") read-only sections -> $rodata; rebuild with cargo build --release" >&2
