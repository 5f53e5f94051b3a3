#!/usr/bin/env bash
# Builds the Debian package of lmcp into target/debian/ and prints its path.
#
#   bash scripts/package.sh              build the release binary, then package
#   bash scripts/package.sh --no-build   package the existing target/release/lmcp
#                                        and target/release/lmcp-extract
#
# The man pages and shell completions are generated into target/assets by
# xtask from the same command-line definition as the binary (lmcp::cli). Set
# LMCP_FEATURES (e.g. "web") to build and document a binary with features.
# cargo-deb is installed into the ignored .peers/cargo-tools if missing.
# Check the result with scripts/check-package.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
case "${1:-}" in
  --no-build) build=0 ;;
  "") ;;
  *) echo "usage: scripts/package.sh [--no-build]" >&2; exit 2 ;;
esac
features=()
if [ -n "${LMCP_FEATURES:-}" ]; then
  features=(--features "$LMCP_FEATURES")
fi

if [ "$build" = 1 ]; then
  cargo build --release --locked --bin lmcp --bin lmcp-extract "${features[@]}"
elif [ ! -x target/release/lmcp ] || [ ! -x target/release/lmcp-extract ]; then
  echo "package: target/release/lmcp or lmcp-extract is missing: run cargo build --release, or drop --no-build" >&2
  exit 1
fi

# Man pages and completions, for the flags of the binary's features.
rm -rf target/assets
cargo run --locked --quiet -p xtask "${features[@]}" -- assets target/assets

tools="$PWD/.peers/cargo-tools"
if ! command -v cargo-deb >/dev/null 2>&1; then
  if [ ! -x "$tools/bin/cargo-deb" ]; then
    echo "package: installing cargo-deb into $tools" >&2
    cargo install --locked --root "$tools" cargo-deb
  fi
  export PATH="$tools/bin:$PATH"
fi

# --no-strip: ship the binary exactly as built and measured (the release
# profile already drops debug info and keeps the symbol table on purpose).
cargo deb --no-build --no-strip --output target/debian -p lmcp >&2
ls -t target/debian/lmcp_*.deb | head -n 1
