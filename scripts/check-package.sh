#!/usr/bin/env bash
# Checks the Debian package made by scripts/package.sh: unpacks it into a
# temporary root (dpkg-deb -x) and checks its layout and contents (the binary
# runs, man pages render and name every flag, completions parse, the systemd
# unit verifies and is hardened, examples and copyright are there). Then checks
# packaging/arch/PKGBUILD: it parses, its metadata matches Cargo.toml, and its
# package() run against the same build gives the same layout. Last, the link
# tuning of target/release/lmcp (scripts/check-link-order.sh).
#
#   bash scripts/check-package.sh [PATH.deb]    (default: the newest in target/debian)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

fail() { echo "check-package: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }

command -v dpkg-deb >/dev/null 2>&1 || fail "dpkg-deb is needed to unpack the package (apt-get install dpkg)"
deb=${1:-$(ls -t target/debian/lmcp_*.deb 2>/dev/null | head -n 1 || true)}
[ -n "$deb" ] && [ -f "$deb" ] || fail "no .deb: run scripts/package.sh first"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/deb
echo "checking $deb (lmcp $version)"

# --- control fields
[ "$(dpkg-deb -f "$deb" Package)" = lmcp ] || fail "Package is not lmcp"
case "$(dpkg-deb -f "$deb" Version)" in
  "$version"|"$version"-*) ok "Version $(dpkg-deb -f "$deb" Version)" ;;
  *) fail "Version $(dpkg-deb -f "$deb" Version) does not match Cargo.toml's $version" ;;
esac
dpkg-deb -f "$deb" Depends | grep -q libc6 || fail "Depends lacks libc6: $(dpkg-deb -f "$deb" Depends)"
ok "Depends: $(dpkg-deb -f "$deb" Depends)"

# --- layout
dpkg-deb -x "$deb" "$root"
unit=usr/lib/systemd/system/lmcp.service
[ -f "$root/$unit" ] || unit=lib/systemd/system/lmcp.service
expect=(
  usr/bin/lmcp
  usr/bin/lmcp-extract
  usr/share/man/man1/lmcp.1.gz
  usr/share/man/man1/lmcp-client.1.gz
  usr/share/man/man1/lmcp-client-call.1.gz
  usr/share/bash-completion/completions/lmcp
  usr/share/zsh/vendor-completions/_lmcp
  usr/share/fish/vendor_completions.d/lmcp.fish
  "$unit"
  usr/share/doc/lmcp/copyright
  usr/share/doc/lmcp/README.md
  usr/share/doc/lmcp/docs/configuration.md
  usr/share/doc/lmcp/examples/hub.toml
  usr/share/doc/lmcp/examples/lmcp.env
  usr/share/doc/lmcp/examples/nginx/lmcp-cluster.conf
  usr/share/doc/lmcp/examples/haproxy/lmcp-cluster.cfg
)
for f in "${expect[@]}"; do
  [ -f "$root/$f" ] || fail "missing /$f; the package holds:$(cd "$root" && find . -type f | sort | sed 's/^\./\n  /' | tr -d '\n')"
done
ok "${#expect[@]} expected files present"
[ "$(stat -c %a "$root/usr/bin/lmcp")" = 755 ] || fail "/usr/bin/lmcp is not mode 755"
# fetch, web_search and read_file of documents parse in this helper, which
# lmcp looks for next to itself.
[ "$(stat -c %a "$root/usr/bin/lmcp-extract")" = 755 ] || fail "/usr/bin/lmcp-extract is not mode 755"
stray=$(cd "$root" && find . -type f ! -path './usr/*' ! -path './lib/systemd/*' | head -n 5)
[ -z "$stray" ] || fail "files outside /usr: $stray"

# --- the binary
out=$("$root/usr/bin/lmcp" --version)
[ "$out" = "lmcp $version" ] || fail "lmcp --version says '$out', expected 'lmcp $version'"
ok "lmcp --version: $out"
# It serves: the packaged binary as client of itself over stdio.
tools=$(cd "$tmp" && timeout 30 "$root/usr/bin/lmcp" client --stdio "'$root/usr/bin/lmcp' --read-only" tools) \
  || fail "lmcp client --stdio lmcp tools failed"
grep -q '"name": "read_file"' <<<"$tools" || fail "the packaged lmcp does not list read_file: $tools"
ok "the packaged lmcp serves its tools over stdio"
help=$("$root/usr/bin/lmcp" --help)
flags=$(grep -o -- '--[a-z][a-z-]*' <<<"$help" | sort -u)

# --- man pages
zcat "$root/usr/share/man/man1/lmcp.1.gz" | grep -q '^\.TH' || fail "lmcp.1.gz is not a man page"
if command -v man >/dev/null 2>&1; then
  text=$(LC_ALL=C.UTF-8 MANWIDTH=400 MANPAGER=cat man -l "$root/usr/share/man/man1/lmcp.1.gz" 2>/dev/null | sed 's/.\x08//g')
  for flag in $flags; do
    grep -q -- "$flag" <<<"$text" || fail "man lmcp does not mention $flag (which --help shows)"
  done
  grep -q "Examples:" <<<"$text" || fail "man lmcp lacks the examples of --help"
  ok "man -l renders lmcp.1 with every flag of --help ($(wc -w <<<"$flags") flags)"
else
  ok "man is not installed: man page rendering not checked"
fi

# --- completions
bash -n "$root/usr/share/bash-completion/completions/lmcp" || fail "bash completion does not parse"
(
  # shellcheck disable=SC1091
  source "$root/usr/share/bash-completion/completions/lmcp"
  complete -p lmcp >/dev/null
) || fail "the bash completion does not register a completion for lmcp"
grep -q -- '--auth-token-file' "$root/usr/share/bash-completion/completions/lmcp" || fail "bash completion lacks flags"
head -n 1 "$root/usr/share/zsh/vendor-completions/_lmcp" | grep -q '^#compdef lmcp' || fail "zsh completion lacks #compdef lmcp"
grep -q 'complete -c lmcp' "$root/usr/share/fish/vendor_completions.d/lmcp.fish" || fail "fish completion lacks complete -c lmcp"
if command -v zsh >/dev/null 2>&1; then zsh -n "$root/usr/share/zsh/vendor-completions/_lmcp" || fail "zsh completion does not parse"; fi
if command -v fish >/dev/null 2>&1; then fish --no-execute "$root/usr/share/fish/vendor_completions.d/lmcp.fish" || fail "fish completion does not parse"; fi
ok "bash completion parses and registers; zsh and fish completions present"

# --- systemd unit
u=$root/$unit
for d in DynamicUser=yes ProtectSystem=strict ProtectHome=yes NoNewPrivileges=yes PrivateTmp=yes \
  MemoryDenyWriteExecute=yes SystemCallFilter=@system-service RestrictAddressFamilies= \
  LoadCredential=token: CapabilityBoundingSet=; do
  grep -q "^$d" "$u" || fail "lmcp.service lacks $d"
done
grep -q '^ExecStart=/usr/bin/lmcp --http ' "$u" || fail "lmcp.service does not run /usr/bin/lmcp --http"
grep -q '^Environment=LMCP_LISTEN=127\.0\.0\.1:' "$u" || fail "lmcp.service does not listen on loopback by default"
grep -q -- '--auth-token-file %d/token' "$u" || fail "lmcp.service does not read the token credential"
if command -v systemd-analyze >/dev/null 2>&1; then
  # Verify a copy whose ExecStart points at the unpacked binary; any message
  # (unknown key, bad value) is a failure, not only a non-zero exit.
  sed "s|/usr/bin/lmcp|$root/usr/bin/lmcp|" "$u" >"$tmp/lmcp.service"
  msgs=$(systemd-analyze verify --man=no "$tmp/lmcp.service" 2>&1) || fail "systemd-analyze verify: $msgs"
  [ -z "$msgs" ] || fail "systemd-analyze verify: $msgs"
  ok "$unit is hardened and passes systemd-analyze verify"
else
  ok "$unit is hardened (systemd-analyze not installed: not verified)"
fi

# --- examples
grep -q '^\[mcpServers\.' "$root/usr/share/doc/lmcp/examples/hub.toml" || fail "examples/hub.toml has no server"
ok "examples present (tests/docs_config.rs loads hub.toml with the hub's parser)"

# --- Arch PKGBUILD: parses, matches Cargo.toml, and lays out the same files
pkgbuild=$repo/packaging/arch/PKGBUILD
bash -n "$pkgbuild" || fail "PKGBUILD does not parse"
arch_root=$tmp/arch
(
  set -euo pipefail
  startdir=$repo/packaging/arch
  pkgdir=$arch_root
  srcdir=$tmp/src
  # shellcheck disable=SC1090
  source "$pkgbuild"
  [ "$pkgname" = lmcp ] || fail "PKGBUILD pkgname is $pkgname"
  [ "$pkgver" = "$version" ] || fail "PKGBUILD pkgver $pkgver differs from Cargo.toml's $version"
  [ "${license[*]}" = "$(sed -n 's/^license = "\(.*\)"$/\1/p' Cargo.toml)" ] || fail "PKGBUILD license differs from Cargo.toml"
  for fn in prepare build check package; do
    declare -F "$fn" >/dev/null || fail "PKGBUILD lacks $fn()"
  done
  grep -q 'cargo build --frozen --release --locked' "$pkgbuild" || fail "PKGBUILD does not build with --release --locked"
  mkdir -p "$pkgdir" "$srcdir"
  package
) || exit 1
# Same files as the .deb, up to each distribution's conventions.
norm() {
  sed -e 's|^\./||' -e 's|\.gz$||' \
      -e 's|^lib/systemd/|usr/lib/systemd/|' \
      -e 's|usr/share/zsh/vendor-completions/|usr/share/zsh/site-functions/|' \
      -e '/^usr\/share\/doc\/lmcp\/copyright$/d' \
      -e '/^usr\/share\/licenses\/lmcp\//d' | sort
}
deb_files=$(cd "$root" && find . -type f | norm)
arch_files=$(cd "$arch_root" && find . -type f | norm)
if [ "$deb_files" != "$arch_files" ]; then
  diff <(echo "$deb_files") <(echo "$arch_files") >&2 || true
  fail "PKGBUILD's package() and the .deb differ (< deb, > arch)"
fi
[ -f "$arch_root/usr/share/licenses/lmcp/LICENSE-MIT" ] && [ -f "$arch_root/usr/share/licenses/lmcp/LICENSE-APACHE" ] \
  || fail "PKGBUILD does not install the licences"
cmp -s "$arch_root/usr/bin/lmcp" "$root/usr/bin/lmcp" || fail "PKGBUILD installs another binary than the .deb"
cmp -s "$arch_root/usr/bin/lmcp-extract" "$root/usr/bin/lmcp-extract" \
  || fail "PKGBUILD installs another lmcp-extract than the .deb"
ok "PKGBUILD parses, matches Cargo.toml, and package() gives the .deb's layout ($(wc -l <<<"$arch_files") files)"
if command -v makepkg >/dev/null 2>&1; then
  ok "makepkg is installed but not run here (it builds from scratch)"
fi

# --- link tuning of the release build: static, order lists not stale
if [ "$(uname -m)" != x86_64 ] || [ -n "${LMCP_DYNAMIC:-}${LMCP_NO_LINK_TUNING:-}" ]; then
  ok "link tuning not checked (not x86_64, or LMCP_DYNAMIC / LMCP_NO_LINK_TUNING set)"
else
  bash scripts/check-link-order.sh target/release/lmcp \
    || fail "the release build's link tuning failed its check (above): regenerate link/ with bash scripts/link-order.sh"
fi

echo "package checks passed"
