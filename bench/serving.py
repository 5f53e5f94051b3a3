"""Starting a server under test over HTTP, shared by the bench scripts."""
import re
import shlex
import subprocess
import threading


def start_http(cmd):
    """Start `cmd --http 127.0.0.1:0`; return the process and the URL from
    the "listening on" line it prints to stderr (read to its end afterwards
    by a thread, so that logging never fills the pipe)."""
    p = subprocess.Popen(shlex.split(cmd) + ["--http", "127.0.0.1:0"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+/\S*)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
            return p, m.group(1)
    raise RuntimeError(f"{cmd}: no 'listening on' line")
