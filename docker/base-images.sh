#!/bin/sh
# base-images.sh - make sure the images docker/Dockerfile and compose.yml
# start from exist: debian:bookworm, debian:bookworm-slim, redis:7.0 and
# haproxy:2.6. An image already present is left alone. A missing one is
# pulled; only when no registry answers is it made here from Debian's
# packages: debootstrap for the Debian bases, then redis-server and haproxy
# from Debian on top of the slim base. So the same compose file works where
# Docker Hub is reachable and where only a Debian mirror is.
#
#   sh docker/base-images.sh            # as root (debootstrap needs it)
#   DOCKER=/usr/bin/docker MIRROR=http://deb.debian.org/debian sh docker/base-images.sh
set -eu
cd "$(dirname "$0")"

DOCKER=${DOCKER:-docker}
SUITE=bookworm
PULL_TIMEOUT=${PULL_TIMEOUT:-20}

say() { printf 'base-images: %s\n' "$*"; }
have() { $DOCKER image inspect "$1" >/dev/null 2>&1; }
try_pull() {
	if [ "${SYNCGATE_NO_PULL:-0}" = 1 ]; then return 1; fi
	timeout "$PULL_TIMEOUT" $DOCKER pull -q "$1" >/dev/null 2>&1
}

# The first Debian mirror apt is configured with (deb822 .sources or a
# one-line sources.list), else deb.debian.org.
apt_uri() { # $1: suite to look for, e.g. bookworm or bookworm-security
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$1" '
			/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
			/^$/ { if (ok && u != "") { print u; exit } u = ""; ok = 0 }
			END { if (ok && u != "") print u }' "$f" | head -n 1
	done | head -n 1
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v s="$1" '$1 == "deb" && $3 == s && $2 !~ /^\[/ { print $2; exit }' "$f"
	done | head -n 1
}
MIRROR=${MIRROR:-$(apt_uri $SUITE)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${SECURITY_MIRROR:-$(apt_uri $SUITE-security)}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}

make_debian() {
	if ! command -v debootstrap >/dev/null 2>&1; then
		say "debootstrap is missing: apt-get install debootstrap (as root)"
		exit 1
	fi
	if [ "$(id -u)" != 0 ]; then
		say "making debian:$SUITE with debootstrap needs root"
		exit 1
	fi
	root=$(mktemp -d /tmp/syncgate-rootfs.XXXXXX)
	trap 'rm -rf "$root"' EXIT INT TERM
	say "debootstrap --variant=minbase $SUITE from $MIRROR (a few minutes)"
	debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 || {
		tail -20 "$root.log"; say "debootstrap failed"; exit 1; }
	rm -f "$root.log"
	# the same sources as Debian's own images: release, updates, security
	rm -f "$root/etc/apt/sources.list"
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	# no recommends, no apt caches, in every image built on these
	printf 'APT::Install-Recommends "false";\n' >"$root/etc/apt/apt.conf.d/90syncgate-norecommends"
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
	tar -C "$root" -c . | $DOCKER import -c 'CMD ["bash"]' - "debian:$SUITE" >/dev/null
	# slim: without documentation, manuals and locales, and dpkg told to
	# leave them out of later installs too (what Debian's -slim images do)
	cat >"$root/etc/dpkg/dpkg.cfg.d/90syncgate-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
	find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
	rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
	tar -C "$root" -c . | $DOCKER import -c 'CMD ["bash"]' - "debian:$SUITE-slim" >/dev/null
	rm -rf "$root"
	trap - EXIT INT TERM
	say "made debian:$SUITE and debian:$SUITE-slim"
}

need_debian=0
for img in debian:$SUITE debian:$SUITE-slim; do
	if have "$img"; then say "$img present"
	elif try_pull "$img"; then say "$img pulled"
	else need_debian=1
	fi
done
if [ $need_debian = 1 ]; then make_debian; fi

# redis:7.0 and haproxy:2.6 as Debian packages them (bookworm has 7.0 and
# 2.6), laid out like the official images: redis in /data as user redis;
# haproxy reading /usr/local/etc/haproxy/haproxy.cfg as user haproxy.
local_image() { # $1 image, $2 Dockerfile
	if have "$1"; then say "$1 present"; return; fi
	if try_pull "$1"; then say "$1 pulled"; return; fi
	say "no registry answers: building $1 from Debian's package"
	$DOCKER build -q -t "$1" -f "$2" . >/dev/null
	say "built $1"
}
local_image redis:7.0 base/redis.Dockerfile
local_image haproxy:2.6 base/haproxy.Dockerfile
