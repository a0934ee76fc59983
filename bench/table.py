#!/usr/bin/env python3
"""Prints the BENCHMARKS.md tables from one run of bench/run: criterion's
medians, the paired rounds (paired-*.json), the heap per idle task
(memory.json), the scale runs (scale.json) and the HTTP rows driven by wrk
(wrk.json), each contender's ratio to the floors measured in the same run,
and a verdict for every target of issue #17."""
import glob
import json
import os
import platform
import subprocess
import sys

TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "target")
ROOT = os.path.join(TARGET, "criterion")
FLOOR, SHARED = "by_hand", "by_hand_shared"
CONTENDERS = [FLOOR, SHARED, "graceful_spawn", "graceful_task_macro",
              "tokio_graceful_shutdown", "tokio_graceful", "async_shutdown"]
OURS = ["graceful_spawn", "graceful_task_macro", "graceful"]
PEERS = ["tokio_graceful_shutdown", "tokio_graceful", "async_shutdown"]
# (title, group, parameter, divisor to get the unit, unit, scale)
ROWS = [
    ("spawn + join, per task", "spawn_join", "1000", 1000, "ns", 1e0),
    ("cancel + join 10 000 idle tasks", "cancel_join", "10000", 1, "ms", 1e6),
    ("cancel + join 100 000 idle tasks", "cancel_join", "100000", 1, "ms", 1e6),
    ("drain 4-level tree, 27 000 tasks", "nested_drain", "27000", 1, "ms", 1e6),
    ("SIGTERM to exit, 10 000 idle tasks", "signal_exit", "10000", 1, "ms", 1e6),
]
verdicts = []


def load(name):
    path = os.path.join(ROOT, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


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


def verdict(what, ok, detail):
    verdicts.append(f"| {what} | {detail} | {'**met**' if ok else '**not met**'} |")


def criterion_table():
    print("Criterion, one contender after the other (ratio to `by_hand_shared`):")
    print()
    print("| measurement | " + " | ".join(f"`{c}`" for c in CONTENDERS) + " |")
    print("|---" * (len(CONTENDERS) + 1) + "|")
    for title, group, param, div, unit, scale in ROWS:
        vals = {}
        for c in CONTENDERS:
            v = median(group, c, param)
            if v is None and c == "graceful_spawn":  # rows measured once for graceful
                v = median(group, "graceful", param)
            vals[c] = None if v is None else v / div / scale
        print(f"| {title} | " + " | ".join(cell(vals, c, unit) for c in CONTENDERS) + " |")
    mem = load("memory.json")
    if mem:
        vals = {c: mem.get(c) for c in CONTENDERS}
        print("| heap per idle task (10 000) | " + " | ".join(cell(vals, c, "B") for c in CONTENDERS) + " |")
        for c in ["graceful_spawn", "graceful_task_macro"]:
            if c not in mem:
                continue
            cheaper = [p for p in PEERS if p in mem and mem[p] < mem[c]]
            verdict(f"heap per idle task, `{c}`: no peer smaller",
                    not cheaper,
                    f"{mem[c]:,.1f} B; peers {', '.join(f'{p} {mem[p]:,.1f} B' for p in PEERS if p in mem)}; "
                    f"floors {mem.get(FLOOR, 0):,.1f} / {mem.get(SHARED, 0):,.1f} B")
    print()


def cell(vals, c, unit):
    v, floor = vals.get(c), vals.get(SHARED)
    if v is None:
        return "n/a"
    if c == SHARED or not floor:
        return fmt(v, unit)
    return f"{fmt(v, unit)} ({v / floor:.2f}x)"


def paired_tables():
    records = []
    for path in sorted(glob.glob(os.path.join(ROOT, "paired-*.json"))):
        with open(path) as f:
            records += json.load(f)
    if not records:
        return
    print("Paired rounds, contenders alternated in every round (median over the rounds; "
          "ratio of medians to each floor, quartiles of the per-round ratios to `by_hand_shared`):")
    print()
    print("| measurement | contender | median | to `by_hand` | to `by_hand_shared` | quartiles | rounds |")
    print("|---|---|---|---|---|---|---|")
    rows = {}
    for r in records:
        rows.setdefault(r["row"], []).append(r)
        per_task = "per task" in r["row"]
        m = r["median"] * (1e9 if per_task else 1e3)
        unit = "ns" if per_task else "ms"
        to = [r.get(f, {}).get("ratio") for f in (FLOOR, SHARED)]
        q = r.get(SHARED, {})
        print(f"| {r['row']} | `{r['contender']}` | {fmt(m, unit)} | "
              + " | ".join("n/a" if x is None else f"{x:.2f}x" for x in to)
              + (f" | {q['q1']:.2f}x .. {q['q3']:.2f}x" if q else " | n/a")
              + f" | {r['rounds']} |")
    print()
    for row, rs in rows.items():
        by = {r["contender"]: r for r in rs}
        ours = [c for c in OURS if c in by]
        if row.startswith("failure policy"):
            continue
        for c in ours:
            shared = by[c].get(SHARED, {}).get("ratio")
            floor = by[c].get(FLOOR, {}).get("ratio")
            if row.startswith("spawn + join") or row.startswith("cancel + join"):
                verdict(f"{row}, `{c}`: at most 1.1x `by_hand_shared`", shared <= 1.1,
                        f"{shared:.2f}x (`by_hand`: {floor:.2f}x)")
            else:
                verdict(f"{row}, `{c}`: within 1.1x the floor", floor <= 1.1 and shared <= 1.1,
                        f"{floor:.2f}x `by_hand`, {shared:.2f}x `by_hand_shared`")
            if row.startswith("spawn + join"):
                peers = [p for p in PEERS if p in by]
                cheaper = [p for p in peers if by[p]["median"] < by[c]["median"]]
                verdict(f"{row}, `{c}`: no peer cheaper", not cheaper,
                        ", ".join(f"{p} {by[p]['median'] / by[c]['median']:.2f}x ours" for p in peers))


def scale_table():
    recs = load("scale.json")
    if not recs:
        return
    print("Scale, each run in a fresh process (cancel + join and heap per task; peak RSS of the process):")
    print()
    print("| contender | tasks | cancel + join per task | heap per task | peak RSS |")
    print("|---|---|---|---|---|")
    by = {}
    for r in recs:
        by[(r["contender"], r["tasks"])] = r
        print(f"| `{r['contender']}` | {r['tasks']:,} | {r['ns_per_task']:,.0f} ns | "
              f"{r['heap_per_task']:,.1f} B | {r['peak_rss_kib'] / 1024:,.1f} MiB |")
    print()
    sizes = sorted({r["tasks"] for r in recs})
    small, big = sizes[0], sizes[-1]
    for c in sorted({r["contender"] for r in recs}):
        a, b = by.get((c, small)), by.get((c, big))
        if not a or not b:
            continue
        t, h = b["ns_per_task"] / a["ns_per_task"], b["heap_per_task"] / a["heap_per_task"]
        line = f"{big:,} / {small:,} per task: time {t:.2f}x, heap {h:.2f}x"
        if c in OURS:
            verdict(f"scale, `{c}`: cost per task at {big:,} within 1.2x of {small:,}", t <= 1.2 and h <= 1.2, line)
        else:
            print(f"- `{c}`: {line}")
    print()


def wrk_table():
    recs = load("wrk.json")
    if not recs:
        return
    print("HTTP from outside the process (`wrk`, separate server processes; ratios are graceful's, "
          "above 1 is better for graceful in both):")
    print()
    print("| server | requests/s | p99 latency | CPU per request | graceful's throughput to it | its p99 to graceful's | graceful's requests per CPU second to its | rounds |")
    print("|---|---|---|---|---|---|---|---|")
    for r in recs:
        if r["row"] != "wrk":
            continue
        print(f"| `{r['server']}` | {r['rps']:,.0f} | {r['p99_us']:,.0f} µs | {r['cpu_us']:.2f} µs | {r['rps_ratio']:.3f}x "
              f"({r['rps_q1']:.3f}x .. {r['rps_q3']:.3f}x) | {r['p99_ratio']:.3f}x "
              f"({r['p99_q1']:.3f}x .. {r['p99_q3']:.3f}x) | {r['cpu_ratio']:.3f}x "
              f"({r['cpu_q1']:.3f}x .. {r['cpu_q3']:.3f}x) | {r['rounds']} |")
        if r["server"].startswith("axum"):
            verdict(f"HTTP (wrk) against `{r['server']}`: at least 0.98x on throughput and p99",
                    r["rps_ratio"] >= 0.98 and r["p99_ratio"] >= 0.98,
                    f"throughput {r['rps_ratio']:.3f}x, p99 {r['p99_ratio']:.3f}x")
    print()
    print("| server | SIGTERM to exit, idle keep-alive connections open | connections | idle before SIGTERM | rounds |")
    print("|---|---|---|---|---|")
    for r in recs:
        if r["row"] != "keep-alive drain":
            continue
        print(f"| `{r['server']}` | {r['ms']:,.1f} ms | {r['idle']:,} | {r.get('idle_s', 0)} s | {r['rounds']} |")
        if r["server"] == "graceful":
            verdict(f"keep-alive drain, `{r['server']}`: under 100 ms", r["ms"] < 100, f"{r['ms']:,.1f} ms")
    print()


def main():
    criterion_table()
    paired_tables()
    scale_table()
    wrk_table()
    print("| target | figure | verdict |")
    print("|---|---|---|")
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
    load_avg = os.getloadavg()
    print(f"Machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}; {rustc}; "
          f"load average at the end {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}.")


if __name__ == "__main__":
    sys.exit(main())
