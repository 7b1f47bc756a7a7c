#!/usr/bin/env python3
"""One GPU against two (colocated data parallel, NCCL) on whole GSPO steps of `gspo train`.

Model: the gemma-2-2b shape with random bf16 weights (`gspo init-model`), but the byte-level
vocabulary of examples/models/tiny-chat (259 tokens) so that the job's environment can read what
the policy samples; LoRA r16 q/k/v/o. Step: 8 prompts x 8 samples per GPU, up to 256 new tokens,
one turn, micro-batch 8. Runs: one GPU (CUDA_VISIBLE_DEVICES=0); two GPUs (=0,1: two ranks, one
per GPU, the default of `gspo train`) on twice the prompts per step (data parallelism's scaling:
each GPU keeps its batch); two GPUs on the same 8 prompts (each rank half the batch); two GPUs
disaggregated (GPU 0 generates, GPU 1 learns, overlapped) on the same 8 prompts. The first
step is a warm-up and not counted.
Writes OUT/h200-x2-dist.json and OUT/h200-x2-dist.md (tokens/s = generated + trained tokens of
the whole job per second, from metrics.jsonl).

usage: dist_bench.py --gspo build-gpu/bin/gspo --out DIR [--steps N]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import model_bench  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
TOKENIZER = os.path.join(ROOT, "examples", "models", "tiny-chat")
CONFIG = dict(model_bench.GEMMA2_2B, torch_dtype="bfloat16", vocab_size=259, bos_token_id=None,
              eos_token_id=258, pad_token_id=256)


def make_model(gspo, work, shape=None, name="gemma2-2b-shape", tokenizer=TOKENIZER):
    """A random bf16 model of `shape` (default the 2b one) with the tokenizer files of the
    directory `tokenizer` (default the byte-level one)."""
    model = os.path.join(work, name)
    config = os.path.join(work, name + ".json")
    with open(config, "w") as f:
        json.dump(shape or CONFIG, f)
    cmd = [gspo, "init-model", "--config", config, "--out", model, "--dtype", "bfloat16", "--seed", "1"]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        if os.path.exists(os.path.join(tokenizer, name)):
            shutil.copy(os.path.join(tokenizer, name), model)
    return model


def train(gspo, model, out, gpus, steps, prompts, extra=None):
    sets = {"model.name_or_path": model, "model.torch_dtype": "bfloat16", "output.output_dir": out,
            "lora.lora_r": "16", "lora.lora_alpha": "32",
            "lora.lora_target_modules": "[q_proj,k_proj,v_proj,o_proj]",
            "training.num_outer_iterations": str(steps), "training.prompts_per_step": str(prompts),
            "training.per_device_train_batch_size": "8", "gspo.num_generations": "8",
            "gspo.minibatches": "2", "generation.max_completion_length": "256",
            "generation.temperature": "0.7", "generation.top_p": "0.9", "environment.max_turns": "1",
            "output.save_steps": "1000", "output.export": "[]"}
    sets.update(extra or {})
    cmd = [gspo, "train", os.path.join(ROOT, "examples", "jobs", "tiny-cpu.yaml"), "--no-progress"]
    for key, value in sets.items():
        cmd += ["--set", f"{key}={value}"]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES=gpus, NCCL_NVLS_ENABLE="0")
    print(f"+ CUDA_VISIBLE_DEVICES={gpus}", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env=env)
    with open(os.path.join(out, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    timed = rows[1:] or rows
    return {"gpus": len(gpus.split(",")), "prompts_per_step": prompts, "mode": (extra or {}).get("resources.mode", "colocated"),
            "steps_timed": len(timed),
            "tokens_per_s_median": statistics.median(r["tokens_per_second"] for r in timed),
            "seconds_step_median": statistics.median(r["seconds_step"] for r in timed),
            "tokens_generated_mean": statistics.mean(r["tokens_generated"] for r in timed),
            "rows": rows}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gspo", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=4)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        model = make_model(a.gspo, work)
        one = train(a.gspo, model, os.path.join(work, "one"), "0", a.steps, 8)
        two = train(a.gspo, model, os.path.join(work, "two"), "0,1", a.steps, 16)
        two_same = train(a.gspo, model, os.path.join(work, "two-same"), "0,1", a.steps, 8)
        # GPU 0 generates step k+1 while GPU 1 learns step k (samples one policy version old).
        disaggregated = train(a.gspo, model, os.path.join(work, "disaggregated"), "0,1", a.steps, 8,
                              {"resources.mode": "disaggregated", "resources.rollout_gpus": "1"})
    speedup = two["tokens_per_s_median"] / one["tokens_per_s_median"]
    speedup_same = two_same["tokens_per_s_median"] / one["tokens_per_s_median"]
    result = {"setting": dict(shape="gemma-2-2b (vocabulary 259)", prompts=8, samples=8, new_tokens_max=256,
                              lora="r16 q/k/v/o", dtype="bfloat16", nccl_nvls_enable=0),
              "one_gpu": one, "two_gpus": two, "two_gpus_same_batch": two_same, "two_gpus_disaggregated": disaggregated,
              "speedup": speedup,
              "speedup_same_batch": speedup_same}
    with open(os.path.join(a.out, "h200-x2-dist.json"), "w") as f:
        json.dump(result, f, indent=1)
    lines = ["| GSPO step, gemma-2-2b shape, 8 samples per prompt | GPUs | prompts per step | tokens/s (median) | seconds/step | generated tokens/step |",
             "|---|---|---|---|---|---|"]
    for r in (one, two, two_same, disaggregated):
        label = "disaggregated, 1 rollout + 1 learner GPU" if r["mode"] == "disaggregated" else "colocated"
        lines.append(f"| gspo train, {label} | {r['gpus']} | {r['prompts_per_step']} | {r['tokens_per_s_median']:.0f} | "
                     f"{r['seconds_step_median']:.2f} | {r['tokens_generated_mean']:.0f} |")
    lines.append(f"\nTwo GPUs / one GPU: {speedup:.2f}x with 8 prompts per GPU, {speedup_same:.2f}x on the same 8 prompts; "
                 f"disaggregated step {disaggregated['seconds_step_median']:.2f} s vs colocated "
                 f"{two_same['seconds_step_median']:.2f} s on the same 8 prompts (staleness max "
                 f"{max(r.get('policy_staleness_max', 0) for r in disaggregated['rows'])}).")
    table = "\n".join(lines)
    with open(os.path.join(a.out, "h200-x2-dist.md"), "w") as f:
        f.write(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
