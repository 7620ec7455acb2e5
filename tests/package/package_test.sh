#!/usr/bin/env bash
# package_test.sh -- the Debian package, built, inspected, and installed
# into a throwaway root, never on this machine:
#   1. tools/package.sh builds dist/gatewayd_VERSION_ARCH.deb (its lintian
#      report is printed; an error fails);
#   2. its file list (dpkg-deb -c) is the expected layout, the
#      configuration a conffile, the library dependencies computed;
#   3. in a debootstrap --variant=minbase bookworm root, entered with
#      chroot, /proc mounted: apt-get install ./gatewayd_*.deb; the
#      configuration passes gatewayd -t as the service's user; the user
#      and group exist; the unit is enabled; gwctl runs;
#   4. apt-get purge gatewayd, then of what it pulled in: the root is as
#      it was, not a file left, not the user;
#   5. with systemd and man-db added to that root: systemd-analyze verify
#      passes on the installed unit, systemd-analyze security --offline
#      rates it OK or better, man renders the installed pages.
#
#   package_test.sh SOURCE_DIR CACHE_DIR
#
# CACHE_DIR (under build/) keeps the debootstrapped root as a tar, made
# anew when older than 30 days, and apt's downloads, between runs. Every
# step is bounded in time; the whole test gives up after 25 minutes, and
# /proc is unmounted and the root removed on every exit path.
# Needs root and the Debian mirror ($GW_DEBIAN_MIRROR, default
# http://deb.debian.org/debian). Exit 0 passed, 1 failed, 77 skipped (not
# root, or the mirror out of reach, and CI not set).
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: package_test.sh SOURCE_DIR CACHE_DIR" >&2
	exit 1
fi
src=$(cd "$1" && pwd)
cache=$2
mirror=${GW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
deadline=$((SECONDS + 1500))
root=
failed=0
section=0

log() {
	printf '%s %s\n' "$(date +%T)" "$*"
}

fail() {
	log "FAIL: $*"
	failed=$((failed + 1))
}

# passed MESSAGE: log it when nothing failed since the last one.
passed() {
	[ $failed -ne $section ] || log "ok: $*"
	section=$failed
}

skip_or_fail() {
	if [ -n "${CI:-}" ]; then
		log "FAIL: $*"
		exit 1
	fi
	log "SKIP: $*"
	exit 77
}

# bounded SECS COMMAND...: run it for at most SECS, and never past the
# deadline; timeout kills its whole process group.
bounded() {
	local secs=$1 left=$((deadline - SECONDS))
	shift
	if [ $left -le 0 ]; then
		log "out of time before: $*"
		return 124
	fi
	[ "$secs" -le "$left" ] || secs=$left
	timeout --kill-after=10 "$secs" "$@"
}

# in_root SECS COMMAND...: a command in the root, with a clean environment.
in_root() {
	local secs=$1
	shift
	bounded "$secs" chroot "$root" /usr/bin/env -i \
	    PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
	    DEBIAN_FRONTEND=noninteractive "$@"
}

# apt SECS ARGS...: apt-get in the root's /tmp, its output in apt.log,
# shown when it fails. No pty: the root has no /dev/pts.
apt() {
	local secs=$1
	shift
	echo "# apt-get $*" >>"$cache/apt.log"
	if ! in_root "$secs" sh -c 'cd /tmp && exec apt-get "$@"' apt-get \
	    -q -y -o Dpkg::Use-Pty=0 "$@" >>"$cache/apt.log" 2>&1; then
		tail -n 30 "$cache/apt.log"
		return 1
	fi
}

cleanup() {
	local rc=$? p
	trap - EXIT INT TERM HUP
	if [ -n "$root" ] && [ -d "$root" ]; then
		# Whatever still runs in the root was started by this test.
		for p in /proc/[0-9]*; do
			if [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ]; then
				kill -9 "${p#/proc/}" 2>/dev/null || true
			fi
		done
		if mountpoint -q "$root/proc"; then
			umount "$root/proc" || umount -l "$root/proc" || true
		fi
		if mountpoint -q "$root/proc"; then
			log "FAIL: $root/proc is still mounted; $root left in place"
			rc=1
		else
			rm -rf --one-file-system "$root"
		fi
	fi
	if [ $rc -eq 0 ] && [ $failed -ne 0 ]; then
		rc=1
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if [ "$(id -u)" -ne 0 ]; then
	skip_or_fail "needs root (debootstrap, chroot, mount)"
fi
for tool in debootstrap dpkg-deb chroot mountpoint timeout curl; do
	command -v "$tool" >/dev/null 2>&1 ||
	    skip_or_fail "$tool not found (tools/setup.sh installs it)"
done
# The network is not the code's to answer for: a mirror out of reach skips,
# in CI too, loudly.
if ! bounded 30 curl -fsSI -o /dev/null "$mirror/dists/$suite/Release"; then
	log "SKIP: the Debian mirror $mirror is out of reach"
	exit 77
fi

# ---- 1. build ----
t=$SECONDS
log "building the package (tools/package.sh)"
if ! bounded 900 "$src/tools/package.sh"; then
	log "FAIL: tools/package.sh"
	exit 1
fi
version=$(sed -n 's/^project(gatewayd VERSION \([0-9.]*\).*/\1/p' \
    "$src/CMakeLists.txt")
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$src/dist/gatewayd_${version}_${arch}.deb
[ -f "$deb" ] || { log "FAIL: no $deb"; exit 1; }
log "built ${deb#"$src"/} in $((SECONDS - t)) s"

# ---- 2. contents ----
expected='./etc/gatewayd/gatewayd.conf -rw-r--r-- root/root
./lib/systemd/system/gatewayd.service -rw-r--r-- root/root
./usr/bin/gwctl -rwxr-xr-x root/root
./usr/sbin/gatewayd -rwxr-xr-x root/root
./usr/share/doc/gatewayd/README.md.gz -rw-r--r-- root/root
./usr/share/doc/gatewayd/changelog.gz -rw-r--r-- root/root
./usr/share/doc/gatewayd/copyright -rw-r--r-- root/root
./usr/share/doc/gatewayd/examples/gatewayd-alerts.yml -rw-r--r-- root/root
./usr/share/doc/gatewayd/examples/supervisord.conf -rw-r--r-- root/root
./usr/share/lintian/overrides/gatewayd -rw-r--r-- root/root
./usr/share/man/man1/gwctl.1.gz -rw-r--r-- root/root
./usr/share/man/man5/gatewayd.conf.5.gz -rw-r--r-- root/root
./usr/share/man/man8/gatewayd.8.gz -rw-r--r-- root/root'
got=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $6, $1, $2 }' |
    LC_ALL=C sort)
if [ "$got" != "$expected" ]; then
	fail "the package's files differ from the expected layout:"
	diff <(echo "$expected") <(echo "$got") || true
fi
passed "file list (dpkg-deb -c)"
if [ "$(dpkg-deb -I "$deb" conffiles)" != /etc/gatewayd/gatewayd.conf ]; then
	fail "conffiles: $(dpkg-deb -I "$deb" conffiles | tr '\n' ' ')"
fi
depends=$(dpkg-deb -f "$deb" Depends)
for dep in 'libc6 (>= ' libconfig9 'libmicrohttpd12 (>= ' adduser procps; do
	case ", $depends" in
	*", $dep"*) ;;
	*) fail "Depends lacks $dep: $depends" ;;
	esac
done
passed "conffile, Depends: $depends"

# ---- 3. a throwaway root ----
mkdir -p "$cache/archives"
tarball=$cache/$suite-minbase.tar
root=$(mktemp -d "$cache/root.XXXXXX")
chmod 755 "$root"
: >"$cache/apt.log"
t=$SECONDS
if [ -f "$tarball" ] && [ -z "$(find "$tarball" -mtime +30)" ]; then
	tar -C "$root" --numeric-owner -xf "$tarball"
	log "root: unpacked the cached $suite minbase in $((SECONDS - t)) s"
else
	log "root: debootstrap --variant=minbase $suite from $mirror"
	if ! bounded 900 debootstrap --variant=minbase "$suite" "$root" \
	    "$mirror" >"$cache/debootstrap.log" 2>&1; then
		tail -n 20 "$cache/debootstrap.log"
		log "FAIL: debootstrap (log: $cache/debootstrap.log)"
		exit 1
	fi
	log "root: debootstrap took $((SECONDS - t)) s"
	tar -C "$root" --numeric-owner -cf "$tarball.tmp" . &&
	    mv "$tarball.tmp" "$tarball"
fi
# The root directory's mode came from mktemp or the tar: the service's
# user must be able to enter it.
chmod 755 "$root"
mount -t proc proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# Nothing is started in a chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
find "$cache/archives" -maxdepth 1 -name '*.deb' \
    -exec cp {} "$root/var/cache/apt/archives/" \;
cp "$deb" "$root/tmp/"

# The paths of the root, but for those that change by themselves: logs,
# caches, apt's and dpkg's state, the account tools' backup files.
snapshot() {
	in_root 120 find / -xdev \( -path /proc -o -path /tmp -o -path /run \
	    -o -path /var/log -o -path /var/cache -o -path /var/lib/apt \
	    -o -path /var/lib/dpkg -o -path /usr/sbin/policy-rc.d \
	    -o -path /etc/passwd- -o -path /etc/group- -o -path /etc/shadow- \
	    -o -path /etc/gshadow- \) -prune -o -print | LC_ALL=C sort
}
# The installed packages, and the files that hold users and groups.
packages() {
	in_root 60 dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' |
	    awk '$1 == "ii" { print $2 }' | sort
}
accounts() {
	(cd "$root/etc" && md5sum passwd group shadow gshadow)
}
snapshot >"$root/tmp/before.txt"
packages >"$root/tmp/packages-before.txt"
accounts >"$root/tmp/accounts-before.txt"

t=$SECONDS
apt 300 update || { log "FAIL: apt-get update in the root"; exit 1; }
if ! apt 600 install "./${deb##*/}"; then
	log "FAIL: apt-get install ./${deb##*/}"
	exit 1
fi
pulled=$(packages | comm -13 "$root/tmp/packages-before.txt" - |
    grep -vx gatewayd | tr '\n' ' ')
log "installed in the root in $((SECONDS - t)) s, with: $pulled"

out=$(in_root 30 chroot --userspec=gatewayd:gatewayd / \
    /usr/sbin/gatewayd -t -c /etc/gatewayd/gatewayd.conf 2>&1) &&
    [ "${out%%$'\n'*}" = "configuration OK" ] ||
    fail "gatewayd -t -c /etc/gatewayd/gatewayd.conf as gatewayd: $out"
out=$(in_root 30 gatewayd --version 2>&1) &&
    [ "$out" = "gatewayd $version" ] || fail "gatewayd --version: $out"
IFS=: read -r _ _ uid gid _ home shell < <(in_root 30 getent passwd gatewayd) ||
    true
if [ -z "${uid:-}" ]; then
	fail "no user gatewayd"
elif [ "$uid" -ge 1000 ] || [ "$shell" != /usr/sbin/nologin ] ||
    [ "$home" != /nonexistent ]; then
	fail "user gatewayd: uid $uid, home $home, shell $shell"
fi
group=$(in_root 30 getent group gatewayd | cut -d: -f3) || true
[ -n "$group" ] && [ "$group" = "${gid:-}" ] ||
    fail "no group gatewayd, or not the user's: ${group:-none}"
link=$(readlink "$root/etc/systemd/system/multi-user.target.wants/gatewayd.service" || true)
[ "$link" = /lib/systemd/system/gatewayd.service ] ||
    fail "the unit is not enabled: ${link:-no link}"
in_root 30 dpkg-query -W -f='${Conffiles}\n' gatewayd |
    grep -q '^ /etc/gatewayd/gatewayd.conf ' ||
    fail "/etc/gatewayd/gatewayd.conf is not a conffile"
# Nothing answers on port 1: the installed gwctl says UNKNOWN (3).
rc=0
out=$(in_root 30 gwctl -s 127.0.0.1:1 2>&1) || rc=$?
[ $rc -eq 3 ] && [ "${out%%:*}" = UNKNOWN ] ||
    fail "gwctl -s 127.0.0.1:1: exit $rc: $out"
passed "installed; gatewayd -t as gatewayd (uid ${uid:-?}), unit enabled, gwctl"

# ---- 4. purge ----
t=$SECONDS
apt 300 purge gatewayd || fail "apt-get purge gatewayd"
# What gatewayd pulled in goes too, so that the root can be compared.
# shellcheck disable=SC2086
[ -z "$pulled" ] || apt 300 purge $pulled || fail "apt-get purge $pulled"
log "purged in $((SECONDS - t)) s"
snapshot >"$root/tmp/after.txt"
if ! diff "$root/tmp/before.txt" "$root/tmp/after.txt" >"$root/tmp/diff.txt"
then
	head -n 40 "$root/tmp/diff.txt"
	fail "the purge left the root changed (diff above: < gone, > new)"
fi
packages | diff "$root/tmp/packages-before.txt" - ||
    fail "the purge left the packages changed"
accounts | diff "$root/tmp/accounts-before.txt" - ||
    fail "the purge left /etc/passwd, group, shadow or gshadow changed"
left=$(in_root 60 find / -xdev \( -path /proc -o -path /tmp \) -prune -o \
    \( -name '*gatewayd*' -o -uid "${uid:-65534}" -o -gid "${gid:-65534}" \) \
    -print)
[ -z "$left" ] || fail "left after the purge: $left"
! in_root 30 getent passwd gatewayd >/dev/null ||
    fail "the user gatewayd is left"
! in_root 30 getent group gatewayd >/dev/null ||
    fail "the group gatewayd is left"
if in_root 30 dpkg-query -W -f='${Status}\n' gatewayd 2>/dev/null |
    grep -q 'install ok'; then
	fail "dpkg still knows gatewayd"
fi
passed "nothing left after apt-get purge gatewayd"

# ---- 5. the unit, checked by the root's own systemd ----
t=$SECONDS
apt 600 install --no-install-recommends systemd man-db ||
    { log "FAIL: apt-get install systemd man-db"; exit 1; }
apt 600 install "./${deb##*/}" ||
    { log "FAIL: apt-get install ./${deb##*/} again"; exit 1; }
log "systemd, man-db and gatewayd installed in $((SECONDS - t)) s"
# verify checks the commands, the dependencies and the man: pages.
if ! out=$(in_root 60 systemd-analyze verify gatewayd.service 2>&1) ||
    [ -n "$out" ]; then
	fail "systemd-analyze verify gatewayd.service: $out"
fi
passed "systemd-analyze verify gatewayd.service"
in_root 60 systemd-analyze security --offline=yes \
    /lib/systemd/system/gatewayd.service >"$root/tmp/security.txt" 2>&1 || true
score=$(grep 'Overall exposure level' "$root/tmp/security.txt" || true)
log "systemd-analyze security --offline=yes: ${score#→ }"
case $score in
*" PERFECT"* | *" SAFE"* | *" OK"*) ;;
*) cat "$root/tmp/security.txt"; fail "the unit rates worse than OK" ;;
esac
for page in gatewayd gatewayd.conf gwctl; do
	if ! out=$(in_root 60 sh -c "MANWIDTH=80 man --warnings -E UTF-8 \
	    $page 2>&1 >/dev/null") || [ -n "$out" ]; then
		fail "man $page: $out"
	fi
done
passed "man gatewayd, gatewayd.conf, gwctl render without a warning"

find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' \
    ! -name 'gatewayd_*' -exec cp -n {} "$cache/archives/" \;
if [ $failed -ne 0 ]; then
	exit 1
fi
log "PASS"
