#!/usr/bin/env python3
"""Sums a LibTorch profiler trace (Chrome trace JSON, from `gspo bench-learner --trace PATH`).

Prints, for the traced window: how long the device was busy (the union of kernel, copy and
memset intervals) against the wall time, the idle gaps, the kernels by total time and by kind
(matrix products, elementwise, reductions, ...), how many host operators and launches there
were, and the top-level host operators (those the code called, not their nested calls) by the
host time they took. Busy well under wall means the host (operator dispatch, syncs) is what to
fix, and the host operator table says where; busy near wall with elementwise and reductions
large means fusion is.

usage: trace_summary.py TRACE.json [--top N] [--json OUT.json]
"""
import argparse
import json
import sys

DEVICE_CATEGORIES = {"kernel", "gpu_memcpy", "gpu_memset"}

# First match wins; names are lower-cased.
KINDS = [
    ("matrix product", ("gemm", "cutlass", "xmma", "cublas", "matmul", "sm90_", "nvjet")),
    ("attention", ("flash", "fmha", "attention", "efficient_attention")),
    ("softmax", ("softmax",)),
    ("reduction", ("reduce", "norm")),
    ("index/gather/scatter", ("index", "gather", "scatter", "nonzero", "masked")),
    ("copy/cast", ("copy", "memcpy", "memset", "cat", "fill")),
    ("elementwise", ("elementwise", "vectorized", "unrolled")),
]


def kind_of(name):
    lowered = name.lower()
    for kind, needles in KINDS:
        if any(n in lowered for n in needles):
            return kind
    return "other"


def union_length(intervals):
    """Total length covered by [start, end) intervals, and the gaps between covered runs."""
    covered, gaps = 0.0, []
    current_start = current_end = None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                covered += current_end - current_start
                gaps.append(start - current_end)
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        covered += current_end - current_start
    return covered, gaps


def top_level(host_ops):
    """The host operators not inside another operator of their thread: what the code called."""
    by_thread = {}
    for e in host_ops:
        by_thread.setdefault((e.get("pid"), e.get("tid")), []).append(e)
    calls = []
    for ops in by_thread.values():
        open_until = None
        # At equal start times the longer (enclosing) operator comes first.
        for e in sorted(ops, key=lambda e: (float(e["ts"]), -float(e["dur"]))):
            start = float(e["ts"])
            if open_until is None or start >= open_until:
                calls.append(e)
                open_until = start + float(e["dur"])
    return calls


def tally(events, key):
    """{key(event): [count, total duration in us]}."""
    totals = {}
    for e in events:
        entry = totals.setdefault(key(e), [0, 0.0])
        entry[0] += 1
        entry[1] += float(e["dur"])
    return totals


def summarize(events, top):
    complete = [e for e in events if e.get("ph") == "X" and "dur" in e and "ts" in e]
    if not complete:
        raise ValueError("the trace has no complete ('X') events")
    device = [e for e in complete if e.get("cat") in DEVICE_CATEGORIES]
    host_ops = [e for e in complete if e.get("cat") == "cpu_op"]
    launches = [e for e in complete if e.get("cat") == "cuda_runtime" and "launch" in e.get("name", "").lower()]
    syncs = [e for e in complete if e.get("cat") == "cuda_runtime" and "synchronize" in e.get("name", "").lower()]
    window_start = min(float(e["ts"]) for e in complete)
    window_end = max(float(e["ts"]) + float(e["dur"]) for e in complete)
    wall_us = window_end - window_start
    busy_us, gaps = union_length([(float(e["ts"]), float(e["ts"]) + float(e["dur"])) for e in device])

    by_name = tally(device, lambda e: e["name"])
    by_kind = tally(device, lambda e: kind_of(e["name"]))
    device_total = sum(v[1] for v in by_name.values()) or 1.0
    calls = top_level(host_ops)
    by_operator = tally(calls, lambda e: e["name"])
    return {
        "wall_ms": wall_us / 1e3,
        "device_busy_ms": busy_us / 1e3,
        "device_busy_fraction": busy_us / wall_us if wall_us > 0 else 0.0,
        "device_events": len(device),
        "host_operators": len(host_ops),
        "launch_calls": len(launches),
        "synchronize_calls": len(syncs),
        "idle_gaps_over_50us": sum(1 for g in gaps if g > 50),
        "idle_ms_in_gaps_over_50us": sum(g for g in gaps if g > 50) / 1e3,
        "by_kind": sorted(
            ({"kind": k, "count": v[0], "ms": v[1] / 1e3, "share": v[1] / device_total} for k, v in by_kind.items()),
            key=lambda r: -r["ms"]),
        "top_kernels": sorted(
            ({"name": n, "count": v[0], "ms": v[1] / 1e3, "share": v[1] / device_total} for n, v in by_name.items()),
            key=lambda r: -r["ms"])[:top],
        "top_level_host_operators": len(calls),
        "host_ms_in_top_level_operators": sum(float(e["dur"]) for e in calls) / 1e3,
        "top_host_operators": sorted(
            ({"name": n, "count": v[0], "ms": v[1] / 1e3, "us_each": v[1] / v[0]} for n, v in by_operator.items()),
            key=lambda r: -r["ms"])[:top],
    }


def name_cell(name):
    """A kernel or operator name as a table cell: at most 90 characters, no column bars."""
    short = name if len(name) <= 90 else name[:87] + "..."
    return f"`{short.replace('|', '/')}`"


def markdown(s):
    lines = [
        f"wall {s['wall_ms']:.1f} ms; device busy {s['device_busy_ms']:.1f} ms "
        f"({100 * s['device_busy_fraction']:.1f} %); {s['device_events']} device events, "
        f"{s['host_operators']} host operators, {s['launch_calls']} launch calls, "
        f"{s['synchronize_calls']} synchronize calls; {s['idle_gaps_over_50us']} idle gaps over 50 us "
        f"({s['idle_ms_in_gaps_over_50us']:.1f} ms)",
        "",
        "| kind | count | ms | share |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['kind']} | {r['count']} | {r['ms']:.2f} | {100 * r['share']:.1f} % |" for r in s["by_kind"]]
    lines += ["", "| kernel | count | ms | share |", "|---|---|---|---|"]
    for r in s["top_kernels"]:
        lines.append(f"| {name_cell(r['name'])} | {r['count']} | {r['ms']:.2f} | {100 * r['share']:.1f} % |")
    lines += ["", f"{s['top_level_host_operators']} top-level host operators took "
              f"{s['host_ms_in_top_level_operators']:.1f} ms of host time (threads summed)", "",
              "| host operator (top level) | count | ms | us each |", "|---|---|---|---|"]
    for r in s["top_host_operators"]:
        lines.append(f"| {name_cell(r['name'])} | {r['count']} | {r['ms']:.2f} | {r['us_each']:.1f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    try:
        with open(args.trace) as f:
            trace = json.load(f)
        events = trace["traceEvents"] if isinstance(trace, dict) else trace
        summary = summarize(events, args.top)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"trace_summary.py: {args.trace}: {e}", file=sys.stderr)
        return 2
    print(markdown(summary))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
