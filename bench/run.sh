#!/bin/sh
# make bench: syncgate's benchmarks (bench/README.md).
#
#   fanout_a  ramp: 1 collection x 1,000 WebSocket subscribers      (loadgen)
#   fanout_b  ramp: 100 collections x 10,000 subscribers            (loadgen)
#             (x1.5 per step until one fails, then 2 bisection steps)
#   idle      gateway RSS per idle subscribed WebSocket, 10,000      (loadgen)
#   rest      64 keep-alive clients PUT new 1 KB documents, 5 s      (loadgen)
#   rest_redis  what Redis alone does of the same work: the write script
#             for new 1 KB documents, 64 clients      (redis-benchmark)
#   rest16    rest over 16 collections, one Redis                    (loadgen)
#   rest16_cluster  the same on a Redis Cluster of 3 masters         (loadgen)
#   fanout_b_cluster  fanout_b on a Redis Cluster of 3 masters       (loadgen)
#   hot       read-modify-write cycles on hot documents              (hot.mjs)
#   resolver  what a callback conflict resolver costs a write        (resolver.mjs)
#
# bench/selftest.mjs checks loadgen first. Each loadgen benchmark gets its
# own Redis and gateway (started here, both pinned to CPU 0; loadgen runs on
# CPU 1 when there are 2 CPUs or more), stopped by PID when it ends; the
# *_cluster ones get 3 Redis masters joined as a cluster (all on CPU 0 too:
# the same CPU as one Redis, so the figure is what cluster mode costs, not
# what more machines give). Every
# result is appended to bench/results.jsonl with the date and commit; a
# table of this run is printed at the end.
#
# Environment: BUILD (build), BENCH (the benchmarks to run, default all of
# them, e.g. BENCH="fanout_a rest").
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
BUILD=${BUILD:-build}
BENCH=${BENCH:-fanout_a fanout_b idle rest rest_redis rest16 rest16_cluster fanout_b_cluster hot resolver}

sh scripts/deps.sh test >/dev/null
${MAKE:-make} --no-print-directory -s BUILD="$BUILD" all "$BUILD/loadgen"
lg=$root/$BUILD/loadgen
gw_bin=$root/$BUILD/syncgate
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

pin_srv=""
pin_lg=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	pin_srv="taskset -c 0"
	pin_lg="taskset -c 1"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sg-bench-XXXXXX")
this_run=$tmp/results.jsonl
: >"$this_run"
redis_pid=""
redis_pids="" # every Redis process of the stack (one, or the cluster's)
gw_pid=""
stack=single

# Stops the gateway, then its Redis: exactly the processes started here.
stop_stack() {
	for p in $gw_pid $redis_pids; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	gw_pid=""
	redis_pid=""
	redis_pids=""
}
cleanup() {
	stop_stack
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port no other part of this stack has taken.
used_ports=""
fresh_port() {
	while :; do
		p=$("$lg" port)
		case " $used_ports " in
		*" $p "*) ;;
		*) used_ports="$used_ports $p"; echo "$p"; return ;;
		esac
	done
}

# redis_start NAME PORT ARGS...: a private Redis (no persistence) in
# $tmp/NAME, pinned with the gateway; waits for PING.
redis_start() {
	name=$1
	port=$2
	shift 2
	rm -rf "${tmp:?}/$name"
	mkdir -p "$tmp/$name"
	$pin_srv redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp/$name" \
		--save '' --appendonly no --maxmemory-policy noeviction \
		--daemonize no --logfile "$tmp/$name.log" "$@" &
	redis_pid=$!
	redis_pids="$redis_pids $redis_pid"
	i=0
	until redis-cli -p "$port" ping >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "bench: redis-server did not start" >&2
			cat "$tmp/$name.log" >&2
			exit 1
		fi
		sleep 0.05
	done
}

# Three masters (no replicas), joined by redis-cli --cluster create; waits
# until every node says cluster_state:ok. Sets redis_url.
cluster_start() {
	seeds=""
	ports=""
	for n in 1 2 3; do
		p=$(fresh_port)
		redis_start "redis$n" "$p" --cluster-enabled yes \
			--cluster-port "$(fresh_port)" \
			--cluster-config-file "$tmp/redis$n/nodes.conf"
		ports="$ports $p"
		seeds="$seeds${seeds:+,}127.0.0.1:$p"
	done
	# shellcheck disable=SC2086 # one word per node
	redis-cli --cluster create $(for p in $ports; do printf '127.0.0.1:%s ' "$p"; done) \
		--cluster-replicas 0 --cluster-yes >"$tmp/cluster-create.log" 2>&1 || {
		cat "$tmp/cluster-create.log" >&2
		exit 1
	}
	i=0
	for p in $ports; do
		until redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; do
			i=$((i + 1))
			if [ $i -gt 300 ]; then
				echo "bench: the cluster did not come up" >&2
				exit 1
			fi
			sleep 0.05
		done
	done
	redis_url="redis+cluster://$seeds"
}

# A private Redis (or, with stack=cluster, a cluster of 3) and a gateway on
# free ports; waits for GET /v1/ready to answer 200.
start_stack() {
	used_ports=""
	rport=$(fresh_port)
	hport=$(fresh_port)
	wport=$(fresh_port)
	if [ "$stack" = cluster ]; then
		cluster_start
	else
		redis_start redis "$rport"
		redis_url=redis://127.0.0.1:$rport
	fi
	SYNCGATE_REDIS_URL=$redis_url SYNCGATE_HTTP_PORT=$hport \
		SYNCGATE_WS_PORT=$wport SYNCGATE_AUTH_MODE=none SYNCGATE_LOG_LEVEL=warn \
		SYNCGATE_WEB_ROOT='' $pin_srv "$gw_bin" >"$tmp/gateway.log" 2>&1 &
	gw_pid=$!
	if ! "$lg" ready --http-port "$hport" --max-time 15; then
		cat "$tmp/gateway.log" >&2
		exit 1
	fi
}

# Appends one result (a JSON object) to results.jsonl and to this run's list.
record() {
	[ -n "$1" ] || return 0
	line=$(printf '{"date":"%s","commit":"%s","result":%s}' \
		"$(date -u +%FT%TZ)" "$commit" "$1")
	echo "$line" >>bench/results.jsonl
	echo "$line" >>"$this_run"
}

# loadgen_bench LABEL PIDS MODE OPTIONS...: one loadgen run on a fresh stack.
# PIDS: "gw" (the gateway's RSS, for idle) or "gw+redis" (their CPU).
loadgen_bench() {
	label=$1
	pids=$2
	shift 2
	echo "== $label" >&2
	start_stack
	set -- "$@" --label "$label" --ws-port "$wport" --http-port "$hport" --server-pid "$gw_pid"
	if [ "$pids" != gw ]; then
		for p in $redis_pids; do set -- "$@" --server-pid "$p"; done
	fi
	rc=0
	out=$($pin_lg "$lg" "$@") || rc=$?
	stop_stack
	[ $rc -eq 0 ] || echo "bench: $label: loadgen exited with $rc" >&2
	record "$out"
}

# Redis alone runs write.lua as a PUT of a new 1 KB document has it run
# (6 keys, no conflict, no idempotency key, a new id per call), with 64
# clients, one call in flight each: the ceiling the rest figure is held to.
rest_redis_bench() {
	echo "== rest_redis" >&2
	start_stack
	kill "$gw_pid" 2>/dev/null || true
	wait "$gw_pid" 2>/dev/null || true
	gw_pid=""
	sha=$(redis-cli -p "$rport" SCRIPT LOAD "$(sh pubsub/lua/embed.sh --print pubsub/lua/write.lua)")
	x=$(head -c 1000 /dev/zero | tr '\0' x)
	doc='{"collection":"bench","id":"d","deleted":false,"version":{"u":1},"actor":"u","timestamp":1764150000000,"data":{"m":"'$x'"},"offset":"'
	n=200000
	csv=$($pin_lg redis-benchmark -p "$rport" -c 64 -n $n -r 100000000 --csv \
		EVALSHA "$sha" 6 'sg:{bench}:docs' 'sg:{bench}:log' 'sg:{bench}:meta' \
		'sg:{bench}:ids' 'sg:{bench}:conflicts' 'sg:{bench}:idem:-' \
		'd__rand_int__' '-' "$doc" 'Ebench' '' 0 1000 'sg:{bench}:live' '' 1000 \
		'' '' 86400 0) || csv=""
	stored=$(redis-cli -p "$rport" HLEN 'sg:{bench}:docs')
	stop_stack
	# the last line: "<the command>","rps","avg","min","p50","p95","p99","max"
	# (the command holds commas and quotes: counted from the end)
	echo "$csv" | tail -1 | tr -d '"' | awk -F, -v n=$n -v stored="$stored" '
		NF >= 8 && $(NF - 6) + 0 > 0 { printf "{\"bench\":\"rest_redis\",\"mode\":\"rest_redis\",\"calls\":%d,\"clients\":64,\"stored\":%d,\"calls_per_s\":%.0f,\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f}}\n", n, stored, $(NF - 6), $(NF - 3), $(NF - 1) }'
}

node_bench() {
	echo "== $1" >&2
	rc=0
	out=$(cd bench && node "$1.mjs") || rc=$?
	[ $rc -eq 0 ] || echo "bench: $1.mjs exited with $rc" >&2
	record "$out"
}

# the load generator first proves itself against a stand-in server
node bench/selftest.mjs "$lg" >&2

for b in $BENCH; do
	case $b in
	fanout_a) loadgen_bench fanout_a gw+redis fanout --subs 1000 --collections 1 \
		--rate 20 --ramp 1.5 --bisect 2 --duration 3 --drain 2 --p99-max 50 \
		--max-time 120 ;;
	fanout_b) loadgen_bench fanout_b gw+redis fanout --subs 10000 --collections 100 \
		--rate 100 --ramp 1.5 --bisect 2 --duration 3 --drain 2 --p99-max 50 \
		--max-time 120 ;;
	idle) loadgen_bench idle gw idle --subs 10000 --collections 100 --settle 3 \
		--max-time 60 ;;
	rest) loadgen_bench rest gw+redis rest --clients 64 --size 1000 --duration 5 \
		--max-time 60 ;;
	rest_redis) record "$(rest_redis_bench)" ;;
	rest16) loadgen_bench rest16 gw+redis rest --clients 64 --size 1000 \
		--collections 16 --duration 5 --max-time 60 ;;
	rest16_cluster) stack=cluster
		loadgen_bench rest16_cluster gw+redis rest --clients 64 --size 1000 \
			--collections 16 --duration 5 --max-time 60
		stack=single ;;
	fanout_b_cluster) stack=cluster
		loadgen_bench fanout_b_cluster gw+redis fanout --subs 10000 \
			--collections 100 --rate 100 --ramp 1.5 --bisect 2 --duration 3 \
			--drain 2 --p99-max 50 --max-time 120
		stack=single ;;
	hot | resolver) node_bench "$b" ;;
	*) echo "bench: unknown benchmark $b" >&2; exit 2 ;;
	esac
done

echo
node bench/table.mjs "$this_run"
