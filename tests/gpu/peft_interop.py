#!/usr/bin/env python3
"""Our exports load in the reference libraries and give the engine's logits (GPU host).

Trains examples/jobs/tiny-cpu.yaml for a few steps with `gspo train`, then on the same random ids:
  peft:    PeftModel.from_pretrained(base, final/adapter)           (transformers + peft)
  merged:  AutoModelForCausalLM.from_pretrained(final/merged)       (transformers)
  ours:    `gspo logits --model final/merged`                       (the engine)
and checks that the adapter changes the base model's logits (so the comparison means something)
and that the three agree (float32: 1e-3 of the logits' scale). Prints one JSON line; exit 1 on a
mismatch.

usage: peft_interop.py --gspo build-gpu/bin/gspo --out DIR
"""
import argparse
import json
import os
import subprocess
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

BASE = "examples/models/tiny-chat"


def hf_model(path):
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager").cuda().eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gspo", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    run = os.path.join(a.out, "peft-run")
    subprocess.run([a.gspo, "train", "examples/jobs/tiny-cpu.yaml", "--no-progress",
                    "--set", f"output.output_dir={run}", "--set", "training.num_outer_iterations=3"],
                   check=True)
    torch.manual_seed(0)
    ids = torch.randint(0, 256, (2, 24), dtype=torch.int64)
    save_file({"input_ids": ids}, os.path.join(a.out, "peft-ids.safetensors"))
    subprocess.run([a.gspo, "logits", "--model", os.path.join(run, "final/merged"), "--input",
                    os.path.join(a.out, "peft-ids.safetensors"), "--output", os.path.join(a.out, "peft-ours.safetensors"),
                    "--device", "cuda", "--dtype", "float32"], check=True)
    ours = load_file(os.path.join(a.out, "peft-ours.safetensors"))["logits"].cuda()
    with torch.no_grad():
        peft_model = PeftModel.from_pretrained(hf_model(BASE), os.path.join(run, "final/adapter")).eval()
        with_adapter = peft_model(input_ids=ids.cuda()).logits.float()
        with peft_model.disable_adapter():
            base = peft_model(input_ids=ids.cuda()).logits.float()
        merged = hf_model(os.path.join(run, "final/merged"))(input_ids=ids.cuda()).logits.float()
    scale = with_adapter.abs().max().item()
    result = {
        "logit_scale": scale,
        "adapter_effect": (with_adapter - base).abs().max().item(),
        "ours_vs_peft": (ours - with_adapter).abs().max().item(),
        "hf_merged_vs_peft": (merged - with_adapter).abs().max().item(),
        "top1_ours_vs_peft": (ours.argmax(-1) == with_adapter.argmax(-1)).float().mean().item(),
    }
    ok = (result["adapter_effect"] > 1e-4 and result["ours_vs_peft"] <= 1e-3 * scale
          and result["hf_merged_vs_peft"] <= 1e-3 * scale)
    result["ok"] = ok
    print(json.dumps(result))
    with open(os.path.join(a.out, "peft_interop.json"), "w") as f:
        json.dump(result, f, indent=1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
