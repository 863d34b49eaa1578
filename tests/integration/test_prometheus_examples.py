#!/usr/bin/env python3
"""The Prometheus and Grafana examples under config/examples work with the real tools and the real
daemon: `promtool check config`, `check rules` and `test rules` pass; the dashboard is valid JSON
whose every query is valid PromQL naming only metrics tierwatchd exports; and a real Prometheus
running the example configuration against a real tierwatchd (one zone up, one down) records the
zone/role series, raises the rules' alerts (a refused reload too) and answers every dashboard
query."""
import glob
import json
import os
import re
import signal
import subprocess
import sys

from harness import SOURCE, Fleet, check, http_get, prometheus_query, wait_for

EXAMPLES = os.path.join(SOURCE, "config", "examples")
PROMETHEUS_DIR = os.path.join(EXAMPLES, "prometheus")
DASHBOARD = os.path.join(EXAMPLES, "grafana", "tierwatch.json")

UP_IP = "127.0.80.1"       # mta1 in zone-a: a banner server answers
DOWN_IP = "127.0.80.2"     # mta2 in zone-b: nothing listens, every probe is refused
LISTEN = "127.0.80.3:29469"
PROMETHEUS = "127.0.80.3:29090"
SMTP_PORT = 21025

DAEMON_CONFIG = f"""
[daemon]
listen = "{LISTEN}"
state_dir = "state"

[defaults]
interval = "1s"
timeout = "500ms"
rise = 1
fall = 1

[[node]]
name = "mta1"
role = "mta"
zone = "zone-a"
address = "{UP_IP}"

[[node]]
name = "mta2"
role = "mta"
zone = "zone-b"
address = "{DOWN_IP}"

[[check]]
name = "smtp-banner"
protocol = "tcp"
port = {SMTP_PORT}
roles = ["mta"]
banner_regex = "^220 "

[[group]]
name = "mta-pool"
roles = ["mta"]
warning_when_down = 1
"""

# Grafana's variables, replaced the way Grafana would for one job over a five-minute window.
GRAFANA_VARIABLES = {'job=~"$job"': 'job=~".+"', "$__rate_interval": "5m"}


def promtool(*args, cwd=PROMETHEUS_DIR):
    result = subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    check(result.returncode == 0, f"promtool {' '.join(args)}: rc {result.returncode}\n{result.stdout}{result.stderr}")
    return result.stdout


def exported_metric_names():
    """Every metric family the daemon registers: the quoted names in daemon/**/*.cpp, and the
    families of the measurement kinds each protocol declares in probes/**/*.hpp."""
    names = set()
    paths = glob.glob(os.path.join(SOURCE, "daemon", "**", "*.cpp"), recursive=True)
    paths += glob.glob(os.path.join(SOURCE, "probes", "**", "*.hpp"), recursive=True)
    for path in paths:
        with open(path) as f:
            names.update(re.findall(r'"((?:tierwatch|probe)_[a-z_]+)"', f.read()))
    check("probe_success" in names and "tierwatch_outbox_depth" in names, f"metric names not found: {names}")
    return names


def metric_names_in(text):
    """tierwatch's metric names an expression or rule file uses, without histogram suffixes."""
    used = set()
    for name in re.findall(r"\b((?:tierwatch|probe)_[a-z_]+)", text):
        used.add(re.sub(r"_(bucket|count|sum)$", "", name))
    return used


def dashboard_queries():
    with open(DASHBOARD) as f:
        dashboard = json.load(f)
    panels = dashboard.get("panels", [])
    ids = [p.get("id") for p in panels]
    check(len(ids) == len(set(ids)), f"duplicate panel ids: {ids}")
    queries = {}
    for panel in panels:
        if panel.get("type") == "row":
            continue
        targets = panel.get("targets") or []
        check(targets, f"panel {panel.get('title')!r} has no query")
        check(panel.get("gridPos", {}).get("w", 0) > 0, f"panel {panel.get('title')!r} has no size")
        for target in targets:
            expr = target.get("expr", "")
            check(expr, f"panel {panel.get('title')!r} target {target.get('refId')} has no expr")
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            check("$" not in expr, f"unknown Grafana variable in {expr!r}")
            queries[f"{panel['title']} / {target['refId']}"] = expr
    check(len(queries) >= 10, f"only {len(queries)} dashboard queries")
    return queries


def static_checks(fleet, exported):
    promtool("check", "config", "prometheus.yml")
    promtool("check", "rules", "tierwatch.rules.yml")
    out = promtool("test", "rules", "tierwatch.rules.test.yml")
    check("SUCCESS" in out, f"promtool test rules: {out}")

    with open(os.path.join(PROMETHEUS_DIR, "tierwatch.rules.yml")) as f:
        rules_text = f.read()
    queries = dashboard_queries()
    for where, text in [("tierwatch.rules.yml", rules_text), *queries.items()]:
        unknown = metric_names_in(text) - exported
        check(not unknown, f"{where}: tierwatchd exports no {sorted(unknown)}")
    used = metric_names_in(rules_text) | set().union(*(metric_names_in(q) for q in queries.values()))
    for needed in ["probe_success", "tierwatch_alarms", "tierwatch_group_grade", "tierwatch_outbox_depth",
                   "tierwatch_pages_failed_total"]:
        check(needed in used, f"the examples never use {needed}")

    # Every dashboard query is valid PromQL: promtool parses it as a recording rule.
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for index, expr in enumerate(queries.values()):
        lines += [f"      - record: dashboard:query_{index}", f"        expr: {json.dumps(expr)}"]
    path = fleet.path("dashboard.rules.yml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    promtool("check", "rules", path, cwd=fleet.dir)
    return queries


def example_prometheus_config(fleet):
    """The example prometheus.yml, pointed at this test's daemon and sped up to seconds."""
    with open(os.path.join(PROMETHEUS_DIR, "prometheus.yml")) as f:
        text = f.read()
    replacements = {
        '"127.0.0.1:9469"': f'"{LISTEN}"',
        "scrape_interval: 15s": "scrape_interval: 1s",
        "evaluation_interval: 15s": "evaluation_interval: 1s",
        "scrape_timeout: 10s": "scrape_timeout: 1s",
        "- tierwatch.rules.yml": "- " + os.path.join(PROMETHEUS_DIR, "tierwatch.rules.yml"),
    }
    for old, new in replacements.items():
        check(text.count(old) == 1, f"the example prometheus.yml no longer has {old!r} once")
        text = text.replace(old, new)
    path = fleet.path("prometheus.yml")
    with open(path, "w") as f:
        f.write(text)
    return path


def live_checks(fleet, queries):
    fleet.faultserver([f"banner@{UP_IP}:{SMTP_PORT},text=220 mta1 ESMTP\\r\\n"])
    daemon = fleet.tierwatchd(DAEMON_CONFIG)
    wait_for(lambda: http_get(f"http://{LISTEN}/-/ready")[0] == 200, 15, "tierwatchd /-/ready")
    fleet.prometheus(example_prometheus_config(fleet), PROMETHEUS)

    def query(expression):
        return prometheus_query(PROMETHEUS, expression)

    wait_for(lambda: query('up{job="tierwatch"} == 1'), 60, "Prometheus to scrape tierwatchd")
    ratios = wait_for(lambda: len(query("zone_role:probe_success:ratio")) == 2 and query("zone_role:probe_success:ratio"),
                      60, "the zone/role recording rule")
    by_zone = {r["metric"]["zone"]: float(r["value"][1]) for r in ratios}
    wait_for(lambda: {r["metric"]["zone"]: float(r["value"][1]) for r in query("zone_role:probe_success:ratio")}
             == {"zone-a": 1.0, "zone-b": 0.0}, 30, f"zone-a up and zone-b down (last {by_zone})")

    def alert(name, **labels):
        matchers = ",".join([f'alertname="{name}"'] + [f'{k}="{v}"' for k, v in labels.items()])
        return query(f"ALERTS{{{matchers}}}")
    # Pending or firing: the rules' `for` spans minutes; the expression matching is what is tested.
    wait_for(lambda: alert("TierwatchRoleDownInZone", zone="zone-b", role="mta"), 60, "TierwatchRoleDownInZone")
    wait_for(lambda: alert("TierwatchZoneDown", group="zone-b"), 60, "TierwatchZoneDown for zone-b")
    wait_for(lambda: alert("TierwatchGroupDegraded", group="mta-pool"), 60, "TierwatchGroupDegraded")
    check(not alert("TierwatchRoleDownInZone", zone="zone-a"), "no role alert for the zone that answers")
    check(not alert("TierwatchZoneDown", group="zone-a"), "no zone alert for the zone that answers")

    # Every panel's query runs; the fleet panels have data from this fleet.
    empty = []
    for where, expr in queries.items():
        if not query(expr):
            empty.append(where)
    for must_have_data in ["Success by zone and role / A", "Zones and load-balancer addresses / A", "Groups / A",
                           "Failing targets / A", "Failures by reason / A", "Targets failing / A", "Targets / A",
                           "Probe duration by check / A", "Version / A", "Last configuration reload / A",
                           "Configuration loaded / A"]:
        check(must_have_data in queries, f"no dashboard query {must_have_data!r}")
        check(must_have_data not in empty, f"dashboard query {must_have_data!r} has no data: {queries[must_have_data]}")
    print(f"{len(queries)} dashboard queries ran; without data in this fleet: {empty}")

    # A reload the daemon refuses (it keeps the running configuration) raises the reload alert.
    check(not alert("TierwatchConfigReloadFailed"), "no reload alert before a reload")
    with open(fleet.path("tierwatch.toml"), "a") as f:
        f.write("\n[[node]]\nname = \"mta3\"\n")  # no role, no address: refused
    daemon.send_signal(signal.SIGHUP)
    wait_for(lambda: alert("TierwatchConfigReloadFailed"), 60, "TierwatchConfigReloadFailed after a bad reload")
    check(daemon.poll() is None, "tierwatchd keeps running after a refused reload")


def main():
    exported = exported_metric_names()
    with Fleet("prometheus-examples") as fleet:
        queries = static_checks(fleet, exported)
        live_checks(fleet, queries)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
