#!/usr/bin/env python3
"""Golden data for the engine's CPU parity tests, from Hugging Face transformers.

Runs where transformers is installed (the GPU host); needs no network and no GPU. For each
architecture it builds a tiny model from a hub-style config.json with deliberately odd values
(small soft-caps, query_pre_attn_scalar != head_dim, head_dim != hidden / heads, one KV head,
sequences longer than the sliding window), re-initialises the weights so that logits are far
from uniform, and writes to OUT/<arch>/:
  config.json        the hub-style config the engine reads (as published checkpoints carry)
  model.safetensors  float32 weights in Hugging Face naming
  golden.safetensors input_ids int64 [2,40]; logits float32 [2,40,V] from transformers' forward
                     (eager attention, float32); greedy int64 [2,70]: 30 greedy tokens, each the
                     argmax of a full forward over the sequence so far (no cache)
and prints the smallest top-1/top-2 logit gap of the greedy steps (a tie would make greedy
decoding ambiguous).

usage: make_model_goldens.py OUT
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
import transformers

COMMON = dict(vocab_size=256, hidden_size=48, intermediate_size=96, rms_norm_eps=1e-6,
              max_position_embeddings=512, bos_token_id=2, eos_token_id=1, pad_token_id=0)

CONFIGS = {
    "gemma2": dict(COMMON, model_type="gemma2", architectures=["Gemma2ForCausalLM"],
                   num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=1,
                   head_dim=16, query_pre_attn_scalar=20, attn_logit_softcapping=5.0,
                   final_logit_softcapping=3.0, sliding_window=8, rope_theta=10000.0,
                   hidden_activation="gelu_pytorch_tanh", hidden_act="gelu_pytorch_tanh",
                   tie_word_embeddings=True, cache_implementation="hybrid"),
    "gemma3": dict(COMMON, model_type="gemma3_text", architectures=["Gemma3ForCausalLM"],
                   num_hidden_layers=7, num_attention_heads=4, num_key_value_heads=2,
                   head_dim=16, query_pre_attn_scalar=24, sliding_window=8,
                   sliding_window_pattern=6, rope_theta=1000000.0, rope_local_base_freq=10000.0,
                   rope_scaling={"rope_type": "linear", "factor": 4.0},
                   attn_logit_softcapping=None, final_logit_softcapping=None,
                   hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True),
    "qwen2": dict(COMMON, model_type="qwen2", architectures=["Qwen2ForCausalLM"],
                  num_hidden_layers=3, num_attention_heads=6, num_key_value_heads=2,
                  rope_theta=1000000.0, hidden_act="silu", tie_word_embeddings=False,
                  use_sliding_window=False, sliding_window=None, max_window_layers=3),
    "qwen3": dict(COMMON, model_type="qwen3", architectures=["Qwen3ForCausalLM"],
                  num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=1,
                  head_dim=24, rope_theta=1000000.0, hidden_act="silu",
                  attention_bias=False, tie_word_embeddings=True, use_sliding_window=False),
    "llama": dict(COMMON, model_type="llama", architectures=["LlamaForCausalLM"],
                  num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
                  head_dim=12, rope_theta=500000.0, hidden_act="silu",
                  rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0,
                                "original_max_position_embeddings": 32},
                  attention_bias=False, mlp_bias=False, tie_word_embeddings=False),
}

BATCH, PROMPT, NEW = 2, 40, 30


def reinitialise(model, gemma_norms, generator):
    """Weights large enough that logits are decisive: std 1/sqrt(fan_in) for matrices."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=generator) / p.shape[-1] ** 0.5 * 1.5)
            elif name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
            else:  # norm weights: around the identity
                base = 0.0 if gemma_norms else 1.0
                p.copy_(base + torch.randn(p.shape, generator=generator) * 0.3)


def make(arch, hub_config, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    config = transformers.AutoConfig.for_model(**hub_config)
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32,
                                                          attn_implementation="eager")
    model.eval()
    generator = torch.Generator().manual_seed(1234)
    reinitialise(model, arch.startswith("gemma"), generator)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(hub_config, f, indent=2, sort_keys=True)
    with open(os.path.join(out_dir, "hf_config.json"), "w") as f:
        f.write(config.to_json_string())

    ids = torch.randint(3, hub_config["vocab_size"], (BATCH, PROMPT), generator=generator)
    with torch.no_grad():
        logits = model(input_ids=ids).logits.float()
        seq, min_gap = ids, float("inf")
        for _ in range(NEW):
            last = model(input_ids=seq).logits[:, -1].float()
            top2 = last.topk(2, dim=-1).values
            min_gap = min(min_gap, (top2[:, 0] - top2[:, 1]).min().item())
            seq = torch.cat([seq, last.argmax(-1, keepdim=True)], dim=1)
    save_file({"input_ids": ids.contiguous(), "logits": logits.contiguous(),
               "greedy": seq.contiguous()}, os.path.join(out_dir, "golden.safetensors"))
    print(f"{arch}: params={sum(p.numel() for p in model.parameters())} "
          f"logit_absmax={logits.abs().max().item():.3f} min_greedy_gap={min_gap:.4f}")


def main():
    out = sys.argv[1]
    print("transformers", transformers.__version__, "torch", torch.__version__)
    for arch, hub_config in CONFIGS.items():
        make(arch, hub_config, os.path.join(out, arch))


if __name__ == "__main__":
    main()
