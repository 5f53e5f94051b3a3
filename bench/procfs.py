"""Reading a process's figures from /proc, shared by the bench scripts."""


def status_kb(pid, field="VmRSS"):
    """A numeric field of /proc/PID/status (VmRSS, VmHWM, RssAnon in KiB;
    Threads as a count), or None when the process or the field is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None
