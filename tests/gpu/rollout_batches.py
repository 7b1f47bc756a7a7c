#!/usr/bin/env python3
"""The rollout's automatic batch size on a GPU (generation.max_rollout_rows: 0).

A step whose conversations' KV caches cannot all fit at once: a random Gemma-2-shaped model with
a wide cache (32 layers x 16 KV heads x 256 dims, 512 KiB a token in bf16) and 96 prompts x 4
samples, each row sized for a 300-token prompt and 512 new tokens (~0.4 GiB). The openings take
~260 tokens and the random model seldom stops early, so the caches do grow to about that size:
384 rows at once would need more than the GPU holds. `gspo train` runs one step; the test checks
that
  - the step finished (the batches fit),
  - metrics.jsonl's rollout_batches is what half the free memory gives, counted here from the
    config by hand (per token: layers x 2 x kv_heads x head_dim x 2 bytes, plus 9 bytes of
    position and validity) and from torch.cuda.mem_get_info() before the run (the run's own
    context and weights take some of it: the allowed range covers up to 4 GiB of that),
  - the largest KV cache stayed within half the free memory.
Prints one JSON line; exit 1 on a mismatch.

usage: rollout_batches.py --gspo build-gpu/bin/gspo --out DIR
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys

import torch

GiB = 1 << 30
CONFIG = {
    "model_type": "gemma2", "architectures": ["Gemma2ForCausalLM"], "vocab_size": 259,
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 32, "num_attention_heads": 16,
    "num_key_value_heads": 16, "head_dim": 256, "query_pre_attn_scalar": 256,
    "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0, "sliding_window": 4096,
    "rope_theta": 10000.0, "max_position_embeddings": 4096, "rms_norm_eps": 1e-06,
    "hidden_activation": "gelu_pytorch_tanh", "tie_word_embeddings": True, "bos_token_id": None,
    "eos_token_id": 258, "pad_token_id": 256, "torch_dtype": "bfloat16",
}
PROMPTS, SAMPLES, PROMPT_LEN, NEW_TOKENS = 96, 4, 300, 512
JOB = f"""apiVersion: gspo/v1
name: rollout-batches
model: {{name_or_path: MODEL, torch_dtype: bfloat16, gradient_checkpointing: true}}
preset: none
lora: {{lora_r: 8, lora_alpha: 16, lora_target_modules: [q_proj, v_proj]}}
gspo: {{num_generations: {SAMPLES}, minibatches: 1}}
training:
  num_outer_iterations: 1
  warmup_steps: 0
  prompts_per_step: {PROMPTS}
  per_device_train_batch_size: 8
generation:
  max_prompt_length: {PROMPT_LEN}
  max_completion_length: {NEW_TOKENS}
  max_rollout_rows: 0
environment: {{task: customer_service, max_turns: 1}}
output: {{output_dir: RUN, save_steps: 0, export: []}}
logging: {{tensorboard: false}}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gspo", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    model = os.path.join(a.out, "rollout-batches-model")
    run = os.path.join(a.out, "rollout-batches-run")
    os.makedirs(model, exist_ok=True)
    with open(os.path.join(model, "config.json"), "w") as f:
        json.dump(CONFIG, f)
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        shutil.copy(os.path.join("examples/models/tiny-chat", name), model)
    subprocess.run([a.gspo, "init-model", "--config", os.path.join(model, "config.json"), "--out", model,
                    "--dtype", "bfloat16"], check=True)
    job = os.path.join(a.out, "rollout-batches.yaml")
    with open(job, "w") as f:
        f.write(JOB.replace("MODEL", model).replace("RUN", run))

    c = CONFIG
    per_row = (PROMPT_LEN + NEW_TOKENS) * (c["num_hidden_layers"] * 2 * c["num_key_value_heads"] * c["head_dim"] * 2 + 9)
    free_before = torch.cuda.mem_get_info()[0]
    rows = PROMPTS * SAMPLES

    def batches(free):
        per_batch = min(PROMPTS, max(1, free // 2 // per_row // SAMPLES))
        return math.ceil(PROMPTS / per_batch)

    allowed = sorted({batches(free_before - slack * GiB // 4) for slack in range(0, 17)})
    subprocess.run([a.gspo, "train", job, "--no-progress"], check=True)
    with open(os.path.join(run, "metrics.jsonl")) as f:
        step = json.loads(f.readline())
    result = {
        "free_gib_before": free_before / GiB,
        "gib_per_row": per_row / GiB,
        "gib_all_rows": rows * per_row / GiB,
        "rollout_batches": step["rollout_batches"],
        "allowed_batches": allowed,
        "kv_cache_gib": step["memory_kv_cache_gib"],
    }
    checks = {
        "all_rows_at_once_exceed_free": rows * per_row > free_before,
        "batches_as_counted": step["rollout_batches"] in allowed,
        "more_than_one_batch": step["rollout_batches"] >= 2,
        "cache_within_half_free": step["memory_kv_cache_gib"] * GiB <= free_before / 2,
    }
    result["ok"] = all(checks.values())
    result["checks"] = checks
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
