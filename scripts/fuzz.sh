#!/usr/bin/env bash
# Fuzz every target for SECONDS each (default 60) with libFuzzer, on the
# stable toolchain: libfuzzer-sys builds libFuzzer from source (needs a C++
# compiler) and the coverage instrumentation is the SanitizerCoverage pass
# that `cargo fuzz` turns on, set here through stable -C flags. No
# AddressSanitizer (it needs nightly's -Zsanitizer); lmcp has no unsafe code,
# so what is sought is panics, aborts, hangs and broken invariants.
#
#   bash scripts/fuzz.sh [--check] [SECONDS] [TARGET...]
#
# --check (what the test command runs): leave the committed corpora as they
# are (no minimising merge), so a run never changes the tree.
#
# Corpora live in fuzz/corpus/TARGET (kept in git, minimised after each run);
# a crash is saved to fuzz/artifacts/TARGET/ and the script fails. Once it is
# fixed, move the reproducer to fuzz/regressions/TARGET/: tests/fuzz_corpus.rs
# replays every file of both through the same entry points in `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
if [ "${1:-}" = "--check" ]; then
  check=1
  shift
fi
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(jsonrpc dispatch http_headers http_request roots edit docs_pdf docs_office docs_image)
fi

host="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# --target keeps the instrumentation off build scripts and proc macros.
cargo build --release --manifest-path fuzz/Cargo.toml --target "$host" --bins
bin="fuzz/target/$host/release"

status=0
for t in "${targets[@]}"; do
  corpus="fuzz/corpus/$t"
  artifacts="fuzz/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  work="$(mktemp -d)"
  echo "==> $t: ${secs}s (corpus: $(ls "$corpus" | wc -l) files)"
  set +e
  "$bin/$t" "$work" "$corpus" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=4096 -artifact_prefix="$artifacts/" -print_final_stats=1 2>"$work.log"
  rc=$?
  set -e
  grep -E '^(#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::peak_rss_mb)' "$work.log" | tail -3 || true
  if [ "$rc" -ne 0 ]; then
    echo "fuzz: $t FAILED (exit $rc); reproducer in $artifacts/, log:" >&2
    grep -v '^#' "$work.log" | tail -40 >&2
    status=1
  fi
  if [ "$check" -eq 0 ]; then
    # Keep a minimal corpus: only inputs that add coverage.
    fresh="$(mktemp -d)"
    "$bin/$t" -merge=1 "$fresh" "$corpus" "$work" -max_len=4096 2>/dev/null >/dev/null || true
    if [ -n "$(ls "$fresh")" ]; then
      rm -f "$corpus"/*
      cp "$fresh"/* "$corpus"/
    fi
    echo "    corpus now $(ls "$corpus" | wc -l) files"
    rm -rf "$fresh"
  fi
  rm -rf "$work" "$work.log"
done
exit "$status"
