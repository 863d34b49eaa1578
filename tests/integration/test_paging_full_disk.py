#!/usr/bin/env python3
"""A full disk under the outbox: tierwatchd's state_dir is a small tmpfs that the test fills up
while alarms fire. The daemon must say so clearly in its log (the outbox path and ENOSPC), show
it in tierwatch_outbox_write_errors_total, keep probing and answering /metrics, and still deliver
the pages it could only keep in memory; once space is freed, pages are written and flow again.
Needs root (mount); the tmpfs is unmounted in every case."""
import errno
import os
import signal
import subprocess
import sys
import tempfile
import time

from harness import BANNER_PORT, Fleet, PageRecorder, banner_config, check, http_get, metric, read, wait_for

LISTEN = "127.0.85.5:29502"
ANCHOR = "127.0.85.50"  # always up, so the zone is never "down" as a whole
TARGETS = [f"127.0.85.{60 + i}" for i in range(3)]  # served until the disk is full
LATE = "127.0.85.70"  # fails only after space is freed: its page must be written and delivered


def config(hook_url, state):
    nodes = [("anchor", ANCHOR), ("late", LATE)] + [(f"node{i}", a) for i, a in enumerate(TARGETS)]
    return banner_config(LISTEN, state, nodes, f"""
[tiers.tier1]
receivers = ["hook"]
[tiers.tier3]
after = "1s"                      # no receivers: only tierwatch_escalations_total shows it

[[pager]]
name = "hook"
kind = "webhook"
url = "{hook_url}"
retry_initial = "10ms"
retry_max = "1s"
""")


def fill(path):
    """Writes zeros until the filesystem refuses: ENOSPC is what the test is about."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as error:
        check(error.errno == errno.ENOSPC, f"filling the tmpfs: {error}")
    finally:
        os.close(fd)


def probes():
    return metric(LISTEN, "tierwatch_probes_total")


def run(fleet, hook, state):
    anchor = fleet.faultserver([f"banner@{ANCHOR}:{BANNER_PORT},text=220 up\\r\\n"])
    late = fleet.faultserver([f"banner@{LATE}:{BANNER_PORT},text=220 up\\r\\n"])
    targets = fleet.faultserver([f"banner@{a}:{BANNER_PORT},text=220 up\\r\\n" for a in TARGETS])
    fleet.tierwatchd(config(hook.url, state))
    wait_for(lambda: http_get(f"http://{LISTEN}/-/ready")[0] == 200, 15, "/-/ready")
    outbox = os.path.join(state, "outbox")
    wait_for(lambda: os.listdir(outbox), 10, "the outbox segment")

    filler = os.path.join(state, "filler")
    fill(filler)
    stop(targets)
    keys = {f"tierwatch/target/smtp-banner|node:node{i}" for i in range(len(TARGETS))}
    log = fleet.path("tierwatchd.log")
    wait_for(lambda: "No space left on device (ENOSPC)" in read(log), 15, "the ENOSPC error in the log")
    line = next(l for l in read(log).splitlines() if "ENOSPC" in l)
    check(outbox in line, f"the error names the outbox directory {outbox}: {line}")
    check(metric(LISTEN, "tierwatch_outbox_write_errors_total", error="ENOSPC") >= 1,
          "tierwatch_outbox_write_errors_total{error=\"ENOSPC\"} counts the refused writes")
    check(metric(LISTEN, "tierwatch_outbox_writable") == 0, "tierwatch_outbox_writable shows the full disk")
    # Pages the disk refused are kept in memory and still delivered.
    wait_for(lambda: {p["dedup_key"] for p in hook.received()} >= keys, 15, "the pages kept in memory")

    wait_for(lambda: metric(LISTEN, "tierwatch_escalations_total") == len(TARGETS), 10,
             "one Tier III escalation per alarm unresolved past tier3.after")
    before = probes()
    time.sleep(1.5)
    check(probes() > before + 5, "probing goes on while the disk is full")
    check(http_get(f"http://{LISTEN}/-/healthy")[0] == 200, "the daemon answers while the disk is full")

    os.remove(filler)
    errors = metric(LISTEN, "tierwatch_outbox_write_errors_total")
    # Now LATE fails: its trigger must be written (no new write error) and delivered.
    stop(late)
    wait_for(lambda: any(p["dedup_key"] == "tierwatch/target/smtp-banner|node:late" for p in hook.received()),
             15, "a page after space was freed")
    wait_for(lambda: "outbox: writing to" in read(log), 5, "the log saying the outbox is written again")
    check(metric(LISTEN, "tierwatch_outbox_write_errors_total") == errors, "no write error once space is free")
    check(metric(LISTEN, "tierwatch_outbox_writable") == 1, "tierwatch_outbox_writable is back to 1")
    wait_for(lambda: metric(LISTEN, "tierwatch_outbox_depth") == 0, 15, "an empty outbox")
    check("terminate called" not in read(log), "no crash")
    check(anchor.poll() is None, "the anchor stayed up")


def stop(process):
    os.killpg(process.pid, signal.SIGTERM)
    process.wait()


def main():
    if os.geteuid() != 0:
        print("SKIP: mounting a tmpfs needs root")
        return 0
    hook = PageRecorder("127.0.85.6")
    # The tmpfs lives outside the fleet's directory: the fleet's cleanup stops the daemon first,
    # then it is unmounted, whatever happened.
    state = tempfile.mkdtemp(prefix="tierwatch-full-disk-state-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tierwatch-test", state], check=True)
    try:
        with Fleet("paging-full-disk") as fleet:
            run(fleet, hook, state)
    finally:
        hook.close()
        subprocess.run(["umount", state], check=False)
        os.rmdir(state)
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
