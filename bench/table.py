"""Render a bench/results/*.jsonl file as a Markdown table with ratios to lmcp."""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1])]
lmcp = next(r for r in rows if r["name"] == "lmcp")
cols = [
    ("idle RSS (KB)", "idle_rss_kb"),
    ("peak RSS (KB)", "peak_rss_kb"),
    ("start-up (ms)", "startup_ms"),
    ("echo p50 (µs)", "echo_p50_us"),
    ("echo p99 (µs)", "echo_p99_us"),
    ("pipelined (calls/s)", "pipelined_calls_per_s"),
    ("echo during 3 s sleep (ms)", "echo_during_sleep_ms"),
    ("3 × sleep 3 s wall (s)", "three_parallel_sleep3_s"),
]
print("| server | " + " | ".join(c for c, _ in cols) + " |")
print("|---" * (len(cols) + 1) + "|")
for r in rows:
    cells = []
    for _, k in cols:
        v = r.get(k)
        ratio = ""
        if r is not lmcp and isinstance(v, (int, float)) and lmcp.get(k):
            ratio = f" ({v / lmcp[k]:.2g}×)"
        cells.append(f"{v}{ratio}")
    print(f"| {r['name']} | " + " | ".join(cells) + " |")
