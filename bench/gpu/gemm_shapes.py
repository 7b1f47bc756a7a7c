#!/usr/bin/env python3
"""The decode step's weight products on their own, under each BLAS backend LibTorch offers.

At 64 rows a decode step's products are bound by reading the weights, so each shape is timed as
the decode step runs it: one product per layer, each layer's weight distinct (26 copies, more
than the L2 cache holds), captured in a CUDA graph so launches do not count. Prints one JSON line
per (backend, shape): microseconds per product (median of the replays) and the weight bytes read
per second. Needs PyTorch with CUDA; used to choose the backend the engine asks for
(docs/engine.md).

  python3 bench/gpu/gemm_shapes.py [--rows 64] [--layers 26] [--replays 20]
"""
import argparse
import json
import statistics

import torch
import torch.nn.functional as F

# gemma-2-2b: hidden 2304, 8 heads x 256, 4 kv heads, intermediate 9216, vocabulary 256,000.
SHAPES = {
    "qkv": (2304, 4096),
    "qkv_lora_r16": (2304, 4096 + 3 * 16),
    "o": (2048, 2304),
    "gate_up": (2304, 2 * 9216),
    "down": (9216, 2304),
    "lm_head": (2304, 256000),
}


def time_shape(rows, k, n, layers, replays):
    copies = layers if n < 100000 else 2  # the logits product runs once per step
    weights = [torch.randn(n, k, device="cuda", dtype=torch.bfloat16) for _ in range(copies)]
    x = torch.randn(rows, k, device="cuda", dtype=torch.bfloat16)
    out = [torch.empty(rows, n, device="cuda", dtype=torch.bfloat16) for _ in range(copies)]

    def run():
        for w, o in zip(weights, out):
            torch.matmul(x, w.t(), out=o)

    for _ in range(3):
        run()
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        run()
    times = []
    for _ in range(replays):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1000.0 / copies)
    us = statistics.median(times)
    return us, (n * k * 2) / (us * 1e-6) / 1e12, min(times), max(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--layers", type=int, default=26)
    parser.add_argument("--replays", type=int, default=20)
    args = parser.parse_args()
    backends = ["cublas", "cublaslt"]
    for backend in backends:
        torch.backends.cuda.preferred_blas_library(backend)
        for name, (k, n) in SHAPES.items():
            us, tbps, low, high = time_shape(args.rows, k, n, args.layers, args.replays)
            print(json.dumps({"backend": backend, "shape": name, "rows": args.rows, "k": k, "n": n,
                              "us_median": round(us, 2), "us_min": round(low, 2), "us_max": round(high, 2),
                              "weight_tb_per_s": round(tbps, 2)}), flush=True)


if __name__ == "__main__":
    main()
