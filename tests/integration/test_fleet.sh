#!/usr/bin/env bash
# Smoke test of tests/fleet/fleet: starts the real fleet in a temp dir, checks every service with real clients
# (openssl s_client, swaks, curl, ldapsearch, doveadm), freezes/resumes and kills/restarts one server, stops the
# fleet and asserts nothing is left running. Needs root and the packages of scripts/install-deps.
# Uses its own subnet (FLEET_TEST_SUBNET, default 127.42) so a demo fleet on 127.0 can keep running.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=fleet_lib.sh
. "$HERE/fleet_lib.sh"
fleet_test_begin test_fleet "${FLEET_TEST_SUBNET:-127.42}" \
  postfix dovecot doveadm nginx slapd slapadd ldapsearch openssl swaks curl ss

# ---- start ----------------------------------------------------------------------------------------------------
start_fleet
PW=$(cat "$FLEET_PROBE_PASSWORD_FILE")
CA=$FLEET_ROOT_CA
check "secrets are mode 0600" test "$(stat -c %a "$FLEET_PROBE_PASSWORD_FILE") $(stat -c %a "$FLEET_LDAP_PASSWORD_FILE")" = "600 600"
check "fleet status: all running" "$FLEET" status --dir "$DIR"

# ---- TLS on every listener: the root alone verifies the chain (leaf + issuing CA sent) and the IP SAN ------------
# tls NAME IP PORT [STARTTLS-PROTO]
tls() {
  local name=$1 ip=$2 port=$3 proto=${4:-} out
  out=$(echo | timeout 10 openssl s_client -showcerts -connect "$ip:$port" ${proto:+-starttls "$proto"} \
    -CAfile "$CA" -verify_return_error -verify_ip "$ip" -verify_hostname "$name.$FLEET_DOMAIN" 2>&1 | tr -d '\0')
  local rc=$?
  if ((rc == 0)) && grep -q 'Verify return code: 0 (ok)' <<<"$out" &&
    [[ $(grep -c 'BEGIN CERTIFICATE' <<<"$out") -eq 2 ]]; then
    ok "tls $name $ip:$port ${proto:-implicit}"
  else
    fail "tls $name $ip:$port ${proto:-implicit} (rc $rc)"; grep -E 'verify|error|errno|Verify' <<<"$out" | head -n 5 | sed 's/^/       | /'
  fi
}
for s in mta1 mta2; do
  ip_var=FLEET_${s^^}_IP; ip=${!ip_var}
  tls "$s" "$ip" "$FLEET_SMTP_PORT" smtp; tls "$s" "$ip" "$FLEET_SUBMISSION_PORT" smtp; tls "$s" "$ip" "$FLEET_SMTPS_PORT"
done
for s in mailbox1 proxy1 proxy2; do
  ip_var=FLEET_${s^^}_IP; ip=${!ip_var}
  tls "$s" "$ip" "$FLEET_IMAP_PORT" imap; tls "$s" "$ip" "$FLEET_IMAPS_PORT"
  tls "$s" "$ip" "$FLEET_POP3_PORT" pop3; tls "$s" "$ip" "$FLEET_POP3S_PORT"
done
for s in proxy1 proxy2; do
  ip_var=FLEET_${s^^}_IP; ip=${!ip_var}
  tls "$s" "$ip" "$FLEET_SMTP_PORT" smtp; tls "$s" "$ip" "$FLEET_SUBMISSION_PORT" smtp; tls "$s" "$ip" "$FLEET_SMTPS_PORT"
  tls "$s" "$ip" "$FLEET_HTTPS_PORT"
done
for s in ldap1 ldap2; do
  ip_var=FLEET_${s^^}_IP; ip=${!ip_var}
  tls "$s" "$ip" "$FLEET_LDAP_PORT" ldap; tls "$s" "$ip" "$FLEET_LDAPS_PORT"
done

# ---- HTTPS on both proxies ---------------------------------------------------------------------------------------
for s in proxy1 proxy2; do
  ip_var=FLEET_${s^^}_IP
  check "https $s body" test "$(curl -sS --max-time 5 --cacert "$CA" "https://${!ip_var}:$FLEET_HTTPS_PORT/")" = "$FLEET_HTTPS_BODY"
  check "https $s by service name" curl -sSf --max-time 5 --cacert "$CA" \
    --resolve "mail.$FLEET_DOMAIN:$FLEET_HTTPS_PORT:${!ip_var}" "https://mail.$FLEET_DOMAIN:$FLEET_HTTPS_PORT/"
done

# ---- mail: submission with AUTH directly and through the proxies, delivered over LMTP to the probe mailbox -------
TOKEN=fleet-$$-$RANDOM
swaks_send() { # NAME IP PORT TLS-MODE [AUTH]: sends "Subject: TOKEN-NAME"
  local name=$1 ip=$2 port=$3 mode=$4 auth=${5:-}
  timeout 20 swaks -4 --server "$ip" --port "$port" "$mode" --tls-verify --tls-ca-path "$CA" \
    ${auth:+--auth "$auth" --auth-user "$FLEET_PROBE_USER" --auth-password "$PW"} \
    --from "$FLEET_PROBE_USER" --to "$FLEET_PROBE_USER" --header "Subject: $TOKEN-$name" --body "fleet smoke test $name"
}
sent=()
send() { if swaks_send "$@" >"$WORK/swaks.out" 2>&1; then ok "swaks $1"; sent+=("$1"); else fail "swaks $1"; grep -E '^(<~?\*|\*\*\*)' "$WORK/swaks.out" | head -n 5 | sed 's/^/       | /'; fi; }
send mta1-submission "$FLEET_MTA1_IP" "$FLEET_SUBMISSION_PORT" --tls PLAIN
send mta2-smtps "$FLEET_MTA2_IP" "$FLEET_SMTPS_PORT" --tlsc LOGIN
send mta2-smtp-starttls "$FLEET_MTA2_IP" "$FLEET_SMTP_PORT" --tls
send proxy1-submission "$FLEET_PROXY1_IP" "$FLEET_SUBMISSION_PORT" --tls PLAIN
send proxy2-smtps "$FLEET_PROXY2_IP" "$FLEET_SMTPS_PORT" --tlsc LOGIN
send proxy1-smtp-anonymous "$FLEET_PROXY1_IP" "$FLEET_SMTP_PORT" --tls

wrong_auth() { ! timeout 20 swaks -4 --server "$1" --port "$FLEET_SUBMISSION_PORT" --tls --tls-ca-path "$CA" --auth PLAIN \
  --auth-user "$FLEET_PROBE_USER" --auth-password "not-$PW" --to "$FLEET_PROBE_USER" >"$WORK/wrong.out" 2>&1 &&
  grep -q '535' "$WORK/wrong.out"; }
check "wrong password refused by mta1 submission (535)" wrong_auth "$FLEET_MTA1_IP"
check "wrong password refused by proxy2 submission (535)" wrong_auth "$FLEET_PROXY2_IP"
check "submission without AUTH refused" bash -c '! timeout 20 swaks -4 --server "$1" --port "$2" --tls --tls-ca-path "$3" --to "$4" >/dev/null 2>&1' \
  _ "$FLEET_MTA1_IP" "$FLEET_SUBMISSION_PORT" "$CA" "$FLEET_PROBE_USER"

# Every message shows up in INBOX (IMAP SEARCH through proxy1 over IMAPS); up to 20 s.
imap_search() { # URL-BASE SUBJECT [curl options]
  local url=$1 subject=$2; shift 2
  curl -sS --max-time 5 --cacert "$CA" -u "$FLEET_PROBE_USER:$PW" "$@" "$url/INBOX" -X "SEARCH SUBJECT \"$subject\""
}
for name in "${sent[@]}"; do
  found=0
  for ((i = 0; i < 200; i++)); do
    out=$(imap_search "imaps://$FLEET_PROXY1_IP:$FLEET_IMAPS_PORT" "$TOKEN-$name" 2>&1)
    [[ $out =~ ^\*\ SEARCH\ [0-9] ]] && { found=1; break; }
    sleep 0.1
  done
  if ((found)); then ok "delivered $name (seen via proxy1 imaps)"; else fail "delivered $name: not in INBOX after 20 s ($out)"; fi
done
n=${#sent[@]}
check "doveadm sees all $n messages" test "$(doveadm -c "$FLEET_MAILBOX1_CONFIG" search -u "$FLEET_PROBE_USER" \
  mailbox INBOX HEADER Subject "$TOKEN" | wc -l)" -eq "$n"
check "imap STARTTLS via proxy2" bash -c 'curl -sS --max-time 5 --ssl-reqd --cacert "$1" -u "$2:$3" "imap://$4:$5/INBOX" -X "SEARCH ALL" | grep -q "^\* SEARCH [0-9]"' \
  _ "$CA" "$FLEET_PROBE_USER" "$PW" "$FLEET_PROXY2_IP" "$FLEET_IMAP_PORT"
check "imap STARTTLS direct to mailbox1" bash -c 'curl -sS --max-time 5 --ssl-reqd --cacert "$1" -u "$2:$3" "imap://$4:$5/INBOX" -X "SEARCH ALL" | grep -q "^\* SEARCH [0-9]"' \
  _ "$CA" "$FLEET_PROBE_USER" "$PW" "$FLEET_MAILBOX1_IP" "$FLEET_IMAP_PORT"
check "pop3 STARTTLS via proxy1 lists $n messages" bash -c '[[ $(curl -sS --max-time 5 --ssl-reqd --cacert "$1" -u "$2:$3" "pop3://$4:$5/" | wc -l) -ge $6 ]]' \
  _ "$CA" "$FLEET_PROBE_USER" "$PW" "$FLEET_PROXY1_IP" "$FLEET_POP3_PORT" "$n"
check "pop3s direct to mailbox1" curl -sSf --max-time 5 --cacert "$CA" -u "$FLEET_PROBE_USER:$PW" "pop3s://$FLEET_MAILBOX1_IP:$FLEET_POP3S_PORT/"
check "imaps wrong password refused via proxy2" bash -c '! curl -sS --max-time 5 --cacert "$1" -u "$2:wrong" "imaps://$3:$4/INBOX" -X "SEARCH ALL"' \
  _ "$CA" "$FLEET_PROBE_USER" "$FLEET_PROXY2_IP" "$FLEET_IMAPS_PORT"

# ---- LDAP: StartTLS and LDAPS binds on both, a write on ldap2 seen on ldap1, equal contextCSN ----------------------
export LDAPTLS_CACERT=$CA LDAPTLS_REQCERT=demand
for s in ldap1 ldap2; do
  ip_var=FLEET_${s^^}_IP
  check "ldapsearch -ZZ bind as probe on $s" bash -c '[[ $(ldapsearch -x -LLL -ZZ -H "ldap://$1:$2" -D "$3" -y "$4" -b "$5" "(objectClass=*)" dn | grep -c "^dn:") -ge 4 ]]' \
    _ "${!ip_var}" "$FLEET_LDAP_PORT" "$FLEET_LDAP_BIND_DN" "$FLEET_LDAP_PASSWORD_FILE" "$FLEET_LDAP_BASE"
  check "ldaps bind as probe on $s" ldapsearch -x -LLL -H "ldaps://${!ip_var}:$FLEET_LDAPS_PORT" -D "$FLEET_LDAP_BIND_DN" \
    -y "$FLEET_LDAP_PASSWORD_FILE" -b "$FLEET_LDAP_BASE" -s base dn
  check "wrong LDAP password refused on $s (49)" bash -c 'ldapsearch -x -ZZ -H "ldap://$1:$2" -D "$3" -w wrong -b "$4" -s base dn >/dev/null 2>&1; [[ $? -eq 49 ]]' \
    _ "${!ip_var}" "$FLEET_LDAP_PORT" "$FLEET_LDAP_BIND_DN" "$FLEET_LDAP_BASE"
done
csn() { ldapsearch -x -LLL -ZZ -H "ldap://$1:$FLEET_LDAP_PORT" -D "$FLEET_LDAP_BIND_DN" -y "$FLEET_LDAP_PASSWORD_FILE" \
  -s base -b "$FLEET_LDAP_BASE" contextCSN 2>/dev/null | awk '/^contextCSN:/ {print $2}' | sort | tr '\n' ' '; }
before=$(csn "$FLEET_LDAP1_IP")
dn="cn=smoke-$TOKEN,ou=fleet-checks,$FLEET_LDAP_BASE"
check "ldapadd on ldap2" ldapadd -x -ZZ -H "ldap://$FLEET_LDAP2_IP:$FLEET_LDAP_PORT" -D "$FLEET_LDAP_ADMIN_DN" \
  -y "$FLEET_LDAP_ADMIN_PASSWORD_FILE" <<EOF
dn: $dn
objectClass: organizationalRole
cn: smoke-$TOKEN
EOF
seen=0
for ((i = 0; i < 100; i++)); do
  ldapsearch -x -ZZ -H "ldap://$FLEET_LDAP1_IP:$FLEET_LDAP_PORT" -D "$FLEET_LDAP_BIND_DN" -y "$FLEET_LDAP_PASSWORD_FILE" \
    -s base -b "$dn" dn >/dev/null 2>&1 && { seen=1; break; }
  sleep 0.1
done
((seen)) && ok "write on ldap2 replicated to ldap1" || fail "write on ldap2 not on ldap1 after 10 s"
equal=0
for ((i = 0; i < 100; i++)); do
  a=$(csn "$FLEET_LDAP1_IP"); b=$(csn "$FLEET_LDAP2_IP")
  [[ -n $a && $a == "$b" && $a != "$before" && $(wc -w <<<"$a") -eq 2 ]] && { equal=1; break; }
  sleep 0.1
done
((equal)) && ok "contextCSN equal on both after the write ($a)" || fail "contextCSN: ldap1=[$a] ldap2=[$b] before=[$before]"

banner() { # IP PORT SECONDS: prints the first line the server sends, fails if the connect fails or nothing comes
  timeout $(($3 + 2)) bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 2; IFS= read -r -t "$3" line <&3 || exit 1; printf "%s\n" "$line"' _ "$@"
}

# ---- plaintext trust only where the proxies connect -----------------------------------------------------------------
check "mailbox1 direct: LOGINDISABLED before STARTTLS" bash -c "$(declare -f banner); banner $FLEET_MAILBOX1_IP $FLEET_IMAP_PORT 5 | grep -q LOGINDISABLED"
check "mailbox1 proxy address: plaintext login allowed from 127.0.0.1" bash -c "$(declare -f banner); banner $FLEET_MAILBOX1_PROXY_IP $FLEET_IMAP_PORT 5 | grep -q AUTH=PLAIN"
ehlo() { timeout 10 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 2; IFS= read -r -t 5 line <&3; printf "EHLO probe.test\r\n" >&3
  while IFS= read -r -t 5 line <&3; do printf "%s\n" "$line"; [[ $line == "250 "* ]] && break; done; printf "QUIT\r\n" >&3' _ "$@"; }
check "mta1 port 25-like: no XCLIENT for 127.0.0.1" bash -c "$(declare -f ehlo); ehlo $FLEET_MTA1_IP $FLEET_SMTP_PORT | grep -q '^250' && ! ehlo $FLEET_MTA1_IP $FLEET_SMTP_PORT | grep -q XCLIENT"
check "mta1 proxied port: XCLIENT for 127.0.0.1" bash -c "$(declare -f ehlo); ehlo $FLEET_MTA1_IP $FLEET_PROXIED_SMTP_PORT | grep -q XCLIENT"
check "mta1 refuses to relay elsewhere" bash -c '! timeout 20 swaks -4 --server "$1" --port "$2" --to someone@elsewhere.invalid >/dev/null 2>&1' \
  _ "$FLEET_MTA1_IP" "$FLEET_SMTP_PORT"

# ---- freeze / resume: connect succeeds but no banner while frozen ---------------------------------------------------
check "mta2 banner before freeze" bash -c "$(declare -f banner); banner $FLEET_MTA2_IP $FLEET_SMTP_PORT 5 | grep -q '^220 '"
check "fleet freeze mta2" "$FLEET" freeze mta2 --dir "$DIR"
frozen_tree() { local m p n=0; m=$(sed 's/ //g' "$FLEET_DIR/mta2/queue/pid/master.pid")
  for p in $m $(ps -e -o pid=,ppid= | awk -v m="$m" '$2 == m {print $1}'); do
    grep -q '^State:[[:space:]]*T' "/proc/$p/status" || { echo "pid $p not stopped"; return 1; }; n=$((n + 1)); done
  ((n >= 2)); }
check "every mta2 process stopped" frozen_tree
check "fleet status shows mta2 frozen" bash -c '"$1" status mta2 --dir "$2" | grep -q frozen' _ "$FLEET" "$DIR"
check "frozen mta2: connect succeeds" timeout 3 bash -c "exec 3<>/dev/tcp/$FLEET_MTA2_IP/$FLEET_SMTP_PORT"
banner "$FLEET_MTA2_IP" "$FLEET_SMTP_PORT" 2 >/dev/null 2>&1; rc=$?
((rc == 1 || rc == 124)) && ok "frozen mta2: no banner within 2 s" || fail "frozen mta2: banner check rc $rc (want 1: connected, no banner)"
check "fleet resume mta2" "$FLEET" resume mta2 --dir "$DIR"
check "resumed mta2 sends its banner" bash -c "$(declare -f banner); banner $FLEET_MTA2_IP $FLEET_SMTP_PORT 5 | grep -q '^220 '"

# ---- kill / restart: a crashed server refuses connections, and comes back -------------------------------------------
check "fleet kill proxy2" "$FLEET" kill proxy2 --dir "$DIR"
check "killed proxy2 refuses connections" bash -c "! (exec 3<>/dev/tcp/$FLEET_PROXY2_IP/$FLEET_HTTPS_PORT) 2>/dev/null"
check "fleet status proxy2 = stopped (exit 3)" bash -c '"$1" status proxy2 --dir "$2" >/dev/null; [[ $? -eq 3 ]]' _ "$FLEET" "$DIR"
check "fleet restart proxy2" "$FLEET" restart proxy2 --dir "$DIR"
check "restarted proxy2 serves https" curl -sSf --max-time 5 --cacert "$CA" "https://$FLEET_PROXY2_IP:$FLEET_HTTPS_PORT/"

# ---- stop: nothing left ---------------------------------------------------------------------------------------------
t=$SECONDS
check "fleet stop" "$FLEET" stop --dir "$DIR"
leftovers() {
  local p exe left=""
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    case $exe in /usr/lib/postfix/*|/usr/sbin/dovecot|/usr/lib/dovecot/*|/usr/sbin/nginx|/usr/sbin/slapd) ;; *) continue ;; esac
    if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$DIR" || [[ $(readlink "$p/cwd") == "$DIR"* ]]; then
      left+=" ${p#/proc/}($(tr '\0' ' ' 2>/dev/null <"$p/cmdline"))"
    fi
  done
  # the fleet's addresses: nothing listens on them any more
  local l; l=$(ss -Hltn | awk '{print $4}' | grep -E "^${SUBNET//./\\.}\.(10|20)\." || true)
  [[ -z $left && -z $l ]] || { echo "left running:$left"; echo "still listening: $l"; return 1; }
}
check "no fleet process or listener left ($((SECONDS - t)) s to stop)" leftovers
check "fleet status: all stopped" bash -c '"$1" status --dir "$2" | grep -qv stopped && exit 1; exit 0' _ "$FLEET" "$DIR"

finish
