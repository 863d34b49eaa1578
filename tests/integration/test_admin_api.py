#!/usr/bin/env python3
"""The write API and reload against the real daemon: silences need the bearer token, stop pages
but not grading, and survive a restart; a good reload swaps the configuration and keeps every
alarm and counter; a bad one keeps the running configuration and names the file, line and
column; the listener serves TLS when given a certificate."""
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time

from harness import Fleet, PageRecorder, pair_fleet, check, http_get, parse_metrics, wait_for

HOST, PORT = "127.0.100.1", 29481
LISTEN = f"{HOST}:{PORT}"
HOOK = ("127.0.100.1", 29482)
MTA1, MTA2, PROXY1, PROXY2 = "127.0.100.11", "127.0.100.21", "127.0.100.12", "127.0.100.22"
TOKEN = "tw-test-token-5f0c"

BASE = """
[daemon]
listen = "{listen}"
state_dir = "state"
api_token_file = "api.token"
{tls}

{fleet}{extra}

[[group]]
name = "mta-pool"
roles = ["mta"]
critical_when_up_below = 1

[tiers]
settle = "1s"

[tiers.tier2]
receivers = ["hook"]
repeat = "30m"

[[pager]]
name = "hook"
kind = "webhook"
url = "http://{hook_host}:{hook_port}/pages"
"""

EXTRA_CHECK = """
[[check]]
name = "proxy-connect"
protocol = "tcp"
port = 25025
roles = ["proxy"]
"""


def config(tls="", extra=""):
    return BASE.format(listen=LISTEN, tls=tls, extra=extra, fleet=pair_fleet(MTA1, MTA2, PROXY1, PROXY2),
                       hook_host=HOOK[0], hook_port=HOOK[1])


class Api:
    def __init__(self, tls_context=None):
        self.tls_context = tls_context

    def request(self, method, path, body=None, token=None):
        if self.tls_context:
            connection = http.client.HTTPSConnection(HOST, PORT, timeout=10, context=self.tls_context)
        else:
            connection = http.client.HTTPConnection(HOST, PORT, timeout=10)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection.request(method, path, body=json.dumps(body) if isinstance(body, dict) else body,
                           headers=headers)
        response = connection.getresponse()
        data = response.read().decode()
        connection.close()
        return response.status, data, response.headers

    def metrics(self):
        status, text, _ = self.request("GET", "/metrics")
        check(status == 200, f"/metrics answers: {status}")
        return parse_metrics(text)


def sample(samples, name, **labels):
    for metric, metric_labels, value in samples:
        if metric == name and all(metric_labels.get(k) == v for k, v in labels.items()):
            return value
    return None


def write_config(fleet, text):
    with open(fleet.path("tierwatch.toml"), "w") as f:
        f.write(text)


def main():
    recorder = PageRecorder(*HOOK)
    pages = recorder.with_action
    with Fleet("admin-api") as fleet:
        with open(fleet.path("api.token"), "w") as f:
            f.write(TOKEN + "\n")
        mta1 = fleet.faultserver([f"banner@{MTA1}:25025,text=220 mta1\\r\\n"])
        mta2 = fleet.faultserver([f"banner@{MTA2}:25025,text=220 mta2\\r\\n"])
        fleet.faultserver([f"banner@{PROXY1}:25025,text=220 proxy1\\r\\n",
                           f"banner@{PROXY2}:25025,text=220 proxy2\\r\\n"])
        daemon = fleet.tierwatchd(config())
        api = Api()
        wait_for(lambda: http_get(f"http://{LISTEN}/-/ready")[0] == 200, 15, "/-/ready")

        # --- writes need the token
        silence = {"matchers": {"roles": ["mta"]}, "duration": "1h", "author": "alice",
                   "comment": "swapping both MTAs' disks"}
        status, body, headers = api.request("POST", "/api/v1/silences", silence)
        check(status == 401 and "Bearer" in headers.get("WWW-Authenticate", ""), f"no token: {status} {body}")
        status, body, _ = api.request("POST", "/api/v1/silences", silence, token="wrong")
        check(status == 403 and "not valid" in body, f"wrong token: {status} {body}")
        status, body, _ = api.request("POST", "/-/reload", token="wrong")
        check(status == 403, f"reload with a wrong token: {status} {body}")
        status, body, _ = api.request("POST", "/api/v1/silences",
                                      {**silence, "matchers": {"nodes": ["mta3"]}}, token=TOKEN)
        check(status == 400 and 'did you mean \\"mta1\\"' in body, f"a typo is refused: {status} {body}")
        status, body, _ = api.request("GET", "/api/v1/silences")
        check(status == 200 and json.loads(body)["silences"] == [], f"nothing was stored: {body}")
        log = open(fleet.path("tierwatchd.log")).read()
        check(TOKEN not in log, "the token never reaches the log")

        status, body, _ = api.request("POST", "/api/v1/silences", silence, token=TOKEN)
        check(status == 201, f"silence created: {status} {body}")
        created = json.loads(body)
        check(created["state"] == "active" and created["author"] == "alice", f"{created}")
        status, body, _ = api.request("GET", "/api/v1/silences")
        listed = json.loads(body)["silences"]
        check([s["id"] for s in listed] == [created["id"]], f"listed: {listed}")

        # --- a silence stops the page, not the grading
        os.killpg(mta1.pid, signal.SIGTERM)
        os.killpg(mta2.pid, signal.SIGTERM)
        wait_for(lambda: sample(api.metrics(), "tierwatch_alarms", tier="2", severity="critical",
                                state="silenced"), 20, "the pool's critical alarm, silenced")
        metrics = api.metrics()
        check(sample(metrics, "tierwatch_target_grade", node="mta1") == 2, "mta1 is still graded critical")
        check(sample(metrics, "tierwatch_silences", state="active") == 1, "one active silence in metrics")
        time.sleep(3)  # past settle: a page, if one were coming, would be out
        check(pages() == [], f"a silenced alarm pages nobody: {pages()}")

        status, body, _ = api.request("DELETE", f"/api/v1/silences/{created['id']}", token=TOKEN)
        check(status == 200 and json.loads(body)["state"] == "expired", f"expired: {status} {body}")
        wait_for(lambda: pages("trigger"), 20, "the page once the silence is gone")
        triggers_before_reload = len(pages("trigger"))
        status, _, _ = api.request("DELETE", "/api/v1/silences/0123456789abcdef", token=TOKEN)
        check(status == 404, f"unknown silence: {status}")

        # --- a bad file keeps the running configuration and says where it is wrong
        probes_before = sample(api.metrics(), "tierwatch_probes_total", check="smtp-banner",
                               result="connect_refused")
        write_config(fleet, config() + "\n[[check]\nname = \n")
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: sample(api.metrics(), "tierwatch_config_last_reload_successful") == 0, 10,
                 "the failed reload in metrics")
        log = open(fleet.path("tierwatchd.log")).read()
        check(re.search(r"reload failed, still running the previous configuration: .*tierwatch\.toml:\d+:\d+", log),
              f"the log names file:line:column:\n{log[-2000:]}")
        status, body, _ = api.request("POST", "/-/reload", token=TOKEN)
        check(status == 500 and re.search(r"tierwatch\.toml:\d+:\d+", body), f"/-/reload names it: {status} {body}")
        wait_for(lambda: (sample(api.metrics(), "tierwatch_probes_total", check="smtp-banner",
                                 result="connect_refused") or 0) > probes_before, 10, "probing goes on")

        # --- a good file is swapped in whole; alarms, grades and counters stay
        write_config(fleet, config(extra=EXTRA_CHECK))
        status, body, _ = api.request("POST", "/-/reload", token=TOKEN)
        check(status == 200, f"reload: {status} {body}")
        metrics = api.metrics()
        check(sample(metrics, "tierwatch_config_last_reload_successful") == 1, "reload success in metrics")
        check(sample(metrics, "tierwatch_targets", check="proxy-connect") == 2, "the new check's targets")
        check(sample(metrics, "tierwatch_target_grade", node="mta1", check="smtp-banner") == 2,
              "mta1 keeps its grade")
        check(sample(metrics, "tierwatch_probes_total", check="smtp-banner", result="connect_refused")
              >= probes_before, "counters do not restart")
        wait_for(lambda: sample(api.metrics(), "probe_success", check="proxy-connect", node="proxy1") == 1,
                 10, "the new check probing")
        time.sleep(2)
        check(len(pages("trigger")) == triggers_before_reload and pages("resolve") == [],
              f"the firing alarm neither re-pages nor resolves across the reload: {pages()}")

        # --- silences survive a restart; the listener speaks TLS
        status, body, _ = api.request("POST", "/api/v1/silences",
                                      {"matchers": {"nodes": "proxy2"}, "duration": "2h", "author": "bob",
                                       "comment": "proxy upgrade"}, token=TOKEN)
        check(status == 201, f"second silence: {status} {body}")
        kept_id = json.loads(body)["id"]
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=10)

        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "2", "-subj", "/CN=tierwatch-test", "-addext",
                        f"subjectAltName=IP:{HOST}", "-keyout", fleet.path("listener.key"),
                        "-out", fleet.path("listener.pem")], check=True, capture_output=True)
        tls = 'tls_cert_file = "listener.pem"\ntls_key_file = "listener.key"'
        fleet.tierwatchd(config(tls=tls, extra=EXTRA_CHECK))
        tls_context = ssl.create_default_context(cafile=fleet.path("listener.pem"))
        api = Api(tls_context)

        def ready():
            try:
                return api.request("GET", "/-/ready")[0] == 200
            except OSError:
                return False
        wait_for(ready, 15, "/-/ready over TLS")
        status, body, _ = api.request("GET", "/api/v1/silences")
        by_id = {s["id"]: s for s in json.loads(body)["silences"]}
        check(by_id.get(kept_id, {}).get("state") == "active", f"the active silence survived: {by_id}")
        check(by_id.get(created["id"], {}).get("state") == "expired", f"the expired one is listed: {by_id}")
        try:
            answered = http_get(f"http://{LISTEN}/-/ready")
        except (OSError, http.client.HTTPException):
            answered = None  # the TLS listener drops a plain-HTTP request: what must happen
        check(answered is None, f"plain HTTP must not be served on a TLS listener: {answered}")
    recorder.close()
    print("1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
