#!/usr/bin/env python3
"""NLB targets follow DNS: a real dnsmasq answers two addresses, then one, then none; the
daemon's targets follow within a dns_refresh, and a name that stops resolving is a `dns` failure."""
import os
import signal
import sys

from harness import Fleet, check, http_get, parse_metrics, wait_for

DNS_IP, DNS_PORT = "127.0.63.53", 20053
LISTEN = "127.0.63.1:29469"
ZONE_A, ZONE_B = "127.0.63.11", "127.0.63.12"

CONFIG = f"""
[daemon]
listen = "{LISTEN}"
state_dir = "state"
dns_refresh = "1s"
nameservers = ["{DNS_IP}:{DNS_PORT}"]

[defaults]
interval = "1s"
timeout = "500ms"
ca_file = "pki/root_ca.pem"

[[nlb]]
name = "mail"
fqdn = "mail.test"

[[check]]
name = "imaps-nlb"
protocol = "tls"
port = 22993
nlbs = ["mail"]
"""


def nlb_targets(listen):
    samples = parse_metrics(http_get(f"http://{listen}/metrics")[1])
    return {s[1]["target"]: s[2] for s in samples if s[0] == "probe_success" and s[1].get("nlb") == "mail"}


def reasons(listen):
    samples = parse_metrics(http_get(f"http://{listen}/metrics")[1])
    return {s[1]["target"]: s[1]["reason"] for s in samples if s[0] == "probe_failure_info"}


def main():
    with Fleet("nlb") as fleet:
        # Both zones' NLB addresses serve TLS with a certificate for mail.test.
        fleet.faultserver([f"tls@{ZONE_A}:22993", f"tls@{ZONE_B}:22993"], sans=["mail.test"])
        hosts = fleet.path("hosts")
        with open(hosts, "w") as f:
            f.write(f"{ZONE_A} mail.test\n{ZONE_B} mail.test\n")
        dnsmasq = fleet.dnsmasq(DNS_IP, DNS_PORT, hosts)
        fleet.tierwatchd(CONFIG)

        both = {f"{ZONE_A}:22993": 1, f"{ZONE_B}:22993": 1}
        wait_for(lambda: nlb_targets(LISTEN) == both, 20, "both NLB addresses probed ok")

        with open(hosts, "w") as f:
            f.write(f"{ZONE_A} mail.test\n")
        os.kill(dnsmasq.pid, signal.SIGHUP)
        wait_for(lambda: nlb_targets(LISTEN) == {f"{ZONE_A}:22993": 1}, 20, "one NLB address left")

        with open(hosts, "w") as f:
            f.write("")
        os.kill(dnsmasq.pid, signal.SIGHUP)
        wait_for(lambda: reasons(LISTEN) == {"mail.test:22993": "dns"}, 20, "a dns failure for the NLB")
        check(nlb_targets(LISTEN) == {"mail.test:22993": 0}, f"only the dns stand-in remains: {nlb_targets(LISTEN)}")

        with open(hosts, "w") as f:
            f.write(f"{ZONE_B} mail.test\n")
        os.kill(dnsmasq.pid, signal.SIGHUP)
        wait_for(lambda: nlb_targets(LISTEN) == {f"{ZONE_B}:22993": 1}, 20, "the NLB back on one address")
        check("resolves to" in open(fleet.path("tierwatchd.log")).read(), "address changes are logged")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
