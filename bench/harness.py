#!/usr/bin/env python3
"""Runs bench/run's scenarios on loopback and writes the table: tierwatchd, blackbox_exporter,
the Monitoring Plugins and bare_client doing the same dialogues against bench/load_server.

Every process it starts is bounded in time and killed by pid at the end; every address is 127/8.
The CPU charged to a prober is read from /proc/PID/stat (or wait4 rusage for the plugins'
processes), never the driver's: drivers are separate processes.
"""
import argparse
import asyncio
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
PLUGINS = "/usr/lib/nagios/plugins"
BLACKBOX = shutil.which("prometheus-blackbox-exporter")

# Ports of the comparison scenarios; each listens on COMPARE_ADDRS addresses from 127.0.60.1.
COMPARE_FIRST = "127.0.60.1"
COMPARE_LISTEN_PORT = 19470  # tierwatchd's /metrics in the comparison runs
SCENARIOS = {
    # name: (load_server mode, port, bare_client mode, tierwatch protocol, blackbox module, plugin argv)
    "tcp": ("tcp", 11000, "tcp", "tcp", "tcp", ["check_tcp"]),
    "smtp": ("smtp", 11025, "smtp", "smtp", "smtp", ["check_smtp"]),
    "imap": ("imap", 11143, "imap", "imap", "imap", ["check_imap"]),
    "pop3": ("pop3", 11110, "pop3", "pop3", "pop3", ["check_pop"]),
    "tls": ("tls", 11465, "tls", "tls", "tls", ["check_tcp", "-S"]),
    "smtp_starttls": ("smtp", 11587, "smtp_starttls", "smtp", "smtp_starttls", ["check_smtp", "-S"]),
    "imaps": ("imaps", 11993, "imaps", "imaps", "imaps", ["check_simap"]),
    "https": ("https", 11443, "https", "https", "https", ["check_http", "--ssl"]),
    # Sessions resumed between probes of a target (tierwatchd and the bare client); compared with the tls rows.
    "tls_resume": ("tls", 11465, "tls_resume", "tls", None, None),
    # 1,000 targets at a 1 s interval: the same dialogues paced at 1,000 probes/s (tierwatchd and the floor).
    "tcp_1s": ("tcp", 11000, "tcp", "tcp", None, None),
    "smtp_1s": ("smtp", 11025, "smtp", "smtp", None, None),
}
REFERENCE_SCENARIO = {"tls_resume": "tls"}
# Scenarios that reuse another's listeners (load_server binds each port once).
SHARED_LISTENERS = {"tls_resume", "tcp_1s", "smtp_1s"}
# (interval s, probes/s) of the paced scenarios that differ from the profile's default.
SCENARIO_PACE = {"tcp_1s": (1, 1000), "smtp_1s": (1, 1000)}
# tierwatchd starts every probe due within this window at one wake-up (launch_window in
# daemon/engine/probe_loop.cpp); the floor is paced the same way, so both pay the same wake-ups.
LAUNCH_WINDOW_MS = 10
# System calls per probe are counted in runs of their own (perf stat on the syscall tracepoints).
SYSCALL_SCENARIOS = ["tcp", "smtp", "tcp_1s", "smtp_1s", "tls"]
TIERWATCH_EXTRA = {"tls_resume": ["tls_resume = true"], "smtp_starttls": ["starttls = true"]}
BLACKBOX_TARGET = {"https": "https://{}/"}
SCALE_FIRST = (127, 1, 0, 1)   # scale targets: 127.1.x.y, SCALE_PORTS ports each
SCALE_PORTS = [21001, 21002, 21003, 21004]
SILENT_FIRST = (127, 2, 0, 1)
SILENT_PORT = 31025
NOTES_MARKER = "<!-- notes: kept by bench/run; the figures above are regenerated -->"


def addr(first, k):
    n = (first[0] << 24 | first[1] << 16 | first[2] << 8 | first[3]) + k
    assert n >> 24 == 127, "loopback only"
    return f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def cpu_seconds(pid):
    """utime+stime of one process (its threads included), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kb(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE_KB


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))]


def http_get(url, timeout=30):
    t0 = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
    return body.decode(), time.monotonic() - t0


def curl_timed(url, timeout):
    """(bytes, seconds) of one GET by curl into /dev/null: a scraper that reads at the speed of a
    compiled client, as Prometheus does. Python's urllib spends a further 0.3-0.4 s reading and
    decoding a 47 MB body on a slow machine, which is the harness's time, not the daemon's."""
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "--max-time", str(timeout), "-w",
                          "%{size_download} %{time_total}", url], capture_output=True, text=True,
                         timeout=timeout + 10)
    if out.returncode != 0:
        raise OSError(out.stderr.strip() or f"curl exited {out.returncode}")
    size, seconds = out.stdout.split()
    return int(size), float(seconds)


def wait_for(pred, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def wait_ready(process, ready, log, what):
    """Waits for `process` to create its `ready` file; if it exits first (an address in use, say),
    fails at once with its log instead of waiting out the timeout."""
    def started():
        if process.poll() is not None:
            with open(log) as f:
                raise RuntimeError(f"{what} exited with {process.returncode} before it was ready: {f.read()[-2000:]}")
        return os.path.exists(ready)
    wait_for(started, 30, what)


class Procs:
    """Every process the harness starts, stopped by pid (never by name) when the run ends."""

    def __init__(self):
        self.procs = []

    def start(self, argv, log, **kw):
        p = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT, **kw)
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p)


# ---------------------------------------------------------------- metrics parsing

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')


def parse_metrics(text):
    out = []
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        m = SAMPLE.match(line)
        if m:
            out.append((m.group(1), m.group(2) or "", float(m.group(3))))
    return out


def metric_sum(samples, name, contains=""):
    return sum(v for n, l, v in samples if n == name and contains in l)


def lag_buckets(samples):
    b = {}
    for n, l, v in samples:
        if n == "tierwatch_scheduler_lag_seconds_bucket":
            le = re.search(r'le="([^"]+)"', l).group(1)
            b[float("inf") if le == "+Inf" else float(le)] = v
    return dict(sorted(b.items()))


def histogram_quantiles(before, after):
    """p50, p99 and the upper bound of the highest non-empty bucket, from two cumulative snapshots."""
    delta = {le: after.get(le, 0) - before.get(le, 0) for le in after}
    total = delta.get(float("inf"), 0)
    if total <= 0:
        return None, None, None, 0
    def q(frac):
        for le, c in delta.items():
            if c >= frac * total:
                return le
        return float("inf")
    prev, top = 0, 0
    for le, c in delta.items():
        if c > prev:
            top = le
        prev = c
    return q(0.5), q(0.99), top, total


# ---------------------------------------------------------------- tierwatchd

def tierwatch_config(path, listen_port, nodes, checks, interval, timeout, ca, max_in_flight=None,
                     per_host=64, check_extra=()):
    """nodes: list of addresses; checks: list of (name, protocol, port)."""
    if max_in_flight is None:
        # tierwatchd refuses a max_in_flight its descriptor limit cannot carry (it keeps 256 spare).
        max_in_flight = min(20000, fd_hard_limit() - 512)
    lines = ["[daemon]", f'listen = "127.0.0.1:{listen_port}"', 'state_dir = "state"',
             f"max_in_flight = {max_in_flight}", f"per_host_max_in_flight = {per_host}", 'log_level = "warn"', "",
             "[defaults]", f'interval = "{interval}"', f'timeout = "{timeout}"', f'ca_file = "{ca}"', ""]
    for i, a in enumerate(nodes):
        lines += ["[[node]]", f'name = "n{i}"', 'role = "bench"', f'address = "{a}"', 'fqdn = "bench.test"', ""]
    for name, proto, port in checks:
        lines += ["[[check]]", f'name = "{name}"', f'protocol = "{proto}"', f"port = {port}", 'roles = ["bench"]',
                  *check_extra, ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


class Daemon:
    def __init__(self, procs, binary, workdir, name, listen_port):
        self.procs, self.binary, self.dir, self.name, self.port = procs, binary, workdir, name, listen_port
        self.config = os.path.join(workdir, f"{name}.toml")
        os.makedirs(os.path.join(workdir, "state"), exist_ok=True)

    def start(self):
        self.p = self.procs.start([self.binary, "--config", self.config], os.path.join(self.dir, f"{self.name}.log"),
                                  cwd=self.dir)
        def healthy():
            if self.p.poll() is not None:
                raise RuntimeError(f"tierwatchd exited with {self.p.returncode}")
            return http_get(self.url("/-/healthy"), 2)
        try:
            wait_for(healthy, 120, "tierwatchd")
        except RuntimeError:
            with open(os.path.join(self.dir, f"{self.name}.log")) as f:
                sys.stderr.write(f.read()[-2000:])
            raise
        return self.p.pid

    def url(self, path="/metrics"):
        return f"http://127.0.0.1:{self.port}{path}"

    def scrape(self, timeout=120):
        body, seconds = http_get(self.url(), timeout)
        return parse_metrics(body), seconds, len(body)

    def stop(self):
        self.procs.stop(self.p)


def pace(ctx, scenario, rate):
    """(interval s, probes/s, probe timeout s) of a comparison scenario."""
    interval, rate = SCENARIO_PACE.get(scenario, (ctx.interval, rate))
    return interval, rate, min(5, interval)


def steady_tierwatch(ctx, scenario, rate, measure):
    """Starts tierwatchd for a scenario, lets one interval pass, and calls measure(pid) between two
    scrapes; returns (the two scrapes, measure's result, RSS at the end, the target count)."""
    mode, port, _, proto, _, _ = SCENARIOS[scenario]
    interval, rate, timeout = pace(ctx, scenario, rate)
    targets = int(rate * interval)
    nodes = [addr((127, 0, 60, 1), i % ctx.compare_addrs) for i in range(targets)]
    d = Daemon(ctx.procs, ctx.tierwatchd, ctx.work, f"tw_{scenario}", COMPARE_LISTEN_PORT)
    extra = TIERWATCH_EXTRA.get(scenario, [])
    tierwatch_config(d.config, d.port, nodes, [(scenario, proto, port)], f"{interval}s", f"{timeout}s",
                     ctx.ca, check_extra=extra)
    pid = d.start()
    time.sleep(interval + 1)  # one full spread: every target has a schedule slot and a first result
    s0, _, _ = d.scrape()
    measured = measure(pid)
    s1, _, _ = d.scrape()
    rss = rss_kb(pid)
    d.stop()
    return s0, s1, measured, rss, targets


def run_tierwatch(ctx, scenario, rate, window):
    interval = pace(ctx, scenario, rate)[0]
    def cpu_window(pid):
        c0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(window)
        return cpu_seconds(pid) - c0, time.monotonic() - t0
    s0, s1, (cpu, seconds), rss, targets = steady_tierwatch(ctx, scenario, rate, cpu_window)
    extra = TIERWATCH_EXTRA.get(scenario, [])
    n = metric_sum(s1, "tierwatch_probes_total") - metric_sum(s0, "tierwatch_probes_total")
    ok = metric_sum(s1, "tierwatch_probes_total", 'result="success"') - metric_sum(s0, "tierwatch_probes_total",
                                                                                   'result="success"')
    lat = [v for name, l, v in s1 if name == "probe_duration_seconds"]
    resumed = metric_sum(s1, "tierwatch_tls_resumed_total") - metric_sum(s0, "tierwatch_tls_resumed_total")
    return dict(probes=int(n), ok=int(ok), seconds=seconds, cpu=cpu, p50=percentile(lat, 0.5) * 1e3,
                p99=percentile(lat, 0.99) * 1e3, rss_kb=rss,
                note=f"daemon, {targets} targets / {interval}s" + (f", {int(resumed)} resumed" if "tls_resume = true" in extra else ""))


# ---------------------------------------------------------------- bare client

def bare_argv(ctx, scenario, rate, window):
    mode, port, bare_mode, _, _, _ = SCENARIOS[scenario]
    _, rate, timeout = pace(ctx, scenario, rate)
    return [ctx.bare_client, "--mode", bare_mode, "--targets", f"{COMPARE_FIRST},{ctx.compare_addrs},{port}",
            "--count", str(int(rate * window)), "--concurrency", str(ctx.concurrency), "--rate", str(rate),
            "--ca", ctx.ca, "--sni", "bench.test", "--timeout-ms", str(timeout * 1000),
            "--max-seconds", str(window * 4 + 10), "--batch-ms", str(LAUNCH_WINDOW_MS)]


def run_bare(ctx, scenario, rate, window):
    bare_mode = SCENARIOS[scenario][2]
    _, rate, _ = pace(ctx, scenario, rate)
    count = int(rate * window)
    out = subprocess.run(bare_argv(ctx, scenario, rate, window), capture_output=True, text=True,
                         timeout=window * 4 + 30)
    kv = dict(x.split("=") for x in out.stdout.split())
    return dict(probes=int(kv["probes"]), ok=int(kv["ok"]), seconds=float(kv["seconds"]), cpu=float(kv["cpu_s"]),
                p50=float(kv["p50_ms"]), p99=float(kv["p99_ms"]), rss_kb=int(kv["maxrss_kb"]),
                note=f"{count} probes at {rate}/s in {LAUNCH_WINDOW_MS} ms batches, concurrency {ctx.concurrency}"
                     + (f", {kv['resumed']} resumed" if bare_mode == "tls_resume" else ""))


# ---------------------------------------------------------------- system calls per probe

PERF = shutil.which("perf")
# Counted with perf's syscall tracepoints: cheap enough not to change the daemon's pace (strace's
# ptrace stops slowed tierwatchd below 1,000 probes/s and so changed what was counted).
COUNTED_SYSCALLS = ["socket", "connect", "close", "epoll_ctl", "epoll_wait", "epoll_pwait", "timerfd_settime",
                    "getsockopt", "setsockopt", "poll", "ppoll", "ioctl", "fcntl", "recvfrom", "sendto", "read",
                    "write", "readv", "writev", "recvmsg", "sendmsg", "futex", "io_uring_enter", "mmap",
                    "munmap", "brk"]


def perf_syscalls(argv_tail, path, timeout):
    """Runs perf stat counting system calls (all of them, and the listed ones by name)."""
    events = ",".join(["raw_syscalls:sys_enter"] + [f"syscalls:sys_enter_{n}" for n in COUNTED_SYSCALLS])
    return subprocess.run([PERF, "stat", "-x,", "-o", path, "-e", events] + argv_tail, capture_output=True,
                          text=True, timeout=timeout)


def syscall_row(path):
    """Calls per probe from perf's counts. Every probe of the counted scenarios opens one connection,
    so connect() calls count the probes exactly over the same span as the other calls."""
    counts, total = {}, 0
    with open(path) as f:
        for line in f:
            fields = line.strip().split(",")
            if len(fields) < 3 or not fields[0].isdigit():
                continue
            if fields[2] == "raw_syscalls:sys_enter":
                total = int(fields[0])
            else:
                counts[fields[2].removeprefix("syscalls:sys_enter_")] = int(fields[0])
    probes = counts.get("connect", 0)
    top = sorted(counts.items(), key=lambda kv: -kv[1])
    return dict(probes=probes, calls=total, per_probe=total / probes if probes else float("nan"),
                top=" ".join(f"{name} {n / probes:.2f}" for name, n in top if probes and n / probes >= 0.05))


def syscalls_bare(ctx, scenario, rate, window):
    """The floor for a fixed number of probes (its start-up calls included)."""
    path = os.path.join(ctx.work, f"syscalls_bare_{scenario}.csv")
    perf_syscalls(["--"] + bare_argv(ctx, scenario, rate, window), path, window * 4 + 60)
    return syscall_row(path)


def syscalls_tierwatch(ctx, scenario, rate, window):
    """tierwatchd in steady state, counted for `window` seconds."""
    path = os.path.join(ctx.work, f"syscalls_tw_{scenario}.csv")
    steady_tierwatch(ctx, scenario, rate,
                     lambda pid: perf_syscalls(["-p", str(pid), "--", "sleep", str(window)], path, window + 60))
    return syscall_row(path)


# ---------------------------------------------------------------- blackbox_exporter

BLACKBOX_MODULES = """modules:
  tcp:
    prober: tcp
    timeout: 5s
    tcp: {preferred_ip_protocol: ip4}
  smtp:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - expect: "^220 "
        - send: "EHLO bench.client"
        - expect: "^250 "
        - send: "QUIT"
        - expect: "^221"
  imap:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - expect: "^\\\\* OK"
        - send: "a1 CAPABILITY"
        - expect: "^a1 OK"
        - send: "a2 LOGOUT"
        - expect: "^a2 OK"
  pop3:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - expect: "^\\\\+OK"
        - send: "CAPA"
        - expect: "^\\\\."
        - send: "QUIT"
        - expect: "^\\\\+OK"
  tls:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config: {ca_file: "CA_FILE", server_name: bench.test}
  smtp_starttls:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      tls_config: {ca_file: "CA_FILE", server_name: bench.test}
      query_response:
        - expect: "^220 "
        - send: "EHLO bench.client"
        - expect: "^250 "
        - send: "STARTTLS"
        - expect: "^220"
        - starttls: true
        - send: "EHLO bench.client"
        - expect: "^250 "
        - send: "QUIT"
        - expect: "^221"
  imaps:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config: {ca_file: "CA_FILE", server_name: bench.test}
      query_response:
        - expect: "^\\\\* OK"
        - send: "a1 CAPABILITY"
        - expect: "^a1 OK"
        - send: "a2 LOGOUT"
        - expect: "^a2 OK"
  https:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      tls_config: {ca_file: "CA_FILE", server_name: bench.test}
"""


async def _probe_driver(host, port, module, targets, count, concurrency, rate, deadline):
    """Keep-alive HTTP/1.1 GETs of /probe; the exporter's own probe_duration_seconds is the latency."""
    results = []
    next_index = 0
    t0 = time.monotonic()

    async def worker():
        nonlocal next_index
        reader, writer = await asyncio.open_connection(host, port)
        while next_index < count and time.monotonic() < deadline:
            i = next_index
            next_index += 1
            if rate > 0:
                delay = t0 + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            target = targets[i % len(targets)]
            writer.write(f"GET /probe?module={module}&target={target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length:\s*(\d+)", head)
            if length:
                body = (await reader.readexactly(int(length.group(1)))).decode()
            else:  # Go switches to chunked encoding for larger bodies (the http prober's)
                parts = []
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    if size == 0:
                        await reader.readuntil(b"\r\n")
                        break
                    parts.append((await reader.readexactly(size + 2))[:-2])
                body = b"".join(parts).decode()
            ok = re.search(r"^probe_success 1", body, re.M) is not None
            dur = re.search(r"^probe_duration_seconds (\S+)", body, re.M)
            results.append((ok, float(dur.group(1)) if dur else None))
        writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, time.monotonic() - t0


def run_blackbox(ctx, scenario, rate, window):
    _, port, _, _, module, _ = SCENARIOS[scenario]
    count = int(rate * window)
    form = BLACKBOX_TARGET.get(scenario, "{}")
    targets = [form.format(f"{addr((127, 0, 60, 1), i)}:{port}") for i in range(ctx.compare_addrs)]
    pid = ctx.blackbox.pid
    c0 = cpu_seconds(pid)
    results, seconds = asyncio.run(_probe_driver("127.0.0.1", ctx.blackbox_port, module, targets, count,
                                                 ctx.concurrency, rate, time.monotonic() + window * 4 + 10))
    cpu = cpu_seconds(pid) - c0
    lat = [d for ok, d in results if ok and d is not None]
    return dict(probes=len(results), ok=sum(1 for ok, _ in results if ok), seconds=seconds, cpu=cpu,
                p50=percentile(lat, 0.5) * 1e3, p99=percentile(lat, 0.99) * 1e3, rss_kb=rss_kb(pid),
                note=f"{count} /probe at {rate}/s, concurrency {ctx.concurrency}")


# ---------------------------------------------------------------- Monitoring Plugins

def run_plugins(ctx, scenario, count, concurrency):
    """A process per probe, as Nagios/Icinga run them; CPU is the sum of the children's wait4 rusage."""
    _, port, _, _, _, argv = SCENARIOS[scenario]
    running = {}
    started = 0
    # No RSS: wait4's ru_maxrss carries the spawning parent's peak across exec, so it would be the driver's.
    cpu, lat, ok = 0.0, [], 0
    t0 = time.monotonic()
    deadline = t0 + 120
    while (started < count or running) and time.monotonic() < deadline:
        while started < count and len(running) < concurrency:
            a = addr((127, 0, 60, 1), started % ctx.compare_addrs)
            cmd = [os.path.join(PLUGINS, argv[0])] + argv[1:] + ["-H", a, "-p", str(port), "-t", "5"]
            pid = os.posix_spawn(cmd[0], cmd, {"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
                                 file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                                               (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)])
            running[pid] = time.monotonic()
            started += 1
        pid, status, ru = os.wait4(-1, 0)
        if pid in running:
            lat.append(time.monotonic() - running.pop(pid))
            cpu += ru.ru_utime + ru.ru_stime
            ok += os.waitstatus_to_exitcode(status) == 0
    return dict(probes=len(lat), ok=ok, seconds=time.monotonic() - t0, cpu=cpu, p50=percentile(lat, 0.5) * 1e3,
                p99=percentile(lat, 0.99) * 1e3, rss_kb=None,
                note=f"{count} processes, {concurrency} at once")


# ---------------------------------------------------------------- scale and in-flight (tierwatch alone)

def run_scale(ctx, targets, interval, window, scrapes=True):
    nodes_n = targets // len(SCALE_PORTS)
    nodes = [addr(SCALE_FIRST, i % ctx.scale_addrs) for i in range(nodes_n)]
    d = Daemon(ctx.procs, ctx.tierwatchd, ctx.work, f"scale_{targets}", 19471)
    tierwatch_config(d.config, d.port, nodes, [(f"tcp{p}", "tcp", p) for p in SCALE_PORTS], f"{interval}s",
                     f"{min(5, interval)}s",
                     ctx.ca)
    t_start = time.monotonic()
    pid = d.start()
    startup = time.monotonic() - t_start
    time.sleep(interval + 1)
    counts0, at0 = target_probe_counts(d)
    # tierwatch_probes_total is rendered first (fleet families, then the per-target slices), so a
    # scrape reads it as it starts: the count runs from the start of this scrape to the start of
    # the closing one. Timing from this scrape's end counted its whole duration too (the first
    # 47 MB scrape has no size hint and takes longest): +2.3 % at 100,000 targets.
    t0_counted = time.monotonic()
    s0, _, _ = d.scrape()
    c0, t0 = cpu_seconds(pid), time.monotonic()
    scrape_times, sizes = [], []
    # Scrapes every 5 s inside the window, as Prometheus would: the lag figures include their effect.
    while time.monotonic() - t0 < window:
        time.sleep(min(5, max(0.0, window - (time.monotonic() - t0))))
        if scrapes and time.monotonic() - t0 < window - 0.5:
            try:
                # Read, not parsed: parsing 47 MB in Python takes seconds of the same two cores the
                # daemon and load_server need, and would show up as the daemon's lag.
                size, secs = curl_timed(d.url(), 120)
            except OSError:  # a scrape slower than the timeout is a figure, not a harness failure
                secs, size = float("inf"), 0
            scrape_times.append(secs)
            sizes.append(size)
    c1, t1 = cpu_seconds(pid), time.monotonic()
    s1, _, _ = d.scrape()
    # CPU of the daemon across one scrape: an upper bound, since probes keep running during it.
    scrape_cpu = cpu_seconds(pid) - c1
    if not scrape_times:  # no scrape inside the window: time one after it, the same way
        size, secs = curl_timed(d.url(), 120)
        scrape_times.append(secs)
        sizes.append(size)
    rss, fds = rss_kb(pid), fd_count(pid)
    counts1, at1 = target_probe_counts(d)
    most_per_target, over = busiest_targets(counts0, counts1, at1 - at0, interval)
    d.stop()
    p50, p99, top, n_lag = histogram_quantiles(lag_buckets(s0), lag_buckets(s1))
    probes = metric_sum(s1, "tierwatch_probes_total") - metric_sum(s0, "tierwatch_probes_total")
    ok = metric_sum(s1, "tierwatch_probes_total", 'result="success"') - metric_sum(
        s0, "tierwatch_probes_total", 'result="success"')
    return dict(targets=targets, interval=interval, scrapes=scrapes, expected_rate=targets / interval, rate=probes / (t1 - t0_counted),
                most_per_target=most_per_target, targets_over_schedule=over,
                ok_share=ok / probes if probes else 0, cpu_share=(c1 - c0) / (t1 - t0),
                cpu_per_1k=(c1 - c0) / probes * 1000 if probes else float("nan"),
                lag_p50=p50, lag_p99=p99, lag_max=top,
                skipped=metric_sum(s1, "tierwatch_scheduler_skipped_slots_total") - metric_sum(
                    s0, "tierwatch_scheduler_skipped_slots_total"),
                rss_kb=rss, fds=fds, scrape_max=max(scrape_times), scrape_bytes=max(sizes), startup=startup,
                scrape_cpu=scrape_cpu)


def target_probe_counts(d):
    """Each target's probe count from /api/v1/targets (by id) and when it was read (the middle of
    the request)."""
    start = time.monotonic()
    body, seconds = http_get(d.url("/api/v1/targets"), 300)
    return {t["id"]: t["probes"] for t in json.loads(body)["targets"]}, start + seconds / 2


def busiest_targets(counts0, counts1, span, interval):
    """The most probes any one target ran in `span` seconds, and how many targets ran more than the
    schedule allows there (one probe per interval, plus one for a probe already due at the start,
    plus one for the read's own duration)."""
    allowed = math.ceil(span / interval) + 1
    deltas = [counts1[i] - counts0.get(i, 0) for i in counts1]
    return max(deltas, default=0), sum(1 for n in deltas if n > allowed)


def fd_hard_limit():
    with open(f"/proc/{os.getpid()}/limits") as f:
        return int(next(l.split()[4] for l in f if l.startswith("Max open files")))


def run_inflight(ctx, targets, interval):
    """Silent servers: every probe waits out its deadline. RSS against the in-flight gauge, sampled as the
    schedule ramps up, gives the memory per in-flight probe as the slope of a least-squares line."""
    # Two silent servers so that neither needs more descriptors than one process may hold.
    half = ctx.silent_addrs // 2
    servers = []
    for k in range(2):
        ready = os.path.join(ctx.work, f"silent{k}.ready")
        log = os.path.join(ctx.work, f"silent{k}.log")
        servers.append(ctx.procs.start(
            [ctx.load_server, "--threads", "1", "--ready", ready, "--max-seconds", str(interval * 3 + 60),
             "--listen", f"silent,{addr(SILENT_FIRST, k * half)},{half},{SILENT_PORT}"], log))
        wait_ready(servers[-1], ready, log, "silent load_server")
    nodes = [addr(SILENT_FIRST, i % (2 * half)) for i in range(targets)]
    d = Daemon(ctx.procs, ctx.tierwatchd, ctx.work, f"inflight_{targets}", 19472)
    timeout = interval - 1
    # The daemon needs a descriptor per probe plus a few of its own: keep max_in_flight inside the limit.
    limit = fd_hard_limit()
    max_in_flight = min(targets, limit - 512)
    tierwatch_config(d.config, d.port, nodes, [("silent", "smtp", SILENT_PORT)], f"{interval}s", f"{timeout}s",
                     ctx.ca, max_in_flight=max_in_flight, per_host=1000)
    pid = d.start()
    samples = []
    t0 = time.monotonic()
    peak = (0, 0, 0)
    while time.monotonic() - t0 < interval - 1.5:
        s, _, _ = d.scrape()
        n = metric_sum(s, "tierwatch_probes_in_flight")
        r, f = rss_kb(pid), fd_count(pid)
        samples.append((n, r))
        if n >= peak[0]:
            peak = (n, r, f)
        time.sleep(max(0.2, interval / 20))
    results = {l: v for n, l, v in d.scrape()[0] if n == "tierwatch_probes_total"}
    d.stop()
    for srv in servers:
        ctx.procs.stop(srv)
    xs, ys = [s[0] for s in samples], [s[1] for s in samples]
    slope = float("nan")
    if len(samples) >= 3 and max(xs) > min(xs):
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = sum((x - mx) * (y - my) for x, y in samples) / sum((x - mx) ** 2 for x in xs)
    return dict(targets=targets, max_in_flight=max_in_flight, peak_in_flight=int(peak[0]), rss_kb=peak[1],
                fds=peak[2], kb_per_probe=slope, fd_limit=limit, samples=len(samples),
                results=" ".join(f"{k}={int(v)}" for k, v in results.items()))


# ---------------------------------------------------------------- report

def fmt(x, digits=2):
    if x is None or (isinstance(x, float) and x != x):
        return "n/a"
    return f"{x:.{digits}f}"


def machine_facts(ctx):
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
        except Exception:
            return "?"
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    pkgs = sh("dpkg-query -W -f='${Package} ${Version}\\n' prometheus-blackbox-exporter monitoring-plugins-basic "
              "monitoring-plugins-standard libssl3 libboost1.81-dev gcc-12 2>/dev/null")
    return [f"- CPU: {model}, nproc {os.cpu_count()}",
            f"- kernel: {platform.release()}",
            f"- scheduling: {'bench processes at nice ' + os.environ['BENCH_NICE'] if os.environ.get('BENCH_NICE') else 'default priority'}"
            " (other engineers' compiles share the machine)",
            f"- load average at start: {ctx.load_start}; at end: {open('/proc/loadavg').read().split()[:3]}",
            f"- tierwatchd measured: {os.environ['TIERWATCHD_REV']}" if os.environ.get("TIERWATCHD_REV") else
            f"- tierwatch: git {sh('git -C ' + ctx.root + ' rev-parse --short HEAD')} "
            f"({sh('git -C ' + ctx.root + ' status --porcelain --untracked-files=no | wc -l')} modified files in the "
            "working tree, other engineers' work in progress)",
            "- packages: " + "; ".join(pkgs.splitlines())]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--bin", required=True, help="directory with load_server and bare_client")
    ap.add_argument("--tierwatchd", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--profile", choices=["full", "smoke"], default="full")
    ap.add_argument("--out", help="markdown file for the results")
    ap.add_argument("--command", default="bench/run")
    ap.add_argument("--only", default="", help="comma-separated subset: compare,scale,inflight")
    ap.add_argument("--scenarios", default="", help="comma-separated subset of the comparison scenarios")
    ap.add_argument("--scales", default="",
                    help="comma-separated target counts for the scale runs; N:none scrapes only at the end")
    a = ap.parse_args()

    ctx = argparse.Namespace(root=a.root, work=a.work, tierwatchd=a.tierwatchd, procs=Procs(),
                             bare_client=os.path.join(a.bin, "bare_client"),
                             load_server=os.path.join(a.bin, "load_server"), ca=os.path.join(a.work, "ca.pem"),
                             load_start=open("/proc/loadavg").read().split()[:3])
    smoke = a.profile == "smoke"
    ctx.compare_addrs = 8 if smoke else 64
    ctx.scale_addrs = 50 if smoke else 1000
    ctx.silent_addrs = 20 if smoke else 400
    ctx.concurrency = 8 if smoke else 32
    ctx.interval = 2 if smoke else 10
    rate = 100 if smoke else 300       # probes/s of every comparison run
    window = 2 if smoke else 10        # seconds of steady state measured
    syscall_window = 2 if smoke else 5
    plugin_count, plugin_conc = (10, 2) if smoke else (300, 4)
    # The second 100k run has no scrape inside its window: the pair shows what a scrape does to the lag.
    scales = [(200, True)] if smoke else [(10000, True), (50000, True), (100000, True), (100000, False)]
    scale_interval, scale_window = (2, 3) if smoke else (15, 30)
    inflight_targets, inflight_interval = (200, 6) if smoke else (20000, 20)
    only = set(filter(None, a.only.split(","))) or {"compare", "scale", "inflight"}

    listen = []
    for name, (mode, port, *_rest) in SCENARIOS.items():
        if name not in SHARED_LISTENERS:
            listen += ["--listen", f"{mode},{COMPARE_FIRST},{ctx.compare_addrs},{port}"]
    for p in SCALE_PORTS:
        listen += ["--listen", f"tcp,{addr(SCALE_FIRST, 0)},{ctx.scale_addrs},{p}"]
    ready = os.path.join(a.work, "server.ready")
    server_log = os.path.join(a.work, "load_server.log")
    server = ctx.procs.start([ctx.load_server, "--cert", os.path.join(a.work, "server.pem"),
                              "--key", os.path.join(a.work, "server.key"), "--ready", ready,
                              "--max-seconds", "3600"] + listen, server_log)
    rows, scale_rows, inflight_rows, scale_rows_failed, syscall_rows = [], [], [], [], []
    server_cpu0 = 0.0
    try:
        wait_ready(server, ready, server_log, "load_server")
        server_cpu0 = cpu_seconds(server.pid)
        if "compare" in only:
            have_blackbox = BLACKBOX is not None
            have_plugins = os.path.exists(os.path.join(PLUGINS, "check_tcp"))
            if have_blackbox:
                cfg = os.path.join(a.work, "blackbox.yml")
                with open(cfg, "w") as f:
                    f.write(BLACKBOX_MODULES.replace("CA_FILE", ctx.ca))
                ctx.blackbox_port = 19115
                ctx.blackbox = ctx.procs.start([BLACKBOX, f"--config.file={cfg}",
                                                f"--web.listen-address=127.0.0.1:{ctx.blackbox_port}"],
                                               os.path.join(a.work, "blackbox.log"))
                wait_for(lambda: http_get(f"http://127.0.0.1:{ctx.blackbox_port}/-/healthy", 2), 30, "blackbox")
            for scenario in (a.scenarios.split(",") if a.scenarios else SCENARIOS):
                probers = [("bare_client", lambda s: run_bare(ctx, s, rate, window)),
                           ("tierwatchd", lambda s: run_tierwatch(ctx, s, rate, window))]
                # blackbox_exporter and the plugins cannot resume (their tls rows are the reference), and
                # the 1 s scenarios compare tierwatchd with the floor only.
                if SCENARIOS[scenario][4] is not None and have_blackbox:
                    probers.append(("blackbox_exporter", lambda s: run_blackbox(ctx, s, rate, window)))
                if have_plugins and SCENARIOS[scenario][5] is not None:
                    probers.append(("monitoring-plugins", lambda s: run_plugins(ctx, s, plugin_count, plugin_conc)))
                for prober, fn in probers:
                    r = fn(scenario)
                    r.update(scenario=scenario, prober=prober)
                    r["cpu_per_1k"] = r["cpu"] / r["probes"] * 1000 if r["probes"] else float("nan")
                    r["rate_measured"] = r["probes"] / r["seconds"] if r["seconds"] else 0
                    print(f"  {scenario:5} {prober:18} {r['probes']:6} probes ({r['ok']} ok) "
                          f"{r['rate_measured']:8.1f}/s  cpu/1k {r['cpu_per_1k']:.3f}s  p50 {r['p50']:.2f} ms  "
                          f"p99 {r['p99']:.2f} ms  rss {fmt(r['rss_kb'] and r['rss_kb'] / 1024, 1)} MB", flush=True)
                    rows.append(r)
            if have_blackbox:
                ctx.procs.stop(ctx.blackbox)
            picked = a.scenarios.split(",") if a.scenarios else SCENARIOS
            for scenario in [s for s in SYSCALL_SCENARIOS if s in picked] if PERF else []:
                for prober, fn in (("bare_client", syscalls_bare), ("tierwatchd", syscalls_tierwatch)):
                    try:
                        r = fn(ctx, scenario, rate, syscall_window)
                    except (OSError, KeyError, ValueError, subprocess.SubprocessError) as e:
                        # e.g. perf not permitted in a container: the table just lacks the row
                        print(f"  syscalls {scenario} {prober}: not measured: {e!r}", flush=True)
                        continue
                    r.update(scenario=scenario, prober=prober)
                    print(f"  syscalls {scenario:8} {prober:12} {r['per_probe']:.2f}/probe over {r['probes']} "
                          f"probes: {r['top']}", flush=True)
                    syscall_rows.append(r)
        if "scale" in only:
            picked = [(int(x.split(":")[0]), not x.endswith(":none")) for x in a.scales.split(",")] if a.scales else []
            for t, scrapes in picked or scales:
                print(f"  scale {t} targets ...", flush=True)
                try:
                    r = run_scale(ctx, t, scale_interval, scale_window, scrapes)
                except Exception as e:  # keep the other rows; say what failed
                    print(f"  scale {t} failed: {e!r}", flush=True)
                    scale_rows_failed.append((t, repr(e)))
                    continue
                print(f"  scale {t}: {json.dumps(r)}", flush=True)
                scale_rows.append(r)
        if "inflight" in only:
            r = run_inflight(ctx, inflight_targets, inflight_interval)
            print(f"  inflight: {json.dumps(r)}", flush=True)
            inflight_rows.append(r)
    finally:
        server_cpu = cpu_seconds(server.pid) - server_cpu0 if server.poll() is None else float("nan")
        ctx.procs.stop_all()

    report = render(ctx, a, rows, scale_rows, inflight_rows, server_cpu, scale_rows_failed, syscall_rows)
    print(report)
    if a.out and scale_rows_failed:
        # A half run must not replace the last complete table.
        sys.exit(f"harness: {len(scale_rows_failed)} scale run(s) failed; {a.out} left as it was")
    if a.out:
        # Hand-written analysis below the marker survives a re-run; the figures above it are replaced.
        notes = ""
        if os.path.exists(a.out):
            old = open(a.out).read()
            if NOTES_MARKER in old:
                notes = old[old.index(NOTES_MARKER):]
        with open(a.out + ".tmp", "w") as f:
            f.write(report + ("\n" + notes if notes else ""))
        os.replace(a.out + ".tmp", a.out)


def render(ctx, a, rows, scale_rows, inflight_rows, server_cpu, scale_failed=(), syscall_rows=()):
    out = [f"# tierwatch benchmark ({a.profile} profile)", "",
           f"Reproduce: `{a.command}` (from a checkout, as root or through sudo).", "",
           "## Machine", ""] + machine_facts(ctx) + [""]
    if rows:
        out += ["## Probers side by side", "",
                "CPU is the prober process's utime+stime per 1,000 probes (drivers excluded); ×bare and ×blackbox "
                "are ratios of that figure (tls_resume: against the full-handshake tls rows). Latency: bare_client and the plugins time each probe from outside "
                "(plugins: process spawn to reap, so exec and dynamic linking count), blackbox_exporter and tierwatchd report their own "
                "probe_duration_seconds (tierwatchd: each target's last probe). RSS: resident set at the end "
                "(plugins: n/a, a short process each; wait4 cannot tell its peak from the spawner's).", "",
                "| scenario | prober | probes | ok | probes/s | CPU s / 1k probes | ×bare | ×blackbox | p50 ms | "
                "p99 ms | RSS MB | how |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            ref = REFERENCE_SCENARIO.get(r["scenario"], r["scenario"])
            bare = next((x for x in rows if x["scenario"] == ref and x["prober"] == "bare_client"), None)
            bb = next((x for x in rows if x["scenario"] == ref and x["prober"] == "blackbox_exporter"), None)
            ratio = lambda ref: fmt(r["cpu_per_1k"] / ref["cpu_per_1k"]) if ref and ref["cpu_per_1k"] > 0 else "n/a"
            out.append(f"| {r['scenario']} | {r['prober']} | {r['probes']} | {r['ok']} | {fmt(r['rate_measured'], 1)} "
                       f"| {fmt(r['cpu_per_1k'], 3)} | {ratio(bare)} | {ratio(bb)} | {fmt(r['p50'])} | "
                       f"{fmt(r['p99'])} | {fmt(r['rss_kb'] and r['rss_kb'] / 1024, 1)} | {r['note']} |")
        out += [""]
    if syscall_rows:
        out += ["## System calls per probe", "",
                "`perf stat` on the raw_syscalls and syscalls tracepoints, in runs of their own: the bare client "
                "for a fixed number of probes (its start-up calls included), tierwatchd attached for "
                f"{'2' if a.profile == 'smoke' else '5'} s of steady state. Probes: connect() calls (each of "
                "these probes connects once). Paced as above; the names list the calls above 0.05 per probe.",
                "", "| scenario | prober | probes | calls | calls / probe | −bare | per probe (≥ 0.05) |",
                "|---|---|---|---|---|---|---|"]
        for r in syscall_rows:
            bare = next((x for x in syscall_rows if x["scenario"] == r["scenario"] and x["prober"] == "bare_client"),
                        None)
            diff = fmt(r["per_probe"] - bare["per_probe"]) if bare else "n/a"
            out.append(f"| {r['scenario']} | {r['prober']} | {r['probes']} | {r['calls']} | {fmt(r['per_probe'])} | "
                       f"{'' if r is bare else diff} | {r['top']} |")
        out += [""]
    if scale_rows:
        out += ["## tierwatchd at scale (tcp connect targets, 4 ports × many 127.1.x.y addresses)", "",
                "Lag: tierwatch_scheduler_lag_seconds over the measured window (bucket upper bounds; "
                "max = highest non-empty bucket). \"scrapes\": a /metrics scrape every 5 s during the window "
                "(the lag then includes their effect), or none but the closing one. \"most per target\": the most "
                "probes one target ran between two reads of /api/v1/targets around the window, and how many "
                "targets ran more than the schedule allows (interval, +1 due at the start, +1 for the reads). "
                "\"scrape max\": the slowest of the scrapes inside the window (with none, one after it), request "
                "to last byte as curl reads it into /dev/null, as a compiled scraper like Prometheus reads.", "",
                "| targets | scrapes | interval s | expected probes/s | measured probes/s | most per target (over) | ok share | "
                "CPU share of a core | "
                "CPU s / 1k | lag p50 s | lag p99 s | lag max ≤ s | skipped slots | RSS MB | fds | "
                "scrape max s | scrape CPU s | scrape MB | start-up s |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in scale_rows:
            out.append(f"| {r['targets']} | {'every 5 s' if r['scrapes'] else 'none'} | {r['interval']} | {fmt(r['expected_rate'], 0)} | {fmt(r['rate'], 0)} | "
                       f"{r['most_per_target']} ({r['targets_over_schedule']}) | {fmt(r['ok_share'], 3)} | {fmt(r['cpu_share'])} | {fmt(r['cpu_per_1k'], 3)} | "
                       f"{fmt(r['lag_p50'], 3)} | {fmt(r['lag_p99'], 3)} | {fmt(r['lag_max'], 3)} | "
                       f"{int(r['skipped'])} | {fmt(r['rss_kb'] / 1024, 1)} | {r['fds']} | {fmt(r['scrape_max'], 3)} | "
                       f"{fmt(r['scrape_cpu'], 3)} | {fmt(r['scrape_bytes'] / 1e6, 2)} | {fmt(r['startup'], 1)} |")
        out += [""]
    for t, why in scale_failed:
        out += [f"- {t} targets: the run failed: `{why}`"]
    if scale_failed:
        out += [""]
    if inflight_rows:
        out += ["## tierwatchd with probes in flight against silent servers", "",
                "KB per in-flight probe: slope of RSS against tierwatch_probes_in_flight sampled while the "
                "schedule ramps up (least squares).", "",
                "| targets | max_in_flight | peak in flight | RSS MB at peak | fds at peak | fd hard limit | "
                "KB per in-flight probe | samples | probes finished by result |",
                "|---|---|---|---|---|---|---|---|---|"]
        for r in inflight_rows:
            out.append(f"| {r['targets']} | {r['max_in_flight']} | {r['peak_in_flight']} | {fmt(r['rss_kb'] / 1024, 1)} "
                       f"| {r['fds']} | {r['fd_limit']} | {fmt(r['kb_per_probe'], 2)} | {r['samples']} | "
                       f"{r['results'] or 'none yet'} |")
        out += [""]
    out += [f"load_server CPU over the whole run: {fmt(server_cpu, 1)} s.", ""]
    return "\n".join(out)


if __name__ == "__main__":
    main()
