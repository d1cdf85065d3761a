// cluster.mjs - a real Redis Cluster for the tests: six redis-server
// processes on free ports of 127.0.0.1 (each in its own temp dir, cluster
// mode, noeviction), joined by `redis-cli --cluster create` as three
// masters with one replica each; waited for until every node says
// cluster_state:ok. Nodes are stopped by the PIDs this module started.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './harness.mjs';

function run(cmd, args, { timeout = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export class ClusterNode {
  constructor(port, dir, args) {
    this.port = port;
    this.dir = dir;
    this.args = args;
    this.proc = null;
  }

  spawn() {
    this.proc = spawn('redis-server', this.args, { stdio: 'ignore' });
    this.exit = new Promise((resolve) => this.proc.once('exit', resolve));
  }

  get alive() {
    return this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** One command through redis-cli (raw output, trimmed). */
  cli(...args) {
    return run('redis-cli', ['-p', String(this.port), '--raw', ...args.map(String)], { timeout: 5000 })
      .then((s) => s.replace(/\n$/, ''));
  }

  async info(section) {
    const out = await this.cli('INFO', section);
    const m = {};
    for (const l of out.split(/\r?\n/)) {
      const i = l.indexOf(':');
      if (i > 0) m[l.slice(0, i)] = l.slice(i + 1).trim();
    }
    return m;
  }

  /** SIGKILL by PID and wait for the exit. */
  async kill() {
    if (!this.alive) return;
    this.proc.kill('SIGKILL');
    await this.exit;
  }
}

export class Cluster {
  /**
   * Starts 2*masters nodes and creates the cluster (replicas 1).
   * nodeTimeout: cluster-node-timeout in ms (short: failovers are quick).
   */
  static async start({ masters = 3, nodeTimeout = 1000 } = {}) {
    const c = new Cluster();
    c.nodes = [];
    for (let i = 0; i < masters * 2; i++) {
      const port = await freePort();
      // the bus port picked too (by default port + 10000, which nobody
      // reserved and another test may hold)
      const busPort = await freePort();
      const dir = mkdtempSync(path.join(tmpdir(), 'sg-cluster-'));
      const n = new ClusterNode(port, dir, [
        '--bind', '127.0.0.1', '--port', String(port), '--dir', dir,
        '--cluster-enabled', 'yes', '--cluster-port', String(busPort),
        '--cluster-config-file', path.join(dir, 'nodes.conf'),
        '--cluster-node-timeout', String(nodeTimeout),
        // a replica fails over however long its link was down (the tests
        // kill masters on purpose; a short node timeout shrinks the window)
        '--cluster-replica-validity-factor', '0',
        '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
        '--maxmemory-policy', 'noeviction', '--daemonize', 'no',
        '--protected-mode', 'no', '--logfile', path.join(dir, 'redis.log'),
      ]);
      n.spawn();
      c.nodes.push(n);
    }
    try {
      for (const n of c.nodes) {
        await waitFor(async () => (await n.cli('PING')) === 'PONG', { what: `redis ${n.port} PING` });
      }
      await run('redis-cli', ['--cluster', 'create',
        ...c.nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas', '1', '--cluster-yes']);
      await c.waitOk();
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  /** Every live node reports cluster_state:ok and agrees every slot is served. */
  async waitOk(timeout = 30000) {
    await waitFor(async () => {
      for (const n of this.nodes.filter((x) => x.alive)) {
        const i = await n.info('cluster').catch(() => ({}));
        const ci = await n.cli('CLUSTER', 'INFO');
        if (!/cluster_state:ok/.test(ci) || !/cluster_slots_ok:16384/.test(ci)) return false;
        if (i.cluster_enabled !== '1') return false;
      }
      return true;
    }, { timeout, interval: 100, what: 'cluster_state:ok on every node' });
  }

  /** The seed URL for SYNCGATE_REDIS_URL (two seeds). */
  get url() {
    return `redis+cluster://127.0.0.1:${this.nodes[0].port},127.0.0.1:${this.nodes[1].port}`;
  }

  /** A live node (any), for cluster-wide questions. */
  any() {
    return this.nodes.find((n) => n.alive);
  }

  async keyslot(key) {
    return Number(await this.any().cli('CLUSTER', 'KEYSLOT', key));
  }

  /** The master node serving slot, from CLUSTER SHARDS/SLOTS of a live node. */
  async masterOf(slot) {
    const out = await this.any().cli('CLUSTER', 'NODES');
    for (const line of out.split('\n')) {
      const f = line.split(' ');
      if (!f[2] || !f[2].includes('master') || f[2].includes('fail')) continue;
      for (const r of f.slice(8)) {
        if (r.startsWith('[')) continue;
        const [a, b] = r.split('-').map(Number);
        if (slot >= a && slot <= (b === undefined ? a : b)) {
          const port = Number(f[1].split('@')[0].split(':')[1]);
          return this.nodes.find((n) => n.port === port);
        }
      }
    }
    return null;
  }

  async nodeId(node) {
    return (await node.cli('CLUSTER', 'MYID')).trim();
  }

  async masters() {
    const out = [];
    for (const n of this.nodes.filter((x) => x.alive)) {
      const role = (await n.info('replication')).role;
      if (role === 'master') out.push(n);
    }
    return out;
  }

  /**
   * Moves one slot from its master to target with the steps of the
   * cluster spec: SETSLOT IMPORTING/MIGRATING, MIGRATE the keys in
   * batches, SETSLOT NODE on both and the other masters. pause(ms) runs
   * between batches (so writes meet a slot half moved).
   */
  async migrateSlot(slot, target, { batch = 1, pauseMs = 0 } = {}) {
    const source = await this.masterOf(slot);
    if (!source || source === target) throw new Error('bad migration');
    const srcId = await this.nodeId(source);
    const dstId = await this.nodeId(target);
    await target.cli('CLUSTER', 'SETSLOT', slot, 'IMPORTING', srcId);
    await source.cli('CLUSTER', 'SETSLOT', slot, 'MIGRATING', dstId);
    for (;;) {
      const keys = (await source.cli('CLUSTER', 'GETKEYSINSLOT', slot, batch)).split('\n').filter(Boolean);
      if (!keys.length) break;
      await source.cli('MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'KEYS', ...keys);
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
    for (const m of await this.masters()) await m.cli('CLUSTER', 'SETSLOT', slot, 'NODE', dstId);
    return { source, target };
  }

  /** The slots node serves, ascending. */
  async slotsOf(node) {
    const id = await this.nodeId(node);
    const out = await this.any().cli('CLUSTER', 'NODES');
    const slots = [];
    for (const line of out.split('\n')) {
      const f = line.split(' ');
      if (f[0] !== id) continue;
      for (const r of f.slice(8)) {
        if (r.startsWith('[')) continue;
        const [a, b] = r.split('-').map(Number);
        for (let k = a; k <= (b === undefined ? a : b); k++) slots.push(k);
      }
    }
    return slots.sort((x, y) => x - y);
  }

  /** `redis-cli --cluster reshard`: n slots from source to target, as an
   *  operator runs it (it takes the source's lowest slots first). */
  async reshard(source, target, n) {
    await run('redis-cli', ['--cluster', 'reshard', `127.0.0.1:${source.port}`,
      '--cluster-from', await this.nodeId(source), '--cluster-to', await this.nodeId(target),
      '--cluster-slots', String(n), '--cluster-yes'], { timeout: 60000 });
    await this.waitOk();
  }

  async stop() {
    for (const n of this.nodes) await n.kill();
    for (const n of this.nodes) rmSync(n.dir, { recursive: true, force: true });
  }
}
