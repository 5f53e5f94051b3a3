#!/usr/bin/env bash
# What each choice of the release profile buys (issue 8): builds the lmcp
# binary and examples/everything once per profile variant and measures, in
# one run, the binary's size, its start-up and idle RSS, and the echo latency
# and pipelined throughput of examples/everything (bench/stdio_bench.py).
#
#   bash bench/profiles.sh                 # shipped lto-thin lto-off cgu-16 opt-s
#   bash bench/profiles.sh shipped+order strip-all
#
# Variants change one setting of [profile.release] at a time through cargo's
# CARGO_PROFILE_RELEASE_* variables. All of them, the shipped profile
# included, are built with LMCP_NO_LINK_TUNING=1: link/startup.order names the
# functions of the shipped build only, so with it the comparison would favour
# that build. The row `shipped+order` is the shipped build as released.
# Each variant builds in its own target directory (deleted afterwards: only
# the two binaries are kept in target/profiles/bin). Results are appended to
# bench/results/profiles-DATE.jsonl, one object per variant, and printed as
# a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A SETTINGS=(
  [shipped+order]=""
  [shipped]="LMCP_NO_LINK_TUNING=1"
  [lto-thin]="LMCP_NO_LINK_TUNING=1 CARGO_PROFILE_RELEASE_LTO=thin"
  [lto-off]="LMCP_NO_LINK_TUNING=1 CARGO_PROFILE_RELEASE_LTO=false"
  [cgu-16]="LMCP_NO_LINK_TUNING=1 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16"
  [opt-s]="LMCP_NO_LINK_TUNING=1 CARGO_PROFILE_RELEASE_OPT_LEVEL=s"
  [strip-all]="LMCP_NO_LINK_TUNING=1 CARGO_PROFILE_RELEASE_STRIP=symbols"
)
ORDER=(shipped lto-thin lto-off cgu-16 opt-s)
if [ $# -gt 0 ]; then ORDER=("$@"); fi

BASE=target/profiles
mkdir -p "$BASE/bin" bench/results
OUT="bench/results/profiles-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
for v in "${ORDER[@]}"; do
  [ -n "${SETTINGS[$v]+set}" ] || { echo "unknown variant $v (known: ${!SETTINGS[*]})" >&2; exit 2; }
  dir="$BASE/$v"
  start=$(date +%s)
  # The binary alone first (built with the examples it would get the
  # dev-dependencies' features), then the fixture server.
  env ${SETTINGS[$v]} cargo build --release --quiet --bin lmcp --target-dir "$dir"
  built=$(( $(date +%s) - start ))
  env ${SETTINGS[$v]} cargo build --release --quiet --example everything --target-dir "$dir"
  cp "$dir/release/lmcp" "$BASE/bin/$v-lmcp"
  cp "$dir/release/examples/everything" "$BASE/bin/$v-everything"
  rm -rf "$dir"
  size=$(stat -c %s "$BASE/bin/$v-lmcp")
  echo "{\"name\": \"$v\", \"settings\": \"${SETTINGS[$v]}\", \"binary_bytes\": $size, \"build_s\": $built}" >> "$OUT"
  python3 bench/stdio_bench.py --name "$v" --out "$OUT" -- "$BASE/bin/$v-everything" --stdio >/dev/null
  python3 bench/stdio_bench.py --name "$v-binary" --idle-only --out "$OUT" -- "$BASE/bin/$v-lmcp" --stdio >/dev/null
done
python3 - "$OUT" <<'EOF'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    name = r["name"]
    if name.endswith("-binary"):
        rows.setdefault(name[:-7], {})["idle"] = r
    elif "binary_bytes" in r:
        rows.setdefault(name, {})["build"] = r
    else:
        rows.setdefault(name, {})["run"] = r
print("| variant | settings | binary | build (s) | lmcp idle RSS | start-up | echo p50 / p99 | pipelined |")
print("|---|---|---|---|---|---|---|---|")
for name, r in rows.items():
    b, i, x = r.get("build", {}), r.get("idle", {}), r.get("run", {})
    print(f"| {name} | `{b.get('settings', '')}` | {b.get('binary_bytes', 0) / 1e6:.1f} MB | {b.get('build_s', '')} "
          f"| {i.get('idle_rss_kb', 0) / 1024:.2f} MB | {i.get('startup_ms', '')} ms "
          f"| {x.get('echo_p50_us', '')} / {x.get('echo_p99_us', '')} µs | {x.get('pipelined_calls_per_s', '')}/s |")
EOF
echo "raw: $OUT" >&2
