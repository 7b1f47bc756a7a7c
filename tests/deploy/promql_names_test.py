#!/usr/bin/env python3
"""promql_names.py finds the metric names of PromQL expressions (and nothing else), and the
sample names of an exposition."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from promql_names import exposition_names, metric_names  # noqa: E402


class MetricNames(unittest.TestCase):
    def test_selectors_functions_and_keywords(self):
        self.assertEqual(metric_names('gspo_jobs{state="FAILED"}'), {"gspo_jobs"})
        self.assertEqual(metric_names('increase(gspo_workers_lost_total[10m]) > 0'), {"gspo_workers_lost_total"})
        self.assertEqual(
            metric_names('gspo_job_state{state="FAILED"} == 1 unless on(job_id) '
                         '(gspo_job_state{state="FAILED"} offset 15m == 1)'),
            {"gspo_job_state"})
        self.assertEqual(
            metric_names('histogram_quantile(0.9, sum by (le, method) (rate(gspo_rpc_duration_seconds_bucket[5m])))'),
            {"gspo_rpc_duration_seconds_bucket"})
        self.assertEqual(
            metric_names('gspo_job_step{job_id=~"$job_id"} / ignoring(x) group_left(name) gspo_job_total_steps'),
            {"gspo_job_step", "gspo_job_total_steps"})

    def test_label_values_and_numbers_are_not_names(self):
        self.assertEqual(metric_names('up{job="gspo_jobs"} * 1e3 + 2'), {"up"})
        self.assertEqual(metric_names('rate(gspo_step_duration_seconds_sum[$__rate_interval])'),
                         {"gspo_step_duration_seconds_sum"})
        self.assertEqual(metric_names('sum without (job_id) (gspo_job_loss)'), {"gspo_job_loss"})

    def test_a_typo_is_a_name_of_its_own(self):
        self.assertEqual(metric_names('gspo_job_los + gspo_job_loss'), {"gspo_job_los", "gspo_job_loss"})


class ExpositionNames(unittest.TestCase):
    def test_samples_not_comments(self):
        text = ('# HELP gspo_workers Registered workers\n# TYPE gspo_workers gauge\ngspo_workers 1\n'
                '# TYPE gspo_step_duration_seconds histogram\n'
                'gspo_step_duration_seconds_bucket{le="1"} 0\ngspo_step_duration_seconds_count 0\n')
        self.assertEqual(exposition_names(text),
                         {"gspo_workers", "gspo_step_duration_seconds_bucket", "gspo_step_duration_seconds_count"})


if __name__ == "__main__":
    unittest.main(verbosity=1)
