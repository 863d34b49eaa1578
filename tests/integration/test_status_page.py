#!/usr/bin/env python3
"""The NOC status page in a real browser against the real fleet: tierwatchd probes the fleet of
tests/fleet/fleet (config/examples/fleet.toml with short timings), mta2 is stopped, and headless
Chromium's DOM of /status shows zone-b × mta critical and mta2's alarms (proxy2 relays to mta2, so
its SMTP checks may follow: the test asserts only what must hold); the drill-down shows the
history, phases and certificate; /api/v1/targets, /alarms and /groups agree. Screenshots (wall
screen and phone) are saved under the build dir's test-artifacts/. Before the fleet, a second
daemon whose node, role, zone, check and server banner are all markup shows that the browser
renders them as text and runs none of it.

Needs root and the packages of scripts/install-deps (the fleet's servers, dnsmasq, chromium).
Addresses: the fleet on 127.52 (FLEET_STATUS_TEST_SUBNET), the daemon and dnsmasq on 127.0.95.x."""
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error

from harness import BUILD, FLEET, TIERWATCHD, Fleet, check, fleet_config, http_get, read, wait_for

SUBNET = os.environ.get("FLEET_STATUS_TEST_SUBNET", "127.52")
LISTEN = "127.0.95.1:29469"
DNS_IP, DNS_PORT = "127.0.95.53", 20053
HOSTILE_LISTEN, HOSTILE_SERVER = "127.0.95.4:29471", "127.0.95.5"
# Every string the page shows, as an attacker controlling a config line or a banner would write it.
HOSTILE_NODE = "<img src=x onerror=document.title='node'>"
HOSTILE_ROLE = "mta\"><script>document.title='role'</script>"
HOSTILE_ZONE = "zone'<b>"
HOSTILE_CHECK = "banner</td><script>document.title='check'</script>"
HOSTILE_BANNER = "<script>document.title='banner'</script><img src=x onerror=document.title='img'>"
HOSTILE_CONFIG = f"""
[daemon]
listen = "{HOSTILE_LISTEN}"
state_dir = "state"

[defaults]
interval = "1s"
timeout = "500ms"
rise = 1
fall = 1

[[node]]
name = {json.dumps(HOSTILE_NODE)}
role = {json.dumps(HOSTILE_ROLE)}
zone = {json.dumps(HOSTILE_ZONE)}
address = "{HOSTILE_SERVER}"

[[check]]
name = {json.dumps(HOSTILE_CHECK)}
protocol = "tcp"
port = 25025
roles = [{json.dumps(HOSTILE_ROLE)}]
banner_regex = "^220 "
"""
ARTIFACTS = os.path.join(BUILD, "test-artifacts")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def get_json(path):
    status, body = http_get(f"http://{LISTEN}{path}")
    check(status == 200, f"GET {path}: {status}")
    return json.loads(body)


class Chromium:
    """Debian's chromium, headless, with a throw-away profile; --no-sandbox because tests run as root."""

    def __init__(self, work):
        self.binary = shutil.which("chromium")
        check(self.binary, "chromium missing: run scripts/install-deps")
        self.profile = os.path.join(work, "chromium-profile")

    def run(self, url, *args):
        argv = [self.binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--no-default-browser-check", "--hide-scrollbars",
                f"--user-data-dir={self.profile}", *args, url]
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=90)
        check(result.returncode == 0, f"chromium {args} {url} failed ({result.returncode}): "
                                      f"{result.stderr.decode(errors='replace')[-2000:]}")
        return result.stdout.decode()

    def dom(self, url):
        return self.run(url, "--dump-dom", "--virtual-time-budget=2000")

    def screenshot(self, url, path, width, height):
        self.run(url, f"--screenshot={path}", f"--window-size={width},{height}")
        with open(path, "rb") as f:
            head = f.read(8)
        check(head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(path) > 10000,
              f"{path} is not a real screenshot ({os.path.getsize(path)} bytes)")


class Dom(html.parser.HTMLParser):
    """Just enough of the DOM: every element's attributes and text, by id and by class."""

    def __init__(self, text):
        super().__init__()
        self.elements = []  # [tag, attrs, text]
        self.open = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        element = [tag, dict(attrs), ""]
        self.elements.append(element)
        if tag not in ("meta", "br", "link", "img", "input"):
            self.open.append(element)

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for element in self.open:
            element[2] += data

    def find(self, predicate):
        return [e for e in self.elements if predicate(e[0], e[1])]

    def by_id(self, name):
        found = self.find(lambda tag, attrs: attrs.get("id") == name)
        return found[0] if found else None


def main():
    for tool in ("postfix", "dovecot", "nginx", "slapd"):
        check(shutil.which(tool) or os.path.exists(f"/usr/sbin/{tool}"), f"{tool} missing: run scripts/install-deps")
    check(os.geteuid() == 0, "must run as root (the fleet's Postfix master insists)")
    os.makedirs(ARTIFACTS, exist_ok=True)
    with Fleet("status") as fleet:
        hostile_strings_stay_text(fleet)
        fleet_dir = fleet.path("fleet")
        env = dict(os.environ, FLEET_LAST_LINK=fleet.path("last"))  # leave a developer's own fleet link alone
        try:
            start = subprocess.run([FLEET, "start", "--dir", fleet_dir, "--subnet", SUBNET], env=env,
                                   stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
            check(start.returncode == 0, f"fleet start failed:\n{start.stdout.decode()}{start.stderr.decode()}")
            run_with_fleet(fleet, fleet_dir, env)
        finally:
            subprocess.run([FLEET, "stop", "--dir", fleet_dir], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=120)
    print("1 passed, 0 failed")


def hostile_strings_stay_text(fleet):
    fleet.faultserver([f"banner@{HOSTILE_SERVER}:25025,text={HOSTILE_BANNER}\\r\\n"])
    fleet.tierwatchd(HOSTILE_CONFIG)
    base = f"http://{HOSTILE_LISTEN}"
    target = wait_for(lambda: next((t for t in json.loads(http_get(f"{base}/api/v1/targets")[1])["targets"]
                                    if t["grade"] == "critical"), None), 20, "the hostile target graded critical")
    check(target["node"] == HOSTILE_NODE and target["role"] == HOSTILE_ROLE and target["zone"] == HOSTILE_ZONE
          and target["check"] == HOSTILE_CHECK, f"JSON carries the strings exactly: {target}")
    check(HOSTILE_BANNER in target["last"]["detail"], f"the banner is in the detail: {target['last']['detail']}")
    # The zone's only node is down: a zone alarm, and the target's alarm under it.
    wait_for(lambda: json.loads(http_get(f"{base}/api/v1/alarms")[1])["count"] >= 1, 20, "the hostile alarms")

    browser = Chromium(fleet.dir)
    pages = {"/status": "tierwatch status",
             f"/status/target/{target['id']}": f"{HOSTILE_CHECK} \u00b7 {HOSTILE_SERVER}:25025"}
    for path, expected_title in pages.items():
        dom = Dom(browser.dom(base + path))
        title = [text for tag, _, text in dom.elements if tag == "title"]
        check(title == [expected_title], f"{path}: the title changed, so a script ran: {title}")
        check(not dom.find(lambda tag, a: tag in ("script", "img", "b", "svg")), f"{path}: injected elements: "
              f"{dom.find(lambda tag, a: tag in ('script', 'img', 'b', 'svg'))}")
        text = "".join(t for tag, _, t in dom.elements if tag == "body")
        for hostile in (HOSTILE_NODE, HOSTILE_CHECK, HOSTILE_BANNER):
            check(hostile in text, f"{path}: {hostile!r} not shown as text")
        if path == "/status":
            cell = dom.find(lambda tag, a: tag == "td" and a.get("data-zone") == HOSTILE_ZONE)
            check(len(cell) == 1 and cell[0][1]["data-role"] == HOSTILE_ROLE and cell[0][1]["data-grade"] == "critical",
                  f"the hostile cell keeps its attributes whole: {cell}")


def shown_alarms(dom):
    """The page's alarm rows by key: (severity, state, text)."""
    rows = dom.find(lambda tag, a: tag == "tr" and a.get("class") == "alarm")
    return {a["data-key"]: (a["data-severity"], a["data-state"], text) for _, a, text in rows}


def page_snapshot(browser, timeout=30):
    """The page's DOM bracketed by two reads of the API. The page is one snapshot of the daemon's
    state, taken between the two reads; alarms and grades may change meanwhile on a loaded machine
    (a flapping alarm from the fleet's start ages out, a loaded Dovecot fails one probe), so the page
    must show every alarm both reads have and none that neither has, and each grid cell and NLB row
    must be what one of the two reads says. Waiting for the whole fleet to hold still instead is
    what made this test flaky under load: it sometimes never does for half a minute."""
    last = {}

    def api():
        alarms = get_json("/api/v1/alarms")["alarms"]
        targets = get_json("/api/v1/targets")["targets"]
        return alarms, targets

    def consistent():
        alarms_before, targets_before = api()
        dom = Dom(browser.dom(f"http://{LISTEN}/status"))
        alarms_after, targets_after = api()
        before, after = {a["key"] for a in alarms_before}, {a["key"] for a in alarms_after}
        page = set(shown_alarms(dom))
        cells = page_cells(dom)
        wrong_cells = {key: shown for key, shown in cells.items()
                       if shown not in (expected_cells(targets_before).get(key), expected_cells(targets_after).get(key))}
        last.update(api_before=before, page=page, api_after=after, cells_unlike_either_read=wrong_cells)
        if before & after <= page <= before | after and not wrong_cells:
            return dom, [a for a in alarms_after if a["key"] in before], targets_after
        return None

    try:
        return wait_for(consistent, timeout, "the page shows the alarms and grades of the API read around it")
    except AssertionError:
        raise AssertionError(f"the page never showed the alarms and grades of the API reads around it "
                             f"within {timeout} s; last seen: {last}")


def page_cells(dom):
    """The page's grid cells and NLB rows: key -> (grade, up text)."""
    cells = {}
    for tag, a, text in dom.elements:
        if tag == "td" and "data-zone" in a:
            match = re.search(r"\d+/\d+ up", text)
            cells[("cell", a["data-zone"], a.get("data-role"))] = (a["data-grade"], match.group(0) if match else text)
        elif tag == "td" and "data-nlb" in a:
            cells[("nlb", a["data-nlb"], a["data-address"])] = (a["data-grade"], None)
    return cells


def expected_cells(targets):
    """What the page's cells and NLB rows must show for these targets."""
    by_cell, by_nlb = {}, {}
    for t in targets:
        if t.get("node"):
            by_cell.setdefault(("cell", t["zone"], t["role"]), []).append(t)
        if t.get("nlb"):
            by_nlb.setdefault(("nlb", t["nlb"], t["address"]), []).append(t)
    cells = {key: expected_cell(members) for key, members in by_cell.items()}
    cells.update({key: (expected_cell(members)[0], None) for key, members in by_nlb.items()})
    return cells


def expected_cell(targets):
    """What a grid cell must show for these targets: the worst grade's CSS word and "up/total"."""
    grades = [t["grade"] for t in targets]
    worst = next((g for g in ("critical", "warning", "ok") if g in grades), "pending")
    return worst, f"{sum(g in ('ok', 'warning') for g in grades)}/{len(grades)} up"  # pending is not up


def run_with_fleet(fleet, fleet_dir, env):
    hosts = fleet.path("hosts")
    with open(hosts, "w") as f:  # each zone's proxy stands in for that zone's load balancer
        f.write(f"{SUBNET}.10.2 mail.example.test\n{SUBNET}.20.2 mail.example.test\n")
    fleet.dnsmasq(DNS_IP, DNS_PORT, hosts)
    # The config lives in the fleet's dir: its relative paths name the fleet's pki/ and secrets/.
    fleet.start([TIERWATCHD, "--config", fleet_config(fleet_dir, SUBNET, LISTEN, f"{DNS_IP}:{DNS_PORT}")], "tierwatchd.log")
    wait_for(lambda: http_get(f"http://{LISTEN}/-/ready")[0] == 200, 20, "/-/ready")

    def graded():
        return get_json("/api/v1/targets")["targets"]

    everything_ok = lambda: (lambda t: len(t) >= 40 and all(x["grade"] == "ok" for x in t))(graded())
    try:
        wait_for(everything_ok, 60, "every fleet target graded ok")
    except AssertionError:
        bad = [(t["check"], t["target"], t["grade"], t["why"]) for t in graded() if t["grade"] != "ok"]
        raise AssertionError(f"not every target ok after 60 s: {bad}")
    # The page and the API are two moments: a target may flap in between on a loaded machine, so the
    # banner is compared with an API read that shows every target ok right after the page.
    banner = {}

    def healthy_banner():
        banner["text"] = Dom(http_get(f"http://{LISTEN}/status")[1]).by_id("overall")[2]
        targets = graded()
        return all(t["grade"] == "ok" for t in targets) and f"OK \u00b7 all {len(targets)} targets OK" in banner["text"]

    try:
        wait_for(healthy_banner, 30, "the healthy fleet banner")
    except AssertionError:
        raise AssertionError(f"the page never showed the healthy banner while every target was ok: {banner}")

    stop = subprocess.run([FLEET, "stop", "mta2", "--dir", fleet_dir], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=60)
    check(stop.returncode == 0, f"fleet stop mta2: {stop.stderr.decode()}")

    mta_checks = {t["check"] for t in graded() if t.get("node") == "mta2"}
    mta2_alarms = lambda: [a for a in get_json("/api/v1/alarms")["alarms"] if a["labels"].get("node") == "mta2"]
    wait_for(lambda: len(mta2_alarms()) == len(mta_checks), 40, f"an alarm for each of mta2's checks {mta_checks}")
    wait_for(lambda: all(t["grade"] == "critical" for t in get_json("/api/v1/targets?zone=zone-b&role=mta")["targets"]),
             10, "mta2's targets critical")

    # ---- JSON API ----------------------------------------------------------------------------------------------
    document = get_json("/api/v1/targets?zone=zone-b&role=mta")
    targets = document["targets"]
    check(document["count"] == len(mta_checks) == len(targets), f"zone-b mta targets: {targets}")
    for t in targets:
        check(t["node"] == "mta2" and t["role"] == "mta" and t["zone"] == "zone-b", f"labels: {t}")
        check(t["last"]["success"] is False and t["last"]["reason"] == "connect_refused", f"last: {t['last']}")
        check(RFC3339.match(t["last"]["at"]), f"last.at is RFC 3339 UTC: {t['last']['at']}")
        check(t["failures"] >= 1 and t["probes"] > t["failures"], f"counts: {t['probes']} {t['failures']}")
        check("connect_refused" in t["why"], f"why: {t['why']}")
        results = [h["result"] for h in t["history"]]
        check(0 < len(results) <= 8 and results[0] == "connect_refused" and "ok" in results,
              f"history newest first, from ok to refused: {t['history']}")
        check(all(RFC3339.match(h["at"]) for h in t["history"]), f"history times: {t['history']}")
    healthy = {(t["check"], t.get("node")): t for t in graded()}
    imaps = healthy[("imaps", "proxy1")]
    check(imaps["grade"] == "ok" and imaps["last"]["tls"]["version"].startswith("TLS"), f"imaps proxy1: {imaps}")
    check(300 < imaps["last"]["tls"]["days_left"] < 400 and RFC3339.match(imaps["last"]["tls"]["not_after"]),
          f"the fleet's 1-year leaf: {imaps['last']['tls']}")
    check(imaps["last"]["phases"]["tls"] > 0 and imaps["last"]["phases"]["auth"] > 0, f"phases: {imaps['last']}")
    nlb = [t for t in graded() if t.get("nlb") == "mail"]
    check(len(nlb) == 2 * len({t["check"] for t in nlb}) and
          {t["address"] for t in nlb} == {f"{SUBNET}.10.2", f"{SUBNET}.20.2"},
          f"every NLB check on both addresses: {[(t['check'], t.get('address')) for t in nlb]}")
    critical = {t["id"] for t in get_json("/api/v1/targets?grade=critical")["targets"]}
    check({t["id"] for t in targets} <= critical, f"?grade=critical has mta2's targets: {critical}")
    check(all(t["grade"] == "critical" for t in graded() if t["id"] in critical), "?grade= filters")
    status, body = 0, ""
    try:
        http_get(f"http://{LISTEN}/api/v1/targets?colour=red")
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    check(status == 400 and "colour" in body, f"unknown filter refused, named: {status} {body}")

    # mta2 is one of the mta-pool pair (fleet.toml's [[group]]): its target alarms are capped at a
    # Tier I warning and the pool is one warning; nothing about mta2 pages Tier II.
    alarms = mta2_alarms()
    for alarm in alarms:
        check(alarm["kind"] == "target" and alarm["severity"] == "warning" and alarm["tier"] == 1, f"{alarm}")
        check(alarm["state"] == "paging" and alarm["cause"] == "failure", f"{alarm}")
        check(RFC3339.match(alarm["started"]) and alarm["age_seconds"] >= 0, f"{alarm}")
        check(alarm["labels"]["zone"] == "zone-b" and alarm["labels"]["check"] in mta_checks, f"{alarm['labels']}")
    pool = [a for a in get_json("/api/v1/alarms")["alarms"] if a["labels"].get("group") == "mta-pool"]
    check(len(pool) == 1 and pool[0]["kind"] == "group" and pool[0]["severity"] == "warning" and pool[0]["tier"] == 1,
          f"the pool is one Tier I warning: {pool}")
    groups = {g["name"]: g for g in get_json("/api/v1/groups")["groups"]}
    zone_b = groups["zone-b"]
    check(zone_b["kind"] == "zone" and zone_b["members"] == 3 and 1 <= zone_b["down"] < 3 and zone_b["up"] >= 1,
          f"zone-b's nodes partly down, not a zone outage: {zone_b}")
    check(groups["zone-a"]["down"] == 0 and groups["zone-a"]["members"] == 4, f"zone-a: {groups['zone-a']}")

    # ---- the page in a real browser ---------------------------------------------------------------------------
    browser = Chromium(fleet.dir)
    dom, api_alarms, _ = page_snapshot(browser)
    alarms = [a for a in api_alarms if a["labels"].get("node") == "mta2"]
    cells = {(a.get("data-zone"), a.get("data-role")): (a, text) for tag, a, text in dom.elements
             if tag == "td" and "data-zone" in a}
    bad_attrs, bad_text = cells[("zone-b", "mta")]
    check(bad_attrs["data-grade"] == "critical" and "CRIT" in bad_text and f"0/{len(mta_checks)} up" in bad_text,
          f"zone-b × mta cell: {bad_attrs} {bad_text!r}")
    # Every other cell and NLB row was checked by page_snapshot against the API reads around the page:
    # a loaded machine may fail one probe of a healthy server (Dovecot's auth answering "internal
    # server error"), and the page must show that too, not an assumed green.
    check(("zone-b", "mailbox") not in cells, "zone-b has no mailbox: an empty cell, not a grade")
    nlb_rows = {(a["data-nlb"], a["data-address"]) for tag, a, _ in dom.elements if tag == "td" and "data-nlb" in a}
    check(nlb_rows == {("mail", f"{SUBNET}.10.2"), ("mail", f"{SUBNET}.20.2")}, f"NLB rows: {nlb_rows}")
    shown = shown_alarms(dom)
    for alarm in alarms:
        severity, state, text = shown[alarm["key"]]
        check(severity == "warning" and state == "paging" and "mta2" in text and "T1" in text and "WARN" in text,
              f"alarm row for {alarm['key']}: {shown[alarm['key']]}")
    links = {a.get("href") for tag, a, _ in dom.elements if tag == "a"}
    check({f"/status/target/{t['id']}" for t in targets} <= links, f"mta2's targets are linked: {links}")
    severities = [s[0] for s in shown.values()]
    check(severities == sorted(severities, key=lambda s: s != "critical"), f"worst first: {severities}")
    check(f"{len(shown)} alarms firing" in dom.by_id("overall")[2],
          f"{dom.by_id('overall')}")

    target = next(t for t in targets if t["check"] == "smtps")
    detail = Dom(browser.dom(f"http://{LISTEN}/status/target/{target['id']}"))
    check("CRIT" in detail.by_id("grade")[2] and "connect_refused" in detail.by_id("grade")[2], f"{detail.by_id('grade')}")
    history = detail.by_id("history")[2]
    check("connect_refused" in history and "ok" in history, f"history: {history!r}")
    good = Dom(browser.dom(f"http://{LISTEN}/status/target/{imaps['id']}"))
    check("days left" in good.by_id("certificate")[2] and "TLS" in good.by_id("certificate")[2],
          f"certificate: {good.by_id('certificate')}")
    check("tls" in good.by_id("phases")[2] and "auth" in good.by_id("phases")[2], f"phases: {good.by_id('phases')}")
    missing = Dom(browser.dom(f"http://{LISTEN}/status/target/999999"))
    check(any("No target 999999" in text for _, _, text in missing.elements), "an unknown target says so")

    wall = os.path.join(ARTIFACTS, "status-page.png")
    phone = os.path.join(ARTIFACTS, "status-page-phone.png")
    drill = os.path.join(ARTIFACTS, "status-target.png")
    browser.screenshot(f"http://{LISTEN}/status", wall, 1600, 1100)
    browser.screenshot(f"http://{LISTEN}/status", phone, 412, 1400)
    browser.screenshot(f"http://{LISTEN}/status/target/{imaps['id']}", drill, 1280, 2000)
    print(f"screenshots: {wall} {phone} {drill}")


if __name__ == "__main__":
    sys.exit(main())
