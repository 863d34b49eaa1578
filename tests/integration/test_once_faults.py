#!/usr/bin/env python3
"""`tierwatchd --once` against the fault server: every fault gives its reason, and the exit code
is 2 with a failure, 1 with only a warning (certificate expiring), 0 when all is well."""
import json
import subprocess
import sys

from harness import Fleet, TIERWATCHD, check

IP = "127.0.61.1"
# (check name, protocol, port, fault server spec or None for nothing listening, extra keys, reason)
CASES = [
    ("tcp-ok", "tcp", 20001, "banner@{ip}:20001,text=220 ok\\r\\n", 'banner_regex = "^220"', "none"),
    ("tcp-refused", "tcp", 20002, None, "", "connect_refused"),
    ("tcp-queue-full", "tcp", 20003, "accept_queue_full@{ip}:20003", "", "connect_timeout"),
    ("tcp-silent", "tcp", 20004, "silent@{ip}:20004", 'banner_regex = "^220"', "banner_timeout"),
    ("tcp-reset", "tcp", 20005, "reset@{ip}:20005", 'banner_regex = "^220"', "connection_reset"),
    ("tcp-bad-banner", "tcp", 20006, "banner@{ip}:20006,text=554 go away\\r\\n", 'banner_regex = "^220"',
     "bad_greeting"),
    ("tls-garbage", "tls", 20007, "garbage@{ip}:20007", "", "tls_handshake"),
    ("tls-ok", "tls", 20008, "tls@{ip}:20008,cert=good", "", "none"),
    ("tls-expired", "tls", 20009, "tls@{ip}:20009,cert=expired", "", "cert_expired"),
    ("tls-wrong-host", "tls", 20010, "tls@{ip}:20010,cert=wrong_host", "", "tls_verify"),
    ("tls-self-signed", "tls", 20011, "tls@{ip}:20011,cert=self_signed", "", "tls_verify"),
    ("tls-no-intermediate", "tls", 20012, "tls@{ip}:20012,cert=missing_intermediate", "", "tls_verify"),
    ("http-503", "http", 20013, "http@{ip}:20013,status=503,body=down", "", "unexpected_status"),
    ("https-body", "https", 20014, "https@{ip}:20014,status=200,body=hello", 'body_regex = "welcome"',
     "body_mismatch"),
    ("http-huge-header", "http", 20015, "huge_header@{ip}:20015", "", "protocol"),
    ("https-silent", "https", 20016, "silent@{ip}:20016", "", "timeout"),
]


def config(cases, ca_file):
    lines = [f"""
[daemon]
listen = "127.0.61.1:29469"
state_dir = "state"

[defaults]
timeout = "1s"
ca_file = "{ca_file}"

[[node]]
name = "node1"
role = "fault"
zone = "lab"
address = "{IP}"
fqdn = "node.test"
"""]
    for name, protocol, port, _, extra, _ in cases:
        lines.append(f'[[check]]\nname = "{name}"\nprotocol = "{protocol}"\nport = {port}\nroles = ["fault"]\n{extra}\n')
    return "\n".join(lines)


def run_once(fleet, cases, *flags):
    path = fleet.path(f"once-{len(cases)}.toml")
    with open(path, "w") as f:
        f.write(config(cases, fleet.path("pki", "root_ca.pem")))
    return subprocess.run([TIERWATCHD, "--config", path, "--once", *flags], capture_output=True, text=True,
                          timeout=60)


def main():
    with Fleet("once") as fleet:
        serves = [case[3].format(ip=IP) for case in CASES if case[3]]
        serves.append(f"tls@{IP}:20017,cert=expiring_soon")
        fleet.faultserver(serves)

        result = run_once(fleet, CASES, "--json")
        check(result.returncode == 2, f"exit {result.returncode} with failures, expected 2\n{result.stderr}")
        report = json.loads(result.stdout)
        by_check = {t["check"]: t for t in report["targets"]}
        for name, *_, expected in CASES:
            target = by_check[name]
            got = target["reason"] or "none"
            check(got == expected, f"{name}: reason {got!r}, expected {expected!r} ({target['detail']})")
        check(by_check["tls-ok"]["tls"]["version"] == "TLS 1.3", "TLS version reported")
        check(by_check["tls-expired"]["tls"]["earliest_not_after"] > 0, "expiry reported for a failing chain")
        check(report["grade"] == "critical", "overall grade")

        table = run_once(fleet, CASES)
        check("connect_refused" in table.stdout and "TARGET" in table.stdout, f"table output:\n{table.stdout}")

        good = [c for c in CASES if c[5] == "none"]
        result = run_once(fleet, good)
        check(result.returncode == 0, f"all ok: exit {result.returncode}\n{result.stdout}{result.stderr}")

        expiring = good + [("tls-expiring", "tls", 20017, None, "", "none")]
        result = run_once(fleet, expiring)
        check(result.returncode == 2, f"cert expiring in 3 days is below cert_critical 7d: exit {result.returncode}")
        relaxed = expiring[:-1] + [("tls-expiring", "tls", 20017, None, 'cert_critical = "1d"', "none")]
        result = run_once(fleet, relaxed)
        check(result.returncode == 1, f"expiring within cert_warning only: exit {result.returncode}\n{result.stdout}")
        check("certificate expires in" in result.stdout, "the warning says why")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
