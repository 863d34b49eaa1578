# Shared setup of the shell tests that run against the real fleet (tests/fleet/fleet): TAP-like
# ok/fail/finish, the root and tool checks, a work directory, a fleet started on the test's own
# subnet and always stopped, and background processes killed on exit. Sourced, not run:
#   . "$HERE/fleet_lib.sh"; fleet_test_begin NAME SUBNET TOOL...; start_fleet
# Afterwards: $WORK (removed on exit), $DIR (the fleet), the FLEET_* variables of fleet.env, and
# `pids` (append background processes' pids to have them killed on exit).
# shellcheck shell=bash

HERE=${HERE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
SOURCE=${TIERWATCH_SOURCE_DIR:-$HERE/../..}
BUILD=${TIERWATCH_BUILD_DIR:-$SOURCE/build}
FLEET=${FLEET:-$SOURCE/tests/fleet/fleet}
TIERWATCHD=${TIERWATCHD:-$BUILD/tierwatchd}
FAULTSERVER=${FAULTSERVER:-$BUILD/tests/tierwatch-faultserver}
T0=$SECONDS
passed=0 failed=0 failures=() pids=()

ok() { passed=$((passed + 1)); echo "ok   - $* [$((SECONDS - T0))s]"; }
fail() { failed=$((failed + 1)); failures+=("$*"); echo "FAIL - $* [$((SECONDS - T0))s]"; }
# check WHAT COMMAND...: ok when the command succeeds, else fail with its output's tail.
check() { local what=$1; shift; if "$@" >"$WORK/last.out" 2>&1; then ok "$what"; else fail "$what"; sed 's/^/       | /' "$WORK/last.out" | tail -n 15; fi; }
finish() {
  echo "$TEST_NAME: $passed passed, $failed failed in $((SECONDS - T0)) s"
  ((failed == 0)) || { printf 'failed: %s\n' "${failures[@]}"; exit 1; }
  exit 0
}

fleet_cleanup() {
  local rc=$? pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  if [[ -e $DIR/fleet.env ]]; then "$FLEET" stop --dir "$DIR" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
  exit $rc
}

# fleet_test_begin NAME SUBNET TOOL...: refuses to run without root or a tool, makes $WORK.
fleet_test_begin() {
  TEST_NAME=$1 SUBNET=$2
  shift 2
  [[ $(id -u) -eq 0 ]] || { echo "$TEST_NAME: must run as root (the fleet's Postfix master insists)"; exit 1; }
  local tool
  for tool in "$@"; do
    if [[ $tool == /* ]]; then
      [[ -x $tool ]] || { echo "$TEST_NAME: no $tool (run scripts/install-deps, or set TIERWATCH_BUILD_DIR)"; exit 1; }
    else
      command -v "$tool" >/dev/null || { echo "$TEST_NAME: $tool missing: run scripts/install-deps"; exit 1; }
    fi
  done
  WORK=$(mktemp -d "/tmp/tierwatch-$TEST_NAME.XXXXXX")
  chmod 0755 "$WORK"
  DIR=$WORK/fleet
  export FLEET_LAST_LINK=$WORK/last   # leave the pointer to a developer's own fleet alone
  trap fleet_cleanup EXIT
  trap 'exit 130' INT TERM
}

# start_fleet: the fleet on $SUBNET, its fleet.env sourced; a failed start ends the test.
start_fleet() {
  if ! "$FLEET" start --dir "$DIR" --subnet "$SUBNET" >"$WORK/start.log" 2>&1 || ! grep -q '^fleet ready' "$WORK/start.log"; then
    fail "fleet start"; sed 's/^/       | /' "$WORK/start.log"; finish
  fi
  ok "fleet start"
  # shellcheck disable=SC1091
  . "$DIR/fleet.env"
}
