#!/usr/bin/env python3
"""The systemd unit passes `systemd-analyze verify` and scores an exposure of at most 2.0 in
`systemd-analyze security`; the daemon speaks sd_notify: READY=1 once serving, WATCHDOG=1 from
its event loop at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM; and it refuses a max_in_flight its descriptor limit cannot carry."""
import os
import re
import signal
import socket
import subprocess
import sys

from harness import SOURCE, TIERWATCHD, Fleet, check

LISTEN = "127.0.66.1:29469"


def unit_checks(fleet):
    with open(os.path.join(SOURCE, "systemd", "tierwatchd.service")) as f:
        unit = f.read()
    # Verify the unit against the binary just built (it is not installed here).
    unit = unit.replace("/usr/sbin/tierwatchd", os.path.abspath(TIERWATCHD))
    unit = "\n".join(line for line in unit.splitlines() if not line.startswith("Documentation="))
    path = fleet.path("tierwatchd.service")
    with open(path, "w") as f:
        f.write(unit + "\n")
    verify = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True)
    complaints = [line for line in (verify.stdout + verify.stderr).splitlines() if "tierwatchd.service" in line]
    check(verify.returncode == 0 and not complaints, f"systemd-analyze verify: {verify.returncode}\n{complaints}")

    security = subprocess.run(["systemd-analyze", "security", "--offline=true", path], capture_output=True,
                              text=True)
    match = re.search(r"Overall exposure level for tierwatchd\.service: ([0-9.]+)", security.stdout)
    check(match is not None, f"no exposure level in:\n{security.stdout[-500:]}{security.stderr}")
    exposure = float(match.group(1))
    print(f"systemd-analyze security exposure: {exposure}")
    check(exposure <= 2.0, f"exposure {exposure} above 2.0")


def notify_checks(fleet):
    notify_path = fleet.path("notify.sock")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(notify_path)
    receiver.settimeout(10)
    os.environ["NOTIFY_SOCKET"] = notify_path
    os.environ["WATCHDOG_USEC"] = "200000"
    try:
        daemon = fleet.tierwatchd(f'[daemon]\nlisten = "{LISTEN}"\nstate_dir = "state"\n')
    finally:
        del os.environ["NOTIFY_SOCKET"], os.environ["WATCHDOG_USEC"]
    messages = []
    while not any("READY=1" in m for m in messages) or sum("WATCHDOG=1" in m for m in messages) < 3:
        messages.append(receiver.recv(4096).decode())
    check(messages.index(next(m for m in messages if "READY=1" in m)) <= 1, f"READY=1 comes first: {messages}")
    daemon.send_signal(signal.SIGTERM)
    while "STOPPING=1" not in messages[-1]:
        messages.append(receiver.recv(4096).decode())
    check(daemon.wait(timeout=10) == 0, "clean exit after SIGTERM")


def file_limit_check(fleet):
    """A max_in_flight the descriptor limit cannot carry is refused at start, plainly."""
    path = fleet.path("too-many.toml")
    with open(path, "w") as f:
        f.write(f'[daemon]\nlisten = "{LISTEN}"\nmax_in_flight = 100000000\n')
    result = subprocess.run([TIERWATCHD, "--config", path], capture_output=True, text=True, timeout=30)
    check(result.returncode == 2, f"exit {result.returncode}")
    check("max_in_flight = 100000000 needs about" in result.stderr and "file descriptors" in result.stderr,
          f"the error names the setting and the limit: {result.stderr}")


def main():
    with Fleet("systemd") as fleet:
        unit_checks(fleet)
        notify_checks(fleet)
        file_limit_check(fleet)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
