#!/usr/bin/env python3
"""Shards, for real: three tierwatchd with --shard 0/3, 1/3 and 2/3 on one configuration
together probe every target exactly once. The union of their /api/v1/targets is every target (as
an unsharded instance lists them, and as the configuration expands), and no two share one."""
import json
import sys

from harness import Fleet, check, free_port, http_get, wait_for

BASE = "127.0.68"
ZONES = ("zone-a", "zone-b", "zone-c")
ROLES = {"mta": ("smtp", "submission"), "mailbox": ("imaps", "pop3s"), "ldap": ("ldap",)}
PORTS = {"smtp": 25, "submission": 587, "imaps": 993, "pop3s": 995, "ldap": 389}
PER_ROLE_AND_ZONE = 2

# Nobody listens on these addresses: the targets fail, which is all a shard split needs.
CONFIG = """
[daemon]
listen = "{listen}"
state_dir = "{state_dir}"

[defaults]
interval = "1s"
timeout = "200ms"
"""


def configuration():
    text, expected, host = "", set(), 10
    for check_name, port in PORTS.items():
        roles = [role for role, checks in ROLES.items() if check_name in checks]
        text += (f'\n[[check]]\nname = "{check_name}"\nprotocol = "tcp"\nport = {port}\n'
                 f'roles = {json.dumps(roles)}\n')
    for zone in ZONES:
        for role, checks in ROLES.items():
            for n in range(PER_ROLE_AND_ZONE):
                name, address = f"{role}-{zone}-{n}", f"{BASE}.{host}"
                host += 1
                text += (f'\n[[node]]\nname = "{name}"\nrole = "{role}"\nzone = "{zone}"\n'
                         f'address = "{address}"\n')
                expected |= {(c, name, f"{address}:{PORTS[c]}") for c in checks}
    return text, expected


def targets(listen):
    """The targets an instance probes, by check, node and address:port, once each has been
    probed at least once."""
    listed = wait_for(lambda: (lambda t: all(x["last"] for x in t["targets"]) and t)(
        json.loads(http_get(f"http://{listen}/api/v1/targets")[1])), 20,
        f"every target listed by {listen} probed")
    check(listed["count"] == len(listed["targets"]), f"count and list differ at {listen}")
    keys = [(t["check"], t["node"], t["target"]) for t in listed["targets"]]
    check(len(keys) == len(set(keys)), f"a target listed twice at {listen}: {keys}")
    return set(keys)


def main():
    body, expected = configuration()
    with Fleet("shards") as fleet:
        listens = {}
        for name, extra in (("whole", ()), ("shard-0", ("--shard", "0/3")),
                            ("shard-1", ("--shard", "1/3")), ("shard-2", ("--shard", "2/3"))):
            address = f"{BASE}.{len(listens) + 1}"
            listen = f"{address}:{free_port(address)}"
            fleet.tierwatchd(CONFIG.format(listen=listen, state_dir=fleet.path(f"{name}-state")) + body,
                             *extra, name=name)
            listens[name] = listen
        for name, listen in listens.items():
            wait_for(lambda: http_get(f"http://{listen}/-/ready")[0] == 200, 20, f"{name} ready")

        whole = targets(listens["whole"])
        check(whole == expected, f"the unsharded instance probes the configuration's "
                                 f"{len(expected)} targets: {sorted(whole ^ expected)}")
        shards = [targets(listens[f"shard-{i}"]) for i in range(3)]
        for i, shard in enumerate(shards):
            check(shard, f"shard {i}/3 probes nothing")
        union = set().union(*shards)
        check(union == whole, f"targets no shard probes: {sorted(whole - union)}; unknown: {sorted(union - whole)}")
        for i in range(3):
            for j in range(i + 1, 3):
                both = shards[i] & shards[j]
                check(not both, f"shards {i}/3 and {j}/3 both probe {sorted(both)}")
    print(f"ok: {len(whole)} targets split {'/'.join(str(len(s)) for s in shards)} over three shards, "
          "each probed exactly once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
