#!/bin/sh
# make bench: the figures the issues ask for, printed as JSON lines and
# appended to bench/results.jsonl with the date and commit.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh test >/dev/null
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
for b in burst idle hot resolver; do
	out=$(cd bench && node $b.mjs)
	echo "$out"
	printf '{"date":"%s","commit":"%s","result":%s}\n' "$(date -u +%FT%TZ)" "$commit" "$out" >> bench/results.jsonl
done
