#!/usr/bin/env python3
"""The guide's own jobs through `gspo train`, as a user runs them: training speed per preset.

For each size, examples/jobs/gemma2-<size>-it-customer-service.yaml (preset auto: 2b bf16 LoRA r16
q/k/v/o, G 4; 9b 4-bit NF4, LoRA r64 on all 7 modules, checkpointing, G 6, micro-batch 1 x 8)
unchanged but for the model, the number of steps (and so warmup_steps: 1; the learning rate does
not change the speed) and the output directory. The model is a random
bf16 checkpoint of the Gemma 2 shape (`gspo init-model`) with the Gemma 3 tokenizer files the
tokenizer tests use (its vocabulary, 262,208 rows). Random weights seldom sample an end of turn,
so every answer runs to max_completion_length (1,024) and the next prompt would pass
max_prompt_length: one turn per conversation, the longest completions the job allows.
The first step (CUDA graph capture, allocator warm-up) is not counted. Reports, per size, the
median of the later steps: tokens/s as the job's progress line shows it ((generated + trained)
tokens / step seconds), generated tokens/s, and each phase's seconds and peak memory; plus the
whole job's wall time (loading, quantization, exports included).
Writes OUT/preset-jobs.json and one JSON line per size on stdout.

usage: preset_jobs.py --gspo build-gpu/bin/gspo --out DIR [--sizes 2b,9b] [--steps N]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dist_bench  # noqa: E402
import gspo_vs_hf  # noqa: E402

GEMMA3_VOCAB = dict(vocab_size=262208, bos_token_id=2, eos_token_id=[1, 106], pad_token_id=0)
SHAPES = {"2b": dict(gspo_vs_hf.GEMMA2_2B, **GEMMA3_VOCAB), "9b": dict(gspo_vs_hf.GEMMA2_9B, **GEMMA3_VOCAB)}
WORK = "/tmp/gspo-preset-jobs"  # the checkpoints are large: outside OUT, removed after each size


def run_job(gspo, size, model, run, steps):
    job = os.path.join(dist_bench.ROOT, "examples", "jobs", f"gemma2-{size}-it-customer-service.yaml")
    cmd = [gspo, "train", job, "--no-progress", "--set", f"model.name_or_path={model}",
           "--set", f"training.num_outer_iterations={steps}", "--set", "training.warmup_steps=1",
           "--set", f"output.output_dir={run}"]
    print("+", " ".join(cmd), flush=True)
    start = time.monotonic()
    subprocess.run(cmd, check=True)
    wall = time.monotonic() - start
    with open(os.path.join(run, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    timed = rows[1:] or rows

    def median(key):
        return statistics.median(r[key] for r in timed)

    return {
        "size": size, "job": os.path.relpath(job, dist_bench.ROOT), "steps": len(rows), "steps_timed": len(timed),
        "tokens_per_s_median": median("tokens_per_second"),
        "generated_tokens_per_s_median": statistics.median(r["tokens_generated"] / r["seconds_step"] for r in timed),
        "tokens_generated_median": median("tokens_generated"), "tokens_trained_median": median("tokens_trained"),
        "seconds_step_median": median("seconds_step"), "seconds_rollout_median": median("seconds_rollout"),
        "seconds_learn_median": median("seconds_learn"),
        "turns_mean": median("turns_mean"),
        "memory_rollout_peak_gib": max(r["memory_rollout_peak_gib"] for r in timed),
        "memory_learn_peak_gib": max(r["memory_learn_peak_gib"] for r in timed),
        "memory_weights_gib": timed[-1]["memory_weights_gib"],
        "job_wall_seconds": wall,
        "exports": sorted(os.listdir(os.path.join(run, "final"))) if os.path.isdir(os.path.join(run, "final")) else [],
        "rows": rows,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gspo", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sizes", default="2b,9b")
    ap.add_argument("--steps", type=int, default=4)
    a = ap.parse_args()
    tokenizer = os.path.join(os.environ.get("GSPO_TEST_DATA", "/tmp/gspo-test-data"), "tokenizers", "gemma3")
    if not os.path.exists(os.path.join(tokenizer, "tokenizer.json")):
        sys.exit(f"preset_jobs: no Gemma 3 tokenizer at {tokenizer} (scripts/gpu-build.sh unpacks it)")
    os.makedirs(a.out, exist_ok=True)
    results = []
    for size in a.sizes.split(","):
        shutil.rmtree(WORK, ignore_errors=True)
        os.makedirs(WORK)
        model = dist_bench.make_model(a.gspo, WORK, SHAPES[size], f"gemma2-{size}-shape", tokenizer)
        result = run_job(a.gspo, size, model, os.path.join(WORK, "run"), a.steps)
        shutil.copy(os.path.join(WORK, "run", "samples.jsonl"), os.path.join(a.out, f"preset-{size}-samples.jsonl"))
        shutil.rmtree(WORK, ignore_errors=True)
        results.append(result)
        print(json.dumps({k: v for k, v in result.items() if k != "rows"}), flush=True)
        with open(os.path.join(a.out, "preset-jobs.json"), "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
