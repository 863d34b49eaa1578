#!/usr/bin/env python3
"""The soak of issue 15: tierwatchd for MINUTES (default 60) on the real throw-away fleet plus the
fault server, under churn, with its memory and descriptors watched. Run by scripts/soak.

Churn: every few seconds a fleet server or the fault server is killed or frozen (SIGSTOP) and,
a few seconds later, revived (restart or SIGCONT); the NLB's DNS record changes every 20 s
(dnsmasq re-reads its hosts file on SIGHUP); the daemon reloads (SIGHUP, alternating a latency
limit) every minute; /metrics is scraped every 5 s; silences are created and deleted through the
admin API; a webhook receiver records every page.

Pass: the daemon never dies; after the warm-up (the first sixth of the run, at least one sample)
the least-squares slope of RSS stays under 10 % of the warm-up RSS per hour; the descriptors do
not grow: once settled at the end the daemon holds no more than before the churn (both with every
server healthy), and their slope stays under 5 per hour (the per-minute counts include the sockets
of probes in flight to frozen servers, so a slope alone would be noise); the receiver never sees a
second trigger for one dedup key and identity (severity, tier, labels) without a resolve in
between, nor one page twice; and once everything is revived every trigger it saw is followed by
a resolve within the settle.

Addresses: the fleet on 127.61, the daemon, dnsmasq, receiver and fault server on 127.0.61.x
above .1 (test_once_faults uses 127.0.61.1). Needs root, like the fleet.
Figures go to stdout and, as JSON, to --results FILE."""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from harness import FLEET, TIERWATCHD, Fleet, PageRecorder, check, fleet_config_text, http_get, tail, wait_for

SUBNET = "127.61"
LISTEN = "127.0.61.2:29469"
HOOK_IP = "127.0.61.3"
DNS_IP, DNS_PORT = "127.0.61.53", 20053
FAULT_OK, FAULT_BAD = "127.0.61.20", "127.0.61.21"
TOKEN = "tw-soak-token-61"
FLAP_WINDOW_SECONDS = 60
SETTLE_SECONDS = 300
FLEET_SERVERS = ["mta1", "mta2", "mailbox1", "proxy1", "proxy2", "ldap1", "ldap2"]
FAULTSERVER = "faultserver"
NLB_NAME = "mail.example.test"
PROXIES = [f"{SUBNET}.10.2", f"{SUBNET}.20.2"]

# The fault server's listeners: the "faultok" node's answer well (its alarms come and go with the
# fault server), the "faultbad" node's misbehave for the whole run (silenced, so they exercise the
# probes' error paths without paging).
FAULT_SERVES = [f"banner@{FAULT_OK}:21001,text=220 soak\\r\\n", f"http@{FAULT_OK}:21002,status=200,body=ok",
                f"reset@{FAULT_BAD}:21003", f"silent@{FAULT_BAD}:21004", f"garbage@{FAULT_BAD}:21005",
                f"huge_header@{FAULT_BAD}:21006", f"http@{FAULT_BAD}:21007,status=503,body=down",
                f"trickle@{FAULT_BAD}:21008,text=220 slow\\r\\n,interval=300"]
FAULT_CONFIG = f"""
[[node]]
name = "faultok"
role = "fault-ok"
zone = "lab"
address = "{FAULT_OK}"

[[node]]
name = "faultbad"
role = "fault-bad"
zone = "lab"
address = "{FAULT_BAD}"

[[check]]
name = "fault-banner"
protocol = "tcp"
port = 21001
roles = ["fault-ok"]
banner_regex = "^220 "

[[check]]
name = "fault-http"
protocol = "http"
port = 21002
roles = ["fault-ok"]

[[check]]
name = "fault-reset"
protocol = "tcp"
port = 21003
roles = ["fault-bad"]
banner_regex = "^220 "

[[check]]
name = "fault-silent"
protocol = "tcp"
port = 21004
roles = ["fault-bad"]
banner_regex = "^220 "

[[check]]
name = "fault-garbage"
protocol = "tls"
port = 21005
roles = ["fault-bad"]

[[check]]
name = "fault-huge-header"
protocol = "http"
port = 21006
roles = ["fault-bad"]

[[check]]
name = "fault-503"
protocol = "http"
port = 21007
roles = ["fault-bad"]

[[check]]
name = "fault-trickle"
protocol = "tcp"
port = 21008
roles = ["fault-bad"]
banner_regex = "^220 "
"""


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.values = {}

    def add(self, name, n=1):
        with self.lock:
            self.values[name] = self.values.get(name, 0) + n

    def snapshot(self):
        with self.lock:
            return dict(self.values)


class Soak:
    def __init__(self, fleet, minutes, seed):
        self.fleet = fleet
        self.minutes = minutes
        self.rng = random.Random(seed)
        self.counts = Counts()
        self.stop = threading.Event()
        self.errors = []  # why the soak failed, from any thread
        self.errors_lock = threading.Lock()
        self.lock = threading.Lock()  # serialises churn on servers and the fault server
        self.fleet_dir = fleet.path("fleet")
        self.env = dict(os.environ, FLEET_LAST_LINK=fleet.path("last"))  # leave a developer's own link alone
        self.impaired = {}  # server -> "killed" | "frozen"
        self.faultserver = None
        self.daemon = None
        self.samples = []  # (seconds since start, rss KiB, fds)
        self.silences = []  # ids created by the churn, still to delete or to expire
        self.reload_flip = False
        self.healthy_before = self.healthy_after = None  # samples with every server up, before and after

    # --- processes ---------------------------------------------------------------------------------
    def fleet_cmd(self, *args, timeout=120):
        result = subprocess.run([FLEET, *args, "--dir", self.fleet_dir], env=self.env, stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"fleet {' '.join(args)}: exit {result.returncode}: "
                                 f"{result.stderr.decode(errors='replace')[-1500:]}")

    def start_faultserver(self):
        self.faultserver = self.fleet.faultserver(FAULT_SERVES)

    def config_text(self):
        text = fleet_config_text(SUBNET, LISTEN, f"{DNS_IP}:{DNS_PORT}")
        text = text.replace("[daemon]\n", '[daemon]\napi_token_file = "soak-api.token"\n', 1)
        check("[tiers.tier2]\n" in text, "fleet.toml has no [tiers.tier2]: the soak's derivation needs updating")
        text = text.replace("[tiers.tier2]\n", '[tiers.tier2]\nreceivers = ["hook"]\n', 1)
        # The reload alternates one limit, so every reload swaps a configuration that really differs.
        if self.reload_flip:
            text = text.replace('latency_warning = "1500ms"', 'latency_warning = "1600ms"', 1)
        # Flapping lasts a window past the last grade change: a short one keeps the final settle short.
        return (text + FAULT_CONFIG + f'\n[flapping]\nwindow = "{FLAP_WINDOW_SECONDS}s"\n'
                f'\n[[pager]]\nname = "hook"\nkind = "webhook"\nurl = "{self.hook.url}"\n')

    def write_config(self):
        with open(self.config_path, "w") as f:
            f.write(self.config_text())

    def write_hosts(self, addresses):
        with open(self.hosts, "w") as f:
            f.write("".join(f"{a} {NLB_NAME}\n" for a in addresses))
        os.kill(self.dnsmasq.pid, signal.SIGHUP)

    def daemon_alive(self):
        if self.daemon.poll() is not None:
            self.fail(f"tierwatchd exited with {self.daemon.returncode}")
            return False
        return True

    def fail(self, why):
        with self.errors_lock:
            if why not in self.errors:
                self.errors.append(why)
        print(f"soak: FAIL: {why}", file=sys.stderr, flush=True)

    def api(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://{LISTEN}{path}", data=data, method=method,
                                         headers={"Authorization": f"Bearer {TOKEN}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    # --- the loops -----------------------------------------------------------------------------------
    def loop(self, period, action):
        def run():
            while not self.stop.wait(period()):
                try:
                    action()
                except Exception as error:  # a churn step failing is a finding, not a reason to stop
                    self.fail(f"{action.__name__}: {error}")
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def churn(self):
        """One step: revive the longest-impaired server once three are down, else impair or revive."""
        with self.lock:
            servers = FLEET_SERVERS + [FAULTSERVER]
            healthy = [s for s in servers if s not in self.impaired]
            if self.impaired and (len(self.impaired) >= 3 or self.rng.random() < 0.5):
                self.revive(next(iter(self.impaired)))
            elif healthy:
                server = self.rng.choice(healthy)
                if self.rng.random() < 0.5:
                    self.kill(server)
                else:
                    self.freeze(server)

    def kill(self, server):
        if server == FAULTSERVER:
            os.killpg(self.faultserver.pid, signal.SIGKILL)
            self.faultserver.wait()
        else:
            self.fleet_cmd("kill", server)
        self.impaired[server] = "killed"
        self.counts.add("kills")

    def freeze(self, server):
        if server == FAULTSERVER:
            os.killpg(self.faultserver.pid, signal.SIGSTOP)
        else:
            self.fleet_cmd("freeze", server)
        self.impaired[server] = "frozen"
        self.counts.add("freezes")

    def revive(self, server):
        how = self.impaired.pop(server)
        if server == FAULTSERVER:
            if how == "frozen":
                os.killpg(self.faultserver.pid, signal.SIGCONT)
            else:
                self.start_faultserver()
        elif how == "frozen":
            self.fleet_cmd("resume", server)
        else:
            self.fleet_cmd("restart", server)
        self.counts.add("revivals")

    def change_dns(self):
        choice = self.rng.choice([PROXIES, PROXIES[:1], PROXIES[1:], []])
        self.write_hosts(choice)
        self.counts.add("dns_changes")

    def reload(self):
        if not self.daemon_alive():
            return
        self.reload_flip = not self.reload_flip
        self.write_config()
        self.daemon.send_signal(signal.SIGHUP)
        self.counts.add("reloads")

    def scrape(self):
        if not self.daemon_alive():
            return
        try:
            status, body = http_get(f"http://{LISTEN}/metrics", timeout=5)
            check(status == 200 and "tierwatch_" in body, f"/metrics answered {status}")
            self.counts.add("scrapes")
        except Exception as error:
            self.counts.add("scrape_errors")
            print(f"soak: scrape failed: {error}", file=sys.stderr, flush=True)

    def silence(self):
        """Creates a short silence on a random node or role, or deletes one made earlier."""
        if self.silences and self.rng.random() < 0.4:
            silence_id = self.silences.pop(0)
            status, body = self.api("DELETE", f"/api/v1/silences/{silence_id}")
            # 404: it expired and was forgotten meanwhile; anything else is a defect.
            check(status in (200, 204, 404), f"DELETE silence {silence_id}: {status} {body}")
            self.counts.add("silence_deletes")
            return
        matchers = self.rng.choice([{"nodes": [self.rng.choice(FLEET_SERVERS + ["faultok"])]},
                                    {"roles": [self.rng.choice(["mta", "proxy", "ldap", "mailbox"])]},
                                    {"zones": [self.rng.choice(["zone-a", "zone-b"])]}])
        body = {"matchers": matchers, "duration": f"{self.rng.randint(20, 90)}s", "author": "soak",
                "comment": "issue 15 soak"}
        status, answer = self.api("POST", "/api/v1/silences", body)
        check(status == 201, f"POST silence {matchers}: {status} {answer}")
        self.silences.append(json.loads(answer)["id"])
        self.counts.add("silence_creates")

    def sample(self, readings_count=5):
        """RSS and descriptors from /proc; the minimum of a few readings, so a probe's socket open
        at the instant of one reading does not count as growth."""
        if not self.daemon_alive():
            return None
        readings = []
        for _ in range(readings_count):
            with open(f"/proc/{self.daemon.pid}/status") as f:
                rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            fds = len(os.listdir(f"/proc/{self.daemon.pid}/fd"))
            readings.append((rss, fds))
            time.sleep(0.2)
        entry = (round(time.monotonic() - self.started, 1), min(r[0] for r in readings), min(r[1] for r in readings))
        self.samples.append(entry)
        print(f"soak: t={entry[0]:.0f}s rss={entry[1]} KiB fds={entry[2]} {self.counts.snapshot()}", flush=True)
        return entry

    # --- the run -------------------------------------------------------------------------------------
    def run(self, sample_period):
        start = subprocess.run([FLEET, "start", "--dir", self.fleet_dir, "--subnet", SUBNET], env=self.env,
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
        check(start.returncode == 0, f"fleet start failed:\n{start.stdout.decode()}{start.stderr.decode()}")
        try:
            return self.run_with_fleet(sample_period)
        finally:
            subprocess.run([FLEET, "stop", "--dir", self.fleet_dir], env=self.env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=300)

    def run_with_fleet(self, sample_period):
        fleet = self.fleet
        self.hook = PageRecorder(HOOK_IP)
        self.hosts = fleet.path("hosts")
        with open(self.hosts, "w") as f:
            f.write("".join(f"{a} {NLB_NAME}\n" for a in PROXIES))
        self.dnsmasq = fleet.dnsmasq(DNS_IP, DNS_PORT, self.hosts)
        self.start_faultserver()
        with open(os.path.join(self.fleet_dir, "soak-api.token"), "w") as f:
            f.write(TOKEN)
        self.config_path = os.path.join(self.fleet_dir, "soak.toml")
        self.write_config()
        self.daemon = fleet.start([TIERWATCHD, "--config", self.config_path], "tierwatchd.log")
        wait_for(lambda: http_get(f"http://{LISTEN}/-/ready")[0] == 200, 60, "/-/ready")
        # The fault node that always misbehaves must not page: a silence as long as the API allows.
        status, body = self.api("POST", "/api/v1/silences", {"matchers": {"nodes": ["faultbad"]}, "duration": "720h",
                                                              "author": "soak", "comment": "always faulty"})
        check(status == 201, f"the faultbad silence: {status} {body}")
        wait_for(self.everything_ok, 120, "every paging alarm clear before the churn")

        self.started = time.monotonic()
        self.healthy_before = self.sample(readings_count=25)
        threads = [self.loop(lambda: self.rng.uniform(2, 5), self.churn),
                   self.loop(lambda: 20, self.change_dns),
                   self.loop(lambda: 60, self.reload),
                   self.loop(lambda: 5, self.scrape),
                   self.loop(lambda: self.rng.uniform(5, 15), self.silence),
                   self.loop(lambda: sample_period, self.sample)]
        deadline = self.started + self.minutes * 60
        while time.monotonic() < deadline and self.daemon_alive():
            time.sleep(1)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=180)
        churn_end = time.monotonic()

        # Settle: every server back, both NLB addresses, the churn's silences gone; every paging
        # alarm must clear and every trigger be resolved.
        with self.lock:
            for server in list(self.impaired):
                self.revive(server)
        self.write_hosts(PROXIES)
        for silence_id in self.silences:
            self.api("DELETE", f"/api/v1/silences/{silence_id}")
        settled = None
        if self.daemon_alive():
            try:
                wait_for(lambda: self.everything_ok() and not self.open_triggers(), SETTLE_SECONDS,
                         "the fleet to settle")
                settled = round(time.monotonic() - churn_end, 1)
            except AssertionError as error:
                self.fail(f"{error}: alarms {self.paging_alarms()}, unresolved {sorted(self.open_triggers())}")
        if self.daemon_alive():
            self.healthy_after = self.sample(readings_count=25)
        return settled

    def paging_alarms(self):
        alarms = json.loads(http_get(f"http://{LISTEN}/api/v1/alarms")[1])["alarms"]
        return [a["key"] for a in alarms if a["state"] == "paging" and a["severity"] == "critical"]

    def everything_ok(self):
        return not self.paging_alarms()

    def open_triggers(self):
        """Dedup keys whose last page was not a resolve."""
        last = {}
        for page in self.hook.received():
            last[page["dedup_key"]] = page["action"]
        return {key for key, action in last.items() if action != "resolve"}


def duplicates(pages):
    """Second triggers for one dedup key and identity without a resolve between, and pages
    delivered twice (the same body)."""
    found, open_identities, seen = [], {}, set()
    for page in pages:
        body = json.dumps(page, sort_keys=True)
        if body in seen:
            found.append(f"delivered twice: {body}")
        seen.add(body)
        key = page["dedup_key"]
        identity = (page.get("severity"), page.get("tier"), json.dumps(page.get("labels"), sort_keys=True))
        if page["action"] == "resolve":
            open_identities.pop(key, None)
        elif page["action"] == "trigger":
            if identity in open_identities.get(key, set()):
                found.append(f"second trigger without a resolve: {key} {identity}")
            open_identities.setdefault(key, set()).add(identity)
    return found


def slope_per_hour(samples, index):
    """The least-squares slope of samples[*][index] against time, per hour."""
    n = len(samples)
    if n < 2:
        return 0.0
    xs = [s[0] / 3600 for s in samples]
    ys = [s[index] for s in samples]
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("minutes", type=float, nargs="?", default=60)
    parser.add_argument("--results", help="write the figures as JSON here")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    check(os.geteuid() == 0, "must run as root (the fleet's Postfix master insists)")
    # One sample a minute; a short smoke samples more often so it still has a slope.
    sample_period = 60 if args.minutes >= 10 else max(5.0, args.minutes * 60 / 12)
    with Fleet("soak") as fleet:
        soak = Soak(fleet, args.minutes, args.seed)
        settled = None
        try:
            settled = soak.run(sample_period)
        except Exception as error:
            soak.fail(f"{type(error).__name__}: {error}")
        soak.stop.set()
        pages = soak.hook.received() if hasattr(soak, "hook") else []
        for finding in duplicates(pages):
            soak.fail(finding)
        warmup = args.minutes * 60 / 6
        after = [s for s in soak.samples if s[0] >= warmup]
        if len(after) >= 2:
            rss_slope, fd_slope = slope_per_hour(after, 1), slope_per_hour(after, 2)
            if rss_slope > 0.10 * after[0][1]:
                soak.fail(f"RSS grows {rss_slope:.0f} KiB/h after the warm-up (more than 10% of {after[0][1]} KiB)")
            if fd_slope >= 5:
                soak.fail(f"open descriptors grow {fd_slope:.2f}/h after the warm-up")
        else:
            rss_slope = fd_slope = None
            soak.fail(f"only {len(after)} samples after the warm-up")
        before, after_settle = soak.healthy_before, soak.healthy_after
        if before and after_settle and after_settle[2] > before[2]:
            soak.fail(f"settled, the daemon holds {after_settle[2]} descriptors, {before[2]} before the churn")
        actions = {}
        for page in pages:
            actions[page["action"]] = actions.get(page["action"], 0) + 1
        results = {
            "minutes": args.minutes, "seed": args.seed, "sample_period_seconds": sample_period,
            "warmup_seconds": warmup, "counts": soak.counts.snapshot(), "pages": len(pages), "page_actions": actions,
            "dedup_keys": len({p["dedup_key"] for p in pages}), "settle_seconds": settled,
            "samples": soak.samples,
            "healthy_before": soak.healthy_before, "healthy_after": soak.healthy_after,
            "rss_slope_kib_per_hour": rss_slope, "fd_slope_per_hour": fd_slope,
            "errors": soak.errors, "verdict": "fail" if soak.errors else "pass",
        }
        text = json.dumps(results, indent=1)
        print(text)
        if args.results:
            with open(args.results, "w") as f:
                f.write(text + "\n")
        if soak.errors:
            print(f"--- tierwatchd.log\n{tail(fleet.path('tierwatchd.log'), 80)}", file=sys.stderr)
            os.environ["TIERWATCH_KEEP_TEST_DIR"] = "1"  # the logs, for whoever reads the failure
    return 1 if soak.errors else 0


if __name__ == "__main__":
    sys.exit(main())
