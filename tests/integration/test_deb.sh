#!/usr/bin/env bash
# The Debian package: scripts/package makes it from the binaries already in TIERWATCH_BUILD_DIR,
# `dpkg -i` installs it on this machine, every file lands where Debian expects it, the maintainer
# scripts create the user and state directory without starting the service, the man pages render,
# the installed tierwatchd accepts the installed default configuration with no network, the
# installed unit passes `systemd-analyze verify`, and `dpkg -r` / `--purge` leave nothing behind.
# Needs root (the suite runs as root). Package installs are serialised across checkouts by a lock.
# TIERWATCH_DEB=path tests that package instead of building one.
set -euo pipefail
src=${TIERWATCH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TIERWATCH_BUILD_DIR:-$src/build}

if [[ $(id -u) -ne 0 ]]; then
  echo "test_deb: dpkg -i needs root; run it through scripts/test" >&2
  exit 1
fi

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect() {  # expect DESCRIPTION COMMAND...: the command succeeds
  local what=$1; shift
  "$@" >/dev/null 2>&1 || fail "$what"
}

work=$(mktemp -d /tmp/tierwatch-deb.XXXXXX)
installed_by_us=0
user_existed=0
getent passwd tierwatch >/dev/null && user_existed=1

cleanup() {
  if [[ $installed_by_us -eq 1 ]] && dpkg-query -W -f='${Status}' tierwatch 2>/dev/null | grep -q ' installed$\|config-files'; then
    dpkg --purge tierwatch >"$work/purge-on-exit.log" 2>&1 || cat "$work/purge-on-exit.log" >&2
  fi
  if [[ $installed_by_us -eq 1 && $user_existed -eq 0 ]] && getent passwd tierwatch >/dev/null; then
    userdel tierwatch 2>/dev/null || true
    if getent group tierwatch >/dev/null; then groupdel tierwatch 2>/dev/null || true; fi
  fi
  if [[ $installed_by_us -eq 1 ]] && ! dpkg-query -W -f='${Status}' tierwatch 2>/dev/null | grep -q 'installed\|config-files'; then
    rm -f "$marker"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# One installer at a time on this machine: other checkouts may run this test in parallel.
exec 9>/run/lock/tierwatch-test-deb.lock
flock -w 600 9 || { echo "test_deb: another package test holds /run/lock/tierwatch-test-deb.lock" >&2; exit 1; }

# While the package this test installed is on the machine, this file says so: a run killed before
# its cleanup (SIGKILL, a machine stopped mid-test) leaves both behind, and the next run removes
# that package instead of refusing forever. A package an operator installed has no such file.
marker=/var/lib/tierwatch-test-deb.installed
if dpkg-query -W -f='${Status}' tierwatch 2>/dev/null | grep -q 'installed\|config-files'; then
  if [[ ! -e $marker ]]; then
    echo "test_deb: a tierwatch package is installed on this machine already (not by this test); not replacing it" >&2
    exit 1
  fi
  echo "test_deb: purging the package that a killed run of this test left installed ($(cat "$marker"))"
  dpkg --purge tierwatch >"$work/purge-leftover.log" 2>&1 || { cat "$work/purge-leftover.log" >&2; exit 1; }
  if [[ $(cut -d' ' -f2 "$marker") == created-user ]] && getent passwd tierwatch >/dev/null; then
    userdel tierwatch 2>/dev/null || true
    if getent group tierwatch >/dev/null; then groupdel tierwatch 2>/dev/null || true; fi
    user_existed=0
  fi
fi
rm -f "$marker"

if [[ -n ${TIERWATCH_DEB:-} ]]; then
  deb=$TIERWATCH_DEB  # a package built already (release checks)
else
  deb=$(BUILD_DIR="$build" "$src/scripts/package" --no-build --out "$work") || { echo "test_deb: scripts/package failed" >&2; exit 1; }
fi
echo "testing $deb"

# --- The package itself: dependencies from the shared libraries, root-owned files, conffiles.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for library in libc6 libssl3 libspdlog libc-ares2 libtomlplusplus systemd; do
  [[ $depends == *"$library"* ]] || fail "Depends lacks $library (dpkg-shlibdeps): $depends"
done
dpkg-deb -c "$deb" | awk '$2 != "root/root" { print }' >"$work/not-root.txt"
[[ ! -s $work/not-root.txt ]] || fail "files not owned by root/root: $(cat "$work/not-root.txt")"
dpkg-deb --ctrl-tarfile "$deb" | tar -t >"$work/control.txt"
for script in postinst prerm postrm conffiles; do
  grep -qx "./$script" "$work/control.txt" || fail "control archive lacks $script"
done

# Slim images tell dpkg to drop man pages; then the man checks below could only fail, so say why.
if excluded=$(grep -ls '^path-exclude[= ]*/usr/share/man' /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/* 2>/dev/null); then
  echo "test_deb: dpkg excludes /usr/share/man on this machine ($excluded): man pages cannot be installed" >&2
  exit 1
fi

echo "$(date -u +%FT%TZ) $([[ $user_existed -eq 1 ]] && echo kept-user || echo created-user)" >"$marker"
installed_by_us=1
dpkg -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; exit 1; }

# --- Files where Debian expects them.
for path in /usr/sbin/tierwatchd /usr/bin/tierwatch; do
  [[ -x $path ]] || fail "$path missing or not executable"
done
for path in /lib/systemd/system/tierwatchd.service /usr/lib/sysusers.d/tierwatch.conf \
  /usr/lib/tmpfiles.d/tierwatch.conf /etc/tierwatch/tierwatch.toml \
  /usr/share/man/man8/tierwatchd.8.gz /usr/share/man/man1/tierwatch.1.gz; do
  [[ -f $path ]] || fail "$path missing"
  dpkg -S "$path" 2>/dev/null | grep -q '^tierwatch:' || fail "$path does not belong to the package"
done
cmp -s /etc/tierwatch/tierwatch.toml "$src/config/examples/default.toml" ||
  fail "/etc/tierwatch/tierwatch.toml is not config/examples/default.toml"
dpkg-query -W -f='${Conffiles}\n' tierwatch | grep -q '^ /etc/tierwatch/tierwatch.toml ' ||
  fail "/etc/tierwatch/tierwatch.toml is not a conffile"
[[ $(stat -c '%a %U' /etc/tierwatch/credentials 2>/dev/null) == "700 root" ]] ||
  fail "/etc/tierwatch/credentials is $(stat -c '%a %U' /etc/tierwatch/credentials 2>&1), want 700 root"

# --- postinst: the system user and the state directory; the service neither enabled nor running.
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd tierwatch) || fail "no tierwatch user after install"
[[ ${uid:-0} -gt 0 && ${uid:-0} -lt 1000 ]] || fail "tierwatch's uid ${uid:-none} is not a system uid"
[[ ${home:-} == /var/lib/tierwatch ]] || fail "tierwatch's home is ${home:-none}"
[[ ${shell:-} == */nologin ]] || fail "tierwatch's shell is ${shell:-none}"
[[ $(stat -c '%a %U %G' /var/lib/tierwatch 2>/dev/null) == "750 tierwatch tierwatch" ]] ||
  fail "/var/lib/tierwatch is $(stat -c '%a %U %G' /var/lib/tierwatch 2>&1), want 750 tierwatch tierwatch"
[[ ! -e /etc/systemd/system/multi-user.target.wants/tierwatchd.service ]] || fail "the service was enabled on install"
for exe in /proc/[0-9]*/exe; do
  if [[ $(readlink "$exe" 2>/dev/null) == /usr/sbin/tierwatchd ]]; then
    fail "an installed tierwatchd runs (${exe%/exe}): the package must not start the service"
  fi
done

# --- The man pages: found by man, rendered, and without groff warnings.
[[ $(man -w 8 tierwatchd 2>/dev/null) == /usr/share/man/man8/tierwatchd.8.gz ]] || fail "man -w 8 tierwatchd: $(man -w 8 tierwatchd 2>&1)"
[[ $(man -w 1 tierwatch 2>/dev/null) == /usr/share/man/man1/tierwatch.1.gz ]] || fail "man -w 1 tierwatch: $(man -w 1 tierwatch 2>&1)"
for page in /usr/share/man/man8/tierwatchd.8.gz /usr/share/man/man1/tierwatch.1.gz; do
  name=$(basename "$page" | cut -d. -f1)
  rendered=$(MANWIDTH=80 man -l "$page" 2>"$work/man.err" | col -b)
  [[ $rendered == *NAME*"$name "*SYNOPSIS*"EXIT STATUS"* ]] || fail "man -l $page renders no NAME/SYNOPSIS/EXIT STATUS"
  [[ ! $rendered =~ @[A-Z_]+@ ]] || fail "man -l $page still has an unsubstituted @VARIABLE@"
  zcat "$page" | groff -man -Tutf8 -ww -z 2>"$work/groff.err" || fail "groff failed on $page"
  [[ ! -s $work/groff.err ]] || fail "groff warnings on $page: $(cat "$work/groff.err")"
done

# --- The installed binary accepts the installed default configuration, with no network at all,
# as root and as the service user.
if unshare -n /usr/sbin/tierwatchd --config /etc/tierwatch/tierwatch.toml --check-config >"$work/check.out" 2>&1; then
  grep -q '^targets: 1 ' "$work/check.out" || fail "--check-config summary names no target: $(cat "$work/check.out")"
else
  fail "installed tierwatchd --check-config on the default configuration: $(cat "$work/check.out")"
fi
expect "tierwatchd --check-config as the tierwatch user" \
  unshare -n setpriv --reuid=tierwatch --regid=tierwatch --clear-groups \
  /usr/sbin/tierwatchd --config /etc/tierwatch/tierwatch.toml --check-config
expect "tierwatch validate on the default configuration" /usr/bin/tierwatch validate /etc/tierwatch/tierwatch.toml
[[ $(/usr/sbin/tierwatchd --version) == "tierwatchd $(dpkg-query -W -f='${Version}' tierwatch)" ]] ||
  fail "tierwatchd --version $(/usr/sbin/tierwatchd --version) is not the package version"

# --- The installed unit: verify (Documentation=man:tierwatchd(8) is checked too) and exposure.
systemd-analyze verify /lib/systemd/system/tierwatchd.service >"$work/verify.out" 2>&1 || fail "systemd-analyze verify: $(cat "$work/verify.out")"
if grep 'tierwatchd' "$work/verify.out" >/dev/null; then
  fail "systemd-analyze verify complains: $(grep tierwatchd "$work/verify.out")"
fi
exposure=$(systemd-analyze security --offline=true /lib/systemd/system/tierwatchd.service 2>/dev/null |
  sed -n 's/.*Overall exposure level for tierwatchd.service: \([0-9.]*\).*/\1/p')
awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 2.0) }' || fail "installed unit's exposure ${exposure:-unknown} above 2.0"

# --- Installing again (an upgrade's path through the maintainer scripts) keeps the operator's edit.
echo "# edited by the operator" >>/etc/tierwatch/tierwatch.toml
dpkg -i "$deb" >"$work/reinstall.log" 2>&1 || { cat "$work/reinstall.log" >&2; fail "dpkg -i over the installed package"; }
grep -q 'edited by the operator' /etc/tierwatch/tierwatch.toml || fail "reinstalling replaced the edited conffile"

# --- Removal keeps the configuration (a conffile), purge removes it and the state.
dpkg -r tierwatch >"$work/remove.log" 2>&1 || { cat "$work/remove.log" >&2; fail "dpkg -r"; }
[[ ! -e /usr/sbin/tierwatchd && ! -e /lib/systemd/system/tierwatchd.service ]] || fail "dpkg -r left the binary or unit"
grep -q 'edited by the operator' /etc/tierwatch/tierwatch.toml 2>/dev/null || fail "dpkg -r did not keep the edited conffile"
dpkg --purge tierwatch >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "dpkg --purge"; }
for path in /etc/tierwatch /var/lib/tierwatch /usr/lib/sysusers.d/tierwatch.conf; do
  [[ ! -e $path ]] || fail "$path left after purge"
done

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "1 passed, 0 failed"
