#!/usr/bin/env python3
"""Tokenizer encode throughput: gspo (C++) vs Hugging Face `tokenizers`, same text, same run.

For each tokenizer directory (tokenizer.json; default: the test tokenizers gemma3 and qwen3 that
scripts/fetch-test-tokenizers.sh puts under $GSPO_TEST_DATA or ~/.cache/gspo/test-data) it
  1. builds a few MB of mixed text deterministically: the golden strings and rendered chats of
     tests/data/tokenizers/*.json (many scripts, emoji, code, digits, whitespace runs, special
     token text) repeated and shuffled with a fixed seed, joined by newlines, and writes it to
     OUT/tokenizer_bench.txt (UTF-8, byte for byte what both sides encode);
  2. times HF tokenizers on one thread (RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false):
     Tokenizer.encode(text, add_special_tokens=False) on the whole text, and on each line
     (lines split after every "\\n", the newline kept); one warm-up, then the median of --reps;
  3. runs `gspo bench-tokenizer --tokenizer DIR --text-file OUT/tokenizer_bench.txt --reps N`,
     which times the same two modes in C++ (one thread, one warm-up, median of N);
  4. checks parity: `gspo tokenize --text-file` must give exactly HF's ids for the whole text.
Prints a markdown table (MB/s = 10^6 bytes per second, ratio = gspo / HF) and writes
OUT/tokenizer_bench.json.

usage: tokenizer_bench.py [--gspo build/bin/gspo] [--out DIR] [--mb 4] [--reps 5] [--seed 0]
                          [--tokenizer DIR ...]
needs: python3 with `tokenizers` (pip install tokenizers); nothing is downloaded.
"""
import os

# Before `tokenizers` is imported: its thread pool reads these once.
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_data_dir(name):
    """Where tests/fakes/test_data.h looks for the test tokenizers."""
    root = os.environ.get("GSPO_TEST_DATA")
    if not root:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(cache, "gspo", "test-data")
    return os.path.join(root, "tokenizers", name)


def build_text(megabytes, seed):
    """A deterministic mix of the golden strings, at least `megabytes` * 10^6 UTF-8 bytes."""
    pieces = []
    for name in ("gemma3", "qwen3"):
        with open(os.path.join(ROOT, "tests", "data", "tokenizers", name + ".json"), encoding="utf-8") as f:
            golden = json.load(f)
        pieces += [case["text"] for case in golden["encode"] if case["text"]]
        pieces += [case["text"] for case in golden["chat"]]
    rng = random.Random(seed)
    target = int(megabytes * 1e6)
    out, size = [], 0
    while size < target:
        batch = list(pieces)
        rng.shuffle(batch)
        for piece in batch:
            out.append(piece)
            size += len(piece.encode("utf-8")) + 1
            if size >= target:
                break
    return "\n".join(out)


def split_lines(text):
    """Lines ending after each "\\n" (kept), as `gspo bench-tokenizer` splits them."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def time_hf(tok, pieces, reps):
    """Median seconds of encoding every piece once (after one warm-up), and the token count."""
    times, tokens = [], 0
    for r in range(reps + 1):
        start = time.perf_counter()
        tokens = 0
        for piece in pieces:
            tokens += len(tok.encode(piece, add_special_tokens=False).ids)
        elapsed = time.perf_counter() - start
        if r > 0:
            times.append(elapsed)
    return statistics.median(times), tokens


def run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"tokenizer_bench: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gspo", default=os.path.join(ROOT, "build", "bin", "gspo"))
    ap.add_argument("--out", default=None, help="output folder (default: a temporary one)")
    ap.add_argument("--mb", type=float, default=4.0, help="size of the text in 10^6 bytes")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tokenizer", action="append", default=None,
                    help="tokenizer directory (repeatable; default: the gemma3 and qwen3 test files)")
    args = ap.parse_args()
    try:
        import tokenizers
    except ImportError:
        sys.exit("tokenizer_bench: needs the Hugging Face `tokenizers` package (pip install tokenizers)")
    if not os.access(args.gspo, os.X_OK):
        sys.exit(f"tokenizer_bench: no gspo binary at {args.gspo} (build it, or pass --gspo)")
    directories = args.tokenizer or [test_data_dir("gemma3"), test_data_dir("qwen3")]
    for d in directories:
        if not os.path.isfile(os.path.join(d, "tokenizer.json")):
            sys.exit(f"tokenizer_bench: {d}/tokenizer.json is missing "
                     "(scripts/fetch-test-tokenizers.sh fetches the test tokenizers)")
    out = args.out or tempfile.mkdtemp(prefix="tokenizer_bench.")
    os.makedirs(out, exist_ok=True)

    text = build_text(args.mb, args.seed)
    text_path = os.path.join(out, "tokenizer_bench.txt")
    with open(text_path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    size = len(text.encode("utf-8"))
    lines = split_lines(text)
    print(f"text: {text_path}, {size:,} bytes, {len(lines):,} lines; tokenizers {tokenizers.__version__}; "
          f"reps {args.reps}", flush=True)

    results = []
    for d in directories:
        name = os.path.basename(os.path.normpath(d))
        tok = tokenizers.Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        hf = {"whole_text": time_hf(tok, [text], args.reps), "by_line": time_hf(tok, lines, args.reps)}
        ours = json.loads(run([args.gspo, "bench-tokenizer", "--tokenizer", d, "--text-file", text_path,
                               "--reps", str(args.reps)]))
        hf_ids = tok.encode(text, add_special_tokens=False).ids
        our_ids = json.loads(run([args.gspo, "tokenize", "--tokenizer", d, "--text-file", text_path, "--json"]))
        first_diff = next((i for i, (a, b) in enumerate(zip(hf_ids, our_ids)) if a != b),
                          None if len(hf_ids) == len(our_ids) else min(len(hf_ids), len(our_ids)))
        for mode in ("whole_text", "by_line"):
            hf_s, hf_tokens = hf[mode]
            row = {"tokenizer": name, "mode": mode, "bytes": size,
                   "hf_median_s": hf_s, "hf_mb_per_s": size / 1e6 / hf_s, "hf_tokens": hf_tokens,
                   "gspo_median_s": ours[mode]["median_s"], "gspo_mb_per_s": ours[mode]["mb_per_s"],
                   "gspo_tokens": ours[mode]["tokens"], "ids_identical": first_diff is None,
                   "first_difference_at": first_diff, "gspo_load_s": ours["load_s"]}
            row["ratio"] = row["gspo_mb_per_s"] / row["hf_mb_per_s"]
            results.append(row)
            print(f"{name} {mode}: HF {row['hf_mb_per_s']:.2f} MB/s, gspo {row['gspo_mb_per_s']:.2f} MB/s, "
                  f"ratio {row['ratio']:.2f}, ids identical: {row['ids_identical']}", flush=True)

    with open(os.path.join(out, "tokenizer_bench.json"), "w") as f:
        json.dump({"text_bytes": size, "lines": len(lines), "reps": args.reps, "seed": args.seed,
                   "tokenizers_version": tokenizers.__version__, "results": results}, f, indent=2)
    print(f"\n| tokenizer | mode | HF tokenizers MB/s | gspo MB/s | gspo / HF | tokens (HF / gspo) | ids identical |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['tokenizer']} | {r['mode'].replace('_', ' ')} | {r['hf_mb_per_s']:.2f} | "
              f"{r['gspo_mb_per_s']:.2f} | {r['ratio']:.2f}x | {r['hf_tokens']:,} / {r['gspo_tokens']:,} | "
              f"{'yes' if r['ids_identical'] else 'NO (first at %s)' % r['first_difference_at']} |")
    print(f"\n{size:,} bytes of mixed text, one thread, median of {args.reps} after a warm-up; raw: "
          f"{os.path.join(out, 'tokenizer_bench.json')}")


if __name__ == "__main__":
    main()
