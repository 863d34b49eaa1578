#!/usr/bin/env bash
# Keeps bench/ compiling and working: a seconds-long bench/run --smoke, then checks that the table it
# wrote is well formed. It asserts structure and success counts only, never a time or a rate.
set -euo pipefail
src=${TIERWATCH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TIERWATCH_BUILD_DIR:-$src/build}
out=$(mktemp /tmp/tierwatch-bench-smoke.XXXXXX)
trap 'rm -f "$out"' EXIT

if [[ ! -x "$build/tierwatchd" ]]; then
  echo "test_bench_smoke: $build/tierwatchd not built" >&2
  exit 1
fi
BENCH_NO_INSTALL=1 BENCH_OUT="$out" BUILD_DIR="$build" TIERWATCHD="$build/tierwatchd" \
  timeout 600 "$src/bench/run" --smoke >"$out.log" 2>&1 || { cat "$out.log" >&2; rm -f "$out.log"; exit 1; }
rm -f "$out.log"

python3 - "$out" <<'PY'
import sys

text = open(sys.argv[1]).read()
failures = []

def table(title):
    """Rows of the markdown table under the heading that starts with title."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("## " + title)), None)
    if start is None:
        failures.append(f"no section {title!r}")
        return [], []
    body = [l for l in lines[start + 1:] if l.startswith("|")]
    rows = []
    for l in lines[start + 1:]:
        if l.startswith("## "):
            break
        if l.startswith("|"):
            rows.append([c.strip() for c in l.strip("|").split("|")])
    if len(rows) < 3 or set(rows[1][0]) != {"-"}:
        failures.append(f"{title}: no table")
        return [], []
    header, data = rows[0], rows[2:]
    for r in data:
        if len(r) != len(header):
            failures.append(f"{title}: row {r} has {len(r)} cells, header {len(header)}")
    return header, data

def number(cell, where):
    try:
        return float(cell)
    except ValueError:
        failures.append(f"{where}: {cell!r} is not a number")
        return 0.0

header, rows = table("Probers side by side")
seen = set()
for r in rows:
    if len(r) != len(header):
        continue
    cells = dict(zip(header, r))
    where = f"{cells['scenario']}/{cells['prober']}"
    seen.add((cells["scenario"], cells["prober"]))
    probes, ok = number(cells["probes"], where), number(cells["ok"], where)
    for key in ("probes/s", "CPU s / 1k probes", "p50 ms", "p99 ms"):
        number(cells[key], where + " " + key)
    if cells["prober"] != "monitoring-plugins":  # a process per probe: no RSS to report
        number(cells["RSS MB"], where + " RSS MB")
    if probes <= 0 or ok <= 0:
        failures.append(f"{where}: no successful probe ({ok:g} of {probes:g})")
for scenario in ("tcp", "smtp", "imap", "pop3", "tls"):
    for prober in ("bare_client", "tierwatchd"):
        if (scenario, prober) not in seen:
            failures.append(f"no row for {scenario}/{prober}")

header, rows = table("tierwatchd at scale")
if not rows:
    failures.append("no scale row")
for r in rows:
    if len(r) == len(header):
        cells = dict(zip(header, r))
        for key in ("targets", "measured probes/s", "skipped slots", "RSS MB", "scrape MB"):
            number(cells[key], "scale " + key)

header, rows = table("tierwatchd with probes in flight")
for r in rows:
    if len(r) == len(header):
        cells = dict(zip(header, r))
        if number(cells["peak in flight"], "in-flight peak") <= 0:
            failures.append("no probe was ever in flight against the silent servers")

if failures:
    print("test_bench_smoke: " + "; ".join(failures), file=sys.stderr)
    print(text, file=sys.stderr)
    sys.exit(1)
print("test_bench_smoke: table well formed")
PY
