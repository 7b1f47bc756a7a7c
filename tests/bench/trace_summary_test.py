#!/usr/bin/env python3
"""bench/gpu/trace_summary.py on a made-up profiler trace whose sums are worked out by hand."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "bench", "gpu", "trace_summary.py")
sys.path.insert(0, os.path.dirname(SCRIPT))
import trace_summary  # noqa: E402


def op(name, ts, dur, tid, cat="cpu_op"):
    return {"ph": "X", "cat": cat, "name": name, "ts": ts, "dur": dur, "pid": 1, "tid": tid}


# Device: two overlapping kernels [0, 100) and [50, 150), then one at [300, 350): busy 200 us over
# a 350 us window, one idle gap of 150 us. Host: on thread 1 a linear [0, 40) with its mm inside,
# then an add; on thread 2 a backward node [100, 130) with its mm inside; one launch, one sync.
EVENTS = [
    op("nvjet_sm90_tst_gemm", 0, 100, 7, "kernel"),
    op("vectorized_elementwise_kernel<add>", 50, 100, 7, "kernel"),
    op("unrolled_elementwise_kernel<direct_copy>", 300, 50, 7, "kernel"),
    op("aten::linear", 0, 40, 1),
    op("aten::mm", 5, 30, 1),
    op("aten::add", 50, 10, 1),
    op("autograd::engine::evaluate_function: MmBackward0", 100, 30, 2),
    op("aten::mm", 100, 20, 2),
    op("cudaLaunchKernel", 6, 2, 1, "cuda_runtime"),
    op("cudaDeviceSynchronize", 200, 5, 1, "cuda_runtime"),
    {"ph": "i", "name": "a marker without duration", "ts": 10},
]


class TraceSummaryTest(unittest.TestCase):
    def test_sums(self):
        s = trace_summary.summarize(EVENTS, top=10)
        self.assertAlmostEqual(s["wall_ms"], 0.35)
        self.assertAlmostEqual(s["device_busy_ms"], 0.2)
        self.assertEqual(s["idle_gaps_over_50us"], 1)
        self.assertAlmostEqual(s["idle_ms_in_gaps_over_50us"], 0.15)
        self.assertEqual((s["device_events"], s["host_operators"], s["launch_calls"], s["synchronize_calls"]),
                         (3, 5, 1, 1))
        kinds = {r["kind"]: r["ms"] for r in s["by_kind"]}
        self.assertEqual(kinds, {"matrix product": 0.1, "elementwise": 0.1, "copy/cast": 0.05})
        # The nested mm calls are not top level; the backward's mm starts with it and is shorter.
        self.assertEqual(s["top_level_host_operators"], 3)
        self.assertAlmostEqual(s["host_ms_in_top_level_operators"], 0.08)
        self.assertEqual([(r["name"], r["count"], r["us_each"]) for r in s["top_host_operators"]],
                         [("aten::linear", 1, 40.0), ("autograd::engine::evaluate_function: MmBackward0", 1, 30.0),
                          ("aten::add", 1, 10.0)])

    def test_command_line(self):
        with tempfile.TemporaryDirectory() as d:
            trace, out = os.path.join(d, "t.json"), os.path.join(d, "s.json")
            with open(trace, "w") as f:
                json.dump({"traceEvents": EVENTS}, f)
            run = subprocess.run([sys.executable, SCRIPT, trace, "--json", out], capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertIn("| `aten::linear` | 1 | 0.04 | 40.0 |", run.stdout)
            with open(out) as f:
                self.assertEqual(json.load(f)["top_level_host_operators"], 3)
            # A trace without complete events is refused with exit code 2 and says why.
            with open(trace, "w") as f:
                json.dump({"traceEvents": [{"ph": "i", "name": "x", "ts": 1}]}, f)
            run = subprocess.run([sys.executable, SCRIPT, trace], capture_output=True, text=True)
            self.assertEqual(run.returncode, 2)
            self.assertIn("no complete ('X') events", run.stderr)


if __name__ == "__main__":
    unittest.main()
