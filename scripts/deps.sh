#!/bin/sh
# deps.sh run|test - installs what `make run` or `make test` needs and is
# missing: Debian packages (apt-get), and for tests the npm packages of
# tests/package-lock.json (npm ci; Debian's chromium serves the browser
# tests; Debian's prometheus gives promtool and a real Prometheus to the
# monitoring suite). Safe to run again: it only installs what is absent.
set -eu
what=${1:-run}

build_pkgs="gcc make pkg-config libwebsockets-dev libwebsockets-evlib-uv
libmicrohttpd-dev libhiredis-dev libjansson-dev libuv1-dev libssl-dev
libcurl4-openssl-dev"
run_pkgs="redis-server redis-tools openssl"
test_pkgs="libcmocka-dev clang-14 libclang-rt-14-dev haproxy docker-compose valgrind
slowhttptest prometheus
chromium"

want="$build_pkgs $run_pkgs"
[ "$what" = test ] && want="$want $test_pkgs"
command -v node >/dev/null 2>&1 || want="$want nodejs npm"

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi

# The Debian redis-server package may start a system instance; we never use
# it (tests and make run start their own on free ports).

if [ "$what" = test ]; then
	cd "$(dirname "$0")/../tests"
	if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
		echo "deps: npm ci in tests/"
		# playwright-core drives Debian's chromium (above); it never fetches a browser
		PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	fi
	# the Node example (examples/node-client) is run by the tests as a user runs it
	cd ../examples/node-client
	if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
		echo "deps: npm ci in examples/node-client/"
		npm ci --no-audit --no-fund --loglevel=error
	fi
fi
