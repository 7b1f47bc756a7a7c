#!/usr/bin/env python3
"""Every configuration file in deploy/ is valid for the tool that reads it: JSON and YAML parse,
promtool accepts the Prometheus config and the rules and their unit tests pass, the dashboard's
panels are well formed and use only metrics docs/metrics.md documents, systemd accepts the
units, and gspo-server starts from deploy/systemd/server.yaml.

    deploy_files_test.py SOURCE_DIR BIN_DIR WORK_DIR
"""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.request

import yaml

SOURCE, BIN, WORK = sys.argv[1:4]
del sys.argv[1:4]
DEPLOY = os.path.join(SOURCE, "deploy")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from promql_names import dashboard_exprs, metric_names, rule_exprs  # noqa: E402


def run(*argv):
    return subprocess.run(argv, capture_output=True, text=True)


def free_ports(count):
    """`count` distinct free loopback ports: all stay bound until every one is chosen."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class DeployFiles(unittest.TestCase):
    def test_every_json_and_yaml_parses(self):
        files = [f for f in glob.glob(os.path.join(DEPLOY, "**", "*"), recursive=True)
                 if f.endswith((".json", ".yml", ".yaml"))]
        self.assertGreaterEqual(len(files), 4, files)
        for f in files:
            with open(f) as fh:
                doc = json.load(fh) if f.endswith(".json") else yaml.safe_load(fh)
            self.assertIsInstance(doc, dict, f)

    def test_promtool_accepts_config_and_rules_and_the_rule_tests_pass(self):
        for argv in (["check", "config", os.path.join(DEPLOY, "prometheus.yml")],
                     ["check", "rules", os.path.join(DEPLOY, "alerts.yml")],
                     ["test", "rules", os.path.join(SOURCE, "tests/deploy/alerts-test.yml")]):
            r = run("promtool", *argv)
            self.assertEqual(r.returncode, 0, f"promtool {' '.join(argv)}\n{r.stdout}{r.stderr}")
        with open(os.path.join(DEPLOY, "prometheus.yml")) as f:
            self.assertEqual(yaml.safe_load(f)["rule_files"], ["alerts.yml"])
        alerts = {name.split("'")[1] for name, _ in rule_exprs(os.path.join(DEPLOY, "alerts.yml"))}
        self.assertEqual(alerts, {"GspoJobFailed", "GspoWorkerLost", "GspoRewardServiceErrors", "GspoJobNoProgress"})

    def test_dashboard_panels(self):
        with open(os.path.join(DEPLOY, "grafana/gspo-dashboard.json")) as f:
            dash = json.load(f)
        ids = [p["id"] for p in dash["panels"]]
        self.assertEqual(len(ids), len(set(ids)))
        cells = set()
        for p in dash["panels"]:
            g = p["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    self.assertNotIn((x, y), cells, f"panel '{p['title']}' overlaps another")
                    cells.add((x, y))
            if p["type"] == "row":
                continue
            self.assertEqual(p["datasource"]["uid"], "${datasource}", p["title"])
            self.assertTrue(p["targets"], p["title"])
            self.assertEqual(len({t["refId"] for t in p["targets"]}), len(p["targets"]), p["title"])
        titles = {p["title"] for p in dash["panels"]}
        for wanted in ("Jobs by state", "Workers", "Device slots", "Reward (mean)", "Reward components", "Loss",
                       "Clip fraction", "KL to the reference", "Tokens/s by phase", "Step time by phase",
                       "Step duration (all jobs)", "Reward-service errors (per 10 min)"):
            self.assertIn(wanted, titles)

    def test_dashboard_and_rules_use_documented_metrics(self):
        # The live check against a real /metrics is walkthrough_test.sh; this one also runs
        # without LibTorch and names the document to fix.
        with open(os.path.join(SOURCE, "docs/metrics.md")) as f:
            table = dict(re.findall(r"^\| `(gspo_\w+)` \| (gauge|counter|histogram) ", f.read(), re.M))
        self.assertGreater(len(table), 10)
        allowed = set(table) | {name + suffix for name, kind in table.items() if kind == "histogram"
                                for suffix in ("_bucket", "_sum", "_count")}
        exprs = dashboard_exprs(os.path.join(DEPLOY, "grafana/gspo-dashboard.json")) + \
            rule_exprs(os.path.join(DEPLOY, "alerts.yml"))
        for where, expr in exprs:
            self.assertTrue(metric_names(expr), where)
            self.assertLessEqual(metric_names(expr), allowed, where)

    def test_systemd_accepts_the_units(self):
        units = os.path.join(WORK, "units")
        shutil.rmtree(units, ignore_errors=True)
        os.makedirs(units)
        for name in ("gspo-server.service", "gspo-worker.service"):
            with open(os.path.join(DEPLOY, "systemd", name)) as f:
                text = f.read()
            # The units name the installed binaries; point them at the built ones.
            self.assertIn("/usr/local/bin/", text)
            with open(os.path.join(units, name), "w") as f:
                f.write(text.replace("/usr/local/bin/", BIN + "/"))
        r = run("systemd-analyze", "verify", "--man=no", *glob.glob(os.path.join(units, "*.service")))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.strip(), "")

    def test_server_starts_from_the_sample_config(self):
        # deploy/systemd/server.yaml as written, with the host-specific paths and ports moved by
        # flags (which win over the file).
        state = os.path.join(WORK, "server")
        shutil.rmtree(state, ignore_errors=True)
        os.makedirs(state)
        for side in ("client", "worker"):
            with open(os.path.join(state, side + ".token"), "w") as f:
                f.write(side + "-token-for-the-config-test")
        listen, metrics = free_ports(2)
        log = open(os.path.join(state, "server.log"), "w")
        server = subprocess.Popen(
            [os.path.join(BIN, "gspo-server"), "--config", os.path.join(DEPLOY, "systemd/server.yaml"),
             "--listen", f"127.0.0.1:{listen}", "--metrics-listen", f"127.0.0.1:{metrics}",
             "--state-dir", os.path.join(state, "state"),
             "--client-token-file", os.path.join(state, "client.token"),
             "--worker-token-file", os.path.join(state, "worker.token")], stdout=log, stderr=log)
        try:
            body = None
            for _ in range(100):
                try:
                    body = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=2).read().decode()
                    break
                except OSError:
                    time.sleep(0.1)
            if body is None:
                with open(os.path.join(state, "server.log")) as f:
                    self.fail("no /metrics from gspo-server:\n" + f.read())
            self.assertIn("gspo_workers 0\n", body)
        finally:
            server.send_signal(signal.SIGTERM)
            self.assertEqual(server.wait(timeout=30), 0)
            log.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
