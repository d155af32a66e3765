#!/usr/bin/env python3
"""Where a request's CPU goes: runs wrk against a started latchkey and
prints every part's CPU time and context switches per request, from /proc.

    cost.py URL SECONDS SCRIPT.lua

latchkey's threads are told apart by name (the hashing pool, tokio's
workers, SQLite's), PostgreSQL's processes by their title (backends and
the rest), the SMTP sink by command, and wrk (a child) by its rusage.
Times are in ms of one core per request."""
import os
import resource
import subprocess
import sys
from collections import Counter

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def switches(task_dir):
    voluntary = involuntary = 0
    for line in read(f"{task_dir}/status").splitlines():
        if line.startswith("voluntary_ctxt_switches"):
            voluntary = int(line.split()[1])
        elif line.startswith("nonvoluntary_ctxt_switches"):
            involuntary = int(line.split()[1])
    return voluntary, involuntary


def group(pid, comm):
    if comm.startswith("postgres"):
        title = read(f"/proc/{pid}/cmdline").replace("\0", " ")
        return "postgres backends" if ("127.0.0.1(" in title or "[local]" in title) else "postgres (other)"
    if comm == "smtp_sink":
        return comm
    return None


def snapshot():
    cpu, cs_vol, cs_invol = Counter(), Counter(), Counter()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        comm = read(f"/proc/{pid}/comm").strip()
        tasks = os.listdir(f"/proc/{pid}/task") if os.path.isdir(f"/proc/{pid}/task") else []
        for tid in tasks:
            task = f"/proc/{pid}/task/{tid}"
            if comm == "latchkey":
                name = read(f"{task}/comm").strip().rstrip("0123456789-")
                key = f"latchkey: {name}"
            else:
                key = group(pid, comm)
            if key is None:
                continue
            # Other processes' CPU is read once for the whole process below,
            # which also counts threads that have exited.
            stat = read(f"{task if comm == 'latchkey' else f'/proc/{pid}'}/stat").rsplit(")", 1)[-1].split()
            if len(stat) < 13:
                continue
            if comm == "latchkey" or tid == pid:
                cpu[key] += int(stat[11]) + int(stat[12])
            voluntary, involuntary = switches(task)
            cs_vol[key] += voluntary
            cs_invol[key] += involuntary
    fields = [int(x) for x in read("/proc/stat").splitlines()[0].split()[1:]]
    cpu["(softirq and irq)"] = fields[5] + fields[6]
    cpu["(idle)"] = fields[3] + fields[4]
    cpu["(all)"] = sum(fields[:8])
    return {"cpu": cpu, "vol": cs_vol, "invol": cs_invol}


def main():
    url, seconds, script = sys.argv[1], sys.argv[2], sys.argv[3]
    before = snapshot()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "10s", "-s", script, url],
        capture_output=True, text=True, check=True,
    ).stdout
    wrk = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = snapshot()
    result = next(line for line in out.splitlines() if line.startswith("RESULT"))
    print(result)
    requests = float(dict(pair.split("=") for pair in result.split()[1:])["requests"])
    print(f"{'per request':28} {'CPU ms':>8} {'voluntary':>10} {'preempted':>10}")
    for key in sorted(after["cpu"]):
        ms = (after["cpu"][key] - before["cpu"].get(key, 0)) * TICK_MS / requests
        vol = (after["vol"].get(key, 0) - before["vol"].get(key, 0)) / requests
        invol = (after["invol"].get(key, 0) - before["invol"].get(key, 0)) / requests
        if ms or vol or invol:
            print(f"{key:28} {ms:8.3f} {vol:10.1f} {invol:10.1f}")
    ms = ((wrk.ru_utime + wrk.ru_stime) - (children.ru_utime + children.ru_stime)) * 1000 / requests
    vol = (wrk.ru_nvcsw - children.ru_nvcsw) / requests
    invol = (wrk.ru_nivcsw - children.ru_nivcsw) / requests
    print(f"{'wrk':28} {ms:8.3f} {vol:10.1f} {invol:10.1f}")


if __name__ == "__main__":
    main()
