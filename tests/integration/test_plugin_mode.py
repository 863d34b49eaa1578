#!/usr/bin/env python3
"""`tierwatch check URL` (the Nagios/Icinga plugin mode) against the real fleet (Postfix, Dovecot, nginx,
slapd) and the fault server: each exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) with the reason it
gives, one status line whose perfdata follows the Monitoring Plugins grammar, and no password in any
output. Needs root and the packages of scripts/install-deps. Addresses: fleet subnet 127.48 (override with
PLUGIN_TEST_SUBNET), fault server on 127.0.75.1."""
import os
import re
import subprocess
import sys

from harness import BUILD, SOURCE, Fleet, check, free_port

TIERWATCH = os.path.join(BUILD, "tierwatch")
FLEET = os.path.join(SOURCE, "tests", "fleet", "fleet")
SUBNET = os.environ.get("PLUGIN_TEST_SUBNET", "127.48")
FAULT_IP = "127.0.75.1"

# 'label'=value[UOM];[warn];[crit];[min];[max], space separated; quotes inside a label are doubled;
# warn and crit in the range format ([@][start:][end], start may be ~); trailing fields may be dropped.
NUMBER = r"-?[0-9]+(\.[0-9]+)?"
RANGE = rf"@?((~|{NUMBER})?:)?({NUMBER})?"
DATUM = rf"('([^']|'')+'|[^ '=]+)={NUMBER}(us|ms|s|%|B|KB|MB|GB|TB|c)?(;({RANGE})?(;({RANGE})?(;({NUMBER})?(;({NUMBER})?)?)?)?)?"
PERFDATA = re.compile(rf"{DATUM}( {DATUM})*")
SERVICES = "SMTP|SMTPS|SUBMISSION|LMTP|IMAP|IMAPS|POP3|POP3S|LDAP|LDAPS|HTTP|HTTPS|TCP|TLS|TIERWATCH"
STATES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}

outputs = []  # every stdout and stderr, searched for passwords at the end
passed = 0


def run(*args):
    result = subprocess.run([TIERWATCH, "check", *args], capture_output=True, text=True, timeout=60)
    outputs.append(result.stdout + result.stderr)
    return result


def expect(name, args, code, service, contains=(), perfdata=()):
    """Runs one check and asserts its exit code, its one line, the perfdata grammar and the labels."""
    global passed
    result = run(*args)
    out = result.stdout
    what = f"{name}: exit {result.returncode}, stdout {out!r}, stderr {result.stderr!r}"
    check(result.returncode == code, f"{what}; expected exit {code}")
    check(out.endswith("\n") and out.count("\n") == 1, f"{what}; expected exactly one line")
    line = out.rstrip("\n")
    status, bar, data = line.partition(" | ")
    check(re.match(rf"^({SERVICES}) {STATES[code]} - ", status), f"{what}; status does not start '<SERVICE> {STATES[code]} - '")
    check(status.startswith(service + " "), f"{what}; expected service {service}")
    check("|" not in status, f"{what}; a '|' in the status text")
    for text in contains:
        check(text in status, f"{what}; expected {text!r} in the status text")
    if code != 3:
        check(bar == " | " and PERFDATA.fullmatch(data), f"{what}; perfdata does not match the guidelines' grammar")
        check(re.search(r"(^| )'time'=[0-9.]+s;[^ ]*;0;[0-9.]+( |$)", data), f"{what}; no 'time' with min 0 and max")
        for label in perfdata:
            check(f"'{label}'=" in data, f"{what}; no perfdata label {label!r}")
    passed += 1
    print(f"ok   - {name}: {line}")
    return line


class RealFleet:
    """tests/fleet/fleet in a directory of ours; stopped on exit whatever happened."""

    def __init__(self, base):
        self.dir = os.path.join(base, "fleet")
        self.env = dict(os.environ, FLEET_LAST_LINK=os.path.join(base, "fleet.last"))

    def __enter__(self):
        try:
            started = subprocess.run([FLEET, "start", "--dir", self.dir, "--subnet", SUBNET], env=self.env,
                                     capture_output=True, text=True, timeout=240)
            if started.returncode != 0:
                raise AssertionError(f"fleet start failed:\n{started.stdout}\n{started.stderr}")
        except BaseException:
            self.__exit__()  # a half-started fleet is stopped too
            raise
        values = {}
        with open(os.path.join(self.dir, "fleet.env")) as f:
            for line in f:
                if "=" in line and not line.startswith("#"):
                    key, value = line.rstrip("\n").split("=", 1)
                    values[key] = value.strip('"')
        self.values = values
        return self

    def stop(self, server):
        subprocess.run([FLEET, "stop", server, "--dir", self.dir], env=self.env, capture_output=True, timeout=60,
                       check=True)

    def __exit__(self, *exc):
        if os.path.exists(os.path.join(self.dir, "fleet.env")):
            subprocess.run([FLEET, "stop", "--dir", self.dir], env=self.env, capture_output=True, timeout=120)


def main():
    if os.geteuid() != 0:
        print("test_plugin_mode: must run as root (the fleet's Postfix master insists)")
        return 1
    with Fleet("plugin") as lab, RealFleet(lab.dir) as fleet:
        v = fleet.values
        ca = ["--ca-file", v["FLEET_ROOT_CA"]]
        user = ["--username", v["FLEET_PROBE_USER"], "--password-file", v["FLEET_PROBE_PASSWORD_FILE"]]
        bind = ["--bind-dn", v["FLEET_LDAP_BIND_DN"], "--password-file", v["FLEET_LDAP_PASSWORD_FILE"],
                "--search-base", v["FLEET_LDAP_BASE"]]
        mta1, mta2, mailbox, proxy, ldap1 = (v[f"FLEET_{s}_IP"] for s in ("MTA1", "MTA2", "MAILBOX1", "PROXY1", "LDAP1"))
        port = lambda name: v[f"FLEET_{name}_PORT"]  # noqa: E731
        secrets = [open(v[f]).read().strip() for f in ("FLEET_PROBE_PASSWORD_FILE", "FLEET_LDAP_PASSWORD_FILE")]
        wrong_password = "wrong-" + os.urandom(8).hex()
        wrong_file = lab.path("wrong.password")
        with open(wrong_file, "w") as f:
            f.write(wrong_password + "\n")
        secrets.append(wrong_password)

        fault_tls, fault_soon, fault_expired, fault_silent = (free_port(FAULT_IP) for _ in range(4))
        lab.faultserver([f"tls@{FAULT_IP}:{fault_tls},cert=good", f"tls@{FAULT_IP}:{fault_soon},cert=expiring_soon",
                         f"tls@{FAULT_IP}:{fault_expired},cert=expired", f"silent@{FAULT_IP}:{fault_silent}"],
                        sans=[FAULT_IP])
        fault_ca = ["--ca-file", lab.path("pki", "root_ca.pem")]

        # ---- 0 OK: healthy servers, every family ------------------------------------------------------------------
        smtp = [f"smtp://{mta1}:{port('SMTP')}", "--starttls", *ca]
        expect("smtp starttls", [*smtp, "-t", "20", "-w", "15", "-c", "19"], 0, "SMTP",
               contains=[f"{mta1}:{port('SMTP')} STARTTLS TLS 1."],
               perfdata=["time_connect", "time_greeting", "time_tls", "cert_days"])
        expect("submission login", [f"submission://{mta1}:{port('SUBMISSION')}", "--starttls", *ca, *user], 0,
               "SUBMISSION", perfdata=["time_auth", "cert_days"])
        expect("smtps", [f"smtps://{mta2}:{port('SMTPS')}", *ca, "--expect-capability", "AUTH PLAIN"], 0, "SMTPS")
        expect("lmtp", [f"lmtp://{mailbox}:{port('LMTP')}"], 0, "LMTP")
        expect("imaps login", [f"imaps://{mailbox}:{port('IMAPS')}", *ca, *user], 0, "IMAPS", perfdata=["time_auth"])
        expect("pop3 stls login", [f"pop3://{mailbox}:{port('POP3')}", "--starttls", *ca, *user], 0, "POP3")
        expect("ldap starttls bind", [f"ldap://{ldap1}:{port('LDAP')}", "--starttls", *ca, *bind], 0, "LDAP",
               perfdata=["time_auth", "cert_days"])
        expect("ldaps anonymous", [f"ldaps://{ldap1}:{port('LDAPS')}", *ca], 0, "LDAPS")
        expect("https body", [f"https://{proxy}:{port('HTTPS')}/", *ca, "--body-regex", v["FLEET_HTTPS_BODY"]], 0,
               "HTTPS", contains=[" HTTP 200"])
        expect("tcp banner", [f"tcp://{mta1}:{port('SMTP')}", "--banner-regex", "^220 "], 0, "TCP")
        expect("sni by name", [f"imaps://{mailbox}:{port('IMAPS')}", *ca, "--sni", v["FLEET_MAILBOX1_FQDN"]], 0,
               "IMAPS")

        # ---- 1 WARNING: a tight latency range, a certificate inside its warning days -------------------------------
        expect("latency warning", [*smtp, "-w", "0.000001", "-c", "9"], 1, "SMTP",
               contains=["outside warning range 0.000001"])
        expect("latency warning inside @", [*smtp, "-w", "@0:9"], 1, "SMTP", contains=["inside warning range @9"])
        expect("certificate warning days", [f"imaps://{mailbox}:{port('IMAPS')}", *ca, "-C", "400,7"], 1, "IMAPS",
               contains=["certificate days left"])
        expect("expiring soon, check_http -C", [f"tls://{FAULT_IP}:{fault_soon}", *fault_ca, "-C", "5,1"], 1, "TLS",
               contains=["outside warning range 5:"], perfdata=["cert_days"])

        # ---- 2 CRITICAL: latency, a stopped server, a wrong password, bad certificates, a silent server -----------
        expect("latency critical", [*smtp, "-w", "0.000001", "-c", "0.000002"], 2, "SMTP",
               contains=["outside critical range 0.000002"])
        expect("expiring soon, default days", [f"tls://{FAULT_IP}:{fault_soon}", *fault_ca], 2, "TLS",
               contains=["outside critical range 7:"])
        expect("wrong password smtp", [f"submission://{mta1}:{port('SUBMISSION')}", "--starttls", *ca, "--username",
                                       v["FLEET_PROBE_USER"], "--password-file", wrong_file, "-t", "20"], 2, "SUBMISSION",
               contains=["auth"])
        expect("wrong password imap", [f"imaps://{mailbox}:{port('IMAPS')}", *ca, "--username",
                                       v["FLEET_PROBE_USER"], "--password-file", wrong_file, "-t", "20"], 2, "IMAPS",
               contains=["auth"])
        expect("wrong password ldap", [f"ldap://{ldap1}:{port('LDAP')}", "--starttls", *ca, "--bind-dn",
                                       v["FLEET_LDAP_BIND_DN"], "--password-file", wrong_file], 2, "LDAP",
               contains=["auth"])
        expect("untrusted certificate", [f"imaps://{mailbox}:{port('IMAPS')}"], 2, "IMAPS", contains=["tls_verify"])
        expect("wrong certificate name", [f"imaps://{mailbox}:{port('IMAPS')}", *ca, "--sni", "nobody.example.test"],
               2, "IMAPS", contains=["tls_verify"])
        expired = expect("expired certificate", [f"tls://{FAULT_IP}:{fault_expired}", *fault_ca], 2, "TLS",
                         contains=["cert_expired"], perfdata=["cert_days"])
        check(re.search(r"'cert_days'=-[0-9]+;", expired), f"negative days left on an expired certificate: {expired}")
        expect("insecure still grades expiry", [f"tls://{FAULT_IP}:{fault_expired}", "--insecure"], 2, "TLS",
               contains=["certificate days left -"])
        expect("good fault-server certificate", [f"tls://{FAULT_IP}:{fault_tls}", *fault_ca], 0, "TLS")
        expect("silent server times out", [f"tcp://{FAULT_IP}:{fault_silent}", "--banner-regex", "^220", "-t", "1"], 2,
               "TCP", contains=["banner_timeout"])
        fleet.stop("mta2")
        expect("stopped server", [f"smtp://{mta2}:{port('SMTP')}", "--starttls", *ca], 2, "SMTP",
               contains=["connect_refused"])
        expect("stopped server, authenticated", [f"submission://{mta2}:{port('SUBMISSION')}", "--starttls", *ca,
                                                 *user], 2, "SUBMISSION", contains=["connect_refused"])

        # ---- 3 UNKNOWN: bad usage -----------------------------------------------------------------------------------
        expect("no URL", [], 3, "TIERWATCH", contains=["no URL given"])
        expect("unknown scheme", ["smtpx://127.0.0.1"], 3, "TIERWATCH", contains=['did you mean "smtp"'])
        expect("bad range", [*smtp, "-w", "abc"], 3, "TIERWATCH", contains=["--warning: invalid range"])
        expect("missing password file", [f"imaps://{mailbox}:{port('IMAPS')}", *ca, "--username", "u",
                                         "--password-file", lab.path("nope")], 3, "IMAPS",
               contains=["--password-file: cannot read password_file", "No such file or directory"])
        expect("unreadable password file", [f"imaps://{mailbox}:{port('IMAPS')}", *ca, "--username", "u",
                                            "--password-file", lab.dir], 3, "IMAPS",
               contains=["--password-file: cannot read password_file", "Is a directory"])
        expect("option for another protocol", [*smtp, "--bind-dn", "cn=x"], 3, "SMTP",
               contains=["--bind-dn applies only to protocols ldap"])
        expect("password on the command line", [f"imaps://{mailbox}", "--password", wrong_password], 3,
               "TIERWATCH", contains=["--password-file"])
        expect("credentials in the URL", [f"imaps://probe:{wrong_password}@{mailbox}"], 3, "TIERWATCH",
               contains=["credentials in the URL are not supported"])
        junk_ca = lab.path("junk.pem")
        with open(junk_ca, "w") as f:
            f.write("not a certificate\n")
        expect("CA file without a certificate", [f"tls://{FAULT_IP}:{fault_tls}", "--ca-file", junk_ca], 3, "TLS",
               contains=["cannot load CA file"])
        help_text = run("--help")
        check(help_text.returncode == 3 and "usage: tierwatch check URL" in help_text.stdout, "--help: usage, exit 3")

        for secret in secrets:
            leaks = [o for o in outputs if secret in o]
            check(not leaks, f"a password appears in the output: {leaks[:1]}")
        print(f"ok   - no password in any of {len(outputs)} outputs")
    print(f"test_plugin_mode: {passed} checks passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as error:
        print(f"FAIL - {error}")
        sys.exit(1)
