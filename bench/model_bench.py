#!/usr/bin/env python3
"""Engine vs Hugging Face transformers on one GPU, in the same run: parity and speed.

For each shape (gemma-2-2b, and gemma-3-4b for parity) it builds a randomly initialised model
with transformers (bf16, no download), saves it in Hugging Face layout with a hub-style
config.json, and then
  parity: logits of 4 x 512 random tokens from transformers (eager attention, bf16) and from
          `gspo logits --device cuda --dtype bfloat16`: top-1 agreement and
          max |ours - ref| / max |ref|;
  speed:  prefill tokens/s (8 x 512, full forward) and decode step time (64 rows, prompt 128,
          64 greedy steps with a KV cache), transformers (eager and sdpa) and `gspo bench-model`.
Writes OUT/model_bench.json and prints a markdown table.

usage: model_bench.py --gspo build-gpu/bin/gspo --out DIR [--skip-speed]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import torch
import transformers
from safetensors.torch import load_file, save_file

GEMMA2_2B = dict(model_type="gemma2", architectures=["Gemma2ForCausalLM"], vocab_size=256000,
                 hidden_size=2304, intermediate_size=9216, num_hidden_layers=26,
                 num_attention_heads=8, num_key_value_heads=4, head_dim=256,
                 query_pre_attn_scalar=256, attn_logit_softcapping=50.0,
                 final_logit_softcapping=30.0, sliding_window=4096, rope_theta=10000.0,
                 max_position_embeddings=8192, rms_norm_eps=1e-6,
                 hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
                 bos_token_id=2, eos_token_id=1, pad_token_id=0)

GEMMA3_4B = dict(model_type="gemma3_text", architectures=["Gemma3ForCausalLM"],
                 vocab_size=262208, hidden_size=2560, intermediate_size=10240,
                 num_hidden_layers=34, num_attention_heads=8, num_key_value_heads=4, head_dim=256,
                 query_pre_attn_scalar=256, sliding_window=1024, sliding_window_pattern=6,
                 rope_theta=1000000.0, rope_local_base_freq=10000.0,
                 rope_scaling={"rope_type": "linear", "factor": 8.0},
                 max_position_embeddings=131072, rms_norm_eps=1e-6,
                 hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
                 bos_token_id=2, eos_token_id=1, pad_token_id=0)


def build(hub, attn):
    config = transformers.AutoConfig.for_model(**hub)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = transformers.AutoModelForCausalLM.from_config(
            config, dtype=torch.bfloat16, attn_implementation=attn)
    return model.eval()


def save(model, hub, directory):
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(state, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(hub, f)


def parity(name, hub, gspo, work):
    model = build(hub, "eager")
    save(model, hub, work)
    gen = torch.Generator().manual_seed(7)
    ids = torch.randint(3, hub["vocab_size"], (4, 512), generator=gen)
    with torch.no_grad():
        ref = model(input_ids=ids.cuda()).logits.float().cpu()
    del model
    torch.cuda.empty_cache()
    save_file({"input_ids": ids}, os.path.join(work, "in.safetensors"))
    subprocess.run([gspo, "logits", "--model", work, "--input", os.path.join(work, "in.safetensors"),
                    "--output", os.path.join(work, "out.safetensors"), "--device", "cuda",
                    "--dtype", "bfloat16"], check=True)
    ours = load_file(os.path.join(work, "out.safetensors"))["logits"]
    top1 = (ours.argmax(-1) == ref.argmax(-1)).float().mean().item()
    rel = ((ours - ref).abs().max() / ref.abs().max()).item()
    print(f"{name}: top-1 agreement {top1:.4f}, relative logit error {rel:.4g}", flush=True)
    return {"top1_agreement": top1, "relative_logit_error": rel, "tokens": 4 * 512}


def sync():
    torch.cuda.synchronize()


def hf_speed(hub, attn, reps=5):
    model = build(hub, attn)
    ids = torch.randint(3, hub["vocab_size"], (8, 512), device="cuda")
    prefill = []
    with torch.no_grad():
        for r in range(reps + 1):
            sync()
            t0 = time.perf_counter()
            model(input_ids=ids)
            sync()
            if r:
                prefill.append((time.perf_counter() - t0) * 1e3)
        steps = []
        for r in range(3):
            prompt = torch.randint(3, hub["vocab_size"], (64, 128), device="cuda")
            out = model(input_ids=prompt, use_cache=True)
            past, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
            sync()
            t0 = time.perf_counter()
            for _ in range(64):
                out = model(input_ids=nxt, past_key_values=past, use_cache=True)
                past, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
            sync()
            if r:
                steps.append((time.perf_counter() - t0) * 1e3 / 64)
    del model
    torch.cuda.empty_cache()
    med = statistics.median(prefill)
    return {"prefill_ms": prefill, "prefill_tokens_per_s": 8 * 512 / (med / 1e3),
            "decode_step_ms": steps, "decode_step_ms_median": statistics.median(steps),
            "decode_tokens_per_s": 64 / (statistics.median(steps) / 1e3)}


def ours_speed(gspo, work):
    out = subprocess.run([gspo, "bench-model", "--model", work, "--device", "cuda", "--dtype",
                          "bfloat16", "--prefill-batch", "8", "--prefill-len", "512",
                          "--decode-batch", "64", "--decode-prompt", "128", "--decode-steps", "64"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gspo", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    gspo = os.path.abspath(args.gspo)
    result = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
              "transformers": transformers.__version__}
    with tempfile.TemporaryDirectory(dir="/tmp") as work:
        result["gemma2_2b_parity"] = parity("gemma-2-2b", GEMMA2_2B, gspo, work)
        if not args.skip_speed:
            result["gemma2_2b_ours"] = ours_speed(gspo, work)
            for attn in ("eager", "sdpa"):
                result[f"gemma2_2b_hf_{attn}"] = hf_speed(GEMMA2_2B, attn)
    with tempfile.TemporaryDirectory(dir="/tmp") as work:
        result["gemma3_4b_parity"] = parity("gemma-3-4b", GEMMA3_4B, gspo, work)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "model_bench.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2))
    if not args.skip_speed:
        ours, eager, sdpa = (result[k] for k in ("gemma2_2b_ours", "gemma2_2b_hf_eager", "gemma2_2b_hf_sdpa"))
        print("\n| gemma-2-2b shape, one H200, bf16 | gspo | HF eager | HF sdpa |")
        print("|---|---|---|---|")
        print(f"| prefill 8x512, tokens/s (median of 5) | {ours['prefill_tokens_per_s']:,.0f} | "
              f"{eager['prefill_tokens_per_s']:,.0f} | {sdpa['prefill_tokens_per_s']:,.0f} |")
        print(f"| decode batch 64, ms/step (median) | {ours['decode_step_ms_median']:.2f} | "
              f"{eager['decode_step_ms_median']:.2f} | {sdpa['decode_step_ms_median']:.2f} |")


if __name__ == "__main__":
    main()
