#!/usr/bin/env python3
"""The daemon end to end, from probes to pages: one MTA of a redundant pair down is a Tier I
warning and pages nobody; both down is exactly one critical page to Tier II; one back is one
resolve. Across restarts the alarm state in state_dir holds: a restart while the pool is down
pages nothing new, and a recovery while tierwatchd is down still gets its resolve. The receiver
is a JSON webhook served by this test."""
import json
import os
import signal
import sys
import time

from harness import Fleet, PageRecorder, check, http_get, pair_fleet, parse_metrics, wait_for

LISTEN = "127.0.65.1:29469"
HOOK = ("127.0.65.1", 29470)
MTA1, MTA2, PROXY1, PROXY2 = "127.0.65.11", "127.0.65.21", "127.0.65.12", "127.0.65.22"

CONFIG = f"""
[daemon]
listen = "{LISTEN}"
state_dir = "state"

{pair_fleet(MTA1, MTA2, PROXY1, PROXY2)}
[[group]]
name = "mta-pool"
roles = ["mta"]
critical_when_up_below = 1     # a redundant pair: critical only when neither MTA is up

[tiers]
settle = "1s"

[tiers.tier2]
receivers = ["hook"]
repeat = "30m"

[[pager]]
name = "hook"
kind = "webhook"
url = "http://{HOOK[0]}:{HOOK[1]}/pages"
"""


def alarm_states():
    samples = parse_metrics(http_get(f"http://{LISTEN}/metrics")[1])
    return {(s[1]["tier"], s[1]["severity"], s[1]["state"]): s[2] for s in samples if s[0] == "tierwatch_alarms"}


def main():
    recorder = PageRecorder(*HOOK)
    pages = recorder.with_action
    with Fleet("paging") as fleet:
        # One fault server per MTA so each can be stopped alone; the proxies keep their zones up.
        mta1 = fleet.faultserver([f"banner@{MTA1}:25025,text=220 mta1\\r\\n"])
        os.rename(fleet.path("faultserver.log"), fleet.path("mta1.log"))
        mta2 = fleet.faultserver([f"banner@{MTA2}:25025,text=220 mta2\\r\\n"])
        fleet.faultserver([f"banner@{PROXY1}:25025,text=220 proxy1\\r\\n",
                           f"banner@{PROXY2}:25025,text=220 proxy2\\r\\n"])
        daemon = fleet.tierwatchd(CONFIG)
        wait_for(lambda: http_get(f"http://{LISTEN}/-/ready")[0] == 200, 15, "/-/ready")

        def restart(while_down=lambda: None):
            nonlocal daemon
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=10)
            while_down()
            daemon = fleet.tierwatchd(CONFIG)
            wait_for(lambda: http_get(f"http://{LISTEN}/-/ready")[0] == 200, 15, "/-/ready after a restart")

        os.killpg(mta1.pid, signal.SIGTERM)
        wait_for(lambda: alarm_states().get(("1", "warning", "paging")), 20, "a Tier I warning for mta1")
        time.sleep(3)  # longer than settle: a page, if one were coming, would be out by now
        check(pages() == [], f"one MTA of the pair down must page nobody: {pages()}")

        os.killpg(mta2.pid, signal.SIGTERM)
        triggers = lambda: [p for p in pages() if p["action"] == "trigger"]
        wait_for(triggers, 20, "a page when both MTAs are down")
        time.sleep(3)
        sent = triggers()
        check(len(sent) == 1, f"exactly one page for the pool, got {len(sent)}: {sent}")
        page = sent[0]
        check(page["alarm"] == "group" and page["severity"] == "critical" and page["tier"] == 2,
              f"the page is the pool's critical alarm: {page}")
        check(page["labels"].get("group") == "mta-pool", f"labels name the group: {page['labels']}")
        check(page["receiver"] == "hook" and page["status"] == "firing", f"{page}")

        # A restart while the pool is still down: the alarm is restored from state_dir, not paged again.
        restart()
        log = fleet.path("tierwatchd.log")
        wait_for(lambda: "restored 1 alarm(s)" in open(log).read(), 10, "the alarm restored at start")
        time.sleep(8)  # past the restored alarm's hold: (fall + 1) x interval + timeout + settle + 2s = 5.5s
        check(len(pages()) == 1, f"a restart neither re-pages nor resolves a firing alarm: {pages()}")

        # MTA1 comes back while tierwatchd is down: the restarted daemon still owes the resolve.
        restart(lambda: fleet.faultserver([f"banner@{MTA1}:25025,text=220 mta1 again\\r\\n"]))
        resolves = lambda: [p for p in pages() if p["action"] == "resolve" and p["dedup_key"] == page["dedup_key"]]
        wait_for(resolves, 30, "the resolve for a recovery that happened while tierwatchd was down")
        check(resolves()[0]["status"] == "resolved", f"{resolves()[0]}")
        check(len(triggers()) == 1, "no further trigger")
        log = open(fleet.path("tierwatchd.log")).read()
        check("page resolve to hook" in log, "pages are logged")
    recorder.close()
    print("1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
