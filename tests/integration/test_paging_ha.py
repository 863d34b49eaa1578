#!/usr/bin/env python3
"""An HA pair through a real Alertmanager cluster: two tierwatchd with the same checks each send
to both nodes of a two-node Alertmanager cluster (Debian's package, gossip on 127.x addresses)
that notifies one webhook. From an all-green fleet: both MTAs down is exactly one firing
notification; one tierwatchd SIGKILLed while they are down is no resolve (the other keeps the
alert firing); the MTAs back one after the other is exactly one resolve (the pool passes through
"1 of 2 down", a warning that no longer routes to Alertmanager, whose resolve must name the
critical alert it was told), and then no active alert in either Alertmanager."""
import json
import os
import re
import signal
import sys
import time

from harness import (ALERTMANAGER, Fleet, PageRecorder, check, free_port, http_get, metric, pair_fleet, read,
                     wait_for)

AM1, AM2, HOOK = "127.0.67.1", "127.0.67.2", "127.0.67.3"
DAEMONS = {"tierwatchd-a": "127.0.67.4", "tierwatchd-b": "127.0.67.5"}
MTA1, MTA2, PROXY1, PROXY2 = "127.0.67.11", "127.0.67.21", "127.0.67.12", "127.0.67.22"
POOL = "tierwatch/group/mta-pool"
# Alertmanager's HA is at-least-once. The second node waits PEER_TIMEOUT for the first one's
# notification log before it sends. Too short, and gossip on a loaded machine arrives late: both
# nodes send the resolve (seen with 2 s). Too long against GROUP_INTERVAL, and the second node
# sends a stale "firing" snapshot after the first one's resolve (seen with 10 s against 2 s).
# Both nodes' groups start within milliseconds of each other (each instance posts to both), so
# their flushes are in phase; with PEER_TIMEOUT well under GROUP_INTERVAL a stale snapshot can
# only come from a flush a few milliseconds before the resolve, and well over gossip's delay.
GROUP_INTERVAL = 8  # seconds, as in AM_CONFIG
RESOLVE_TIMEOUT = 10
PEER_TIMEOUT = 4

AM_CONFIG = f"""
global:
  resolve_timeout: {RESOLVE_TIMEOUT}s
route:
  receiver: hook
  group_by: ['alertname', 'alarm_key']
  group_wait: 1s
  group_interval: {GROUP_INTERVAL}s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: '{{hook}}'
        send_resolved: true
"""

# The same checks and pagers for both instances; only the listen address and state_dir differ.
CONFIG = """
[daemon]
listen = "{listen}"
state_dir = "{state_dir}"

{fleet}
[[group]]
name = "mta-pool"
roles = ["mta"]
warning_when_down = 1          # one MTA down: a warning, which Tier II (Alertmanager) is not told
critical_when_up_below = 1     # a redundant pair: critical only when neither MTA is up

[tiers]
settle = "1s"

[tiers.tier2]
receivers = ["am1", "am2"]
repeat = "30m"

[[pager]]
name = "am1"
kind = "alertmanager"
url = "{am1}"
repost = "1s"

[[pager]]
name = "am2"
kind = "alertmanager"
url = "{am2}"
repost = "1s"
"""


def pool_alerts(notifications, status):
    """The webhook notifications in which the pool's alert has `status` (firing, resolved)."""
    return [n for n in notifications
            if any(a["labels"].get("alarm_key") == POOL and a["status"] == status for a in n["alerts"])]


def active(base):
    """Alerts an Alertmanager still holds as active (not ended, not silenced)."""
    return [a for a in json.loads(http_get(f"{base}/api/v2/alerts?active=true")[1])
            if a["status"]["state"] == "active"]


def hold_for(bad, seconds, what):
    """Polls `bad` for `seconds` and fails as soon as it holds: an absence is only seen over a
    window, here one derived from Alertmanager's own timers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = bad()
        check(not found, f"{what}: {found}")
        time.sleep(0.1)


def scenario(fleet, hook):
    mta1 = fleet.faultserver([f"banner@{MTA1}:25025,text=220 mta1\\r\\n"])
    os.rename(fleet.path("faultserver.log"), fleet.path("mta1.log"))
    mta2 = fleet.faultserver([f"banner@{MTA2}:25025,text=220 mta2\\r\\n"])
    os.rename(fleet.path("faultserver.log"), fleet.path("mta2.log"))
    fleet.faultserver([f"banner@{PROXY1}:25025,text=220 proxy1\\r\\n",
                       f"banner@{PROXY2}:25025,text=220 proxy2\\r\\n"])

    # Two Alertmanagers gossiping on loopback addresses; short timers so the test is quick.
    gossip1, gossip2 = f"{AM1}:{free_port(AM1)}", f"{AM2}:{free_port(AM2)}"
    # Failure detection patient enough for a loaded 2-core machine: a node that misses a probe
    # for long is declared dead, and then both nodes send as the first in line.
    timers = [f"--cluster.peer-timeout={PEER_TIMEOUT}s", "--cluster.settle-timeout=5s",
              "--cluster.pushpull-interval=2s", "--cluster.probe-timeout=2s",
              "--cluster.probe-interval=3s", "--log.level=debug"]
    am_config = AM_CONFIG.format(hook=hook.url)
    am1 = fleet.alertmanager("am1", AM1, am_config, cluster=gossip1, peers=[gossip2], extra=timers)
    am2 = fleet.alertmanager("am2", AM2, am_config, cluster=gossip2, peers=[gossip1], extra=timers)
    for base in (am1, am2):
        wait_for(lambda: (lambda c: c["status"] == "ready" and len(c["peers"]) == 2)(
            json.loads(http_get(f"{base}/api/v2/status")[1])["cluster"]), 60,
            f"{base} in a ready two-node cluster")

    daemons = {}
    for name, address in DAEMONS.items():
        listen = f"{address}:{free_port(address)}"
        daemons[name] = (listen, fleet.tierwatchd(CONFIG.format(
            listen=listen, state_dir=fleet.path(f"{name}-state"),
            fleet=pair_fleet(MTA1, MTA2, PROXY1, PROXY2), am1=am1, am2=am2), name=name))

    def green(listen):
        targets = json.loads(http_get(f"http://{listen}/api/v1/targets")[1])["targets"]
        alarms = json.loads(http_get(f"http://{listen}/api/v1/alarms")[1])
        return (len(targets) == 4 and all(t["grade"] == "ok" and t["last"] for t in targets)
                and alarms["count"] == 0)

    for name, (listen, _) in daemons.items():
        wait_for(lambda: green(listen), 30, f"{name}: every target ok and no alarm")
    check(hook.received() == [], f"an all-green fleet notifies nothing: {hook.received()}")

    # Both MTAs down: each instance posts the pool's critical alert to both Alertmanagers.
    os.killpg(mta1.pid, signal.SIGTERM)
    os.killpg(mta2.pid, signal.SIGTERM)
    started = time.monotonic()

    def timeline():
        # Who sent what when: enough to tell a gossip delay from a stale snapshot.
        with hook.lock:
            return [(round(t - started, 2), p.get("externalURL"), p.get("status"),
                     [(a["status"], a["labels"].get("severity")) for a in p.get("alerts", [])])
                    for t, p in zip(hook.arrivals, hook.pages)]

    firing = lambda: pool_alerts(hook.received(), "firing")
    wait_for(firing, 30, "a firing notification for the pool")
    for name, (listen, _) in daemons.items():
        for receiver in ("am1", "am2"):
            wait_for(lambda: metric(listen, "tierwatch_pages_sent_total", receiver=receiver) >= 1, 20,
                     f"{name} posted the pool's alert to {receiver}")
    for base in (am1, am2):
        alerts = wait_for(lambda: [a for a in active(base) if a["labels"]["alarm_key"] == POOL], 20,
                          f"the pool's alert active in {base}")
        check(len(alerts) == 1 and alerts[0]["labels"]["severity"] == "critical"
              and alerts[0]["labels"]["tier"] == "2", f"one critical alert in {base}: {alerts}")
    # The second node waits peer_timeout for the first's notification log before it sends
    # its own; a duplicate would come within that and one group_interval.
    hold_for(lambda: len(firing()) > 1 and timeline(), 2 * PEER_TIMEOUT + GROUP_INTERVAL + 3,
             "more than one firing notification for the pool")

    # One instance dies while the pool is down: the other keeps re-posting, so the alert
    # outlives resolve_timeout and nobody hears a resolve.
    victim_listen, victim = daemons["tierwatchd-b"]
    survivor_listen, _ = daemons["tierwatchd-a"]
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    killed = time.monotonic()
    resolved = lambda: pool_alerts(hook.received(), "resolved")
    sent = lambda: metric(survivor_listen, "tierwatch_pages_sent_total", receiver="am1")
    deadline_posts = None

    def outlived_resolve_timeout():
        nonlocal deadline_posts
        check(not resolved(), f"a resolve after one instance was killed: {timeline()}")
        if time.monotonic() - killed < RESOLVE_TIMEOUT + 2:
            return False
        if deadline_posts is None:
            deadline_posts = sent()
        return sent() >= deadline_posts + 2  # the survivor re-posted after it, twice

    wait_for(outlived_resolve_timeout, RESOLVE_TIMEOUT + 30,
             "the survivor re-posting past Alertmanager's resolve_timeout")
    for base in (am1, am2):
        check([a for a in active(base) if a["labels"]["alarm_key"] == POOL],
              f"the pool's alert still active in {base} after the kill")
    check(len(firing()) == 1, f"still one firing notification: {timeline()}")

    # The MTAs come back one after the other: the pool is a warning in between.
    fleet.faultserver([f"banner@{MTA1}:25025,text=220 mta1 again\\r\\n"])
    os.rename(fleet.path("faultserver.log"), fleet.path("mta1-again.log"))
    wait_for(lambda: any(a["key"] == POOL and a["severity"] == "warning" for a in json.loads(
        http_get(f"http://{survivor_listen}/api/v1/alarms")[1])["alarms"]), 20, "the pool a warning")
    fleet.faultserver([f"banner@{MTA2}:25025,text=220 mta2 again\\r\\n"])
    os.rename(fleet.path("faultserver.log"), fleet.path("mta2-again.log"))
    wait_for(lambda: green(survivor_listen), 20, "the survivor all green again")
    back = time.monotonic()
    wait_for(resolved, GROUP_INTERVAL + 30, "a resolve notification for the pool")
    for base in (am1, am2):
        wait_for(lambda: not active(base), max(1.0, back + GROUP_INTERVAL + 30 - time.monotonic()),
                 f"no active alert left in {base} within group_interval + 30 s")
    hold_for(lambda: (len(resolved()) > 1 or len(firing()) > 1) and timeline(),
             2 * PEER_TIMEOUT + GROUP_INTERVAL + 3, "a second resolve or firing notification")
    resolved_alert = [a for a in resolved()[0]["alerts"] if a["labels"]["alarm_key"] == POOL][0]
    check(resolved_alert["labels"]["severity"] == "critical" and resolved_alert["labels"]["tier"] == "2",
          f"the resolve names the critical alert that fired: {resolved_alert['labels']}")


def membership(fleet):
    """The gossip layer's view of its peer, from each node's debug log: a node that declared its
    peer dead sends as the first in line (position 0), whatever peer_timeout says."""
    return [f"{name}: {line}" for name in ("am1", "am2")
            for line in read(fleet.path(f"{name}.log")).splitlines()
            if re.search(r"[Ss]uspect|[Mm]arking|failed|[Rr]efut|dead|joined|left", line)][-30:]


def main():
    if not os.path.exists(ALERTMANAGER):
        print("SKIP: prometheus-alertmanager is not installed (scripts/install-deps)")
        return 0
    hook = PageRecorder(HOOK)
    with Fleet("paging-ha") as fleet:
        try:
            scenario(fleet, hook)
        except AssertionError:
            print("--- cluster membership\n" + "\n".join(membership(fleet)), file=sys.stderr)
            raise
    hook.close()
    print("ok: one firing and one resolve notification through a two-node Alertmanager cluster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
