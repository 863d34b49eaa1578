"""Shared helpers for tierwatch's integration tests: processes on loopback, HTTP, cleanup.

Every server a test starts binds an explicit 127.x.y.z address; nothing leaves loopback.
"""
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

BUILD = os.environ.get("TIERWATCH_BUILD_DIR") or os.path.join(os.path.dirname(__file__), "../../build")
SOURCE = os.environ.get("TIERWATCH_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "../..")
TIERWATCHD = os.path.join(BUILD, "tierwatchd")
FAULTSERVER = os.path.join(BUILD, "tests", "tierwatch-faultserver")
FLEET = os.path.join(SOURCE, "tests", "fleet", "fleet")
DNS_ZONES = os.path.join(SOURCE, "tests", "fleet", "dns")  # the zone files Fleet.dns serves
DNS_QUERY = os.path.join(BUILD, "tests", "tierwatch-dnsquery")
# Fleet.dns: the authoritative knotd and the validating unbound, both on port 5353 (not 53).
DNS_SUBNET = "127.0.69"  # Fleet.dns()'s default: knotd on .1, unbound on .2
DNS_PORT = 5353
DNS_SIGNED_ZONE = "tierwatch.test"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
# Set by CMake on the integration tests of the sanitizer build (build-fuzz/, label `sanitize`).
SANITIZED = os.environ.get("TIERWATCH_SANITIZED") == "1"


class Fleet:
    """Starts processes, remembers them, and stops them all on exit, even on failure."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix=f"tierwatch-{name}-")
        os.chmod(self.dir, 0o755)
        self.processes = []
        if SANITIZED:
            self._collect_sanitizer_reports()

    def _collect_sanitizer_reports(self):
        """Every sanitized process this test starts (daemons, --once, the fault server) writes its
        ASan, UBSan or LeakSanitizer report to a file of its own here, one per pid: a daemon that a
        test restarts under the same log name cannot overwrite an earlier report, and close()
        fails the test on any."""
        self.sanitizer_reports = self.path("sanitizer")
        for variable in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            options = [option for option in os.environ.get(variable, "").split(":")
                       if option and not option.startswith("log_path=")]
            os.environ[variable] = ":".join(options + [f"log_path={self.sanitizer_reports}"])

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def start(self, argv, log_name, wait_line=None, timeout=15):
        log_path = self.path(log_name)
        log = open(log_path, "wb")
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE if wait_line else log,
                                   stderr=log, start_new_session=True)
        self.processes.append(process)
        if wait_line:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                line = process.stdout.readline().decode(errors="replace")
                if not line:
                    break
                if wait_line in line:
                    return process
            raise AssertionError(f"{argv[0]} did not print {wait_line!r}; log:\n{tail(log_path)}")
        return process

    def faultserver(self, serves, sans=()):
        argv = [FAULTSERVER, "--pki-dir", self.path("pki")]
        for san in sans:
            argv += ["--san", san]
        for serve in serves:
            argv += ["--serve", serve]
        return self.start(argv, "faultserver.log", wait_line="ready")

    def dnsmasq(self, address, port, hosts_file):
        argv = ["/usr/sbin/dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
                "--conf-file=/dev/null", f"--listen-address={address}", "--bind-interfaces",
                f"--port={port}", f"--addn-hosts={hosts_file}", "--local=/test/", "--local-ttl=1",
                f"--pid-file={self.path('dnsmasq.pid')}", "--log-facility=-", "--user=root", "--group=root"]
        process = self.start(argv, "dnsmasq.log")
        wait_for(lambda: "started" in read(self.path("dnsmasq.log")), 10, "dnsmasq start")
        return process

    def dns(self, records=None, zones_text=None, subnet=DNS_SUBNET):
        """The DNS checks' fleet, everything under the test directory and run as the invoking user:
        knotd serving every tests/fleet/dns/*.zone on <subnet>.1:DNS_PORT, signing
        DNS_SIGNED_ZONE itself, and unbound on <subnet>.2:DNS_PORT validating it with its DNSKEY
        as trust anchor, stub zones pointing at knotd. Returns the resolver as "ip:port".
        `records` ({zone: lines}) appends what a test knows only at run time (a TLSA record of a
        certificate generated per run) to a file's copy; `zones_text` ({zone: text}) adds unsigned
        zones of the test's own. `subnet` ("127.0.N") gives each test its own two addresses (.1
        knotd, .2 unbound), so that tests running side by side never share a DNS fleet."""
        authoritative, resolver_address = f"{subnet}.1", f"{subnet}.2"
        zones_text = zones_text or {}
        zones = sorted([name[:-len(".zone")] for name in os.listdir(DNS_ZONES) if name.endswith(".zone")] +
                       list(zones_text))
        knot_dir = self.path("knot")
        os.makedirs(os.path.join(knot_dir, "zones"))
        for zone in zones:
            copy = os.path.join(knot_dir, "zones", zone + ".zone")
            if zone in zones_text:
                with open(copy, "w") as f:
                    f.write(zones_text[zone])
            else:
                shutil.copy(os.path.join(DNS_ZONES, zone + ".zone"), copy)
            if records and zone in records:
                with open(copy, "a") as f:
                    f.write("\n" + records[zone] + "\n")
        zone_lines = "".join(f"  - domain: {zone}\n" + ("    dnssec-signing: on\n    dnssec-policy: test\n"
                                                          if zone == DNS_SIGNED_ZONE else "") for zone in zones)
        with open(os.path.join(knot_dir, "knot.conf"), "w") as f:
            f.write(f"""server:
  rundir: "{knot_dir}"
  listen: {authoritative}@{DNS_PORT}
database:
  storage: "{knot_dir}/db"
  kasp-db: "{knot_dir}/kasp"
control:
  listen: "{knot_dir}/knot.sock"
log:
  - target: stderr
    any: info
policy:
  - id: test
    algorithm: ecdsap256sha256
    single-type-signing: on
template:
  - id: default
    storage: "{knot_dir}/zones"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: none
zone:
{zone_lines}""")
        self.start(["knotd", "-c", os.path.join(knot_dir, "knot.conf")], "knotd.log")
        server = [f"@{authoritative}", "-p", str(DNS_PORT), "+short", "+time=1", "+retry=0"]

        def signed_key():
            out = subprocess.run(["kdig", *server, DNS_SIGNED_ZONE, "DNSKEY"], capture_output=True, text=True)
            return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None
        wait_for(signed_key, 15, f"knotd serving {DNS_SIGNED_ZONE} signed")
        anchor = f"{DNS_SIGNED_ZONE}. DNSKEY {signed_key().splitlines()[0]}"

        unbound_dir = self.path("unbound")
        os.makedirs(unbound_dir)
        stubs = "".join(f'stub-zone:\n  name: "{zone}"\n  stub-addr: {authoritative}@{DNS_PORT}\n'
                        for zone in zones)
        # unbound's built-in local zones answer for .test and the documentation ranges' reverse
        # zones; nodefault hands them to the stubs.
        # Loopback's reverse zone too when a test serves PTRs of its 127.x servers.
        local = ["test", "100.51.198.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa"] + (
            ["127.in-addr.arpa"] if any(zone.endswith(".127.in-addr.arpa") for zone in zones) else [])
        nodefault = "".join(f'  local-zone: "{zone}." nodefault\n' for zone in local)
        with open(os.path.join(unbound_dir, "unbound.conf"), "w") as f:
            f.write(f"""server:
  interface: {resolver_address}@{DNS_PORT}
  port: {DNS_PORT}
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  do-ip6: no
  username: ""
  chroot: ""
  directory: "{unbound_dir}"
  pidfile: "{unbound_dir}/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  val-log-level: 2
  module-config: "validator iterator"
  trust-anchor: "{anchor}"
{nodefault}remote-control:
  control-enable: no
{stubs}""")
        self.start(["unbound", "-d", "-c", os.path.join(unbound_dir, "unbound.conf")], "unbound.log")
        resolver = [f"@{resolver_address}", "-p", str(DNS_PORT), "+time=1", "+retry=0"]
        wait_for(lambda: " ad;" in subprocess.run(["kdig", *resolver, f"ns1.{DNS_SIGNED_ZONE}", "A"],
                                                  capture_output=True, text=True).stdout,
                 15, f"unbound validating {DNS_SIGNED_ZONE}")
        return f"{resolver_address}:{DNS_PORT}"

    def tierwatchd(self, config_text, *extra, name="tierwatchd"):
        """A tierwatchd on `config_text`; `name` names its configuration and log when a test runs
        more than one."""
        config = self.path(f"{name}.toml" if name != "tierwatchd" else "tierwatch.toml")
        with open(config, "w") as f:
            f.write(config_text)
        return self.start([TIERWATCHD, "--config", config, *extra], f"{name}.log")

    def alertmanager(self, name, address, config_text, cluster=None, peers=(), extra=()):
        """Debian's Alertmanager on `address` (a free port), its data in the test directory; returns
        its base URL once ready. `cluster` (address:port) turns gossip on, bound there and never on
        0.0.0.0, joining `peers`; without it the node runs alone."""
        with open(self.path(f"{name}.yml"), "w") as f:
            f.write(config_text)
        base = f"http://{address}:{free_port(address)}"
        argv = [ALERTMANAGER, f"--config.file={self.path(name + '.yml')}",
                f"--storage.path={self.path(name + '-data')}",
                f"--web.listen-address={base[len('http://'):]}"]
        if cluster:
            argv += [f"--cluster.listen-address={cluster}", f"--cluster.advertise-address={cluster}"]
            argv += [f"--cluster.peer={peer}" for peer in peers]
        else:
            argv.append("--cluster.listen-address=")
        self.start(argv + list(extra), f"{name}.log")
        wait_for(lambda: http_get(f"{base}/-/ready")[0] == 200, 30, f"{name} ready")
        return base

    def prometheus(self, config_path, listen):
        """A real Prometheus on `listen` (address:port) with its TSDB in the test directory."""
        return self.start(["prometheus", f"--config.file={config_path}", f"--storage.tsdb.path={self.path('tsdb')}",
                           f"--web.listen-address={listen}", "--storage.tsdb.retention.time=1h"], "prometheus.log")

    def close(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        reports = self._sanitizer_reports() if SANITIZED else []
        if os.environ.get("TIERWATCH_KEEP_TEST_DIR"):
            print(f"kept {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        check(not reports, "sanitizer reports:\n" + "\n".join(reports))

    def _sanitizer_reports(self):
        folder, prefix = os.path.split(self.sanitizer_reports)
        return [f"--- {name}\n{read(os.path.join(folder, name))}" for name in sorted(os.listdir(folder))
                if name.startswith(prefix + ".")]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            for name in sorted(os.listdir(self.dir)):
                if name.endswith(".log"):
                    print(f"--- {name}\n{tail(self.path(name))}", file=sys.stderr)
        self.close()


def unsigned_zone(origin, body):
    """The text of an unsigned zone for Fleet.dns(zones_text=): SOA, NS and `body`'s records."""
    return (f"$ORIGIN {origin}.\n$TTL 60\n@ SOA ns1.tierwatch.test. hostmaster.tierwatch.test. 1 3600 600 86400 60\n"
            f"@ NS ns1.tierwatch.test.\n{body}\n")


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def tail(path, lines=40):
    return "\n".join(read(path).splitlines()[-lines:])


def fleet_env(directory):
    """The variables of a started tests/fleet/fleet (its DIR/fleet.env) as a dict."""
    env = {}
    for line in read(os.path.join(directory, "fleet.env")).splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key] = value.strip('"')
    return env


def on_mail_fleet(name, subnet, run):
    """Starts the mail fleet (tests/fleet/fleet) on `subnet` in a scratch folder, calls
    run(fleet, env) with a Fleet called `name` and the fleet's variables, and stops everything,
    even on failure. Prints SKIP and returns 0 without root or Postfix (the fleet needs both)."""
    if os.geteuid() != 0 or not shutil.which("postfix"):
        print("SKIP: the fleet needs root and the packages of scripts/install-deps")
        return 0
    work = tempfile.mkdtemp(prefix=f"tierwatch-{name}-fleet-")
    os.chmod(work, 0o755)
    directory = os.path.join(work, "fleet")
    env = dict(os.environ, FLEET_LAST_LINK=os.path.join(work, "last"))  # leave a developer's fleet pointer alone
    try:
        started = subprocess.run([FLEET, "start", "--dir", directory, "--subnet", subnet], env=env,
                                 capture_output=True, text=True, timeout=180)
        check(started.returncode == 0, f"fleet start failed:\n{started.stdout}{started.stderr}")
        with Fleet(name) as fleet:
            run(fleet, fleet_env(directory))
    finally:
        if os.path.exists(os.path.join(directory, "fleet.env")):
            subprocess.run([FLEET, "stop", "--dir", directory], env=env, capture_output=True, timeout=120)
        shutil.rmtree(work, ignore_errors=True)
    print("1 passed, 0 failed")
    return 0


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # the condition may not be checkable yet (server starting)
            last_error = error
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def api_targets(listen):
    """The daemon's /api/v1/targets list, or [] while it is not answering yet."""
    try:
        return json.loads(http_get(f"http://{listen}/api/v1/targets")[1])["targets"]
    except OSError:
        return []


def free_port(address):
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def prometheus_query(listen, expression):
    """The result vector of an instant query; an error answer fails the test."""
    url = f"http://{listen}/api/v1/query?query=" + urllib.parse.quote(expression)
    body = json.loads(http_get(url)[1])
    check(body["status"] == "success", f"query {expression!r}: {body}")
    return body["data"]["result"]


def parse_metrics(text):
    """Returns [(name, labels dict, value)] for every sample line."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, value = line.rsplit(" ", 1)
        name, labels = head, {}
        if "{" in head:
            name, rest = head.split("{", 1)
            for part in split_labels(rest.rstrip("}")):
                key, raw = part.split("=", 1)
                labels[key] = json.loads(raw)
        samples.append((name, labels, float(value)))
    return samples


def split_labels(text):
    parts, current, quoted, escaped = [], "", False, False
    for c in text:
        if escaped:
            current += c
            escaped = False
        elif c == "\\":
            current += c
            escaped = True
        elif c == '"':
            current += c
            quoted = not quoted
        elif c == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += c
    if current:
        parts.append(current)
    return parts


def check(condition, message):
    if not condition:
        raise AssertionError(message)


class PageRecorder:
    """A webhook receiver for tierwatch's JSON pages on a loopback address: keeps every page it
    accepted in arrival order. `status` is what it answers (set 500 to simulate an outage; those
    requests are counted in `refused`, not kept); `delay` makes it a slow receiver."""

    def __init__(self, address, port=0):
        self.pages = []
        self.arrivals = []  # time.monotonic() of each kept page, for timelines in failure messages
        self.refused = 0
        self.status = 200
        self.delay = 0.0
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.delay:
                    time.sleep(outer.delay)
                with outer.lock:
                    status = outer.status
                    if status == 200:
                        outer.pages.append(json.loads(body))
                        outer.arrivals.append(time.monotonic())
                    else:
                        outer.refused += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((address, port), Handler)
        self.url = f"http://{address}:{self.server.server_address[1]}/pages"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self, start=0):
        with self.lock:
            return list(self.pages[start:])

    def with_action(self, action=None):
        """The pages received, or those whose action is `action` (trigger, resolve, ...)."""
        return [p for p in self.received() if action is None or p["action"] == action]

    def count(self):
        with self.lock:
            return len(self.pages)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def metric(listen, name, **labels):
    """The sum of `name`'s samples whose labels include `labels`, from the daemon's /metrics."""
    samples = parse_metrics(http_get(f"http://{listen}/metrics")[1])
    return sum(value for n, l, value in samples if n == name and all(l.get(k) == v for k, v in labels.items()))


def fleet_config_text(subnet, listen, nameserver):
    """config/examples/fleet.toml moved to a test's fleet subnet, listener and DNS (address:port),
    with timings short enough to converge in seconds (one result grades, alarms settle after a
    second). Its relative paths name the fleet's pki/ and secrets/: write it into the fleet's dir."""
    text = read(os.path.join(SOURCE, "config", "examples", "fleet.toml"))
    text = text.replace('"127.0.10.', f'"{subnet}.10.').replace('"127.0.20.', f'"{subnet}.20.')
    replacements = [
        (r'^listen = .*$', f'listen = "{listen}"'),
        (r'^nameservers = .*$', f'nameservers = ["{nameserver}"]'),
        (r'^dns_refresh = .*$', 'dns_refresh = "2s"'),
        # Latency limits far above a loopback probe's, so a busy CI machine does not grade warnings.
        (r'^interval = .*$', 'interval = "2s"\nrise = 1\nfall = 1'),
        (r'^timeout = .*$', 'timeout = "2s"'),
        (r'^latency_warning = .*$', 'latency_warning = "1500ms"'),
        (r'^latency_critical = .*$', 'latency_critical = "2s"'),
        (r'^settle = .*$', 'settle = "1s"'),
    ]
    for pattern, replacement in replacements:
        text, n = re.subn(pattern, replacement, text, count=1, flags=re.M)
        check(n == 1, f"fleet.toml has no line matching {pattern!r}: the test's derivation needs updating")
    return text.replace('interval = "30s"', 'interval = "5s"')  # the round trips


def fleet_config(fleet_dir, subnet, listen, nameserver):
    """fleet_config_text written into the fleet's dir; returns its path."""
    path = os.path.join(fleet_dir, "status-test.toml")
    with open(path, "w") as f:
        f.write(fleet_config_text(subnet, listen, nameserver))
    return path


BANNER_PORT = 25025


def pair_fleet(mta1, mta2, proxy1, proxy2):
    """[defaults] probing once a second (rise = fall = 1) and two zones of one MTA and one proxy
    each, their port 25025 checked for an SMTP banner: the fleet of the tests that page a
    redundant MTA pair. Configuration text, for a test to place between its own sections."""
    return f"""[defaults]
interval = "1s"
timeout = "500ms"
rise = 1
fall = 1

[[node]]
name = "mta1"
role = "mta"
zone = "zone-a"
address = "{mta1}"

[[node]]
name = "mta2"
role = "mta"
zone = "zone-b"
address = "{mta2}"

[[node]]
name = "proxy1"
role = "proxy"
zone = "zone-a"
address = "{proxy1}"

[[node]]
name = "proxy2"
role = "proxy"
zone = "zone-b"
address = "{proxy2}"

[[check]]
name = "smtp-banner"
protocol = "tcp"
port = 25025
roles = ["mta", "proxy"]
banner_regex = "^220 "
"""


def banner_config(listen, state_dir, nodes, alerting):
    """A tierwatchd configuration for the paging tests: each (name, address) of `nodes` is an
    "mta" node in zone-a whose port BANNER_PORT is checked for an SMTP banner five times a
    second, so a fault server's listener coming and going flips it within a probe; alarms page
    without settling. `alerting` adds the [tiers] tables and [[pager]]s."""
    text = f"""
[daemon]
listen = "{listen}"
state_dir = "{state_dir}"

[defaults]
interval = "200ms"
timeout = "150ms"
rise = 1
fall = 1

[[check]]
name = "smtp-banner"
protocol = "tcp"
port = {BANNER_PORT}
roles = ["mta"]
banner_regex = "^220 "

[tiers]
settle = "0s"
{alerting}
"""
    for name, address in nodes:
        text += f'\n[[node]]\nname = "{name}"\nrole = "mta"\nzone = "zone-a"\naddress = "{address}"\n'
    return text
