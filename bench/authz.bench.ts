/**
 * `npm run bench:authz [-- --accounts 100000 --per-account 10 --duration 10 --connections 20 --write]`
 *
 * Seeds 100k accounts × 10 bindings (1M bindings) into a temp SQLite file, then measures:
 * store-level decisions/s, `/authorized` requests/s over loopback (autocannon, bounded) beside a
 * bare express JSON route in the same run, RSS, and the time a cold server needs to answer. Then the
 * same state is imported into a PostgreSQL the bench starts itself (Debian's postgresql binaries, temp
 * data dir; `--no-postgres` skips it) and the same numbers are taken on it, side by side. Servers run
 * in child processes so autocannon does not share their event loop. `--write` saves bench/results/authz.md.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuthorizedRequest } from '../common/authorized.js';
import { AuthzStore } from '../authz-server/src/store/index.js';
import { PostgresStore } from '../authz-server/src/store/postgres/index.js';
import { PgServer } from '../authz-server/test/pg-server.js';
import { exportState } from '../authz-server/src/store/state.js';
import { accountName, namespaceOf, seed } from './authz-seed.js';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const ACCOUNTS = arg('accounts', 100_000);
const PER = arg('per-account', 10);
const DURATION = arg('duration', 10);
const CONNECTIONS = arg('connections', 20);
const DECISIONS = arg('decisions', 300_000);

function rssMb(pid: number | 'self'): { rss: number; peak: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024;
  return { rss: Math.round(kb('VmRSS')), peak: Math.round(kb('VmHWM')) };
}

function requestFor(k: number): AuthorizedRequest {
  const i = (k * 7919) % ACCOUNTS;
  const j = k % PER;
  // Mix: allowed namespace pulls, denied other-namespace pushes, regex permissions, pattern-bound accounts.
  const kind = k % 4;
  if (kind === 3) return { Account: `system:serviceaccount:team-${k % 5}:builder`, Type: 'repository', Name: `ns-${k % 5}/app`, Service: 'registry', IP: '127.0.0.1', Actions: ['pull'], Labels: null };
  const name = kind === 0 ? `${namespaceOf(i, j)}/app/x` : kind === 1 ? `ns-999999/app` : `mirror-${(i + j) % 20}/alpine3`;
  return { Account: accountName(i), Type: 'repository', Name: name, Service: 'registry', IP: '127.0.0.1', Actions: kind === 1 ? ['pull', 'push'] : ['pull'], Labels: null };
}

function startChild(args: string[]): Promise<{ proc: ChildProcess; port: number; readyMs: number }> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, ['--import', 'tsx', join(here, 'authz-server-child.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]), readyMs: performance.now() - t0 });
    });
    proc.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

async function load(port: number, token: string): Promise<autocannon.Result> {
  const requests = Array.from({ length: 2000 }, (_, k) => ({ method: 'POST' as const, path: '/authorized', body: JSON.stringify(requestFor(k)) }));
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: DURATION,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    requests,
  });
}

const dir = mkdtempSync(join(tmpdir(), 'tollgate-authz-bench-'));
const children: ChildProcess[] = [];
let pgs: PgServer | undefined;

interface EngineRun {
  engine: string;
  cold: number;
  hot: number;
  allowedPct: number;
  http: autocannon.Result;
  rss: { rss: number; peak: number };
  readyMs: number;
}

// Cold: accounts spread over all of them, so most miss the per-account cache and hit the database.
// Hot: 1000 distinct requests cycling (what a busy registry with recurring clients looks like).
async function decisionsPerSecond(store: AuthzStore, reqs: AuthorizedRequest[]): Promise<{ rate: number; allowed: number }> {
  let ok = 0;
  const t0 = performance.now();
  for (let k = 0; k < DECISIONS; k++) if ((await store.decide(reqs[k % reqs.length] as AuthorizedRequest)).allowed) ok++;
  return { rate: Math.round(DECISIONS / ((performance.now() - t0) / 1000)), allowed: ok };
}

const coldReqs = Array.from({ length: Math.min(DECISIONS, 200_000) }, (_, k) => requestFor(k * 13 + 1));
const hotReqs = Array.from({ length: 1000 }, (_, k) => requestFor(k));

async function measure(engine: string, store: AuthzStore, db: string): Promise<EngineRun> {
  const cold = await decisionsPerSecond(store, coldReqs);
  const hot = await decisionsPerSecond(store, hotReqs);
  process.stderr.write(`${engine} store: ${cold.rate} cold / ${hot.rate} hot decisions/s; HTTP run of ${DURATION}s…\n`);
  const child = await startChild(['authz', db]);
  children.push(child.proc);
  const http = await load(child.port, 'bench-client');
  const rss = rssMb(child.proc.pid as number);
  child.proc.kill('SIGKILL');
  return { engine, cold: cold.rate, hot: hot.rate, allowedPct: Math.round((cold.allowed / DECISIONS) * 100), http, rss, readyMs: child.readyMs };
}

try {
  const file = join(dir, 'authz.db');
  process.stderr.write(`seeding ${ACCOUNTS} accounts × ${PER} bindings…\n`);
  const { store, seconds: seedSecs } = await seed(file, ACCOUNTS, PER);
  const bindings = await store.countBindings();
  const benchRss = rssMb('self');
  const bare = await startChild(['bare']);
  children.push(bare.proc);
  const bareRes = await load(bare.port, 'x');
  bare.proc.kill('SIGKILL');
  const runs: EngineRun[] = [await measure('SQLite', store, file)];
  let importSecs = 0;
  if (!process.argv.includes('--no-postgres')) {
    pgs = await PgServer.create();
    const url = (await pgs.createDatabase('bench')).url;
    const pgStore = await AuthzStore.create(await PostgresStore.open({ url }));
    const t0 = performance.now();
    const state = await exportState(store, new Date());
    await pgStore.importState({ ...state, version: 1 }, 'replace', new Date());
    importSecs = (performance.now() - t0) / 1000;
    await pgs.query('ANALYZE', [], new URL(url).pathname.slice(1));
    runs.push(await measure('PostgreSQL', pgStore, url));
    await pgStore.close();
  }
  await store.close();

  const n = (x: number) => Math.round(x).toLocaleString('en');
  const col = (f: (r: EngineRun) => string) => runs.map(f).join(' | ');
  const sqliteHttp = runs[0]?.http.requests.average ?? 1;
  const lines = [
    `| metric | ${runs.map((r) => r.engine).join(' | ')} | target |`,
    `|---|${runs.map(() => '---|').join('')}---|`,
    `| bindings | ${col(() => `${n(bindings)} (${n(ACCOUNTS)} accounts × ${PER} + 5 pattern bindings)`)} | — |`,
    `| load time | ${col((r) => (r.engine === 'SQLite' ? `seeded in ${seedSecs.toFixed(1)} s` : `export → import in ${importSecs.toFixed(1)} s`))} | — |`,
    `| store decisions/s, cold (${n(coldReqs.length)} distinct requests over all accounts) | ${col((r) => `**${n(r.cold)}** (${r.allowedPct}% allowed)`)} | ≥ 50,000 (SQLite) |`,
    `| store decisions/s, hot (1,000 distinct requests) | ${col((r) => `**${n(r.hot)}**`)} | ≥ 50,000 |`,
    `| /authorized req/s (bare express route: ${n(bareRes.requests.average)}) | ${col((r) => `**${n(r.http.requests.average)}** (p99 ${r.http.latency.p99} ms, ${r.http.errors} errors, ${r.http.non2xx} 403 denials as intended)`)} | PostgreSQL ≥ 0.8× SQLite |`,
    `| /authorized vs SQLite | ${col((r) => `${(r.http.requests.average / sqliteHttp).toFixed(2)}×`)} | ≥ 0.8× |`,
    `| /authorized vs bare express | ${col((r) => `${(r.http.requests.average / bareRes.requests.average).toFixed(2)}×`)} | ≥ 0.6× |`,
    `| server RSS after load (peak) | ${col((r) => `**${r.rss.rss} MB** (${r.rss.peak} MB)`)} | ≤ 300 MB |`,
    `| cold start: spawn → listening with caches loaded | ${col((r) => `${(r.readyMs / 1000).toFixed(1)} s`)} | — |`,
    `| bench process RSS after seeding (peak) | ${col((r) => (r.engine === 'SQLite' ? `${benchRss.rss} MB (${benchRss.peak} MB)` : '—'))} | — |`,
  ];
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM (${(freemem() / 2 ** 30).toFixed(1)} GiB free), node ${process.version}, ${process.platform}`;
  const cmd = `npm run bench:authz -- --accounts ${ACCOUNTS} --per-account ${PER} --duration ${DURATION} --connections ${CONNECTIONS}`;
  const report = lines.join('\n');
  process.stdout.write(`${report}\n\nmachine: ${machine}\n`);
  if (process.argv.includes('--write')) {
    const out = join(here, 'results', 'authz.md');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(
      out,
      `# authz-server benchmark\n\nMeasured ${new Date().toISOString()} with \`${cmd}\`.\n\nMachine: ${machine}.\n\n${report}\n\n` +
        `Store decisions run in the bench process against the real database (SQLite file in WAL mode; PostgreSQL started by the bench, fsync off, on loopback): "cold" spreads requests over all accounts so most miss the 20,000-account cache and read the database, "hot" cycles 1,000 requests; HTTP runs use autocannon over loopback ` +
        `(${CONNECTIONS} connections, ${DURATION} s each, 2,000 distinct request bodies: namespace pulls (allowed), other-namespace pushes (denied), regex permissions, glob-bound service accounts). ` +
        `Servers run in their own child process, from TypeScript through tsx (so RSS and the cold start include the tsx loader); the bare route is \`express.json()\` + \`res.json()\`. The authz-server runs at the default log level (\`info\`) with auth, validation and metrics on, exactly as \`createApp\` serves production traffic.\n`,
    );
    process.stderr.write(`wrote ${out}\n`);
  }
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await pgs?.destroy();
  rmSync(dir, { recursive: true, force: true });
}
