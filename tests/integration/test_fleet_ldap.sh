#!/usr/bin/env bash
# The ldap, ldaps and ldap_replication probers against the real fleet's two slapd (tests/fleet/fleet), through
# `tierwatchd --once --json`: StartTLS and LDAPS bind+search ok, a wrong password is `auth`, replication in sync; a
# frozen node is its own failure, not a lag; a node that missed a write shows its lag behind the other, and it clears.
# Needs root and the packages of scripts/install-deps. Uses its own subnet (FLEET_LDAP_TEST_SUBNET, default 127.44).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=fleet_lib.sh
. "$HERE/fleet_lib.sh"
fleet_test_begin test_fleet_ldap "${FLEET_LDAP_TEST_SUBNET:-127.44}" "$TIERWATCHD" slapd ldapmodify jq
start_fleet
(umask 077; printf 'not-the-password' >"$WORK/wrong.password")

# config FILE TIMEOUT CHECKS...: both LDAP nodes and the named [[check]] blocks.
nodes() {
  local s u
  for s in ldap1 ldap2; do
    u=${s^^}; local ip=FLEET_${u}_IP zone=FLEET_${u}_ZONE fqdn=FLEET_${u}_FQDN
    printf '[[node]]\nname = "%s"\nrole = "ldap"\nzone = "%s"\naddress = "%s"\nfqdn = "%s"\n\n' \
      "$s" "${!zone}" "${!ip}" "${!fqdn}"
  done
}
bind() { printf 'bind_dn = "%s"\npassword_file = "%s"\n' "$FLEET_LDAP_BIND_DN" "${1:-$FLEET_LDAP_PASSWORD_FILE}"; }
write_config() { # FILE TIMEOUT BODY
  { printf '[defaults]\ninterval = "30s"\ntimeout = "%s"\nca_file = "%s"\n\n' "$2" "$FLEET_ROOT_CA"; nodes; printf '%s\n' "$3"; } >"$1"
}
replication_check() {
  printf '[[check]]\nname = "ldap-replication"\nprotocol = "ldap_replication"\nport = %s\nstarttls = true\n' "$FLEET_LDAP_PORT"
  printf 'roles = ["ldap"]\nsearch_base = "%s"\nlag_warning = "1s"\nlag_critical = "1h"\n' "$FLEET_LDAP_BASE"
  bind
}

write_config "$WORK/good.toml" 5s "$(
  printf '[[check]]\nname = "ldap-starttls"\nprotocol = "ldap"\nport = %s\nstarttls = true\nroles = ["ldap"]\n' "$FLEET_LDAP_PORT"
  printf 'search_base = "%s"\nsearch_scope = "sub"\nsearch_filter = "(&(objectClass=inetOrgPerson)(uid=probe))"\n' "$FLEET_LDAP_BASE"
  printf 'search_attributes = ["mail"]\nmin_entries = 1\n'; bind; echo
  printf '[[check]]\nname = "ldaps"\nprotocol = "ldaps"\nport = %s\nroles = ["ldap"]\n' "$FLEET_LDAPS_PORT"
  printf 'search_base = "%s"\nmin_entries = 1\n' "$FLEET_LDAP_BASE"; bind; echo
  replication_check)"
write_config "$WORK/wrong.toml" 5s "$(
  printf '[[check]]\nname = "ldap-wrong-password"\nprotocol = "ldap"\nport = %s\nstarttls = true\nroles = ["ldap"]\n' "$FLEET_LDAP_PORT"
  bind "$WORK/wrong.password")"
write_config "$WORK/frozen.toml" 2s "$(replication_check)"
write_config "$WORK/slow.toml" 10s "$(replication_check)"

# once CONFIG NAME: runs --once --json into $WORK/NAME.json, its exit code in $WORK/NAME.rc
once() {
  "$TIERWATCHD" --config "$1" --once --json >"$WORK/$2.json" 2>"$WORK/$2.err"
  echo $? >"$WORK/$2.rc"
}
field() { jq -r --arg c "$2" --arg n "$3" ".targets[] | select(.check == \$c and .node == \$n) | $4" "$WORK/$1.json"; }
show() { jq -c '.targets[] | {check, node, grade, reason, detail, why}' "$WORK/$1.json" 2>/dev/null | sed 's/^/       | /'; sed 's/^/       | /' "$WORK/$1.err"; }
expect() { # WHAT RUN CONDITION...
  local what=$1 run=$2; shift 2
  if "$@"; then ok "$what"; else fail "$what"; show "$run"; fi
}
no_secret() { ! grep -qF -- "$(cat "$FLEET_LDAP_PASSWORD_FILE")" "$WORK/$1.json" "$WORK/$1.err"; }
lag_of() { field "$1" ldap-replication "$2" '.detail' | sed -n 's/^lag \([0-9.]*\)s behind.*/\1/p'; }

# ---- every LDAP check on both nodes -------------------------------------------------------------------------------
once "$WORK/good.toml" good
expect "--once: every ldap, ldaps and ldap_replication target ok, exit 0" good \
  test "$(cat "$WORK/good.rc") $(jq '[.targets[] | select(.success and .grade == "ok")] | length' "$WORK/good.json")" = "0 6"
for s in ldap1 ldap2; do
  expect "ldap+StartTLS $s: TLS, bind and search phases" good \
    test "$(field good ldap-starttls "$s" '[.tls.version != null, .phases.tls > 0, .phases.auth > 0, .phases.command > 0] | all')" = true
  expect "ldaps $s: implicit TLS" good test "$(field good ldaps "$s" '.tls.version != null')" = true
  expect "replication $s: in sync (lag 0.0s)" good test "$(lag_of good "$s")" = 0.0
done
expect "no password in the output" good no_secret good

once "$WORK/wrong.toml" wrong
expect "wrong password: auth on both nodes, exit 2" wrong \
  test "$(cat "$WORK/wrong.rc") $(jq -r '[.targets[].reason] | join(",")' "$WORK/wrong.json")" = "2 auth,auth"
expect "wrong password: the detail names invalidCredentials (49)" wrong \
  grep -q 'invalidCredentials (49)' "$WORK/wrong.json"
expect "no password in the output" wrong no_secret wrong

# ---- the daemon's /metrics: probe_success for every target and the lag per node and peer ----------------------------
LISTEN=$SUBNET.0.9:19469   # an address of this test's own subnet: no clash with a parallel test
# a short interval: the scheduler spreads the first probes over one interval
{ printf '[daemon]\nlisten = "%s"\nstate_dir = "%s"\n\n' "$LISTEN" "$WORK/state"
  sed 's/^interval = .*/interval = "4s"/; s/^timeout = .*/timeout = "3s"/' "$WORK/good.toml"; } >"$WORK/daemon.toml"
"$TIERWATCHD" --config "$WORK/daemon.toml" >"$WORK/daemon.log" 2>&1 &
daemon=$!
scrape() {
  local i
  for ((i = 0; i < 75; i++)); do
    curl -sS --max-time 2 "http://$LISTEN/metrics" >"$WORK/metrics.txt" 2>/dev/null &&
      [[ $(grep -c '^tierwatch_ldap_replication_lag_seconds{' "$WORK/metrics.txt") -eq 2 &&
         $(grep -c '^probe_success{check="ldap.*} 1$' "$WORK/metrics.txt") -eq 6 ]] && return 0
    sleep 0.2
  done
  return 1
}
if scrape; then ok "/metrics: probe_success 1 for the 6 LDAP targets, one lag sample per node and peer"; else
  fail "/metrics"; grep -E '^(probe_success|tierwatch_ldap)' "$WORK/metrics.txt" | sed 's/^/       | /'; tail -5 "$WORK/daemon.log"; fi
lag_line=$(grep '^tierwatch_ldap_replication_lag_seconds{' "$WORK/metrics.txt" | grep 'node="ldap2"')
if [[ $lag_line == *'peer="ldap1"'* && $lag_line == *'check="ldap-replication"'* && $lag_line == *' 0' ]]; then
  ok "/metrics: $lag_line"; else fail "/metrics lag sample for ldap2: '$lag_line'"; fi
if command -v promtool >/dev/null; then
  if promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1; then ok "promtool check metrics"; else
    fail "promtool check metrics"; sed 's/^/       | /' "$WORK/promtool.out"; fi
fi
kill "$daemon"; wait "$daemon" 2>/dev/null

# ---- a frozen node cannot be read: its own failure, not a lag --------------------------------------------------------
ldap_write() { # SERVER: one change on that server, as the fleet's admin
  local ip=FLEET_${1^^}_IP
  env LDAPTLS_CACERT="$FLEET_ROOT_CA" LDAPTLS_REQCERT=demand ldapmodify -x -ZZ -H "ldap://${!ip}:$FLEET_LDAP_PORT" \
    -D "$FLEET_LDAP_ADMIN_DN" -y "$FLEET_LDAP_ADMIN_PASSWORD_FILE" >/dev/null <<EOF
dn: ou=fleet-checks,$FLEET_LDAP_BASE
changetype: modify
replace: description
description: written on $1 by test_fleet_ldap at $(date +%s.%N)
EOF
}
"$FLEET" freeze ldap2 --dir "$DIR" || fail "fleet freeze ldap2"
expect "ldapmodify on ldap1 while ldap2 is frozen" none ldap_write ldap1
once "$WORK/frozen.toml" frozen
expect "frozen ldap2: its replication target fails with timeout" frozen \
  test "$(field frozen ldap-replication ldap2 '.reason')" = timeout
expect "frozen ldap2: ldap1 stays ok and names ldap2 unreadable, no lag invented" frozen \
  test "$(field frozen ldap-replication ldap1 '[.success, (.detail | test("unreadable peers: ldap2 \\(timeout\\)"))] | all')" = true
"$FLEET" resume ldap2 --dir "$DIR" || fail "fleet resume ldap2"

# in_sync: polls --once until both nodes report lag 0.0 (replication catches up within seconds)
in_sync() {
  local i
  for ((i = 0; i < 20; i++)); do
    once "$WORK/frozen.toml" sync
    [[ $(cat "$WORK/sync.rc") == 0 && $(lag_of sync ldap1) == 0.0 && $(lag_of sync ldap2) == 0.0 ]] && return 0
    sleep 1
  done
  return 1
}
expect "resumed ldap2: in sync again, exit 0" sync in_sync

# ---- a node that missed a write shows its lag -------------------------------------------------------------------------
# ldap2 is down while ldap1 is written to; ldap1 is frozen while ldap2 comes back, so ldap2 cannot catch up and answers
# with its old contextCSN; ldap1 is resumed while the probe waits for it, so both are read: ldap2 is behind ldap1.
"$FLEET" stop ldap2 --dir "$DIR" || fail "fleet stop ldap2"
sleep 2   # so the lag is well above lag_warning = 1s
expect "ldapmodify on ldap1 while ldap2 is down" none ldap_write ldap1
"$FLEET" freeze ldap1 --dir "$DIR" || fail "fleet freeze ldap1"
"$FLEET" restart ldap2 --dir "$DIR" || fail "fleet restart ldap2"
once "$WORK/slow.toml" lag &
probe=$!
sleep 2
"$FLEET" resume ldap1 --dir "$DIR" || fail "fleet resume ldap1"
wait "$probe"
lag=$(lag_of lag ldap2)
expect "ldap2 lags behind ldap1 by ${lag:-?}s (>= 2s): graded warning, exit 1" lag \
  test "$(cat "$WORK/lag.rc") $(field lag ldap-replication ldap2 '[.success, .grade, (.why | startswith("replication lag"))] | map(tostring) | join(" ")') $(awk -v l="${lag:-0}" 'BEGIN { print (l >= 2) }')" = "1 true warning true 1"
expect "ldap1 is not behind ldap2" lag test "$(lag_of lag ldap1)" = 0.0
expect "the lag clears once ldap2 has caught up" sync in_sync

finish
