#!/usr/bin/env python3
"""Pages survive the daemon: the real tierwatchd is killed with SIGKILL while it is sending
pages, 50 times in a row (TIERWATCH_LONG=1: 500), and then a receiver answers 500 for ten
simulated minutes.

After every kill the test reads the dead daemon's outbox itself (an independent reader of the
record format in daemon/outbox.hpp) and remembers every page still pending there; each of them
must reach the receiver after the restart. Across all runs every alarm reaches the receiver
under one dedup key only, no alarm's first page is a resolve, and the daemon never reports a
corrupt record. A duplicate under the SAME dedup key is allowed (a page accepted just before the
kill, whose delivery record was not written yet, goes out again: receivers deduplicate on the
key). Some kills are followed by a torn record appended to the outbox, as a power cut would
leave it: the restart must report it as a torn tail, skip it, and deliver the rest.

The outage runs at 1/100 scale: the pager's retry_initial = "10ms" and retry_max = "3s" stand
for the default 1s and 5m, so ten minutes of 500s take six seconds, with as many retries."""
import json
import os
import random
import re
import signal
import struct
import sys
import time

from harness import BANNER_PORT, TIERWATCHD, Fleet, PageRecorder, banner_config, check, http_get, metric, read, wait_for

LONG = os.environ.get("TIERWATCH_LONG") == "1"
KILLS = 500 if LONG else 50
SCALE = 100  # simulated seconds per real second in the outage
OUTAGE = 600 / SCALE

ANCHOR = "127.0.85.10"  # always up: keeps the zone from being one "zone down" alarm
DOWN = [f"127.0.85.{20 + i}" for i in range(6)]  # nothing listens: always failing
TOGGLED = [f"127.0.85.{30 + i}" for i in range(4)]  # served by a fault server we stop and start


def config(listen, hook_url):
    nodes = [("anchor", ANCHOR)] + [(f"down{i}", a) for i, a in enumerate(DOWN)] + \
            [(f"toggled{i}", a) for i, a in enumerate(TOGGLED)]
    return banner_config(listen, "state", nodes, f"""
[tiers.tier1]
receivers = ["hook"]

[flapping]
window = "10m"
max_changes = 100000   # every restart and toggle is a grade change; this test is not about flapping

[[pager]]
name = "hook"
kind = "webhook"
url = "{hook_url}"
timeout = "2s"
retry_initial = "{1000 // SCALE}ms"
retry_max = "{300 // SCALE}s"
""")


# ---- an independent reader of the outbox records (daemon/outbox.hpp) -------------------------
MAGIC = 0x4F425754
ACTIONS = ["trigger", "repeat", "escalate", "resolve"]


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def parse_record(payload):
    kind, record_id = payload[0], struct.unpack_from("<Q", payload, 1)[0]
    if kind == 2:
        return record_id, None
    action = payload[9]
    at = 9 + 4 + 16
    strings = []
    for _ in range(10):
        (length,) = struct.unpack_from("<I", payload, at)
        strings.append(payload[at + 4:at + 4 + length].decode())
        at += 4 + length
    return record_id, (strings[0], strings[1], ACTIONS[action])  # receiver, dedup key, action


def read_outbox(directory):
    """(pending {id: (receiver, key, action)}, damage [(file, offset, is_tail)]) of a dead daemon."""
    events, delivered, damage = {}, set(), []
    for name in sorted(n for n in os.listdir(directory) if re.fullmatch(r"segment-\d{8}\.log", n)):
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        at = 0
        while at < len(data):
            header = data[at:at + 12]
            ok = len(header) == 12
            if ok:
                magic, length, crc = struct.unpack("<III", header)
                payload = data[at + 12:at + 12 + length]
                ok = magic == MAGIC and len(payload) == length and crc32c(payload, crc32c(header[4:8])) == crc
            if not ok:
                damage.append((name, at, True))  # the daemon resynchronises; the test only needs the fact
                break
            record_id, event = parse_record(payload)
            if event is None:
                delivered.add(record_id)
            else:
                events.setdefault(record_id, event)
            at += 12 + length
    return {i: e for i, e in events.items() if i not in delivered}, damage


def tear_newest_segment(directory, receiver):
    """Appends the first half of a valid event record, as a power cut mid-write leaves it."""
    payload = bytes([1]) + struct.pack("<Q", 2**40) + bytes([0, 1, 1, 0]) + bytes(16)
    for text in [receiver, "tierwatch/target/torn"] + [""] * 8:
        payload += struct.pack("<I", len(text)) + text.encode()
    length = struct.pack("<I", len(payload))
    record = struct.pack("<I", MAGIC) + length + struct.pack("<I", crc32c(payload, crc32c(length))) + payload
    newest = max(n for n in os.listdir(directory) if n.startswith("segment-"))
    with open(os.path.join(directory, newest), "ab") as f:
        f.write(record[:len(record) // 2])


# ---- the daemon ----------------------------------------------------------------------------
class Daemon:
    def __init__(self, fleet, listen, hook_url):
        self.fleet, self.listen, self.runs = fleet, listen, 0
        self.config = fleet.path("tierwatch.toml")
        with open(self.config, "w") as f:
            f.write(config(listen, hook_url))
        self.process = None

    def start(self):
        self.runs += 1
        self.log = f"tierwatchd-{self.runs:03d}.log"
        self.process = self.fleet.start([TIERWATCHD, "--config", self.config], self.log)
        wait_for(lambda: http_get(f"http://{self.listen}/-/ready")[0] == 200, 15, f"/-/ready (run {self.runs})")

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def logs(self):
        return [(name, read(self.fleet.path(name))) for name in sorted(os.listdir(self.fleet.dir))
                if name.startswith("tierwatchd-")]


def toggled_server(fleet):
    return fleet.faultserver([f"banner@{a}:{BANNER_PORT},text=220 toggled\\r\\n" for a in TOGGLED])


TOGGLED_KEYS = {f"tierwatch/target/smtp-banner|node:toggled{i}" for i in range(len(TOGGLED))}


def firing(listen):
    """Keys of the alarms the daemon's book holds now."""
    try:
        return {a["key"] for a in json.loads(http_get(f"http://{listen}/api/v1/alarms")[1])["alarms"]}
    except OSError:
        return set()


def stop(process):
    os.killpg(process.pid, signal.SIGTERM)
    process.wait()


def collapse(statuses):
    return [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]


def identity(page):
    return (page["alarm"], page["labels"].get("node"), page["labels"].get("check"))


def check_history(pages):
    """One dedup key per alarm; no alarm's first page is a resolve."""
    keys, first = {}, {}
    for page in pages:
        keys.setdefault(identity(page), set()).add(page["dedup_key"])
        first.setdefault(page["dedup_key"], page["action"])
    for alarm, seen in keys.items():
        check(len(seen) == 1, f"alarm {alarm} reached the receiver under several dedup keys: {seen}")
    for key, action in first.items():
        check(action != "resolve", f"{key}: the first page the receiver got is a resolve")


def check_logs(daemon, torn_runs):
    for name, text in daemon.logs():
        check("corrupt record" not in text, f"{name} reports a corrupt outbox record:\n{text[-3000:]}")
        run = int(name[len("tierwatchd-"):-len(".log")])
        if run in torn_runs:
            check(re.search(r"outbox: torn tail at \S+ offset \d+", text), f"{name}: the torn tail is not reported")
        else:
            check("torn tail" not in text, f"{name}: a torn tail nobody made:\n{text[-3000:]}")
        for crash in ("terminate called", "Segmentation fault", "AddressSanitizer", "core dumped"):
            check(crash not in text, f"{name}: {crash}")


def kill_loop(fleet, hook):
    listen = f"127.0.85.1:{29500}"
    daemon = Daemon(fleet, listen, hook.url)
    outbox = fleet.path("state", "outbox")
    fleet.faultserver([f"banner@{ANCHOR}:{BANNER_PORT},text=220 anchor\\r\\n"])
    hook.delay = 0.05  # slow enough that a kill finds pages on the wire and in the queue
    pending_after_kill = []  # (run, receiver index at the kill, pending events)
    torn_runs = set()
    seed = int(os.environ.get("TIERWATCH_SEED", time.time_ns() % 2**32))
    rng = random.Random(seed)
    print(f"TIERWATCH_SEED={seed}")
    for kill in range(KILLS):
        # Each run starts with the toggled targets down: their triggers go out with the always
        # failing ones (alarms are evaluated once a second); then they come back and their
        # resolves follow a second later. The kill lands anywhere in that stream.
        daemon.start()
        log = fleet.path(daemon.log)
        # Alarms the killed run had paged are restored from state_dir rather than paged again;
        # either way the toggled targets' alarms fire in this run before their server returns.
        wait_for(lambda: firing(listen) >= TOGGLED_KEYS, 10, f"the toggled alarms firing in run {daemon.runs}")
        toggled = toggled_server(fleet)
        if kill % 2:
            wait_for(lambda: "page resolve to hook" in read(log), 10, f"the resolves of run {daemon.runs}")
            time.sleep(rng.uniform(0.0, len(TOGGLED) * hook.delay))
        else:
            time.sleep(rng.uniform(0.0, 0.6))
        daemon.kill()
        stop(toggled)
        pending, damage = read_outbox(outbox)
        check(not damage, f"kill {kill + 1}: the outbox of the killed daemon is damaged: {damage}")
        time.sleep(2 * hook.delay)  # a page on the wire at the kill is counted before it
        pending_after_kill.append((daemon.runs, hook.count(), pending))
        if kill % 10 == 9:
            tear_newest_segment(outbox, "hook")
            torn_runs.add(daemon.runs + 1)

    # The last run is not killed: every page still owed goes out, then the toggled targets
    # fail and recover once more while nothing interrupts, so the last word on each is known.
    daemon.start()
    toggled_keys = TOGGLED_KEYS
    wait_for(lambda: firing(listen) >= toggled_keys, 10, "the toggled alarms firing in the last run")
    start = hook.count()
    wait_for(lambda: {p["dedup_key"] for p in hook.received() if p["action"] != "resolve"} >= toggled_keys,
             30, "a page for every toggled target that is down")
    toggled = toggled_server(fleet)
    wait_for(lambda: {p["dedup_key"] for p in hook.received(start) if p["action"] == "resolve"} >= toggled_keys,
             30, "the resolves of the toggled targets once they are back")
    wait_for(lambda: metric(listen, "tierwatch_outbox_depth") == 0, 30, "an empty outbox")

    pages = hook.received()
    for run, index, pending in pending_after_kill:
        # The restart replays the outbox ahead of anything new, so for each alarm the receiver's
        # next pages start with what was pending, in order (a newer firing page may replace a
        # pending one, and a page on the wire at the kill may come again: statuses are compared
        # with repeats collapsed).
        owed = {}
        for record_id in sorted(pending):
            receiver, key, action = pending[record_id]
            owed.setdefault(key, []).append("resolved" if action == "resolve" else "firing")
        for key, statuses in owed.items():
            want = collapse(statuses)
            got = collapse([p["status"] for p in pages[index:] if p["dedup_key"] == key])
            check(got[:len(want)] == want,
                  f"run {run}: {key} had {statuses} in the outbox at the kill; the receiver got {got} after it")
    check_history(pages)
    last = {}
    for page in pages:
        last[page["dedup_key"]] = page["status"]
    for key in toggled_keys:
        check(last.get(key) == "resolved", f"{key}: the last word is {last.get(key)}, not resolved")
    for i in range(len(DOWN)):
        key = f"tierwatch/target/smtp-banner|node:down{i}"
        check(last.get(key) == "firing", f"{key}: the last word is {last.get(key)}, not firing")
    check_logs(daemon, torn_runs)
    killed_with_pages = sum(1 for _, _, pending in pending_after_kill if pending)
    killed_with_resolves = sum(1 for _, _, pending in pending_after_kill
                               if any(action == "resolve" for _, _, action in pending.values()))
    check(killed_with_pages >= KILLS // 5 and killed_with_resolves >= KILLS // 10,
          f"only {killed_with_pages} of {KILLS} kills found pages in the outbox, {killed_with_resolves} "
          f"resolves: the test did not test much")
    print(f"{KILLS} kills, {killed_with_pages} with pages pending ({killed_with_resolves} with resolves) "
          f"({sum(len(p) for _, _, p in pending_after_kill)} in all), {len(pages)} pages received, "
          f"{len(torn_runs)} torn tails skipped")
    daemon.kill()


def outage(fleet, hook):
    """Ten simulated minutes of 500s: afterwards every page, in the order the daemon made them."""
    listen = f"127.0.85.2:{29501}"
    daemon = Daemon(fleet, listen, hook.url)
    fleet.faultserver([f"banner@{ANCHOR}:{BANNER_PORT},text=220 anchor\\r\\n"])
    toggled = toggled_server(fleet)
    hook.delay = 0
    hook.status = 500
    daemon.start()
    began = time.monotonic()
    stop(toggled)  # the toggled targets fail, then recover inside the outage: trigger, then resolve
    wait_for(lambda: read(fleet.path(daemon.log)).count("page trigger to hook") >= len(DOWN) + len(TOGGLED),
             15, "the triggers")
    toggled = toggled_server(fleet)
    wait_for(lambda: read(fleet.path(daemon.log)).count("page resolve to hook") >= len(TOGGLED), 15, "the resolves")
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - began)))
    check(hook.count() == 0, "nothing is accepted during the outage")
    refused = hook.refused
    hook.status = 200

    made = re.findall(r"page (\w+) to hook \(.*\[(.+)\]$", read(fleet.path(daemon.log)), re.M)
    wait_for(lambda: hook.count() >= len(made), 2 * 300 / SCALE, "every page once the receiver is back")
    got = [(p["action"], p["dedup_key"]) for p in hook.received()]
    check(got == made, f"pages after the outage are not the ones made, in order:\nmade {made}\ngot  {got}")
    # The default backoff (1s doubling to 5m) retries about ten times in ten minutes; so must the
    # scaled one in its six seconds, or the outage was not simulated.
    check(refused >= 8, f"only {refused} attempts during the outage: the backoff knobs were not applied")
    check(metric(listen, "tierwatch_pages_failed_total", receiver="hook", reason="http_5xx") >= refused - 1,
          "the refused attempts are counted")
    check(metric(listen, "tierwatch_pages_sent_total", receiver="hook") == len(made), "sent pages are counted")
    check(metric(listen, "tierwatch_pages_queued", receiver="hook") == 0, "nothing left queued")
    print(f"outage: {refused} refused attempts, then {len(made)} pages in order")
    stop(toggled)


def main():
    for scenario, name, address in [(kill_loop, "paging-kill", "127.0.85.3"), (outage, "paging-outage", "127.0.85.4")]:
        hook = PageRecorder(address)
        try:
            with Fleet(name) as fleet:
                scenario(fleet, hook)
        finally:
            hook.close()
    print("2 passed, 0 failed")

if __name__ == "__main__":
    sys.exit(main())
