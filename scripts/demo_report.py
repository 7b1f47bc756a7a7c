#!/usr/bin/env python3
"""Summarises a GSPO run's output directory for scripts/demo.sh and bench/demo_seeds.sh.

    demo_report.py OUTPUT_DIR [--svg FILE] [--quiet]

Reads OUTPUT_DIR/metrics.jsonl (one object per step) and samples.jsonl (one logged
conversation per step), prints the mean reward of the first and last 20 % of the steps, the
first and last logged conversations, and writes a reward / loss curve as a standalone SVG
(drawn here by hand: no plotting package is needed). With --quiet it prints one line,
"first20 <mean> last20 <mean> steps <n>", for scripts.
Exit codes: 0 done, 2 a missing or malformed file.
"""
import json
import sys
import textwrap


def read_jsonl(path):
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        sys.exit(f"{path}:{number}:{e.colno}: {e.msg}")
    except OSError as e:
        print(f"demo_report: {path}: {e.strerror}", file=sys.stderr)
        sys.exit(2)
    return rows


def window_means(values):
    """Means of the first and last 20 % of the values (at least one value each)."""
    k = max(1, round(len(values) * 0.2))
    return sum(values[:k]) / k, sum(values[-k:]) / k, k


def polyline(xs, ys, x0, y0, width, height, lo, hi, colour):
    span = (hi - lo) or 1.0
    n = max(1, len(xs) - 1)
    points = " ".join(
        f"{x0 + width * i / n:.1f},{y0 + height * (1 - (y - lo) / span):.1f}" for i, y in enumerate(ys))
    return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'


def panel(title, steps, values, x0, y0, width, height, colour):
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.1 or 0.05
    lo, hi = lo - pad, hi + pad
    parts = [f'<rect x="{x0}" y="{y0}" width="{width}" height="{height}" fill="none" stroke="#999"/>',
             f'<text x="{x0}" y="{y0 - 8}" font-size="14" font-weight="bold">{title}</text>']
    for frac in (0, 0.5, 1):
        y = y0 + height * (1 - frac)
        parts.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + width}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
                     f'{lo + (hi - lo) * frac:.3f}</text>')
    for i in sorted({0, len(steps) // 2, len(steps) - 1}):
        x = x0 + width * i / max(1, len(steps) - 1)
        parts.append(f'<text x="{x:.1f}" y="{y0 + height + 16}" font-size="11" text-anchor="middle">'
                     f'{steps[i]}</text>')
    parts.append(f'<text x="{x0 + width / 2}" y="{y0 + height + 32}" font-size="11" '
                 f'text-anchor="middle">step</text>')
    parts.append(polyline(steps, values, x0, y0, width, height, lo, hi, colour))
    return parts


def write_svg(path, rows):
    steps = [r["step"] for r in rows]
    width, height = 720, 520
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>']
    parts += panel("mean reward per step", steps, [r["reward_mean"] for r in rows], 70, 40, 620, 170,
                   "#1f77b4")
    parts += panel("GSPO loss per step", steps, [r["loss"] for r in rows], 70, 300, 620, 170, "#d62728")
    parts.append("</svg>\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))


def show_sample(title, sample):
    print(f"--- {title}: step {sample['step']}, scenario {sample['scenario']}, "
          f"reward {sample['reward']:.3f}")
    for m in sample["messages"]:
        if m["role"] == "system":
            continue
        text = textwrap.fill(m["content"], width=92, initial_indent="    ", subsequent_indent="    ")
        print(f"  {m['role']}:\n{text}")


def main(argv):
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    out, svg, quiet = argv[0], None, "--quiet" in argv
    if "--svg" in argv:
        svg = argv[argv.index("--svg") + 1]
    rows = read_jsonl(f"{out}/metrics.jsonl")
    if not rows:
        print(f"demo_report: {out}/metrics.jsonl: no steps", file=sys.stderr)
        return 2
    first, last, k = window_means([r["reward_mean"] for r in rows])
    if quiet:
        print(f"first20 {first:.4f} last20 {last:.4f} steps {len(rows)}")
    else:
        print(f"Mean reward, first {k} of {len(rows)} steps: {first:.3f}")
        print(f"Mean reward, last {k} of {len(rows)} steps:  {last:.3f}  ({last - first:+.3f})")
        samples = read_jsonl(f"{out}/samples.jsonl")
        if samples:
            show_sample("before (first step)", samples[0])
            show_sample("after (last step)", samples[-1])
    if svg:
        write_svg(svg, rows)
        if not quiet:
            print(f"Reward and loss curve: {svg}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
