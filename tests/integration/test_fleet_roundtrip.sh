#!/usr/bin/env bash
# The roundtrip and tcp dialogue probers against the real fleet (tests/fleet/fleet), through `tierwatchd --once
# --json` and the daemon's /metrics: config/examples/fleet.toml shows every protocol ok; the round trip measures
# delivery through the NLB (each zone's proxy) and directly, leaves the probe mailbox empty, fails with `timeout`
# while Dovecot's LMTP is stopped and deletes the late message once delivery resumes; a wrong password is `auth`;
# dialogues against real SMTP and the fault server map each way of failing to its reason. No secret in any output.
# Needs root and the packages of scripts/install-deps. Addresses: the fleet on FLEET_ROUNDTRIP_TEST_SUBNET (default
# 127.46), dnsmasq, the fault server and the daemon on 127.0.70.x.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=fleet_lib.sh
. "$HERE/fleet_lib.sh"
LOCAL=127.0.70
fleet_test_begin test_fleet_roundtrip "${FLEET_ROUNDTRIP_TEST_SUBNET:-127.46}" "$TIERWATCHD" "$FAULTSERVER" \
  postfix dovecot doveadm jq curl /usr/sbin/dnsmasq
start_fleet
MAILDIR=$FLEET_MAILBOX1_PROBE_MAILDIR
(umask 077; printf 'not-the-password' >"$WORK/wrong.password")

# The NLB name: one address per zone, the zone's proxy, as scripts/demo serves it.
printf '%s mail.example.test\n%s mail.example.test\n' "$FLEET_PROXY1_IP" "$FLEET_PROXY2_IP" >"$WORK/hosts"
/usr/sbin/dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --conf-file=/dev/null \
  --listen-address=$LOCAL.53 --bind-interfaces --port=15353 --addn-hosts="$WORK/hosts" --local=/test/ \
  --local-ttl=1 --pid-file="$WORK/dnsmasq.pid" --log-facility="$WORK/dnsmasq.log" --user=root --group=root &
pids+=($!)

(cd "$WORK" && exec "$FAULTSERVER" --pki-dir "$WORK/faultpki" --san fault.example.test \
  --serve "garbage@$LOCAL.2:16001,text=\x16\x03\x01garbage\r\n" \
  --serve "silent@$LOCAL.2:16002" \
  --serve "banner@$LOCAL.2:16003,text=220 fault ESMTP\r\n" \
  --serve "tls@$LOCAL.2:16004,text=* OK fault IMAP over TLS\r\n" \
  --serve "reset@$LOCAL.2:16005" >"$WORK/fault.out" 2>"$WORK/fault.err") &
pids+=($!)
for _ in $(seq 100); do grep -q ready "$WORK/fault.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$WORK/fault.out" || { fail "fault server start"; cat "$WORK/fault.err"; finish; }

once() { # CONFIG NAME
  "$TIERWATCHD" --config "$1" --once --json >"$WORK/$2.json" 2>"$WORK/$2.err"
  echo $? >"$WORK/$2.rc"
}
show() { jq -c '.targets[] | {check, target, grade, reason, detail, why, delivery_seconds}' "$WORK/$1.json" 2>/dev/null | sed 's/^/       | /'; sed 's/^/       | /' "$WORK/$1.err"; }
expect() { # WHAT RUN CONDITION...
  local what=$1 run=$2; shift 2
  if "$@"; then ok "$what"; else fail "$what"; show "$run"; fi
}
targets() { jq -r --arg c "$2" "[.targets[] | select(.check == \$c)] | $3" "$WORK/$1.json"; }
# The probe mailbox as Dovecot sees it, and as files (a message Dovecot has not indexed yet).
inbox_count() { doveadm -c "$FLEET_MAILBOX1_CONFIG" search -u "$FLEET_PROBE_USER" mailbox INBOX ALL | wc -l; }
maildir_files() { find "$MAILDIR/new" "$MAILDIR/cur" -type f 2>/dev/null | wc -l; }
mailbox_empty() { [[ $(inbox_count) -eq 0 && $(maildir_files) -eq 0 ]]; }
no_secret() { ! grep -rqF -- "$(cat "$FLEET_PROBE_PASSWORD_FILE")" "$WORK"/*.json "$WORK"/*.err "$WORK"/*.log "$WORK"/*.metrics 2>/dev/null; }

# ---- the repository's fleet config, moved to this subnet: every target of every protocol ok -------------------
sed -E -e "s/\"127\.0\.([0-9]+\.[0-9]+)\"/\"$SUBNET.\1\"/" \
  -e "s/^listen = .*/listen = \"$LOCAL.1:19469\"/" -e "s/^nameservers = .*/nameservers = [\"$LOCAL.53:15353\"]/" \
  "$SOURCE/config/examples/fleet.toml" >"$DIR/tierwatch.toml"
"$TIERWATCHD" --config "$DIR/tierwatch.toml" --check-config >"$WORK/check-config.log" 2>&1
expect "--check-config names where each round trip leg goes" check-config \
  grep -q "roundtrip-direct: .*; submit submission+starttls to each target port $FLEET_SUBMISSION_PORT; fetch imap+starttls to mailbox1.example.test port $FLEET_IMAP_PORT$" \
  "$WORK/check-config.log"
once "$DIR/tierwatch.toml" fleet
# Every probe succeeds and every target is ok. A latency warning is the one exception: on a loaded
# 2-core machine a TLS handshake can take longer than fleet.toml's 1 s latency_warning; the exit code
# is then the worst grade, 1.
fleet_verdict() {
  local failed other latency
  failed=$(jq '[.targets[] | select(.success | not)] | length' "$WORK/fleet.json")
  other=$(jq '[.targets[] | select(.grade != "ok" and ((.why // "") | startswith("latency ") | not))] | length' "$WORK/fleet.json")
  latency=$(jq '[.targets[] | select(.grade == "warning" and ((.why // "") | startswith("latency ")))] | length' "$WORK/fleet.json")
  echo "rc $(cat "$WORK/fleet.rc") failed $failed other $other latency-warning $((latency > 0))"
}
expect "fleet.toml --once: every probe succeeds, every target ok (or only late)" fleet \
  bash -c '[[ "$1" == "rc 0 failed 0 other 0 latency-warning 0" || "$1" == "rc 1 failed 0 other 0 latency-warning 1" ]]' _ "$(fleet_verdict)"
expect "fleet.toml covers every protocol" fleet test "$(jq -r '[.targets[].protocol] | unique | join(",")' "$WORK/fleet.json")" = \
  "https,imap,imaps,ldap,ldap_replication,ldaps,lmtp,pop3s,roundtrip,smtp,smtps,submission,tcp"
expect "round trip through both NLB addresses: delivered, delivery time measured" fleet \
  test "$(targets fleet roundtrip 'map(select(.success and .delivery_seconds > 0 and .nlb == "mail")) | length')" = 2
expect "round trip directly through both MTAs to Dovecot: delivered, delivery time measured" fleet \
  test "$(targets fleet roundtrip-direct 'map(select(.success and .delivery_seconds > 0)) | length')" = 2
expect "tcp dialogue with STARTTLS against both Postfix: ok with the certificate read" fleet \
  test "$(targets fleet smtp-dialogue 'map(select(.success and .tls.version != null)) | length')" = 2
expect "probe mailbox empty after the round trips" fleet mailbox_empty

# ---- round trip failures --------------------------------------------------------------------------------------
nodes() {
  printf '[[node]]\nname = "%s"\nrole = "%s"\naddress = "%s"\nfqdn = "%s"\n\n' \
    mta1 mta "$FLEET_MTA1_IP" "$FLEET_MTA1_FQDN" proxy1 proxy "$FLEET_PROXY1_IP" "$FLEET_PROXY1_FQDN" \
    mailbox1 mailbox "$FLEET_MAILBOX1_IP" "$FLEET_MAILBOX1_FQDN"
}
roundtrip_config() { # FILE PASSWORD_FILE
  {
    printf '[daemon]\nlisten = "%s:19470"\nstate_dir = "%s"\n\n' "$LOCAL.1" "$WORK/state"
    printf '[defaults]\nca_file = "%s"\n\n' "$FLEET_ROOT_CA"
    nodes
    printf '[[check]]\nname = "rt"\nprotocol = "roundtrip"\nroles = ["proxy"]\nusername = "%s"\npassword_file = "%s"\n' \
      "$FLEET_PROBE_USER" "$2"
    printf 'submit = "smtp://%s:%s?starttls=true"\nfetch = "imaps://%s:%s"\n' \
      "$FLEET_PROXY1_FQDN" "$FLEET_SUBMISSION_PORT" "$FLEET_PROXY1_FQDN" "$FLEET_IMAPS_PORT"
    printf 'interval = "10s"\ntimeout = "5s"\nlatency_warning = "2s"\nlatency_critical = "4s"\n'
  } >"$1"
}
roundtrip_config "$WORK/rt.toml" "$FLEET_PROBE_PASSWORD_FILE"
roundtrip_config "$WORK/rt-wrong.toml" "$WORK/wrong.password"

once "$WORK/rt-wrong.toml" wrong
expect "round trip with a wrong password: auth at submission, exit 2" wrong \
  test "$(cat "$WORK/wrong.rc") $(jq -r '.targets[0].reason + " " + (.targets[0].detail | split(":")[0])' "$WORK/wrong.json")" = "2 auth submit"

"$FLEET" lmtp-stop --dir "$DIR" >"$WORK/lmtp.log" 2>&1 || { fail "fleet lmtp-stop"; cat "$WORK/lmtp.log"; }
once "$WORK/rt.toml" stopped
expect "LMTP stopped: the round trip fails with timeout, the message not in INBOX" stopped \
  test "$(cat "$WORK/stopped.rc") $(jq -r '.targets[0].reason' "$WORK/stopped.json")" = "2 timeout"
expect "LMTP stopped: the detail names the missing message" stopped \
  grep -q 'fetch: message not in INBOX within' "$WORK/stopped.json"
expect "LMTP stopped: IMAP still answers (the fetch leg logged in)" stopped \
  test "$(jq '.targets[0].phases.auth > 0' "$WORK/stopped.json")" = true
expect "LMTP stopped: nothing delivered meanwhile" stopped test "$(maildir_files)" = 0
"$FLEET" lmtp-start --dir "$DIR" >>"$WORK/lmtp.log" 2>&1 || { fail "fleet lmtp-start"; cat "$WORK/lmtp.log"; }
late_delivered() { [[ $(maildir_files) -eq 1 ]]; }
for _ in $(seq 100); do late_delivered && break; sleep 0.2; done
expect "LMTP back: the queued message arrives late in the probe mailbox" stopped late_delivered
once "$WORK/rt.toml" resumed
expect "LMTP back: the round trip succeeds" resumed \
  test "$(cat "$WORK/resumed.rc") $(jq -r '.targets[0].grade' "$WORK/resumed.json")" = "0 ok"
expect "LMTP back: the late message was deleted too, the probe mailbox is empty" resumed mailbox_empty

# ---- the daemon: delivery time in /metrics ----------------------------------------------------------------------
"$TIERWATCHD" --config "$WORK/rt.toml" >"$WORK/daemon.log" 2>&1 &
daemon=$!
pids+=("$daemon")
for _ in $(seq 100); do
  curl -sf "http://$LOCAL.1:19470/metrics" >"$WORK/daemon.metrics" 2>/dev/null &&
    grep -q '^tierwatch_roundtrip_delivery_seconds{' "$WORK/daemon.metrics" && break
  sleep 0.2
done
expect "/metrics: tierwatch_roundtrip_delivery_seconds for the target" daemon \
  grep -qE "^tierwatch_roundtrip_delivery_seconds\{check=\"rt\",target=\"$FLEET_PROXY1_IP:$FLEET_SUBMISSION_PORT\",node=\"proxy1\",role=\"proxy\",zone=\"default\"\} [0-9.e+-]+$" \
  "$WORK/daemon.metrics"
kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null
# Stopped maybe mid-round-trip: the next round trip of the check deletes what that one left.
once "$WORK/rt.toml" after
expect "probe mailbox empty after the daemon's round trips and one more" after mailbox_empty

# ---- tcp dialogues: the real Postfix and the fault server -------------------------------------------------------
dialogue_config() { # FILE PROTOCOL ADDRESS PORT DIALOGUE
  printf '[defaults]\ntimeout = "2s"\nca_file = "%s"\n\n[[node]]\nname = "n"\nrole = "r"\naddress = "%s"\nfqdn = "%s"\n\n' \
    "$WORK/faultpki/root_ca.pem" "$3" fault.example.test >"$1"
  printf '[[check]]\nname = "d"\nprotocol = "%s"\nport = %s\nroles = ["r"]\ndialogue = %s\n' "$2" "$4" "$5" >>"$1"
}
dialogue() { # NAME PROTOCOL ADDRESS PORT DIALOGUE -> reason and detail
  dialogue_config "$WORK/$1.toml" "$2" "$3" "$4" "$5"
  once "$WORK/$1.toml" "$1"
  jq -r '.targets[0] | .reason + "|" + .detail' "$WORK/$1.json"
}
smtp_steps='[{ expect = "^220 " }, { send = "EHLO tierwatch.invalid" }, { expect = "^599 " }]'
matches() { [[ $1 =~ $2 ]]; }
expect "dialogue: Postfix never answers 599 to EHLO: timeout, naming the step and the last line" postfix \
  matches "$(dialogue postfix tcp "$FLEET_MTA1_IP" "$FLEET_SMTP_PORT" "$smtp_steps")" \
  '^timeout\|no answer within 2s during command; step 3: no line matched /\^599 /, last "250 [A-Z0-9]+"$'
expect "dialogue: Postfix closes after QUIT before the expected line: protocol" quit \
  test "$(dialogue quit tcp "$FLEET_MTA1_IP" "$FLEET_SMTP_PORT" '[{ send = "QUIT" }, { expect = "^599" }]')" = \
  "protocol|step 2: no line matched /^599/ before the server closed the connection; last \"221 2.0.0 Bye\""
expect "dialogue: garbage instead of a greeting: bad_greeting" garbage \
  test "$(dialogue garbage tcp $LOCAL.2 16001 '[{ expect = "^220 " }]' | cut -d'|' -f1)" = bad_greeting
expect "dialogue: a silent server: banner_timeout" silent \
  test "$(dialogue silent tcp $LOCAL.2 16002 '[{ expect = "^220 " }]' | cut -d'|' -f1)" = banner_timeout
expect "dialogue: an answer that never comes after a send: timeout" swallow \
  test "$(dialogue swallow tcp $LOCAL.2 16003 "$smtp_steps" | cut -d'|' -f1)" = timeout
expect "dialogue: a reset: connection_reset or closed, never ok" reset \
  test "$(dialogue reset tcp $LOCAL.2 16005 '[{ expect = "^220 " }]' | cut -d'|' -f1 | grep -cE '^(connection_reset|protocol|bad_greeting)$')" = 1
expect "dialogue over implicit TLS (protocol tls): ok" tlsok \
  test "$(dialogue tlsok tls $LOCAL.2 16004 '[{ expect = "^\\* OK " }, { send = "a LOGOUT" }]' | cut -d'|' -f1)" = ""

expect "no secret in any output, log or metric" fleet no_secret
finish
