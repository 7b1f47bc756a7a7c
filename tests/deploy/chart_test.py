#!/usr/bin/env python3
"""helm/gspo rendered with its default values and with tests/deploy/custom-values.yaml: every
rendered document parses as YAML and has the kinds, images, GPU requests, token Secret
references, ports and labels that make the pieces fit together.

    chart_test.py HELM_RENDER CHART_DIR CUSTOM_VALUES WORK_DIR
"""
import base64
import os
import re
import shutil
import subprocess
import sys
import unittest

import yaml

RENDER, CHART, CUSTOM, WORK = sys.argv[1:5]
del sys.argv[1:5]
os.makedirs(WORK, exist_ok=True)


def read(path):
    with open(path) as f:
        return f.read()


def render(name, *args):
    """Renders into WORK/name; returns (exit code, stderr, {template file: [documents]})."""
    out = os.path.join(WORK, name)
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([RENDER, CHART, out, *args], capture_output=True, text=True)
    docs = {}
    if r.returncode == 0:
        for f in sorted(os.listdir(os.path.join(out, "templates"))):
            text = read(os.path.join(out, "templates", f))
            docs[f] = text if f == "NOTES.txt" else [d for d in yaml.safe_load_all(text) if d]
    return r.returncode, r.stderr, docs


def values_file(name, text):
    path = os.path.join(WORK, name + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def objects(docs):
    return {(d["kind"], d["metadata"]["name"]): d
            for f, ds in docs.items() if f != "NOTES.txt" for d in ds}


def container(obj):
    (c,) = obj["spec"]["template"]["spec"]["containers"]
    return c


def volumes(obj):
    return {v["name"]: v for v in obj["spec"]["template"]["spec"]["volumes"]}


class Chart(unittest.TestCase):
    def check_wiring(self, objs, release):
        """What must hold whatever the values: selectors, ports and claims refer to each other."""
        deploy = objs[("Deployment", release + "-gspo-coordinator")]
        sts = objs[("StatefulSet", release + "-gspo-worker")]
        svc = objs[("Service", release + "-gspo-coordinator")]
        headless = objs[("Service", release + "-gspo-worker")]
        for obj in (deploy, sts):
            labels = obj["spec"]["template"]["metadata"]["labels"]
            for k, v in obj["spec"]["selector"]["matchLabels"].items():
                self.assertEqual(labels[k], v)
            self.assertTrue(obj["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"])
        for k, v in svc["spec"]["selector"].items():
            self.assertEqual(deploy["spec"]["template"]["metadata"]["labels"][k], v)
        self.assertEqual(headless["spec"]["clusterIP"], "None")
        self.assertEqual(sts["spec"]["serviceName"], headless["metadata"]["name"])
        # Service ports lead to named container ports.
        port_names = {p["name"]: p["containerPort"] for p in container(deploy)["ports"]}
        self.assertEqual({p["name"] for p in svc["spec"]["ports"]}, {"grpc", "metrics"})
        for p in svc["spec"]["ports"]:
            self.assertEqual(p["targetPort"], p["name"])
            self.assertEqual(port_names[p["name"]], p["port"])
        # The worker dials the coordinator Service's gRPC port.
        grpc = next(p["port"] for p in svc["spec"]["ports"] if p["name"] == "grpc")
        self.assertIn(f"--coordinator={svc['metadata']['name']}:{grpc}", container(sts)["args"])
        # Both mount the same shared claim at the same path.
        mounts = [{m["name"]: m["mountPath"] for m in container(o)["volumeMounts"]} for o in (deploy, sts)]
        self.assertEqual(mounts[0]["shared"], mounts[1]["shared"])
        claims = {volumes(o)["shared"]["persistentVolumeClaim"]["claimName"] for o in (deploy, sts)}
        self.assertEqual(len(claims), 1)
        # Token files: the server reads both, the worker only its own, from one Secret.
        server_args = container(deploy)["args"]
        self.assertIn("--client-token-file=/etc/gspo/tokens/client.token", server_args)
        self.assertIn("--worker-token-file=/etc/gspo/tokens/worker.token", server_args)
        self.assertIn("--token-file=/etc/gspo/tokens/worker.token", container(sts)["args"])
        self.assertEqual(volumes(sts)["tokens"]["secret"]["items"], [{"key": "worker.token", "path": "worker.token"}])
        self.assertEqual(volumes(deploy)["tokens"]["secret"]["secretName"],
                         volumes(sts)["tokens"]["secret"]["secretName"])
        return deploy, sts, svc

    def test_default_values(self):
        code, err, docs = render("default")
        self.assertEqual(code, 0, err)
        objs = objects(docs)
        self.assertEqual(sorted(objs), [
            ("Deployment", "release-name-gspo-coordinator"),
            ("PersistentVolumeClaim", "release-name-gspo-shared"),
            ("PersistentVolumeClaim", "release-name-gspo-state"),
            ("Service", "release-name-gspo-coordinator"),
            ("Service", "release-name-gspo-worker"),
            ("StatefulSet", "release-name-gspo-worker"),
        ])  # no Secret (tokens.existingSecret), no ServiceMonitor
        deploy, sts, svc = self.check_wiring(objs, "release-name")
        chart = yaml.safe_load(read(os.path.join(CHART, "Chart.yaml")))
        for obj in (deploy, sts):
            self.assertEqual(container(obj)["image"], "gspo:" + chart["appVersion"])
            self.assertEqual(volumes(obj)["tokens"]["secret"]["secretName"], "gspo-tokens")
        self.assertEqual(deploy["spec"]["replicas"], 1)
        self.assertEqual(deploy["spec"]["strategy"]["type"], "Recreate")
        self.assertEqual(volumes(deploy)["state"]["persistentVolumeClaim"]["claimName"], "release-name-gspo-state")
        self.assertEqual({p["port"] for p in svc["spec"]["ports"]}, {50051, 9090})
        self.assertEqual(container(deploy)["readinessProbe"]["grpc"]["port"], 50051)
        self.assertEqual(sts["spec"]["replicas"], 2)
        res = container(sts)["resources"]
        self.assertEqual(res["requests"]["nvidia.com/gpu"], 1)
        self.assertEqual(res["limits"]["nvidia.com/gpu"], 1)
        self.assertIn("--devices=0", container(sts)["args"])
        self.assertNotIn("annotations", deploy["spec"]["template"]["metadata"])
        self.assertIn("kubectl -n default create secret generic gspo-tokens", docs["NOTES.txt"])
        self.assertIn("exec deploy/release-name-gspo-coordinator -- gspoctl list", docs["NOTES.txt"])

    def test_custom_values(self):
        code, err, docs = render("custom", "-f", CUSTOM, "--release", "prod", "--namespace", "ml")
        self.assertEqual(code, 0, err)
        objs = objects(docs)
        self.assertEqual(sorted(k for k, _ in objs), [
            "Deployment", "PersistentVolumeClaim", "Secret", "Service", "Service", "ServiceMonitor", "StatefulSet"])
        deploy, sts, svc = self.check_wiring(objs, "prod")
        values = yaml.safe_load(read(CUSTOM))
        for obj in (deploy, sts):
            self.assertEqual(container(obj)["image"], "registry.example.com/ml/gspo:1.2.3-cuda")
            self.assertEqual(container(obj)["imagePullPolicy"], "Always")
            self.assertEqual(obj["spec"]["template"]["spec"]["imagePullSecrets"], [{"name": "regcred"}])
            self.assertEqual(volumes(obj)["tokens"]["secret"]["secretName"], "prod-gspo-tokens")
            self.assertEqual(volumes(obj)["shared"]["persistentVolumeClaim"]["claimName"], "team-nfs")
        # The chart-made Secret holds the two tokens; a change of either restarts both sides.
        secret = objs[("Secret", "prod-gspo-tokens")]
        self.assertEqual(base64.b64decode(secret["data"]["client.token"]).decode(), values["tokens"]["client"])
        self.assertEqual(base64.b64decode(secret["data"]["worker.token"]).decode(), values["tokens"]["worker"])
        sums = {o["spec"]["template"]["metadata"]["annotations"]["checksum/tokens"] for o in (deploy, sts)}
        self.assertEqual(len(sums), 1)
        self.assertEqual({p["port"] for p in svc["spec"]["ports"]}, {7443, 9464})
        server_args = container(deploy)["args"]
        for arg in ("--listen=0.0.0.0:7443", "--metrics-listen=0.0.0.0:9464", "--tls-cert=/etc/gspo/tls/tls.crt",
                    "--tls-key=/etc/gspo/tls/tls.key", "--output-root=/mnt/gspo/outputs",
                    "--heartbeat-timeout-ms=15000"):
            self.assertIn(arg, server_args)
        self.assertEqual(container(deploy)["readinessProbe"]["httpGet"]["port"], "metrics")  # no gRPC probe over TLS
        self.assertEqual(volumes(deploy)["tls"]["secret"]["secretName"], "gspo-tls")
        self.assertEqual(sts["spec"]["replicas"], 3)
        args = container(sts)["args"]
        for arg in ("--devices=0,1,2,3", "--tls-ca=/etc/gspo/tls/ca.crt", "--gspo-binary=/opt/gspo/bin/gspo"):
            self.assertIn(arg, args)
        res = container(sts)["resources"]
        self.assertEqual(res["requests"]["nvidia.com/gpu"], 4)
        self.assertEqual(res["limits"]["nvidia.com/gpu"], 4)
        env = {e["name"]: e["value"] for e in container(sts)["env"]}
        self.assertEqual(env, {"HF_HOME": "/mnt/gspo/huggingface", "NCCL_DEBUG": "WARN"})
        self.assertEqual(sts["spec"]["template"]["spec"]["nodeSelector"],
                         {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"})
        state = objs[("PersistentVolumeClaim", "prod-gspo-state")]
        self.assertEqual(state["spec"]["storageClassName"], "fast-ssd")
        self.assertEqual(state["spec"]["resources"]["requests"]["storage"], "20Gi")
        monitor = objs[("ServiceMonitor", "prod-gspo")]
        self.assertEqual(monitor["metadata"]["labels"]["release"], "kube-prometheus-stack")
        self.assertEqual(monitor["spec"]["endpoints"][0]["port"], "metrics")
        for k, v in monitor["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(svc["metadata"]["labels"][k], v)
        self.assertNotIn("create secret", docs["NOTES.txt"])

    def test_cpu_workers_request_no_gpu(self):
        code, err, docs = render("cpu", "-f", values_file("cpu", "worker: {gpusPerWorker: 0}\n"))
        self.assertEqual(code, 0, err)
        sts = objects(docs)[("StatefulSet", "release-name-gspo-worker")]
        self.assertIn("--devices=cpu", container(sts)["args"])
        self.assertNotIn("nvidia.com/gpu", container(sts)["resources"]["requests"])
        self.assertNotIn("nvidia.com/gpu", container(sts)["resources"]["limits"])

    def test_every_value_is_used(self):
        # A value no template reads would be a knob that silently does nothing. A value counts as
        # used when a template names it, or names a map above it as a whole (toYaml, range).
        text = "".join(read(os.path.join(CHART, "templates", f)) for f in os.listdir(os.path.join(CHART, "templates")))

        def leaves(node, path):
            if isinstance(node, dict) and node:
                for k, v in node.items():
                    yield from leaves(v, path + [k])
            else:
                yield path

        values = yaml.safe_load(read(os.path.join(CHART, "values.yaml")))
        unused = []
        for path in leaves(values, []):
            prefixes = [".".join(path[:n]) for n in range(1, len(path) + 1)]
            if not any(re.search(r"\.Values\." + re.escape(p) + r"(?![\w.])", text) for p in prefixes):
                unused.append(".".join(path))
        self.assertEqual(unused, [])

    def test_bad_token_values_are_refused(self):
        for name, text, message in [
            ("no-tokens", "tokens: {create: true}\n", "tokens.client is required"),
            ("same-tokens", "tokens: {create: true, client: same-token-123456789, worker: same-token-123456789}\n",
             "must differ"),
            ("no-secret", "tokens: {existingSecret: ''}\n", "tokens.existingSecret is required"),
            ("tls-no-secret", "tls: {enabled: true}\n", "tls.secretName is required"),
        ]:
            code, err, _ = render(name, "-f", values_file(name, text))
            self.assertNotEqual(code, 0, name)
            self.assertIn(message, err, name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
