#!/bin/sh
# run-dev.sh [--reset] - what `make run` (and, with --reset, `make
# run-reset`) does after building. State lives in the dev folder
# (SYNCGATE_DEV_DIR, default build/dev), so that a restart keeps it:
#   redis/         a private redis-server's data (AOF everysec, noeviction),
#                  unless SYNCGATE_REDIS_URL names another Redis
#   token-secret   the HS256 secret (mode 0600), unless SYNCGATE_JWT_SECRET
#                  is set: tokens from an earlier run stay valid
#   token          a 24-hour token for "dev", for curl
# --reset wipes the folder first: an empty store and a new secret.
# Unless SYNCGATE_CONFIG is set, the example cart resolver
# (examples/cart-resolver) and a config that gives the "carts" collection
# the callback conflict policy; then the gateway (SYNCGATE_BIN, default
# build/syncgate) on SYNCGATE_HTTP_PORT/SYNCGATE_WS_PORT (8080/8081) with
# --dev (POST /v1/dev/token mints tokens: the demo page gets its own
# there). Redis takes the first free port from SYNCGATE_DEV_REDIS_PORT
# (6390), the resolver from SYNCGATE_DEV_RESOLVER_PORT (9000). With
# SYNCGATE_AUTH_MODE=none there is no token and the token file is left as
# it is. Ctrl-C (or SIGTERM to the script) stops all.
set -eu
cd "$(dirname "$0")/.."
dev=${SYNCGATE_DEV_DIR:-build/dev}
bin=${SYNCGATE_BIN:-build/syncgate}
if [ "${1:-}" = --reset ]; then
	rm -rf "$dev"
	echo "syncgate dev: $dev wiped (empty store, new token secret)"
elif [ -n "${1:-}" ]; then
	echo "usage: $0 [--reset]" >&2
	exit 2
fi
mkdir -p "$dev"
redis_pid=""
resolver_pid=""

cleanup() {
	trap - INT TERM EXIT
	[ -n "${gw_pid:-}" ] && kill -TERM "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null || true
	[ -n "$resolver_pid" ] && kill -TERM "$resolver_pid" 2>/dev/null && wait "$resolver_pid" 2>/dev/null || true
	# SIGTERM: redis-server writes and syncs its AOF before it exits
	[ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
	echo "syncgate dev: stopped (state kept in $dev; make run-reset starts clean)"
}
trap cleanup INT TERM EXIT

if [ -z "${SYNCGATE_REDIS_URL:-}" ]; then
	port=${SYNCGATE_DEV_REDIS_PORT:-6390}
	while redis-cli -p "$port" ping >/dev/null 2>&1 || ss -ltn 2>/dev/null | grep -q ":$port "; do
		port=$((port + 1))
	done
	data=$(cd "$dev" && pwd)/redis
	mkdir -p "$data"
	redis-server --bind 127.0.0.1 --port "$port" --dir "$data" --appendonly yes \
		--appendfsync everysec --save '' --maxmemory-policy noeviction \
		--logfile "$data/redis.log" --daemonize no &
	redis_pid=$!
	i=0
	until redis-cli -p "$port" ping >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "redis did not start"; exit 1; }
		sleep 0.05
	done
	SYNCGATE_REDIS_URL=redis://127.0.0.1:$port
	echo "syncgate dev: private redis-server on 127.0.0.1:$port (data kept in $data, AOF everysec)"
fi
export SYNCGATE_REDIS_URL

carts=""
if [ -z "${SYNCGATE_CONFIG:-}" ]; then
	rport=${SYNCGATE_DEV_RESOLVER_PORT:-9000}
	while ss -ltn 2>/dev/null | grep -q ":$rport "; do
		rport=$((rport + 1))
	done
	SYNCGATE_RESOLVER_SECRET=${SYNCGATE_RESOLVER_SECRET:-$(openssl rand -hex 32)}
	export SYNCGATE_RESOLVER_SECRET
	PORT=$rport node examples/cart-resolver/server.mjs > "$dev/cart-resolver.log" 2>&1 &
	resolver_pid=$!
	i=0
	until grep -q "listening on" "$dev/cart-resolver.log" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 200 ] && { echo "the cart resolver did not start:"; cat "$dev/cart-resolver.log"; exit 1; }
		sleep 0.05
	done
	cat > "$dev/config.json" <<JSON
{"collections": [{"match": "carts", "conflict": "callback", "fallback": "lww",
  "resolver_url": "http://127.0.0.1:$rport/resolve", "resolver_timeout_ms": 2000}]}
JSON
	SYNCGATE_CONFIG=$dev/config.json
	export SYNCGATE_CONFIG
	carts="    conflicts   : collection \"carts\" is settled by examples/cart-resolver
                  on 127.0.0.1:$rport (log: $dev/cart-resolver.log); see docs/conflicts.md
"
fi

export SYNCGATE_HTTP_PORT=${SYNCGATE_HTTP_PORT:-8080}
export SYNCGATE_WS_PORT=${SYNCGATE_WS_PORT:-8081}
export SYNCGATE_AUTH_MODE=${SYNCGATE_AUTH_MODE:-jwt}
export SYNCGATE_NODE_ID=${SYNCGATE_NODE_ID:-dev}
export SYNCGATE_WEB_ROOT=${SYNCGATE_WEB_ROOT:-web}
http="http://127.0.0.1:$SYNCGATE_HTTP_PORT"
ws="ws://127.0.0.1:$SYNCGATE_WS_PORT/v1/ws"

if [ "$SYNCGATE_AUTH_MODE" = none ]; then
	cat <<MSG

  ************************************************************
  *  AUTH IS OFF (SYNCGATE_AUTH_MODE=none): anyone can read  *
  *  and write every collection. Never expose this setup.    *
  ************************************************************
MSG
	demo="$http/  (no token needed: auth is off)"
	token_line="    token       : none (auth is off; $dev/token left as it is)"
	try_token=""
	try_auth=""
	secret_line=""
else
	if [ -z "${SYNCGATE_JWT_SECRET:-}" ]; then
		# kept, so that tokens (and open pages) outlive a restart
		if [ ! -s "$dev/token-secret" ]; then
			(umask 077 && openssl rand -hex 32 > "$dev/token-secret.new")
			mv "$dev/token-secret.new" "$dev/token-secret"
		fi
		chmod 600 "$dev/token-secret"
		SYNCGATE_JWT_SECRET=$(cat "$dev/token-secret")
		secret_line="    secret      : $dev/token-secret (kept across restarts; make run-reset makes a new one)
"
	else
		secret_line="    secret      : SYNCGATE_JWT_SECRET from the environment
"
	fi
	export SYNCGATE_JWT_SECRET
	(umask 077 && "$bin" --make-token dev > "$dev/token.new")
	chmod 600 "$dev/token.new"
	mv "$dev/token.new" "$dev/token"
	demo="$http/  (the page gets its token from the dev endpoint)"
	token_line="    token (24 h): written to $dev/token  (subject \"dev\", may read and write everything)"
	try_token="    export TOKEN=\$(cat $dev/token)
"
	try_auth=" -H \"Authorization: Bearer \$TOKEN\""
fi

cat <<MSG

  syncgate is starting (dev mode)
    REST + demo : $http/
    WebSocket   : $ws
$token_line
$secret_line    demo page   : $demo
    dev tokens  : POST $http/v1/dev/token is on (--dev, loopback only):
                  curl -s -X POST $http/v1/dev/token -d '{"sub":"alice","ttl_s":600}'
$carts
  try it (another terminal, in this folder):
$try_token    node scripts/ws-tail.mjs todos &
    curl -s -X PUT $http/v1/collections/todos/docs/a1$try_auth -d '{"data":{"title":"milk"}}'

  Ctrl-C stops the gateway and the private Redis; the documents and the
  token secret stay in $dev for the next make run (make run-reset wipes them).

MSG
"$bin" --dev &
gw_pid=$!
wait "$gw_pid" || true
gw_pid=""
