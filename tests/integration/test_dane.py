#!/usr/bin/env python3
"""dane and fcrdns's match_greeting against real servers: the test fleet's Postfix (STARTTLS with
the certificate the fleet generates per run) and the DNS fleet (knotd signing tierwatch.test,
unbound validating it). The matching TLSA record is computed from that run's certificate and added
to the signed zone at start; a record for a retired key (tests/fleet/dns/tierwatch.test.zone)
gives tlsa_mismatch; the same right record in an unsigned zone gives dnssec with require_dnssec.
PTRs of the fleet's addresses make one greeting match and one not.

Uses the fleet subnet 127.72 and 127.0.72.9 for tierwatchd; needs root (the fleet's Postfix)."""
import hashlib
import json
import os
import subprocess
import sys

from harness import TIERWATCHD, check, http_get, on_mail_fleet, parse_metrics, unsigned_zone, wait_for
SUBNET = "127.72"
MTA1, MTA2 = f"{SUBNET}.10.1", f"{SUBNET}.20.1"  # the fleet's address plan
SMTP_PORT = 10025
LISTEN = "127.0.72.9:29472"

# (check, node) -> reason
EXPECTED = {
    ("dane", "good"): "none", ("dane", "old"): "tlsa_mismatch", ("dane", "unsigned"): "dnssec",
    ("dane", "absent"): "tlsa_missing", ("dane-unvalidated", "unsigned-lax"): "none",
    ("greeting", "greet-ok"): "none", ("greeting", "greet-wrong"): "greeting_mismatch",
}


def spki_sha256(certificate):
    """TLSA "3 1 1" data: SHA-256 of the certificate's SubjectPublicKeyInfo (DER)."""
    pem = subprocess.run(["openssl", "x509", "-in", certificate, "-pubkey", "-noout"], capture_output=True,
                         check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem, capture_output=True,
                         check=True).stdout
    return hashlib.sha256(der).hexdigest()


DNS_SUBNET = "127.0.73"  # its own knotd and unbound (Fleet.dns)


def config(resolver, interval=None):
    """`interval`: each check's own (dane and fcrdns default to 5m), for the daemon's run."""
    text = f"""
[daemon]
listen = "{LISTEN}"
state_dir = "state"
nameservers = ["{resolver}"]

[defaults]
timeout = "5s"
"""
    nodes = [("good", "dane", MTA1, "mx-good.tierwatch.test"), ("old", "dane", MTA1, "mx-old.tierwatch.test"),
             ("unsigned", "dane", MTA1, "mx.unsigned.test"), ("absent", "dane", MTA1, "mx-absent.tierwatch.test"),
             ("greet-ok", "greet", MTA1, None), ("greet-wrong", "greet", MTA2, None)]
    for name, role, address, fqdn in nodes:
        text += f'[[node]]\nname = "{name}"\nrole = "{role}"\naddress = "{address}"\n'
        text += f'fqdn = "{fqdn}"\n' if fqdn else ""
    text += f"""
[[node]]
name = "unsigned-lax"
role = "dane-lax"
address = "{MTA1}"
fqdn = "mx.unsigned.test"

[[check]]
name = "dane"
protocol = "dane"
port = {SMTP_PORT}
roles = ["dane"]

[[check]]
name = "dane-unvalidated"
protocol = "dane"
port = {SMTP_PORT}
roles = ["dane-lax"]
require_dnssec = false

[[check]]
name = "greeting"
protocol = "fcrdns"
roles = ["greet"]
match_greeting = true
greeting_port = {SMTP_PORT}
"""
    if interval:
        text = text.replace("[[check]]\n", f'[[check]]\ninterval = "{interval}"\n')
    return text


def run(fleet, env):
    digest = spki_sha256(os.path.join(env["FLEET_DIR"], "pki", "nodes", "mta1.pem"))
    resolver = fleet.dns(
        subnet=DNS_SUBNET,
        records={"tierwatch.test": f"_{SMTP_PORT}._tcp.mx-good TLSA 3 1 1 {digest}\n"
                                   f"mx2 A {MTA2}  ; mta2's PTR: forward-confirmed, not its greeting's name"},
        zones_text={
            "unsigned.test": unsigned_zone("unsigned.test", f"_{SMTP_PORT}._tcp.mx TLSA 3 1 1 {digest}"),
            "example.test": unsigned_zone("example.test", f"mta1 A {MTA1}"),
            f"{SUBNET.split('.')[1]}.127.in-addr.arpa": unsigned_zone(
                f"{SUBNET.split('.')[1]}.127.in-addr.arpa",
                "1.10 PTR mta1.example.test.\n1.20 PTR mx2.tierwatch.test."),
        })
    path = fleet.path("dane.toml")
    with open(path, "w") as f:
        f.write(config(resolver))
    result = subprocess.run([TIERWATCHD, "--config", path, "--once", "--json"], capture_output=True, text=True,
                            timeout=120)
    check(result.stdout, f"no JSON from --once (exit {result.returncode}):\n{result.stderr}")
    targets = {(t["check"], t["node"]): t for t in json.loads(result.stdout)["targets"]}
    for key, target in sorted(targets.items()):
        print(f"{key}: {target['reason'] or 'none'}: {target['detail']}")
    for key, expected in EXPECTED.items():
        target = targets.get(key)
        check(target is not None, f"no target for {key}: {sorted(targets)}")
        got = target["reason"] or "none"
        check(got == expected, f"{key}: reason {got!r}, expected {expected!r} ({target['detail']})")

    good, old = targets[("dane", "good")], targets[("dane", "old")]
    check(good.get("dane_tlsa_matched") == 1, f"matched measurement: {good}")
    check(good.get("dane_renewal_unprepared_seconds") == 0, f"a year-long certificate is not due: {good}")
    check(old.get("dane_tlsa_matched") == 0, f"mismatch measurement: {old}")
    check(f"3 1 1 {digest}" in old["detail"].lower() and "_10025._tcp.mx-old.tierwatch.test" in old["detail"],
          f"the mismatch names the record's name and the key the server has: {old['detail']}")
    check("not DNSSEC-validated" in targets[("dane", "unsigned")]["detail"],
          f"dnssec detail: {targets[('dane', 'unsigned')]['detail']}")
    wrong = targets[("greeting", "greet-wrong")]["detail"]
    check("mx2.tierwatch.test" in wrong and "mta2.example.test" in wrong,
          f"the greeting mismatch names the PTR name and the greeting's: {wrong}")
    check(result.returncode == 2, f"exit {result.returncode} with failures, expected 2")

    # The daemon shows the same: the API's reasons and the dane families on /metrics.
    fleet.tierwatchd(config(resolver, interval="6s"))

    seen = {}

    def all_probed():
        try:
            listed = json.loads(http_get(f"http://{LISTEN}/api/v1/targets")[1])["targets"]
        except OSError:
            return False
        seen.clear()
        seen.update({(t["check"], t.get("node")): (t["last"] or {}).get("reason") or "none" for t in listed
                     if t.get("last")})
        return all(seen.get(key) == reason for key, reason in EXPECTED.items())
    try:
        wait_for(all_probed, 60, "every dane and greeting target probed by the daemon with its expected reason")
    except AssertionError as error:
        raise AssertionError(f"{error}; the API's last reasons: {seen}") from None
    samples = parse_metrics(http_get(f"http://{LISTEN}/metrics")[1])
    matched = {s[1]["node"]: s[2] for s in samples if s[0] == "tierwatch_dane_tlsa_matched"}
    check(matched.get("good") == 1 and matched.get("old") == 0, f"tierwatch_dane_tlsa_matched per node: {matched}")
    unprepared = {s[1]["node"]: s[2] for s in samples if s[0] == "tierwatch_dane_renewal_unprepared_seconds"}
    check(unprepared.get("good") == 0, f"tierwatch_dane_renewal_unprepared_seconds: {unprepared}")
    failures = {(s[1]["check"], s[1]["node"]): s[1]["reason"] for s in samples if s[0] == "probe_failure_info"}
    check(failures.get(("dane", "old")) == "tlsa_mismatch" and failures.get(("dane", "unsigned")) == "dnssec",
          f"probe_failure_info reasons: {failures}")


def main():
    return on_mail_fleet("dane", SUBNET, run)


if __name__ == "__main__":
    sys.exit(main())
