#!/usr/bin/env python3
"""E-mail pages through the real fleet: tierwatchd's `email` pager relays through the fleet's
Postfix on the submission port (STARTTLS, then AUTH PLAIN against Dovecot's SASL), Postfix
delivers to the fleet's Dovecot probe mailbox over LMTP, and the test reads the trigger and the
resolve back over IMAP (STARTTLS, verified against the fleet's root CA). Subjects, bodies and
headers are checked, and the SMTP password appears in no message and no log.

Uses the fleet subnet 127.50 and 127.0.85.8x; needs root (the fleet's Postfix insists)."""
import email
import email.policy
import imaplib
import os
import signal
import ssl
import sys

from harness import BANNER_PORT, banner_config, check, http_get, on_mail_fleet, read, wait_for
SUBNET = "127.50"
LISTEN = "127.0.85.7:29503"
ANCHOR, FLAKY = "127.0.85.80", "127.0.85.81"


def config(env):
    return banner_config(LISTEN, "state", [("anchor", ANCHOR), ("flaky", FLAKY)], f"""
[tiers.tier2]
receivers = ["oncall-mail"]

[[pager]]
name = "oncall-mail"
kind = "email"
url = "smtp://{env['FLEET_MTA1_IP']}:{env['FLEET_SUBMISSION_PORT']}"
ca_file = "{env['FLEET_ROOT_CA']}"
from = "tierwatch@{env['FLEET_DOMAIN']}"
to = ["{env['FLEET_PROBE_USER']}"]
username = "{env['FLEET_PROBE_USER']}"
secret_file = "{env['FLEET_PROBE_PASSWORD_FILE']}"
""")


def mailbox(env, password):
    """Every message in the probe user's INBOX, as (raw bytes, parsed message)."""
    imap = imaplib.IMAP4(env["FLEET_MAILBOX1_IP"], int(env["FLEET_IMAP_PORT"]), timeout=10)
    try:
        imap.starttls(ssl.create_default_context(cafile=env["FLEET_ROOT_CA"]))
        imap.login(env["FLEET_PROBE_USER"], password)
        imap.select("INBOX", readonly=True)
        _, data = imap.search(None, "ALL")
        messages = []
        for number in data[0].split():
            _, parts = imap.fetch(number, "(RFC822)")
            raw = parts[0][1]
            messages.append((raw, email.message_from_bytes(raw, policy=email.policy.default)))
        return messages
    finally:
        imap.logout()


def pages(env, password, status):
    return [(raw, m) for raw, m in mailbox(env, password) if m["Subject"].startswith(f"[tierwatch] {status} ")]


def run(fleet, env):
    password = read(env["FLEET_PROBE_PASSWORD_FILE"]).strip()
    check(password, "the fleet has a probe password")
    fleet.faultserver([f"banner@{ANCHOR}:{BANNER_PORT},text=220 anchor\\r\\n"])
    flaky = fleet.faultserver([f"banner@{FLAKY}:{BANNER_PORT},text=220 flaky\\r\\n"])
    fleet.tierwatchd(config(env))
    wait_for(lambda: http_get(f"http://{LISTEN}/-/ready")[0] == 200, 15, "/-/ready")

    os.killpg(flaky.pid, signal.SIGTERM)
    flaky.wait()
    firing = wait_for(lambda: pages(env, password, "FIRING"), 60, "the trigger mail in the probe mailbox")
    fleet.faultserver([f"banner@{FLAKY}:{BANNER_PORT},text=220 flaky again\\r\\n"])
    resolved = wait_for(lambda: pages(env, password, "RESOLVED"), 60, "the resolve mail in the probe mailbox")
    check(len(firing) == 1 and len(resolved) == 1, f"one mail each: {len(firing)} firing, {len(resolved)} resolved")

    key = "tierwatch/target/smtp-banner|node:flaky"
    for (raw, message), action, status in [(firing[0], "trigger", "firing"), (resolved[0], "resolve", "resolved")]:
        subject = message["Subject"]
        check("critical tier 2: smtp-banner on flaky" in subject, f"the subject names the alarm: {subject}")
        check(message["X-Tierwatch-Dedup-Key"] == key, f"dedup key header: {message['X-Tierwatch-Dedup-Key']}")
        check(message["X-Tierwatch-Action"] == action, f"action header: {message['X-Tierwatch-Action']}")
        check(message["From"] == f"tierwatch@{env['FLEET_DOMAIN']}", f"From: {message['From']}")
        check(message["To"] == env["FLEET_PROBE_USER"], f"To: {message['To']}")
        body = message.get_content()
        check(body.startswith(f"smtp-banner on flaky ({FLAKY}:{BANNER_PORT})"), f"the body starts with the summary:\n{body}")
        for line in (f"status: {status} ({action})", "node: flaky", "zone: zone-a", "check: smtp-banner",
                     f"dedup_key: {key}"):
            check(line in body.splitlines(), f"the body has {line!r}:\n{body}")
        check(password.encode() not in raw, f"the SMTP password is in the {action} mail")
    check(firing[0][1]["References"] == resolved[0][1]["References"], "both mails of the alarm are one thread")

    maillog = read(env["FLEET_MTA1_LOG"])
    check(f"sasl_username={env['FLEET_PROBE_USER']}" in maillog,
          "Postfix saw AUTH from tierwatch on the submission port (where TLS is mandatory)")
    daemon_log = read(fleet.path("tierwatchd.log"))
    check(password not in daemon_log, "the SMTP password is in tierwatchd's log")
    metrics = http_get(f"http://{LISTEN}/metrics")[1]
    check(password not in metrics, "the SMTP password is in /metrics")
    check('tierwatch_pages_sent_total{receiver="oncall-mail"} 2' in metrics, "two pages sent")


def main():
    return on_mail_fleet("paging-email", SUBNET, run)


if __name__ == "__main__":
    sys.exit(main())
