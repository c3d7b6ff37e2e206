#!/usr/bin/env python3
"""Run a command and report its peak memory: private (anonymous) and total resident.

    peak-memory.py CMD ARGS...   prints "seconds peak_private_kb peak_rss_kb exit_code cpu_seconds"
                                 on stderr's last line; the command's own output is passed through.

Peak RSS comes from the kernel (VmHWM in /proc/PID/status, what GNU time's %M reports); it counts
the database pages SQLite reads through its memory map, which the kernel can drop at any time.
Peak private memory (RssAnon: heap, stacks, SQLite's own page cache) has no high-water mark in
/proc, so it is sampled every 10 ms; a peak shorter than that can be missed.
"""
import os
import subprocess
import sys
import time


def status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("RssAnon", "VmHWM"):
                    out[k] = int(v.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def main():
    start = time.monotonic()
    p = subprocess.Popen(sys.argv[1:])
    anon = hwm = 0
    while True:
        pid, code, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        s = status(p.pid)
        anon = max(anon, s.get("RssAnon", 0))
        hwm = max(hwm, s.get("VmHWM", 0))
        time.sleep(0.01)
    p.returncode = os.waitstatus_to_exitcode(code)
    # the kernel's own high-water mark, and the CPU time of every thread
    hwm = max(hwm, usage.ru_maxrss)
    cpu = usage.ru_utime + usage.ru_stime
    secs = time.monotonic() - start
    print(f"{secs:.2f} {anon} {hwm} {p.returncode} {cpu:.2f}", file=sys.stderr)


if __name__ == "__main__":
    main()
