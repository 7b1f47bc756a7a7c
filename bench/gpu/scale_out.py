#!/usr/bin/env python3
"""Scale-out of colocated data-parallel GSPO (NCCL) on 1, 2, 4 and 8 GPUs of one host.

Whole GSPO steps of `gspo train` (bench/gpu/dist_bench.py's job and byte-level vocabulary) on
random bf16 models of the gemma-2-9b and gemma-2-27b shapes, LoRA r64 on all 7 modules,
gradient checkpointing, 8 prompts x 8 samples per GPU (each GPU keeps its batch: data
parallelism's scaling), up to 256 new tokens, micro-batch 8; the first step is a warm-up.
  9b:  1, 2, 4, 8 GPUs (as many as the host has): tokens/s and the efficiency
       tokens/s(N) / (N x tokens/s(1)).
  27b: 8 ranks: seconds per step and each phase's peak memory per GPU.
Writes OUT/h200-scale-out.json and .md.

usage: scale_out.py --gspo build-gpu/bin/gspo --out DIR [--shapes 9b,27b] [--steps N] [--dry-run]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dist_bench  # noqa: E402
import gspo_vs_hf  # noqa: E402

BYTE_VOCAB = dict(vocab_size=259, bos_token_id=None, eos_token_id=258, pad_token_id=256, torch_dtype="bfloat16")
SHAPES = {"9b": dict(gspo_vs_hf.GEMMA2_9B, **BYTE_VOCAB), "27b": dict(gspo_vs_hf.GEMMA2_27B, **BYTE_VOCAB)}
JOB = {"lora.lora_r": "64", "lora.lora_alpha": "128",
       "lora.lora_target_modules": "[" + gspo_vs_hf.ALL_MODULES + "]",
       "model.gradient_checkpointing": "true"}


def gpu_count():
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def peaks(run):
    timed = run["rows"][1:] or run["rows"]
    return {key: max(r.get(key, 0) for r in timed) for key in ("memory_rollout_peak_gib", "memory_learn_peak_gib")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gspo", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--shapes", default="9b,27b")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--dry-run", action="store_true", help="print the runs without starting them")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    gpus = gpu_count()
    counts = [n for n in (1, 2, 4, 8) if n <= gpus]
    plan = []
    if "9b" in a.shapes.split(","):
        plan += [("9b", n) for n in counts]
    if "27b" in a.shapes.split(",") and gpus >= 8:
        plan.append(("27b", 8))
    print(f"{gpus} GPUs; runs: {plan}", flush=True)
    if a.dry_run or not plan:
        return
    results = {}
    with tempfile.TemporaryDirectory() as work:
        models = {}
        for shape, n in plan:
            if shape not in models:
                models[shape] = dist_bench.make_model(a.gspo, work, SHAPES[shape], f"gemma2-{shape}-shape")
            devices = ",".join(str(i) for i in range(n))
            run = dist_bench.train(a.gspo, models[shape], os.path.join(work, f"{shape}-{n}"), devices, a.steps,
                                   8 * n, JOB)
            run.update(peaks(run))
            results[f"{shape}_{n}"] = run
    base = results.get("9b_1")
    lines = ["| shape | GPUs | prompts per step | tokens/s (median) | seconds/step | efficiency | rollout peak GiB | learn peak GiB |",
             "|---|---|---|---|---|---|---|---|"]
    for key, r in results.items():
        shape = key.split("_")[0]
        eff = (f"{r['tokens_per_s_median'] / (r['gpus'] * base['tokens_per_s_median']):.1%}"
               if base and shape == "9b" else "")
        lines.append(f"| {shape} | {r['gpus']} | {r['prompts_per_step']} | {r['tokens_per_s_median']:.0f} | "
                     f"{r['seconds_step_median']:.2f} | {eff} | {r['memory_rollout_peak_gib']:.1f} | "
                     f"{r['memory_learn_peak_gib']:.1f} |")
    with open(os.path.join(a.out, "h200-scale-out.json"), "w") as f:
        json.dump({"setting": dict(job=JOB, samples=8, prompts_per_gpu=8, new_tokens_max=256, micro_batch=8),
                   "runs": results}, f, indent=1)
    table = "\n".join(lines)
    with open(os.path.join(a.out, "h200-scale-out.md"), "w") as f:
        f.write(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
