#!/usr/bin/env bash
# Checks the link tuning of a release build (build.rs): the binary is static,
# and link/startup.order and link/rodata.ld still match the code. Both lists
# name what the binary runs and reads at start-up by symbol and section names,
# which change when code moves or dependencies and the toolchain change; a
# stale list costs idle memory silently (names that match nothing are skipped
# by the linker), so this check counts:
#   functions  names in link/startup.order that the binary defines;
#   constants  patterns of link/rodata.ld that placed at least one input
#              section into .rodata.hot, read from LLD's link map, which
#              build.rs writes beside the binary (target/release/lmcp.map).
# It fails when either share falls below its floor. Regenerate both lists
# with ONE command, `bash scripts/link-order.sh` (valgrind; about 25
# minutes), then rebuild with `cargo build --release` and commit link/.
#
# The floors: the lists hold the names of the binary with default features
# and of the fixture examples/everything (until 2026-12-05 also a `web`
# build, now the default one); symbol
# hashes differ between them), so the default binary can match only its own
# share. Measured 2026-12-04 on the default binary with lists fresh for it
# (97.9 % of the listed functions it defines under some hash were listed
# under its own): 1221 of 2685 functions (45.5 %) and 391 of 1075 patterns
# (36.4 %). The floors, 40 % and 32 %, fail the check once about one in
# nine of the default build's own entries no longer matches: code moved or
# renamed, or dependencies, features or the toolchain changed.
#
#   bash scripts/check-link-order.sh [BINARY [MAP]]
#        (default: target/release/lmcp and target/release/lmcp.map)
# Floors, in percent: LMCP_LINK_ORDER_MIN_FUNCTIONS (default 40) and
# LMCP_LINK_ORDER_MIN_CONSTANTS (default 32).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/lmcp}
map=${2:-$bin.map}
min_functions=${LMCP_LINK_ORDER_MIN_FUNCTIONS:-40}
min_constants=${LMCP_LINK_ORDER_MIN_CONSTANTS:-32}
fail() { echo "check-link-order: $*" >&2; exit 1; }

[ -x "$bin" ] || fail "$bin is missing: run cargo build --release --bin lmcp"
for tool in nm readelf python3; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed (binutils, python3)"
done
[ -f "$map" ] || fail "$map is missing: build.rs writes it in release builds on x86_64 Linux unless LMCP_NO_LINK_TUNING is set"

# Static: no interpreter, no shared library (build.rs's stand-ins cover
# every library rustc asks for; a new one would slip through as shared).
if readelf -lW "$bin" | grep -q INTERP || readelf -dW "$bin" | grep -q NEEDED; then
  fail "$bin is linked dynamically ($(readelf -dW "$bin" | grep NEEDED | sed 's/.*\[\(.*\)\]/\1/' | tr '\n' ' ')): build.rs links release binaries statically unless LMCP_DYNAMIC is set; a library without a stand-in in build.rs's STAND_INS needs one"
fi
echo "  ok: $bin is a static executable"

python3 - "$bin" "$map" "$min_functions" "$min_constants" <<'PY'
import fnmatch, re, subprocess, sys
binary, mapf, min_functions, min_constants = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
names = [l.strip() for l in open("link/startup.order") if l.strip()]
defined = set()
for line in subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True,
                           check=True).stdout.splitlines():
    f = line.split()
    if len(f) >= 3:
        defined.add(f[2])
functions = sum(n in defined for n in names)

# The input sections LLD placed in .rodata.hot: "path:(section)", with archive
# members as "archive(member)". Output sections are indented by 1 after the
# alignment column, input sections by 9.
placed, output = [], None
for line in open(mapf, errors="replace"):
    m = re.match(r"\s*[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s+\d+( +)(\S.*)$", line)
    if not m:
        continue
    if len(m.group(1)) == 1:
        output = m.group(2)
    elif len(m.group(1)) == 9 and output == ".rodata.hot":
        i = re.match(r"(.+):\((\.[^)]*)\)$", m.group(2))
        if i:
            path = re.sub(r"\(([^)]+)\)$", r":\1", i.group(1))  # linker-script archive:member
            placed.append((path, i.group(2)))
names_placed = {s for _, s in placed}
patterns = []
for line in open("link/rodata.ld"):
    m = re.fullmatch(r"\s*(\S*)\((\S+)\)\s*", line)
    if m and not m.group(2).startswith((".rodata.cst", ".rodata.str")):
        patterns.append((m.group(1), m.group(2)))
def matched(file_glob, section):
    if file_glob == "*" and not any(c in section for c in "*?["):
        return section in names_placed
    return any(fnmatch.fnmatchcase(p, file_glob) and fnmatch.fnmatchcase(s, section)
               for p, s in placed)
constants = sum(matched(f, s) for f, s in patterns)

def share(n, total):
    return 100.0 * n / total if total else 100.0
rf, rc = share(functions, len(names)), share(constants, len(patterns))
print(f"  link order: {functions}/{len(names)} functions of link/startup.order in the binary ({rf:.1f}%, floor {min_functions:g}%)")
print(f"  link order: {constants}/{len(patterns)} sections of link/rodata.ld placed ({rc:.1f}%, floor {min_constants:g}%)")
stale = [w for w, r, m in (("link/startup.order", rf, min_functions), ("link/rodata.ld", rc, min_constants)) if r < m]
if stale:
    print(f"check-link-order: {' and '.join(stale)} went stale (below the floor): regenerate them with "
          "`bash scripts/link-order.sh` (needs valgrind, about 25 minutes), rebuild with "
          "`cargo build --release` and commit both files", file=sys.stderr)
    sys.exit(1)
PY
echo "link order checks passed"
