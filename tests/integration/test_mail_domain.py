#!/usr/bin/env python3
"""mail_domain against real DNS and a real HTTPS server: knotd serving the signed tierwatch.test
zone (tests/fleet/dns, the mail domain section) behind the validating unbound, and the MTA-STS
policies served over HTTPS on 127.0.71.1:443 with a certificate from a test CA. Every failure
reason comes from a real record; --once (JSON), the API, /metrics and the target page show the
per-record states."""
import http.server
import json
import ssl
import subprocess
import sys
import threading

from harness import TIERWATCHD, Fleet, api_targets, check, http_get, parse_metrics, unsigned_zone, wait_for

POLICY_ADDRESS = "127.0.71.1"  # mta-sts.<domain> A records in the zone point here
LISTEN = "127.0.71.9:29471"
ZONE = "tierwatch.test"
DNS_SUBNET = "127.0.74"  # its own knotd and unbound (Fleet.dns)
# Sound records in a zone nobody signed: with require_dnssec each is `dnssec`, a warning.
UNSIGNED_ZONE = "unsigned-mail.test"
UNSIGNED_RECORDS = ("@ MX 10 mx1\nmx1 A 127.0.71.100\n@ TXT \"v=spf1 ip4:198.51.100.10 ip4:198.51.100.20 -all\"\n"
                    "_dmarc TXT \"v=DMARC1; p=reject\"")

# The policy file each mta-sts.<domain> serves (RFC 8461 §3.2).
POLICIES = {
    f"mta-sts.good.{ZONE}": f"version: STSv1\nmode: enforce\nmx: mx1.good.{ZONE}\nmx: *.good.{ZONE}\nmax_age: 604800\n",
    # mx2.broken is an MX of the domain but not in the policy.
    f"mta-sts.broken.{ZONE}": f"version: STSv1\nmode: enforce\nmx: mx1.broken.{ZONE}\nmax_age: 604800\n",
}

ALL_OK = {"mx": "ok", "spf": "ok", "dmarc": "ok", "dkim:s2048": "ok", "dkim:ed": "ok", "mta_sts": "ok", "tls_rpt": "ok"}

# check -> (record -> state), and texts the detail must hold (the reason named with its record).
EXPECTED = {
    "good": (ALL_OK, []),
    "lookups": ({"mx": "ok", "spf": "critical", "dmarc": "warning"},
                ["spf spf_too_many_lookups:", "dmarc dmarc_missing:"]),
    "include": ({"mx": "ok", "spf": "warning", "dmarc": "warning"},
                ["spf spf_invalid:", f"_spf.gone.{ZONE}"]),
    "uncovered": ({"mx": "ok", "spf": "critical", "dmarc": "warning"},
                  ["spf spf_not_covered:", "198.51.100.20"]),
    "broken": ({"mx": "ok", "spf": "ok", "dmarc": "warning", "dkim:revoked": "warning", "dkim:weak": "warning",
                "mta_sts": "critical", "tls_rpt": "warning"},
               ["dmarc dmarc_invalid:", "dkim:revoked dkim_revoked:", "dkim:weak dkim_weak_key:", "512",
                "mta_sts mta_sts_mx_mismatch:", f"mx2.broken.{ZONE}", "tls_rpt tlsrpt_missing:"]),
    # The good domain's policy, but verified against a CA that did not sign its certificate.
    "untrusted": ({**ALL_OK, "mta_sts": "warning"}, ["mta_sts mta_sts_fetch:", "tls_verify"]),
    # The good domain with an MX outside the expected names.
    "unexpected-mx": ({**ALL_OK, "mx": "warning"}, ["mx mx_unexpected:", f"mx2.good.{ZONE}"]),
    # The signed good domain with require_dnssec: every answer carries unbound's AD bit.
    "good-dnssec": (ALL_OK, []),
    "unsigned": ({"mx": "warning", "spf": "warning", "dmarc": "warning"},
                 [f"mx dnssec: the answer for {UNSIGNED_ZONE} is not DNSSEC-validated",
                  f"dmarc dnssec: the answer for _dmarc.{UNSIGNED_ZONE} is not DNSSEC-validated"]),
}
GRADES = {"good": "ok", "lookups": "critical", "include": "warning", "uncovered": "critical", "broken": "critical",
          "untrusted": "warning", "unexpected-mx": "warning", "good-dnssec": "ok", "unsigned": "warning"}


def make_pki(fleet):
    """A test CA, a certificate for every mta-sts host it signs, and a second CA that signs nothing."""
    def run(*argv):
        subprocess.run(["openssl", *argv], check=True, capture_output=True, cwd=fleet.dir)
    for ca in ["ca", "other-ca"]:
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", f"/CN=tierwatch {ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.pem")
    sans = ",".join(f"DNS:{host}" for host in POLICIES)
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=mta-sts",
        "-keyout", "mta-sts.key", "-out", "mta-sts.csr")
    with open(fleet.path("san.ext"), "w") as f:
        f.write(f"subjectAltName={sans}\n")
    run("x509", "-req", "-in", "mta-sts.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "san.ext", "-out", "mta-sts.pem")


class PolicyHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        body = POLICIES.get(host)
        if self.path != "/.well-known/mta-sts.txt" or body is None:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def policy_server(fleet):
    server = http.server.ThreadingHTTPServer((POLICY_ADDRESS, 443), PolicyHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(fleet.path("mta-sts.pem"), fleet.path("mta-sts.key"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def config(resolver, interval=None):
    text = f"""
[daemon]
listen = "{LISTEN}"
state_dir = "state"
nameservers = ["{resolver}"]

[defaults]
timeout = "5s"
ca_file = "ca.pem"

[[node]]
name = "mta1"
role = "mta"
address = "127.0.71.100"
public_address = "198.51.100.10"

[[node]]
name = "mta2"
role = "mta"
address = "198.51.100.20"
"""
    checks = {
        "good": 'domain = "good.tierwatch.test"\ndkim_selectors = ["s2048", "ed"]\n'
                'expected_mx = ["mx1.good.tierwatch.test", "mx2.good.tierwatch.test"]\n',
        "lookups": 'domain = "lookups.tierwatch.test"\nmta_sts = false\ntls_rpt = false\n',
        "include": 'domain = "include.tierwatch.test"\nmta_sts = false\ntls_rpt = false\n',
        "uncovered": 'domain = "uncovered.tierwatch.test"\nmta_sts = false\ntls_rpt = false\n',
        "broken": 'domain = "broken.tierwatch.test"\ndkim_selectors = ["revoked", "weak"]\n',
        "untrusted": 'domain = "good.tierwatch.test."\ndkim_selectors = ["s2048", "ed"]\nca_file = "other-ca.pem"\n',
        "unexpected-mx": 'domain = "good.tierwatch.test"\ndkim_selectors = ["s2048", "ed"]\n'
                         'expected_mx = ["mx1.good.tierwatch.test"]\n',
        "good-dnssec": 'domain = "good.tierwatch.test"\ndkim_selectors = ["s2048", "ed"]\nrequire_dnssec = true\n',
        "unsigned": f'domain = "{UNSIGNED_ZONE}"\nmta_sts = false\ntls_rpt = false\nrequire_dnssec = true\n',
    }
    for name, keys in checks.items():
        text += f'\n[[check]]\nname = "{name}"\nprotocol = "mail_domain"\nroles = ["mta"]\n{keys}'
        text += f'interval = "{interval}"\n' if interval else ""
    return text


def check_states(name, states, detail):
    expected, texts = EXPECTED[name]
    check(states == expected, f"{name}: record states {states}, expected {expected} (detail: {detail})")
    for text in texts:
        check(text in detail, f"{name}: {text!r} not in the detail {detail!r}")
    if not texts:
        check(detail == "", f"{name}: a domain with every record sound has no detail: {detail!r}")


def main():
    with Fleet("mail-domain") as fleet:
        resolver = fleet.dns(zones_text={UNSIGNED_ZONE: unsigned_zone(UNSIGNED_ZONE, UNSIGNED_RECORDS)},
                             subnet=DNS_SUBNET)
        make_pki(fleet)
        server = policy_server(fleet)
        try:
            path = fleet.path("once.toml")
            with open(path, "w") as f:
                f.write(config(resolver))
            result = subprocess.run([TIERWATCHD, "--config", path, "--once", "--json"], capture_output=True,
                                    text=True, timeout=120)
            check(result.stdout, f"no JSON from --once (exit {result.returncode}):\n{result.stderr}")
            report = json.loads(result.stdout)
            targets = {t["check"]: t for t in report["targets"]}
            check(sorted(targets) == sorted(EXPECTED), f"one target per domain check: {sorted(targets)}")
            for name, target in targets.items():
                check(target["success"] is True and target["reason"] == "",
                      f"{name}: the probe ran; the records carry the findings: {target}")
                check_states(name, target.get("mail_domain_record"), target["detail"])
                check(target["grade"] == GRADES[name], f"{name}: grade {target['grade']}, expected {GRADES[name]}")
            check(targets["good"]["target"] == "good.tierwatch.test", f"named by its domain: {targets['good']}")
            check(targets["good"]["node"] == "mta1", f"carried by the first node of its roles: {targets['good']}")
            check(targets["broken"]["why"].startswith("mail record mta_sts critical: "),
                  f"the worst record names the grade: {targets['broken']['why']}")
            check(result.returncode == 2, f"exit {result.returncode} with critical records, expected 2")

            # The daemon shows the same: the API, /metrics and the target's page.
            fleet.tierwatchd(config(resolver, interval="6s"))

            def api_states():
                return {t["check"]: ((t.get("last") or {}).get("mail_domain_record"), t["id"])
                        for t in api_targets(LISTEN)}
            wait_for(lambda: all((api_states().get(name) or (None,))[0] == states
                                 for name, (states, _) in EXPECTED.items()),
                     60, "every mail_domain target probed by the daemon with its record states")
            samples = parse_metrics(http_get(f"http://{LISTEN}/metrics")[1])
            states = {(s[1]["check"], s[1]["record"]): s[2] for s in samples
                      if s[0] == "tierwatch_mail_domain_record_state"}
            check(states.get(("broken", "mta_sts")) == 2 and states.get(("broken", "tls_rpt")) == 1 and
                  states.get(("good", "dkim:ed")) == 0,
                  f"tierwatch_mail_domain_record_state per check and record: {states}")
            broken_id = api_states()["broken"][1]
            page = http_get(f"http://{LISTEN}/status/target/{broken_id}")[1]
            for row in ["mail record mta_sts", "mail record dkim:weak", "critical", "mta_sts_mx_mismatch"]:
                check(row in page, f"the target page shows {row!r}")
            status = http_get(f"http://{LISTEN}/status")[1]
            check("<h2>Record states</h2>" in status and f'<a href="/status/target/{broken_id}">broken</a>' in status
                  and "<code>broken.tierwatch.test</code>" in status,
                  "the status page's panel of record states lists the domain")
        finally:
            server.shutdown()
            server.server_close()
    print("1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
