#!/usr/bin/env python3
"""tls_resume in the daemon against the fault server (implicit TLS and HTTPS, TLS 1.3): after the
first full handshake, probes resume (tierwatch_tls_resumed_total) and keep reporting the
certificate's expiry; with a short cert_refresh, full handshakes keep coming back."""
import subprocess
import sys

from harness import Fleet, check, http_get, parse_metrics, wait_for

IP = "127.0.90.1"
LISTEN = f"{IP}:29470"

CONFIG = f"""
[daemon]
listen = "{LISTEN}"
state_dir = "state"

[defaults]
interval = "1s"
timeout = "900ms"
ca_file = "pki/root_ca.pem"
tls_resume = true

[[node]]
name = "proxy1"
role = "proxy"
address = "{IP}"
fqdn = "node.test"

[[check]]
name = "imaps"
protocol = "tls"
port = 21993
roles = ["proxy"]

[[check]]
name = "webmail"
protocol = "https"
port = 21443
roles = ["proxy"]

[[check]]
name = "imaps-refresh"
protocol = "tls"
port = 21994
roles = ["proxy"]
cert_refresh = "2s"

[[check]]
name = "imaps-full"
protocol = "tls"
port = 21995
roles = ["proxy"]
tls_resume = false
"""


def per_check(samples, name):
    totals = {}
    for metric, labels, value in samples:
        if metric == name:
            totals[labels["check"]] = totals.get(labels["check"], 0) + value
    return totals


def main():
    with Fleet("tls-resume") as fleet:
        fleet.faultserver([f"tls@{IP}:21993", f"https@{IP}:21443,body=ok", f"tls@{IP}:21994", f"tls@{IP}:21995"])
        fleet.tierwatchd(CONFIG)
        wait_for(lambda: http_get(f"http://{LISTEN}/-/ready")[0] == 200, 15, "/-/ready")

        def enough():
            samples = parse_metrics(http_get(f"http://{LISTEN}/metrics")[1])
            probes, resumed = per_check(samples, "tierwatch_probes_total"), per_check(samples, "tierwatch_tls_resumed_total")
            full = {c: probes.get(c, 0) - resumed.get(c, 0) for c in probes}
            done = (resumed.get("imaps", 0) >= 3 and resumed.get("webmail", 0) >= 3
                    and resumed.get("imaps-refresh", 0) >= 1 and full.get("imaps-refresh", 0) >= 3)
            return done and (samples, probes, resumed, full)
        samples, probes, resumed, full = wait_for(enough, 30, "resumed probes and refreshed handshakes")

        # One full handshake at the start, every later probe resumed (a long cert_refresh).
        check(full["imaps"] == 1 and full["webmail"] == 1, f"full handshakes {full}, probes {probes}")
        check("imaps-full" not in resumed, f"tls_resume = false has no resumption series: {resumed}")
        success = {labels["check"]: value for metric, labels, value in samples if metric == "probe_success"}
        check(all(success.get(c) == 1 for c in ("imaps", "webmail", "imaps-refresh", "imaps-full")),
              f"probe_success {success}")
        # Resumed probes carry no certificate on the wire: the facts come from the last full handshake.
        expiry = {labels["check"]: value for metric, labels, value in samples
                  if metric == "probe_ssl_earliest_cert_expiry"}
        check(set(expiry) == {"imaps", "webmail", "imaps-refresh", "imaps-full"} and
              len(set(expiry.values())) == 1 and min(expiry.values()) > 0, f"cert expiry {expiry}")

        exposition = http_get(f"http://{LISTEN}/metrics")[1]
        lint = subprocess.run(["promtool", "check", "metrics"], input=exposition, capture_output=True, text=True)
        check(lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(),
              f"promtool check metrics: rc {lint.returncode}\n{lint.stdout}{lint.stderr}")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
