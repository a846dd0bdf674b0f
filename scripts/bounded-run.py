#!/usr/bin/env python3
"""Runs one command with a wall-clock limit and a resident-memory limit, and reports how it ended.

usage: bounded-run.py TIMEOUT_S MAX_RSS_MB -- COMMAND [ARG...]

The command runs in its own process group. A watchdog polls the resident set of every process in that
group; past MAX_RSS_MB (or TIMEOUT_S) the whole group is killed. Standard input is /dev/null; standard
output and error pass through. The last line on standard error is a JSON report:
  {"bounded": {"exit": N|null, "signal": N|null, "maxRssKb": N, "seconds": F, "timedOut": B, "memoryKilled": B}}
Used by the hostile-input suite (test/hostile/) so that a case that hangs or balloons fails its test
instead of taking the machine down.
"""
import json
import os
import signal
import sys
import threading
import time


def group_rss_kb(pgid: int) -> int:
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) != pgid:  # field 5 (pgrp), counted after the command name
                continue
            with open(f"/proc/{entry}/status", "r") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (OSError, IndexError, ValueError):
            continue
    return total


def main() -> int:
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    timeout_s = float(sys.argv[1])
    max_kb = int(float(sys.argv[2]) * 1024)
    command = sys.argv[4:]
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        try:
            os.execvp(command[0], command)
        except OSError as error:
            print(f"bounded-run: cannot run {command[0]}: {error}", file=sys.stderr)
            os._exit(127)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    state = {"timedOut": False, "memoryKilled": False, "peakGroupKb": 0}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.02):
            rss = group_rss_kb(pid)
            state["peakGroupKb"] = max(state["peakGroupKb"], rss)
            reason = None
            if rss > max_kb:
                reason = "memoryKilled"
            elif time.monotonic() - started > timeout_s:
                reason = "timedOut"
            if reason:
                state[reason] = True
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(pid, 0)
    done.set()
    watcher.join()
    try:
        os.killpg(pid, signal.SIGKILL)  # anything the command left running in its group
    except OSError:
        pass
    report = {
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "maxRssKb": max(usage.ru_maxrss, state["peakGroupKb"]),
        "seconds": round(time.monotonic() - started, 3),
        "timedOut": state["timedOut"],
        "memoryKilled": state["memoryKilled"],
    }
    sys.stderr.write("\n" + json.dumps({"bounded": report}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
