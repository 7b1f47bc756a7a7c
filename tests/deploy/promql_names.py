#!/usr/bin/env python3
"""The metric names that PromQL expressions use, for checking the Grafana dashboard and the alert
rules in deploy/ against what gspo-server exports.

    promql_names.py check EXPOSITION DASHBOARD RULES   exit 1 naming every metric the dashboard
                                                       or the rules use that EXPOSITION (a
                                                       scrape of /metrics) has no sample of
    promql_names.py exprs DASHBOARD RULES              every expression, one per line, with
                                                       Grafana's $variables made match-all

Names are compared with the exposition's sample names, so a histogram is used through its
_bucket, _sum and _count series, as PromQL sees it.
"""
import json
import re
import sys

import yaml

# Words of PromQL that look like metric names but are not.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan", "atan2"}
NAME = re.compile(r"(?<![\w.:$])[a-zA-Z_:][\w:]*")


def metric_names(expr):
    """Metric names in one PromQL expression: every identifier that is not a function or
    aggregation (followed by '('), a keyword, a label name or a label value."""
    s = re.sub(r"\$\{?\w+\}?", "", expr)                          # Grafana variables
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', s)  # string literals
    s = re.sub(r"\{[^}]*\}", "", s)                                 # label matchers
    s = re.sub(r"\[[^\]]*\]", "", s)                                # ranges, subqueries
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in NAME.finditer(s):
        word = m.group(0)
        if word.lower() in KEYWORDS or re.match(r"\s*\(", s[m.end():]):
            continue
        names.add(word)
    return names


def dashboard_exprs(path):
    """(where, expression) for every panel target and every query variable of a dashboard."""
    with open(path) as f:
        dash = json.load(f)
    out = []
    for panel in dash.get("panels", []):
        for target in panel.get("targets", []):
            out.append((f"panel '{panel['title']}' target {target['refId']}", target["expr"]))
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        # label_values(METRIC, label) is Grafana's, not PromQL: its metric is what counts.
        m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", query)
        out.append((f"variable '{var['name']}'", m.group(1) if m else query))
    return out


def rule_exprs(path):
    with open(path) as f:
        rules = yaml.safe_load(f)
    return [(f"rule '{r.get('alert') or r.get('record')}'", r["expr"])
            for group in rules["groups"] for r in group["rules"]]


def exposition_names(text):
    """Names of the samples in a Prometheus text exposition."""
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(NAME.match(line).group(0))
    return names


def main(argv):
    if len(argv) == 4 and argv[0] == "check":
        with open(argv[1]) as f:
            exported = exposition_names(f.read())
        exprs = dashboard_exprs(argv[2]) + rule_exprs(argv[3])
        missing = [(where, name) for where, expr in exprs for name in sorted(metric_names(expr))
                   if name not in exported]
        for where, name in missing:
            print(f"{where}: {name} is not in the exposition")
        used = set().union(*(metric_names(e) for _, e in exprs))
        print(f"{len(exprs)} expressions use {len(used)} metrics; {len(missing)} missing")
        return 1 if missing or not used else 0
    if len(argv) == 3 and argv[0] == "exprs":
        for _, expr in dashboard_exprs(argv[1]) + rule_exprs(argv[2]):
            print(re.sub(r"\$\{?job_id\}?", ".*", expr).replace("\n", " "))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
