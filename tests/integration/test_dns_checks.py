#!/usr/bin/env python3
"""dnsbl and fcrdns against real DNS: knotd serving a signed zone, a block list and reverse zones
(tests/fleet/dns), unbound validating in front of it. Every failure reason comes from a real
record; a silent nameserver gives `timeout`; the AD bit is read from a signed answer and absent
from an unsigned one."""
import json
import socket
import subprocess
import sys

from harness import DNS_QUERY, DNS_SIGNED_ZONE, TIERWATCHD, Fleet, api_targets, check, http_get, parse_metrics, wait_for

SILENT_DNS = "127.0.69.3"
LISTEN = "127.0.69.9:29469"

# (node, address, public_address, role)
NODES = [
    ("mta1", "127.0.69.100", "198.51.100.10", "mta"),  # clean, forward-confirmed
    ("mta2", "198.51.100.20", None, "mta"),            # listed in dnsbl.test
    ("mta3", "198.51.100.30", None, "mta"),            # dnsbl.test answers 127.255.255.254
    ("mta4", "198.51.100.40", None, "mta"),            # no PTR
    ("mta5", "198.51.100.50", None, "mta"),            # PTR names a host with another address
    ("mta6", "2001:db8::6", None, "mta"),              # IPv6: nibbles for both lookups
    ("helo", "127.0.69.101", "198.51.100.10", "helo"),  # expect_hostname checks
]

# (check, node) -> reason
EXPECTED = {
    ("dnsbl", "mta1"): "none", ("dnsbl", "mta2"): "listed", ("dnsbl", "mta3"): "dnsbl_error",
    ("dnsbl", "mta4"): "none", ("dnsbl", "mta5"): "none", ("dnsbl", "mta6"): "none",
    ("fcrdns", "mta1"): "none", ("fcrdns", "mta2"): "none", ("fcrdns", "mta3"): "none",
    ("fcrdns", "mta4"): "no_ptr", ("fcrdns", "mta5"): "ptr_mismatch", ("fcrdns", "mta6"): "none",
    ("helo-right", "helo"): "none", ("helo-wrong", "helo"): "hostname_mismatch",
}


def config(nameserver, interval=None):
    """`interval`: each check's own (the DNS checks default to 5m), for the daemon's run."""
    text = f"""
[daemon]
listen = "{LISTEN}"
state_dir = "state"
nameservers = ["{nameserver}"]

[defaults]
timeout = "2s"
"""
    for name, address, public, role in NODES:
        text += f'[[node]]\nname = "{name}"\nrole = "{role}"\naddress = "{address}"\n'
        text += f'public_address = "{public}"\n' if public else ""
    text += """
[[check]]
name = "dnsbl"
protocol = "dnsbl"
roles = ["mta"]
zones = ["dnsbl.test"]

[[check]]
name = "fcrdns"
protocol = "fcrdns"
roles = ["mta"]

[[check]]
name = "helo-right"
protocol = "fcrdns"
roles = ["helo"]
expect_hostname = "MTA1.tierwatch.test."

[[check]]
name = "helo-wrong"
protocol = "fcrdns"
roles = ["helo"]
expect_hostname = "mx.tierwatch.test"
"""
    if interval:
        text = text.replace("[[check]]\n", f'[[check]]\ninterval = "{interval}"\n')
    return text


def run_once(fleet, nameserver):
    path = fleet.path(f"once-{nameserver.replace(':', '-')}.toml")
    with open(path, "w") as f:
        f.write(config(nameserver))
    result = subprocess.run([TIERWATCHD, "--config", path, "--once", "--json"], capture_output=True, text=True,
                            timeout=60)
    check(result.stdout, f"no JSON from --once (exit {result.returncode}):\n{result.stderr}")
    report = json.loads(result.stdout)
    return result.returncode, {(t["check"], t["node"]): t for t in report["targets"]}


def dns_query(nameserver, name, rtype):
    out = subprocess.run([DNS_QUERY, nameserver, name, rtype], capture_output=True, text=True, timeout=30)
    check(out.returncode == 0, f"tierwatch-dnsquery {name} {rtype}: exit {out.returncode} {out.stdout}{out.stderr}")
    return json.loads(out.stdout)


def main():
    with Fleet("dns") as fleet:
        resolver = fleet.dns()

        # The AD bit, as the probes' DNS client reads it: set for the signed zone, clear otherwise.
        signed = dns_query(resolver, f"mta1.{DNS_SIGNED_ZONE}", "A")
        check(signed["ad"] is True and signed["answers"][0]["data"] == "198.51.100.10", f"signed answer: {signed}")
        unsigned = dns_query(resolver, "20.100.51.198.dnsbl.test", "A")
        check(unsigned["ad"] is False and unsigned["answers"][0]["data"] == "127.0.0.2", f"unsigned answer: {unsigned}")
        nxdomain = dns_query(resolver, "40.100.51.198.dnsbl.test", "A")
        check(nxdomain["rcode"] == "NXDOMAIN" and nxdomain["error"] == "", f"NXDOMAIN is data: {nxdomain}")

        code, targets = run_once(fleet, resolver)
        check(code == 2, f"exit {code} with failures, expected 2")
        for key, expected in EXPECTED.items():
            target = targets.get(key)
            check(target is not None, f"no target for {key}: {sorted(targets)}")
            got = target["reason"] or "none"
            check(got == expected, f"{key}: reason {got!r}, expected {expected!r} ({target['detail']})")

        listed = targets[("dnsbl", "mta2")]
        check("dnsbl.test returned 127.0.0.2" in listed["detail"] and "see https://dnsbl.test/lookup" in listed["detail"],
              f"the listing names the zone, the code and the TXT explanation: {listed['detail']}")
        check(listed["dnsbl_listed"] == {"dnsbl.test": 1}, f"listed measurement: {listed}")
        check(targets[("dnsbl", "mta1")]["dnsbl_listed"] == {"dnsbl.test": 0}, "not-listed measurement")
        check(targets[("dnsbl", "mta1")]["target"] == "198.51.100.10:53", "public_address is the address looked up")
        check("127.255.255.254" in targets[("dnsbl", "mta3")]["detail"], "the error code is named")
        check("mta5.tierwatch.test" in targets[("fcrdns", "mta5")]["detail"] and
              "198.51.100.51" in targets[("fcrdns", "mta5")]["detail"], "the mismatch names the name and its address")
        check("expected mx.tierwatch.test" in targets[("helo-wrong", "helo")]["detail"], "the expected name is named")

        # The daemon shows the same: the API, /metrics (reason and the per-zone family), the page.
        fleet.tierwatchd(config(resolver, interval="2s"))

        def api_reasons():
            return {(t["check"], t.get("node")): (t["last"] or {}).get("reason") or "none" for t in api_targets(LISTEN)
                    if t.get("last")}
        wait_for(lambda: all(api_reasons().get(key) == reason for key, reason in EXPECTED.items()), 30,
                 "every DNS target probed by the daemon with its expected reason")
        samples = parse_metrics(http_get(f"http://{LISTEN}/metrics")[1])
        listed = {(s[1]["node"], s[1]["zone"]): s[2] for s in samples if s[0] == "tierwatch_dnsbl_listed"}
        check(listed.get(("mta2", "dnsbl.test")) == 1 and listed.get(("mta1", "dnsbl.test")) == 0,
              f"tierwatch_dnsbl_listed per node and zone: {listed}")
        failures = {(s[1]["check"], s[1]["node"]): s[1]["reason"] for s in samples if s[0] == "probe_failure_info"}
        check(failures.get(("fcrdns", "mta4")) == "no_ptr" and failures.get(("dnsbl", "mta2")) == "listed",
              f"probe_failure_info reasons: {failures}")
        # On the page once graded (after `fall` failures), with the detail as the reason why.
        wait_for(lambda: all(text in http_get(f"http://{LISTEN}/status")[1]
                             for text in ["198.51.100.20 is listed: dnsbl.test returned 127.0.0.2",
                                          "no PTR record for 198.51.100.40"]),
                 30, "the status page showing the listing and the missing PTR")

        # A nameserver that never answers: every lookup runs into the probe's deadline.
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind((SILENT_DNS, 0))
        code, targets = run_once(fleet, f"{SILENT_DNS}:{silent.getsockname()[1]}")
        silent.close()
        for key in [("dnsbl", "mta1"), ("fcrdns", "mta1")]:
            check(targets[key]["reason"] == "timeout", f"{key} with a silent nameserver: {targets[key]}")
            check(targets[key]["duration_seconds"] < 4, f"{key} ends at its 2s deadline: {targets[key]}")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
