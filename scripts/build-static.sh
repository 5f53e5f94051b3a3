#!/usr/bin/env bash
# Builds lmcp linked statically against glibc (no libc.so / ld.so mapped at
# run time): the smallest idle RSS, see BENCHMARKS.md. The binary lands in
# target/x86_64-unknown-linux-gnu/release/lmcp (an explicit --target keeps
# the static flag away from proc-macro crates, which cannot be static).
# Extra arguments go to cargo, e.g. `--features web`.
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release --bin lmcp --target x86_64-unknown-linux-gnu "$@"
echo "static binary: target/x86_64-unknown-linux-gnu/release/lmcp" >&2
