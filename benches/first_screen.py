#!/usr/bin/env python3
"""Time to the first full screen of an interactive tool, measured as a user sees it: the
command runs in a detached tmux pane of a fixed size, and the pane is read every few
milliseconds until every marker (a regular expression) is on screen at once.

    first_screen.py [--size 200x50] [--runs 5] [--timeout 120] --marker RE [--marker RE …] -- CMD…

Prints one line per run (seconds), then `median SECONDS` (the last line, for scripts). The
clock starts just before tmux starts the command, so it includes the tool's start-up, the
image read and the first draw; tmux's own start (a few ms) is in it for every tool alike.
Exit status 1 when the markers never all show (the last screen is printed on stderr).
"""
import argparse
import re
import statistics
import subprocess
import sys
import time


def screen(session):
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                          capture_output=True, text=True, check=False).stdout


def one_run(command, markers, size, timeout, run):
    session = f"first-screen-{run}-{time.monotonic_ns()}"
    width, height = size.split("x")
    start = time.monotonic()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", width, "-y", height,
                    "--", *command], check=True)
    try:
        last = ""
        while time.monotonic() - start < timeout:
            last = screen(session)
            if all(m.search(last) for m in markers):
                return time.monotonic() - start
            time.sleep(0.004)
        print(f"markers never all showed; last screen:\n{last}", file=sys.stderr)
        return None
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False,
                       stderr=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="200x50")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--marker", action="append", required=True)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    markers = [re.compile(m) for m in args.marker]
    # A session that outlives every run keeps the tmux server up: when a run's session is the
    # last one, killing it stops the server, and the next run's start could race its exit.
    keeper = f"first-screen-keeper-{time.monotonic_ns()}"
    subprocess.run(["tmux", "new-session", "-d", "-s", keeper, "sleep", "100000"], check=True)
    times = []
    try:
        for run in range(args.runs):
            took = one_run(args.command, markers, args.size, args.timeout, run)
            if took is None:
                sys.exit(1)
            print(f"{took:.3f}")
            times.append(took)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", keeper], check=False,
                       stderr=subprocess.DEVNULL)
    print(f"median {statistics.median(times):.3f}")


main()
