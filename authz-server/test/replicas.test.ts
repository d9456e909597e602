/**
 * Several real `tollgate authz serve` processes on one real PostgreSQL: writes through one replica
 * reach every replica's decisions within 1 s (LISTEN/NOTIFY), acknowledged writes survive kill -9,
 * a stopped database gives 503s (never a 500 or a crash) and service resumes within 2 s of its return,
 * and a replica whose notification connection silently stops never serves stale decisions for longer
 * than the documented bound (heartbeat 500 ms + answer timeout 1000 ms).
 */
import assert from 'node:assert/strict';
import axios, { type AxiosInstance } from 'axios';
import { ADMIN, CLIENT, req, spawnServer, tempDir, type ServerProcess } from './helpers.js';
import { PgServer } from './pg-server.js';
import { tcpProxy } from './tcp-proxy.js';

const http = (base: string): AxiosInstance => axios.create({ baseURL: base, validateStatus: () => true, timeout: 10_000 });
const adminH = { headers: { Authorization: `Bearer ${ADMIN}` } };
const clientH = { headers: { Authorization: `Bearer ${CLIENT}` } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const STALE_BOUND_MS = 1500;

/** Polls until `ok` holds; returns the milliseconds it took (throws after `limitMs`). */
async function within(limitMs: number, ok: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await ok()) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) throw new Error(`not within ${limitMs} ms`);
    await sleep(10);
  }
}

async function decision(api: AxiosInstance, account: string): Promise<number> {
  return (await api.post('/authorized', req({ Account: account, Name: 'team-a/app' }), clientH)).status;
}

async function exported(api: AxiosInstance): Promise<unknown> {
  const res = await api.get('/export', adminH);
  assert.equal(res.status, 200);
  const { exported_at: _, ...rest } = res.data as { exported_at: string };
  return rest;
}

describe('authz replicas on one PostgreSQL', function () {
  this.timeout(180_000);
  let pgs: PgServer;
  let t: ReturnType<typeof tempDir>;
  let url: string;
  const servers: ServerProcess[] = [];
  const env = { TOLLGATE_AUTHZ_ADMIN_TOKEN: ADMIN, TOLLGATE_AUTHZ_CLIENT_TOKEN: CLIENT, TOLLGATE_LOG_LEVEL: 'warn' };
  const start = async (db = url) => {
    const s = await spawnServer(['--db', db], env);
    servers.push(s);
    return s;
  };

  before(async () => {
    t = tempDir();
    pgs = await PgServer.create();
    url = (await pgs.createDatabase('replicas')).url;
  });
  after(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    await pgs?.destroy();
    t.cleanup();
  });

  it('a binding added through A is granted by B within 1 s; removed through B, A denies within 1 s', async () => {
    const [a, b] = (await Promise.all([start(), start()])).map((s) => http(s.url)) as [AxiosInstance, AxiosInstance];
    assert.equal((await a.post('/add-role', { name: 'puller', permissions: { name: 'team-a/**', actions: ['pull'] } }, adminH)).status, 201);
    for (let round = 0; round < 3; round++) {
      assert.equal(await decision(b, 'alice'), 403);
      assert.equal((await a.post('/add-role-binding', { account_name: 'alice', role_name: 'puller' }, adminH)).status, 201);
      const seen = await within(1000, async () => (await decision(b, 'alice')) === 200);
      assert.equal(await decision(a, 'alice'), 200);
      assert.equal((await b.post('/delete-role-binding', { account_name: 'alice', role_name: 'puller' }, adminH)).status, 200);
      const gone = await within(1000, async () => (await decision(a, 'alice')) === 403);
      assert.ok(seen < 1000 && gone < 1000, `propagation ${seen.toFixed(0)} / ${gone.toFixed(0)} ms`);
    }
    // Pattern bindings and role changes travel the same way.
    await b.post('/add-role-binding', { account_name: 'svc:*', role_name: 'puller' }, adminH);
    await within(1000, async () => (await decision(a, 'svc:ci')) === 200);
    await b.put('/roles/puller', { permissions: { name: 'other/**', actions: ['pull'] } }, adminH);
    await within(1000, async () => (await decision(a, 'svc:ci')) === 403);
  });

  it('1,000 concurrent writes spread over both replicas: both export the same state, exactly the acknowledged writes', async () => {
    const [a, b] = servers.slice(0, 2).map((s) => http(s.url)) as [AxiosInstance, AxiosInstance];
    const acked = new Set<string>();
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < 1000; i = next++) {
        const api = i % 2 ? a : b;
        const account = `user-${i % 400}`;
        const namespace = `ns-${i}`;
        const res = await api.post('/add-role-binding', { account_name: account, role_name: 'puller', namespace }, adminH);
        assert.equal(res.status, 201, JSON.stringify(res.data));
        acked.add(`${account} ${namespace}`);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    const ea = await exported(a);
    assert.deepEqual(await exported(b), ea);
    const bindings = (ea as { bindings: Array<{ account_name: string; namespace?: string }> }).bindings.filter((x) => x.account_name.startsWith('user-'));
    assert.deepEqual(new Set(bindings.map((x) => `${x.account_name} ${x.namespace}`)), acked);
    assert.equal(bindings.length, 1000);
  });

  it('kill -9 in the middle of 5,000 admin writes: every acknowledged write is in the database', async () => {
    const victim = await start();
    const api = http(victim.url);
    const acked: string[] = [];
    let next = 0;
    let killed = false;
    const worker = async () => {
      for (let i = next++; i < 5000 && !killed; i = next++) {
        const account = `kill-${i}`;
        try {
          const res = await api.post('/add-role-binding', { account_name: account, role_name: 'puller' }, adminH);
          if (res.status === 201) acked.push(account);
        } catch {
          return; // the connection died with the process: not acknowledged
        }
        if (acked.length === 1500 && !killed) {
          killed = true;
          process.kill(victim.pid, 'SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    assert.ok(killed, 'killed mid-stream');
    const name = new URL(url).pathname.slice(1);
    const rows = await pgs.query("SELECT account_name FROM bindings WHERE account_name LIKE 'kill-%'", [], name);
    const stored = new Set(rows.rows.map((r: { account_name: string }) => r.account_name));
    const missing = acked.filter((a) => !stored.has(a));
    assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged writes missing`);
    assert.ok(stored.size < 5000, 'the kill landed before the end');
  });

  it('PostgreSQL stopped during traffic: only 503s (never 500, no crash), /readyz fails; back within 2 s of its return', async () => {
    const [a, b] = servers.slice(0, 2).map((s) => http(s.url)) as [AxiosInstance, AxiosInstance];
    await a.post('/add-role-binding', { account_name: 'steady', role_name: 'puller' }, adminH);
    await b.put('/roles/puller', { permissions: { name: 'team-a/**', actions: ['pull'] } }, adminH);
    await within(1000, async () => (await decision(b, 'steady')) === 200);
    const seen = new Map<number, number>();
    let running = true;
    const writes = new Map<number, number>();
    let w = 0;
    const traffic = Promise.all([
      ...[a, b].map(async (api) => {
        while (running) {
          const s = await decision(api, 'steady');
          seen.set(s, (seen.get(s) ?? 0) + 1);
          await sleep(5);
        }
      }),
      // Admin writes in flight when the database goes away: 503, never a 500 or a crash.
      ...[a, b].map(async (api) => {
        while (running) {
          const s = (await api.post('/add-role-binding', { account_name: `outage-${w++}`, role_name: 'puller' }, adminH)).status;
          writes.set(s, (writes.get(s) ?? 0) + 1);
        }
      }),
    ]);
    await sleep(300);
    await pgs.stop();
    await within(2000, async () => (await decision(a, 'steady')) === 503 && (await decision(b, 'steady')) === 503);
    assert.equal((await a.get('/readyz')).status, 503);
    assert.equal((await b.post('/add-role-binding', { account_name: 'x', role_name: 'puller' }, adminH)).status, 503);
    await sleep(1000);
    await pgs.start();
    const recovered = await within(2000, async () => (await decision(a, 'steady')) === 200 && (await decision(b, 'steady')) === 200);
    running = false;
    await traffic;
    assert.equal((await a.get('/readyz')).status, 200);
    assert.deepEqual([...seen.keys()].sort(), [200, 503], `statuses seen: ${JSON.stringify([...seen])}`);
    assert.deepEqual([...writes.keys()].sort(), [201, 503], `write statuses seen: ${JSON.stringify([...writes])}`);
    for (const s of servers.slice(0, 2)) assert.equal(s.proc.exitCode, null, 'replica still running');
    for (const s of servers.slice(0, 2)) assert.doesNotMatch(s.output(), /unhandled|"statusCode":500|"status":500/i);
    process.stdout.write(`      recovery after PostgreSQL accepted connections again: ${recovered.toFixed(0)} ms\n`);
    assert.ok(recovered <= 2000);
  });

  it('a replica whose connection to PostgreSQL silently stops (partition) refuses decisions within the stale bound, then recovers', async () => {
    const proxy = await tcpProxy([pgs.port]);
    const viaProxy = new URL(url);
    viaProxy.port = String(proxy.port);
    const cut = http((await start(viaProxy.toString())).url);
    const direct = http(servers[0]!.url);
    try {
      await direct.post('/add-role-binding', { account_name: 'partitioned', role_name: 'puller' }, adminH);
      await within(1000, async () => (await decision(cut, 'partitioned')) === 200);
      proxy.freeze();
      const written = performance.now();
      assert.equal((await direct.post('/delete-role-binding', { account_name: 'partitioned', role_name: 'puller' }, adminH)).status, 200);
      // The cut replica cannot hear of the delete. It may answer from its cache only within the bound.
      let lastStale = 0;
      let refused = 0;
      while (performance.now() - written < STALE_BOUND_MS + 1500) {
        const s = await decision(cut, 'partitioned');
        if (s === 200) lastStale = performance.now() - written;
        else if (s === 503) refused++;
        else assert.equal(s, 403);
        await sleep(20);
      }
      assert.ok(lastStale <= STALE_BOUND_MS + 300, `stale grant ${lastStale.toFixed(0)} ms after the delete`);
      assert.ok(refused > 0, 'decisions refused while cut off');
      process.stdout.write(`      last stale answer ${lastStale.toFixed(0)} ms after the write (bound ${STALE_BOUND_MS} ms)\n`);
      proxy.thaw();
      await within(3000, async () => (await decision(cut, 'partitioned')) === 403);
    } finally {
      await proxy.close();
    }
  });
});
