#!/usr/bin/env python3
"""search_files against ripgrep on the same tree, in the same run.

Generates a source-like tree (default 120,000 files in 40 crates, each with a
.gitignore'd target/ directory and a hidden directory, both of which must be
skipped), then, for each pattern, alternates `rg` and lmcp's `search_files`
(one `tools/call` over stdio to a running `lmcp --stdio --root TREE`) after a
warm-up of each, and reports the median and best wall time of each and the
ratio. Both search the whole tree: the patterns match fewer lines than
search_files' result cap, and rg's output goes to a pipe (rg stops at the
first match when stdout is /dev/null).

    python3 bench/search_bench.py [--files N] [--runs R] [--lmcp PATH] [--rg PATH] [--tree DIR]

Needs a release build (`cargo build --release --bin lmcp`) and ripgrep
(Debian's `ripgrep` package, or `cargo install ripgrep --root bench/.tools`).
Prints a Markdown table and writes bench/results/search.json."""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from procfs import status_kb

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("alpha beta gamma delta request response buffer handler config parse value index "
         "stream error result option vector string future client server session token").split()
META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "search-bench", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
# (label, search_files arguments, rg arguments)
PATTERNS = [
    ("regex", {"pattern": r"fn\s+zz_[a-z]+_(handler|hook)\b"}, [r"fn\s+zz_[a-z]+_(handler|hook)\b"]),
    ("literal", {"pattern": "NEEDLE_7f3a", "literal": True}, ["-F", "NEEDLE_7f3a"]),
    ("case-insensitive", {"pattern": "todo: unlikely marker", "case_insensitive": True}, ["-i", "todo: unlikely marker"]),
]


def make_tree(base: Path, files: int, seed: int = 7):
    """A deterministic tree of `files` source files; a few contain the needles."""
    stamp = base / ".complete"
    if stamp.exists() and stamp.read_text() == str(files):
        return
    if base.exists():
        shutil.rmtree(base)
    rng = random.Random(seed)
    crates, mods = 40, 30
    per_mod = max(1, files // (crates * mods))
    made = 0
    for c in range(crates):
        crate = base / f"crate{c:02}"
        (crate / "target/debug").mkdir(parents=True)
        (crate / ".gitignore").write_text("target/\n")
        (crate / "target/debug/build.rs").write_text("fn zz_ignored_handler() {} // NEEDLE_7f3a\n" * 50)
        (crate / ".cache").mkdir()
        (crate / ".cache/hidden.rs").write_text("fn zz_hidden_handler() {} // NEEDLE_7f3a\n")
        for m in range(mods):
            d = crate / f"src/mod{m:02}"
            d.mkdir(parents=True)
            for f in range(per_mod):
                lines = []
                for i in range(rng.randint(20, 60)):
                    a, b, k = rng.choice(WORDS), rng.choice(WORDS), rng.randint(0, 999)
                    lines.append(f"    let {a}_{k} = {b}.{rng.choice(WORDS)}({k}); // {a} {b}")
                r = rng.random()
                if r < 0.002:
                    lines.insert(3, f"pub fn zz_{rng.choice(WORDS)}_handler() -> Result<(), Error> {{")
                elif r < 0.003:
                    lines.insert(5, "    // NEEDLE_7f3a: found")
                elif r < 0.0035:
                    lines.insert(7, "    // TODO: Unlikely Marker here")
                (d / f"file{f:03}.rs").write_text("fn body() {\n" + "\n".join(lines) + "\n}\n")
                made += 1
    stamp.write_text(str(files))
    print(f"made {made} files under {base}", file=sys.stderr)


class Lmcp:
    def __init__(self, binary, tree):
        self.p = subprocess.Popen([binary, "--stdio", "--root", str(tree)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        self.next_id = 0

    def search(self, args):
        self.next_id += 1
        req = {"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call",
               "params": {"name": "search_files", "arguments": args, "_meta": META}}
        t0 = time.perf_counter()
        self.p.stdin.write((json.dumps(req) + "\n").encode())
        line = self.p.stdout.readline()
        dt = time.perf_counter() - t0
        res = json.loads(line)["result"]
        assert not res.get("isError"), res
        return dt, len(res["structuredContent"]["matches"]), res["structuredContent"]["truncated"]

    def peak_rss_kb(self):
        return status_kb(self.p.pid, "VmHWM")

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def rg_search(rg, tree, args):
    t0 = time.perf_counter()
    p = subprocess.run([rg, "--no-require-git", "-n", "--no-messages", *args, str(tree)],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    dt = time.perf_counter() - t0
    assert p.returncode in (0, 1), p.returncode
    return dt, len(p.stdout.splitlines())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=120_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--lmcp", default=str(ROOT / "target/release/lmcp"))
    ap.add_argument("--rg", default=shutil.which("rg") or str(ROOT / "bench/.tools/bin/rg"))
    ap.add_argument("--tree", default=str(Path(os.environ.get("TMPDIR", "/tmp")) / "lmcp-search-bench"))
    a = ap.parse_args()
    for tool in (a.lmcp, a.rg):
        if not Path(tool).exists():
            sys.exit(f"{tool} is missing: build with `cargo build --release --bin lmcp` and install ripgrep")
    tree = Path(a.tree)
    make_tree(tree, a.files)
    rg_version = subprocess.run([a.rg, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    server = Lmcp(a.lmcp, tree)
    rows = []
    try:
        for label, largs, rargs in PATTERNS:
            server.search(largs), rg_search(a.rg, tree, rargs)  # warm-up (page cache, threads)
            lm, rg = [], []
            for _ in range(a.runs):
                dt, n_lmcp, truncated = server.search(largs)
                lm.append(dt)
                dt, n_rg = rg_search(a.rg, tree, rargs)
                rg.append(dt)
            assert not truncated and n_lmcp == n_rg, f"{label}: lmcp found {n_lmcp}, rg {n_rg}: not the same work"
            rows.append({"pattern": label, "matches": n_rg,
                         "lmcp_median_s": statistics.median(lm), "lmcp_best_s": min(lm),
                         "rg_median_s": statistics.median(rg), "rg_best_s": min(rg),
                         "ratio_median": statistics.median(lm) / statistics.median(rg)})
        peak = server.peak_rss_kb()
    finally:
        server.close()
    files = sum(1 for _ in tree.rglob("*.rs"))
    out = {"files": files, "rg": rg_version, "runs": a.runs, "lmcp_peak_rss_kb": peak,
           "load": os.getloadavg(), "rows": rows}
    (ROOT / "bench/results").mkdir(exist_ok=True)
    (ROOT / "bench/results/search.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"{files} .rs files (incl. ignored/hidden ones the searches skip); {rg_version}; "
          f"{a.runs} runs each, alternating; lmcp peak RSS {peak} KB; load {os.getloadavg()[0]:.1f}\n")
    print("| pattern | matches | lmcp median | lmcp best | rg median | rg best | lmcp / rg (median) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['pattern']} | {r['matches']} | {r['lmcp_median_s'] * 1000:.0f} ms | {r['lmcp_best_s'] * 1000:.0f} ms "
              f"| {r['rg_median_s'] * 1000:.0f} ms | {r['rg_best_s'] * 1000:.0f} ms | {r['ratio_median']:.2f}× |")


if __name__ == "__main__":
    main()
