// table.mjs FILE - prints the results of one `make bench` run (the lines
// bench/run.sh wrote to FILE: {"date","commit","result"}) as one table.
// Columns: the benchmark, its key figure, latency p50/p99 (ms), server CPU
// per operation (gateway + Redis, µs per delivery or per write), gateway
// memory per connection (KB), and what was checked or went wrong.
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
const rows = [];
const int = (v) => (v === null || v === undefined ? '-' : Math.round(v).toLocaleString('en-US'));
const ms = (v) => (v === null || v === undefined ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const us = (v) => (v === null || v === undefined ? '-' : v.toFixed(1));
const row = (bench, figure, p50, p99, cpu, kb, notes) => rows.push([bench, figure, p50, p99, cpu, kb, notes]);

function fanout(r) {
  if (r.error) return row(r.bench, `error: ${r.error}`, '-', '-', '-', '-', '');
  const best = r.best && r.steps[r.best.step];
  const fail = r.lowest_fail;
  const shape = `${r.collections}x${int(r.subs)}`;
  const notes = [];
  if (r.subs_ready !== r.subs) notes.push(`${r.subs - r.subs_ready} subs failed`);
  if (best) {
    notes.push(`${best.lost} lost, ${best.duplicates} dup, ${best.out_of_order} reordered`);
    // a loadgen near a full CPU may have been the limit, not the gateway
    const pc = (v) => `${Math.round(v * 100)}%`;
    notes.push(`CPU server ${pc(best.server_cpu_util)}, loadgen ${pc(best.loadgen_cpu_util)}${best.loadgen_cpu_util >= 0.85 ? ' (loadgen-bound?)' : ''}`);
  }
  notes.push(fail ? `${int(fail.rate)} msg/s failed: ${fail.fail}` : 'no step failed');
  if (!best) {
    const s = r.steps[0];
    return row(r.bench, `${shape}: no step passed`, ms(s.latency_ms.p50), ms(s.latency_ms.p99),
      us(s.server_cpu_us_per_delivery), '-', notes.join('; '));
  }
  row(r.bench, `${int(best.deliveries_per_s)} deliveries/s (${shape}, ${int(best.rate)} msg/s)`,
    ms(best.latency_ms.p50), ms(best.latency_ms.p99), us(best.server_cpu_us_per_delivery), '-', notes.join('; '));
}

function idle(r) {
  row(r.bench, `${int(r.ready)} subscribed WebSockets (${r.collections} coll)`, '-', '-', '-',
    r.kb_per_connection.toFixed(2),
    `RSS ${int(r.rss_before_kb)} -> ${int(r.rss_after_kb)} KB, ${r.failed} failed`);
}

function rest(r) {
  if (r.error) return row(r.bench, `error: ${r.error}`, '-', '-', '-', '-', '');
  const st = Object.entries(r.statuses).map(([k, v]) => `${int(v)} x ${k}`).join(', ');
  row(r.bench, `${int(r.writes_per_s)} writes/s (${r.clients} clients, ${r.body_bytes} B docs)`,
    ms(r.latency_ms.p50), ms(r.latency_ms.p99), us(r.server_cpu_us_per_write), '-',
    `${st || 'no answer'}${r.errors ? `; ${r.errors} errors` : ''}`);
}

let restRate = null;
function restRedis(r) {
  const ratio = restRate ? ` (rest is ${(restRate / r.calls_per_s).toFixed(2)}x this)` : '';
  row(r.bench, `${int(r.calls_per_s)} write.lua calls/s (${r.clients} clients), Redis alone`,
    ms(r.latency_ms.p50), ms(r.latency_ms.p99), '-', '-', `${int(r.stored)} documents stored${ratio}`);
}

function hot(r) {
  for (const c of r.cases) {
    row(`hot ${c.writers}w ${c.docs}d ${c.gateways}gw`, `${int(c.writes_per_s)} writes/s, ${int(c.applied_per_s)} applied`,
      ms(c.p50_ms), ms(c.p99_ms), '-', '-', `${c.n503} x 503`);
  }
}

function resolver(r) {
  const s = (x) => [ms(x.p50_ms), ms(x.p99_ms)];
  row('resolver lww', `conflicting writes (${r.concurrency} writers), lww`, ...s(r.conflict_lww), '-', '-', '');
  row('resolver callback', `the same, resolver answering in ${r.resolver_answer_ms} ms`, ...s(r.conflict_callback), '-', '-',
    `+${ms(r.p50_added_by_resolver_ms)} ms p50, +${ms(r.p99_added_by_resolver_ms)} ms p99`);
  row('resolver plain', 'plain writes', ...s(r.plain_writes), '-', '-', '');
  row('resolver hanging', `plain writes, ${r.plain_writes_while_hanging.hanging_calls} resolver calls hanging`,
    ...s(r.plain_writes_while_hanging), '-', '-', '');
}

let commit = '';
for (const l of lines) {
  const { commit: c, result: r } = JSON.parse(l);
  commit = c;
  if (r.mode === 'fanout') fanout(r);
  else if (r.mode === 'idle') idle(r);
  else if (r.mode === 'rest') { rest(r); if (!r.error) restRate = r.writes_per_s; }
  else if (r.mode === 'rest_redis') restRedis(r);
  else if (r.bench === 'hot') hot(r);
  else if (r.bench === 'resolver') resolver(r);
  else row(r.bench || '?', JSON.stringify(r).slice(0, 60), '-', '-', '-', '-', '');
}

const head = ['benchmark', 'key figure', 'p50 ms', 'p99 ms', 'CPU µs/op', 'KB/conn', 'checks'];
const all = [head, ...rows];
const w = head.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
const right = new Set([2, 3, 4, 5]);
const fmt = (r) => r.map((v, i) => (right.has(i) ? String(v).padStart(w[i]) : String(v).padEnd(w[i]))).join('  ').trimEnd();
console.log(`syncgate benchmarks, commit ${commit} (${lines.length} results appended to bench/results.jsonl)`);
console.log('fan-out: best passing step, latency from the scheduled send; CPU: gateway + Redis per delivery or per write');
console.log(fmt(head));
console.log(w.map((n) => '-'.repeat(n)).join('  '));
for (const r of rows) console.log(fmt(r));
