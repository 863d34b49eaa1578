#!/usr/bin/env python3
"""The layer rule of docs/ARCHITECTURE.md, checked on every project #include.

Each source folder belongs to a layer; a file may include project headers from its own layer and
the layers below it, never above. Folder-to-folder include cycles are refused even inside one
layer. Prints every violation with file:line and exits 1, so the suite fails when one appears."""
import os
import re
import sys

ROOT = os.environ.get("TIERWATCH_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

# Bottom first. A folder not listed inherits the layer of its closest listed parent.
LAYERS = [
    ("wire", ["probes/wire"]),                       # sans-io codecs: no Asio, no configuration
    ("config", ["config"]),                          # TOML toolkit, protocol table, validated settings
    ("net", ["probes/net"]),                         # connect, TLS, bounded reads, probe shapes, DNS client
    ("protocols", ["probes"]),                       # one folder per protocol
    ("registry", ["probes/registry"]),               # protocol name -> prober
    ("daemon", ["daemon"]),                          # scheduling, alarms, paging, web, metrics
    ("cli", ["daemon/cli"]),                         # entry points and command-line tools
    ("tests", ["tests", "bench"]),
]
# A protocol's typed settings and their reader (probes/<protocol>/settings) are configuration:
# plain values the loader fills, below the network layer whatever folder holds them.
SETTINGS_FOLDER = re.compile(r"^probes/[^/]+/settings(/|$)")

# Third-party headers a layer must not see (the wire layer is sans-io).
FORBIDDEN_SYSTEM = {"wire": re.compile(r"^(boost/asio|boost/beast|openssl/|spdlog/|toml\+\+|ares)"),
                    # Configuration, protocols' settings included, is plain values: no network code.
                    "config": re.compile(r"^(boost/asio|boost/beast|openssl/|spdlog/|ares)")}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(folder):
    if SETTINGS_FOLDER.match(folder):
        rank = [name for name, _ in LAYERS].index("config")
        return (rank, "config", len(folder))
    best = None
    for rank, (name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if folder == prefix or folder.startswith(prefix + "/"):
                if best is None or len(prefix) > best[2]:
                    best = (rank, name, len(prefix))
    return best


def main():
    problems = []
    edges = {}
    for top in ("config", "probes", "daemon", "tests", "bench"):
        for directory, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if not name.endswith((".cpp", ".hpp", ".h", ".c")):
                    continue
                path = os.path.join(directory, name)
                rel = os.path.relpath(path, ROOT)
                folder = os.path.dirname(rel)
                own = layer_of(folder)
                if own is None:
                    problems.append(f"{rel}: folder {folder} has no layer in {__file__}")
                    continue
                with open(path, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        match = INCLUDE.match(line)
                        if not match:
                            continue
                        kind, header = match.groups()
                        if kind == "<":
                            pattern = FORBIDDEN_SYSTEM.get(own[1])
                            if pattern and pattern.match(header):
                                problems.append(f"{rel}:{number}: the {own[1]} layer may not include <{header}>")
                            continue
                        target_folder = os.path.dirname(header)
                        target = layer_of(target_folder)
                        if target is None:
                            continue
                        if target[0] > own[0]:
                            problems.append(f"{rel}:{number}: {own[1]} layer includes {header} "
                                            f"from the {target[1]} layer above it")
                        if target_folder != folder:
                            edges.setdefault(folder, {}).setdefault(target_folder, f"{rel}:{number}")
    problems.extend(find_cycles(edges))
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"layers: {sum(len(v) for v in edges.values())} folder dependencies, no violation, no cycle")
    return 0


def find_cycles(edges):
    """Every folder cycle, once, each edge named with the include that makes it."""
    found, reported = [], set()
    state = {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for succ in sorted(edges.get(node, {})):
            if state.get(succ) == "open":
                cycle = stack[stack.index(succ):] + [succ]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    steps = ", ".join(f"{a} -> {b} ({edges[a][b]})" for a, b in zip(cycle, cycle[1:]))
                    found.append(f"folder cycle: {steps}")
            elif succ not in state:
                visit(succ, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    return found


if __name__ == "__main__":
    sys.exit(main())
