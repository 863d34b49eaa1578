#!/usr/bin/env python3
"""tierwatch's Alertmanager pager against a real Alertmanager (Debian's prometheus-alertmanager):
alarms posted through the dispatcher are read back from its API v2 with the right labels, reach a
webhook receiver it notifies (group_wait 1s), and a resolve ends the alert and notifies again."""
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from harness import ALERTMANAGER, BUILD, Fleet, check, http_get, wait_for

AM_IP = "127.0.64.1"
HOOK_IP = "127.0.64.2"
PAGERS_TEST = os.path.join(BUILD, "tests", "pagers_test")

CONFIG = """
route:
  receiver: hook
  group_by: ['alarm_key']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: 'http://{hook}/notify'
        send_resolved: true
"""


class Notifications:
    """The webhook receiver Alertmanager notifies: keeps every notification it gets."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer((HOOK_IP, 0), Handler)
        self.address = f"{HOOK_IP}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self, status):
        with self.lock:
            return [a for n in self.received for a in n["alerts"] if a["status"] == status]


def post_alarms(url, phase):
    env = dict(os.environ, TIERWATCH_ALERTMANAGER_URL=url, TIERWATCH_ALERTMANAGER_PHASE=phase)
    result = subprocess.run([PAGERS_TEST, "--gtest_filter=AlertmanagerLive.*"], env=env,
                            capture_output=True, text=True, timeout=60)
    check(result.returncode == 0 and "[  PASSED  ] 1 test" in result.stdout,
          f"posting ({phase}) failed:\n{result.stdout}{result.stderr}")


def main():
    if not os.path.exists(ALERTMANAGER):
        print("SKIP: prometheus-alertmanager is not installed (scripts/install-deps)")
        return 0
    with Fleet("paging-am") as fleet:
        hook = Notifications()
        base = fleet.alertmanager("alertmanager", AM_IP, CONFIG.format(hook=hook.address))

        post_alarms(base, "fire")
        alerts = json.loads(http_get(f"{base}/api/v2/alerts")[1])
        by_key = {a["labels"].get("alarm_key"): a for a in alerts}
        check(set(by_key) == {"zone_down/zone-a", "nlb_down/mail/127.0.64.9"}, f"alerts: {alerts}")
        zone = by_key["zone_down/zone-a"]["labels"]
        check(zone == {"alertname": "tierwatch_zone_down", "alarm": "zone_down", "severity": "critical",
                       "tier": "2", "zone": "zone-a", "alarm_key": "zone_down/zone-a"}, f"zone labels: {zone}")
        nlb = by_key["nlb_down/mail/127.0.64.9"]
        check(nlb["labels"]["nlb"] == "mail" and nlb["labels"]["address"] == "127.0.64.9"
              and nlb["labels"]["check"] == "smtp" and "node" not in nlb["labels"], f"nlb labels: {nlb['labels']}")
        check(nlb["annotations"]["summary"] == "NLB address 127.0.64.9 of mail fails every check",
              f"annotations: {nlb['annotations']}")
        check(nlb["generatorURL"] == "http://127.0.0.1:9469/status", f"generatorURL: {nlb['generatorURL']}")
        check(nlb["status"]["state"] == "active", f"state: {nlb['status']}")

        firing = wait_for(lambda: len(hook.alerts("firing")) >= 2 and hook.alerts("firing"), 15,
                          "firing notifications")
        check({a["labels"]["alarm_key"] for a in firing} == set(by_key), f"notified: {firing}")

        post_alarms(base, "resolve")
        resolved = wait_for(lambda: hook.alerts("resolved"), 15, "resolved notification")
        check(resolved[0]["labels"]["alarm_key"] == "zone_down/zone-a", f"resolved: {resolved}")
        # Alertmanager lists only alerts that have not ended; the NLB alarm still fires.
        remaining = {a["labels"]["alarm_key"] for a in json.loads(http_get(f"{base}/api/v2/alerts")[1])}
        check(remaining == {"nlb_down/mail/127.0.64.9"}, f"after the resolve: {remaining}")
        hook.server.shutdown()
    print("ok: alarms in Alertmanager with their labels, notified, resolved")
    return 0


if __name__ == "__main__":
    sys.exit(main())
