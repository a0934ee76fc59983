#!/usr/bin/env python3
"""Near-simultaneous signals and the start-up window, with real processes.

    bench/signals.py [--runs N] [--startup-runs M] [--startup-ms MS] [--binary PATH]

Drives the test fixture `scenarios lingering` (tasks that take LINGER_MS to
stop on cancellation, then exit 0) and prints one line per measurement:

- two SIGINTs at a gap of 0 ms, 1 ms and SIGNAL_WINDOW + 50 ms (100 ms),
  N runs each: how many were taken as one request (the drain completes,
  exit 0) and how many forced the exit (130), with the time from the second
  signal to the exit of the forced ones;
- SIGTERM sent 0 to MS (5) ms after the program was started (M runs, spread
  evenly): how many were handled gracefully (exit 0, the shutdown notice
  on stderr), how many killed the process with the default action, the
  latest send time at which one was not handled, and how many were lost (the
  program neither died nor drained within 10 s: "lost" among "other").

No run may wait for the deadline (2 s in the fixture): a lost signal would
show as exit 124. The binary defaults to the release build of the example,
built first (`cargo build --release --example scenarios`).
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def busy_sleep(seconds):
    """Sleeps `seconds` precisely (time.sleep may oversleep by 50 us+)."""
    end = time.perf_counter() + seconds
    if seconds > 0.002:
        time.sleep(seconds - 0.001)
    while time.perf_counter() < end:
        pass


def two_signals(binary, gap, linger_ms):
    env = dict(os.environ, LINGER_MS=str(linger_ms))
    p = subprocess.Popen([binary, "lingering"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
    line = p.stdout.readline()
    assert line.strip() == b"ready", line
    p.send_signal(signal.SIGINT)
    busy_sleep(gap)
    p.send_signal(signal.SIGINT)
    sent = time.perf_counter()
    p.stdout.read()  # until the program closes it: its exit
    code = p.wait(timeout=30)
    return code, time.perf_counter() - sent


def early_sigterm(binary, delay):
    env = dict(os.environ, LINGER_MS="0")
    p = subprocess.Popen([binary, "lingering"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    busy_sleep(delay)  # Popen returns once the program is exec'd
    p.send_signal(signal.SIGTERM)
    try:
        _, err = p.communicate(timeout=10)  # the fixture's deadline is 2 s
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return "lost", False
    return p.returncode, "SIGTERM received" in err.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--startup-runs", type=int, default=200)
    ap.add_argument("--startup-ms", type=float, default=5.0)
    ap.add_argument("--binary")
    args = ap.parse_args()
    binary = args.binary
    if binary is None:
        subprocess.run(["cargo", "build", "--quiet", "--release", "--example", "scenarios"],
                       cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        binary = os.path.join(target, "release", "examples", "scenarios")

    window = 0.050
    failed = False
    for gap in (0.0, 0.001, window + 0.050):
        # The drain lasts well past the second signal, so that a signal
        # taken as a copy shows as a completed drain (exit 0), not a race.
        linger = 300
        codes, forced_in = {}, []
        for _ in range(args.runs):
            code, took = two_signals(binary, gap, linger)
            codes[code] = codes.get(code, 0) + 1
            if code == 130:
                forced_in.append(took)
        expect = 130 if gap > window else 0
        ok = codes.get(expect, 0) == args.runs
        if expect == 130 and forced_in:
            ok = ok and max(forced_in) < 0.100
        failed |= not ok
        line = f"gap {gap * 1000:5.1f} ms: {args.runs} runs, exit codes {dict(sorted(codes.items()))}"
        if forced_in:
            line += (f"; second signal to exit: median {statistics.median(forced_in) * 1000:.1f} ms,"
                     f" max {max(forced_in) * 1000:.1f} ms")
        print(line + ("" if ok else f"  <-- expected every run to exit {expect}"), flush=True)

    handled, killed, other, latest_killed = 0, 0, {}, None
    for i in range(args.startup_runs):
        delay = args.startup_ms / 1000 * i / max(args.startup_runs - 1, 1)
        code, noticed = early_sigterm(binary, delay)
        if code == 0 and noticed:
            handled += 1
        elif code == -signal.SIGTERM:
            killed += 1
            latest_killed = delay if latest_killed is None else max(latest_killed, delay)
        else:
            other[code] = other.get(code, 0) + 1
    print(f"SIGTERM 0-{args.startup_ms:g} ms after start: {args.startup_runs} runs, {handled} drained (exit 0),"
          f" {killed} killed by the default action, other {other}"
          + (f"; latest unhandled send at {latest_killed * 1000:.3f} ms" if killed else ""))
    failed |= bool(other)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
