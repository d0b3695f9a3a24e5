#!/usr/bin/env python3
"""Time to the first full screen of an interactive tool, measured as a user sees it: the
command runs in a detached tmux pane of a fixed size, and the pane is read every few
milliseconds until every marker (a regular expression) is on screen at once.

    first_screen.py [--size 200x50] [--runs 5] [--timeout 120] --marker RE [--marker RE …] -- CMD…

Prints one line per run (seconds), then `median SECONDS` (the last line, for scripts). The
clock starts just before tmux starts the command, so it includes the tool's start-up, the
image read and the first draw; tmux's own start (a few ms) is in it for every tool alike.

With `--settle S`, each run then waits S seconds more (work the tool does after its first
screen, such as the owner packages) and reads the tool's peak RSS (`VmHWM` of the pane's
process); `median_peak_rss_mib MIB` comes before the last line.
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


def peak_rss_mib(session):
    """The peak resident set of the process in the session's pane, in MiB."""
    pid = subprocess.run(["tmux", "display-message", "-p", "-t", session, "#{pane_pid}"],
                         capture_output=True, text=True, check=True).stdout.strip()
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def one_run(command, markers, size, timeout, run, settle):
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
                took = time.monotonic() - start
                if settle is None:
                    return took, None
                time.sleep(settle)
                return took, peak_rss_mib(session)
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
    parser.add_argument("--settle", type=float, default=None)
    parser.add_argument("--marker", action="append", required=True)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    markers = [re.compile(m) for m in args.marker]
    # A session that outlives every run keeps the tmux server up: when a run's session is the
    # last one, killing it stops the server, and the next run's start could race its exit.
    keeper = f"first-screen-keeper-{time.monotonic_ns()}"
    subprocess.run(["tmux", "new-session", "-d", "-s", keeper, "sleep", "100000"], check=True)
    times, peaks = [], []
    try:
        for run in range(args.runs):
            found = one_run(args.command, markers, args.size, args.timeout, run, args.settle)
            if found is None:
                sys.exit(1)
            took, peak = found
            print(f"{took:.3f}" + ("" if peak is None else f" peak RSS {peak:.1f} MiB"))
            times.append(took)
            if peak is not None:
                peaks.append(peak)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", keeper], check=False,
                       stderr=subprocess.DEVNULL)
    if peaks:
        print(f"median_peak_rss_mib {statistics.median(peaks):.1f}")
    print(f"median {statistics.median(times):.3f}")


main()
