#!/usr/bin/env python3
"""Prints the BENCHMARKS.md table from criterion's estimates (medians) and
benches/memory.rs's output, with each contender's ratio to the hand-written
floor measured in the same run, and whether the targets are met."""
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "target", "criterion")
CONTENDERS = ["by_hand", "graceful_spawn", "graceful_task_macro",
              "tokio_graceful_shutdown", "tokio_graceful", "async_shutdown"]
# (title, group, parameter, divisor to get the unit, unit, target ratio for ours)
ROWS = [
    ("spawn + join, per task", "spawn_join", "1000", 1000, "ns", 1.3, 1e0),
    ("cancel + join 10 000 idle tasks", "cancel_join", "10000", 1, "ms", 1.2, 1e6),
    ("cancel + join 100 000 idle tasks", "cancel_join", "100000", 1, "ms", 1.2, 1e6),
    ("drain 4-level tree, 27 000 tasks", "nested_drain", "27000", 1, "ms", None, 1e6),
    ("SIGTERM to exit, 10 000 idle tasks", "signal_exit", "10000", 1, "ms", None, 1e6),
]
ALIASES = {"graceful": ["graceful_spawn", "graceful_task_macro"]}
OURS = ["graceful_spawn", "graceful_task_macro"]


def median(group, name, param):
    path = os.path.join(ROOT, group, name, param, "new", "estimates.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]


def fmt(v, unit):
    if v is None:
        return "n/a"
    return f"{v:,.0f} {unit}" if v >= 100 else f"{v:,.2f} {unit}"


def main():
    lines = []
    header = "| measurement | " + " | ".join(f"`{c}`" for c in CONTENDERS) + " |"
    lines += [header, "|---" * (len(CONTENDERS) + 1) + "|"]
    verdicts = []
    for title, group, param, div, unit, target, scale in ROWS:
        vals = {}
        for c in CONTENDERS:
            v = median(group, c, param)
            if v is None and c == "graceful_spawn":  # rows measured once for graceful
                v = median(group, "graceful", param)
            vals[c] = None if v is None else v / div / scale
        floor = vals["by_hand"]
        cells = []
        for c in CONTENDERS:
            v = vals[c]
            if v is None:
                cells.append("n/a")
            elif c == "by_hand" or not floor:
                cells.append(fmt(v, unit))
            else:
                cells.append(f"{fmt(v, unit)} ({v / floor:.2f}x)")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
        tgs = vals["tokio_graceful_shutdown"]
        for c in OURS:
            v = vals[c]
            if v is None or not floor:
                continue
            if target is not None:
                ok = v / floor <= target
                verdicts.append(f"- {title}, `{c}`: {v / floor:.2f}x the floor, target {target}x: {'met' if ok else 'MISSED'}")
            if tgs is not None:
                ok = v < tgs
                verdicts.append(f"- {title}, `{c}`: {'faster' if ok else 'NOT faster'} than tokio-graceful-shutdown ({tgs / v:.1f}x)")
    mem_path = os.path.join(ROOT, "memory.json")
    if os.path.exists(mem_path):
        with open(mem_path) as f:
            mem = json.load(f)
        floor = mem.get("by_hand")
        cells = []
        for c in CONTENDERS:
            v = mem.get(c)
            if v is None:
                cells.append("n/a")
            elif c == "by_hand":
                cells.append(f"{v:,.0f} B")
            else:
                cells.append(f"{v:,.0f} B ({v / floor:.2f}x)")
        lines.append("| heap per idle task | " + " | ".join(cells) + " |")
        for c in OURS:
            if c in mem:
                r = mem[c] / floor
                verdicts.append(f"- heap per idle task, `{c}`: {r:.2f}x the floor, target 1.5x: {'met' if r <= 1.5 else 'MISSED'}")
                tgs = mem.get("tokio_graceful_shutdown")
                if tgs:
                    verdicts.append(f"- heap per idle task, `{c}`: {'smaller' if mem[c] < tgs else 'NOT smaller'} than tokio-graceful-shutdown ({tgs / mem[c]:.1f}x)")
    paired_path = os.path.join(ROOT, "paired.json")
    paired = []
    if os.path.exists(paired_path):
        with open(paired_path) as f:
            for p in json.load(f):
                r = p["ratio"]
                paired.append(
                    f"| cancel + join {p['tasks']:,} idle tasks | `{p['contender']}` | {r:.2f}x "
                    f"| {p['q1']:.2f}x .. {p['q3']:.2f}x | {p['rounds']} |"
                )
                verdicts.append(
                    f"- cancel + join {p['tasks']:,} idle tasks, `{p['contender']}`, paired: "
                    f"{r:.2f}x the floor, target 1.2x: {'met' if r <= 1.2 else 'MISSED'}"
                )
    print("\n".join(lines))
    if paired:
        print()
        print("Paired, contenders alternated in each round (median time over the rounds, to `by_hand`'s):")
        print()
        print("| measurement | contender | ratio of medians | quartiles of the per-round ratios | rounds |")
        print("|---|---|---|---|---|")
        print("\n".join(paired))
    print()
    print("\n".join(verdicts))
    print()
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"Machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}; {rustc}.")


if __name__ == "__main__":
    sys.exit(main())
