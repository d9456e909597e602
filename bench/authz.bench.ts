/**
 * `npm run bench:authz [-- --accounts 100000 --per-account 10 --duration 10 --connections 20 --write]`
 *
 * Seeds 100k accounts × 10 bindings (1M bindings) into a temp SQLite file, then measures:
 * store-level decisions/s, `/authorized` requests/s over loopback (autocannon, bounded) beside a
 * bare express JSON route and the app's own express route in the same run (alternating rounds), CPU
 * per request, RSS, and the time a cold server needs to answer. The same state is imported into a
 * PostgreSQL the bench starts itself (Debian's postgresql binaries, temp data dir; `--no-postgres`
 * skips it) and its server joins every round, side by side. Servers run in child processes so
 * autocannon does not share their event loop. `--write` saves bench/results/authz.md.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuthorizedRequest } from '../common/authorized.js';
import { AuthzStore } from '../authz-server/src/store/decision-cache.js';
import { PostgresStore } from '../authz-server/src/store/postgres/index.js';
import { PgServer } from '../authz-server/test/pg-server.js';
import { exportState } from '../authz-server/src/store/state.js';
import { flag, helpIfAsked, numArg } from './args.js';
import { accountName, namespaceOf, seed } from './authz-seed.js';

const here = dirname(fileURLToPath(import.meta.url));
const ACCOUNTS = numArg('accounts', 100_000);
const PER = numArg('per-account', 10);
const DURATION = numArg('duration', 10);
const CONNECTIONS = numArg('connections', 20);
const DECISIONS = numArg('decisions', 300_000);
/** HTTP rounds; each round measures every server back to back, so a shared machine's load hits them alike. */
const ROUNDS = numArg('rounds', 2);
const NO_POSTGRES = flag('no-postgres', 'skip the PostgreSQL store and server');
const WRITE = flag('write', 'save bench/results/authz.md');
helpIfAsked('npm run bench:authz [-- flags]: authz decisions and /authorized at 1M bindings, SQLite and PostgreSQL');

/** CPU seconds (user + system) a process has used so far. */
function cpuSec(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

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

interface StoreRun {
  engine: string;
  cold: number;
  hot: number;
  allowedPct: number;
}

// Cold: accounts spread over all of them, so most miss the per-account cache and hit the database.
// Hot: 1000 distinct requests cycling (what a busy registry with recurring clients looks like).
async function decisionsPerSecond(store: AuthzStore, reqs: AuthorizedRequest[]): Promise<{ rate: number; allowed: number }> {
  let ok = 0;
  const t0 = performance.now();
  // As routes/authorized-fast.ts decides: synchronously when the store can (cached, or SQLite's lookup), else the async seam.
  for (let k = 0; k < DECISIONS; k++) {
    const r = reqs[k % reqs.length] as AuthorizedRequest;
    if ((store.decideSync(r) ?? (await store.decide(r))).allowed) ok++;
  }
  return { rate: Math.round(DECISIONS / ((performance.now() - t0) / 1000)), allowed: ok };
}

const coldReqs = Array.from({ length: Math.min(DECISIONS, 200_000) }, (_, k) => requestFor(k * 13 + 1));
const hotReqs = Array.from({ length: 1000 }, (_, k) => requestFor(k));

async function measureStore(engine: string, store: AuthzStore): Promise<StoreRun> {
  const cold = await decisionsPerSecond(store, coldReqs);
  const hot = await decisionsPerSecond(store, hotReqs);
  process.stderr.write(`${engine} store: ${cold.rate} cold / ${hot.rate} hot decisions/s\n`);
  return { engine, cold: cold.rate, hot: hot.rate, allowedPct: Math.round((cold.allowed / DECISIONS) * 100) };
}

interface Http { label: string; args: string[]; token: string; rps: number[]; p99: number[]; cpuUs: number[]; readyMs: number[]; errors: number; non2xx: number; rss?: { rss: number; peak: number } }
const server = (label: string, args: string[], token = 'bench-client'): Http => ({ label, args, token, rps: [], p99: [], cpuUs: [], readyMs: [], errors: 0, non2xx: 0 });

try {
  const file = join(dir, 'authz.db');
  process.stderr.write(`seeding ${ACCOUNTS} accounts × ${PER} bindings…\n`);
  const { store, seconds: seedSecs } = await seed(file, ACCOUNTS, PER);
  const bindings = await store.countBindings();
  const benchRss = rssMb('self');
  const stores: StoreRun[] = [await measureStore('SQLite', store)];
  // bare express, authz as served (express-free POST /authorized), the same app's express route, and PostgreSQL.
  const servers = [server('bare express route', ['bare'], 'x'), server('authz, SQLite', ['authz', file]), server('authz express route, SQLite', ['authz-express', file])];
  let importSecs = 0;
  if (!NO_POSTGRES) {
    pgs = await PgServer.create();
    const url = (await pgs.createDatabase('bench')).url;
    const pgStore = await AuthzStore.create(await PostgresStore.open({ url }));
    const t0 = performance.now();
    const state = await exportState(store, new Date());
    await pgStore.importState({ ...state, version: 1 }, 'replace', new Date());
    importSecs = (performance.now() - t0) / 1000;
    await pgs.query('ANALYZE', [], new URL(url).pathname.slice(1));
    stores.push(await measureStore('PostgreSQL', pgStore));
    await pgStore.close();
    servers.push(server('authz, PostgreSQL', ['authz', url]));
  }
  await store.close();

  process.stderr.write(`HTTP: ${ROUNDS} rounds of ${servers.length} servers, ${DURATION}s each…\n`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const h of servers) {
      const child = await startChild(h.args);
      children.push(child.proc);
      const pid = child.proc.pid as number;
      const c0 = cpuSec(pid);
      const res = await load(child.port, h.token);
      h.rps.push(res.requests.average);
      h.p99.push(res.latency.p99);
      h.cpuUs.push(((cpuSec(pid) - c0) / res.requests.total) * 1e6);
      h.readyMs.push(child.readyMs);
      h.errors += res.errors + res.timeouts;
      h.non2xx += res.non2xx;
      h.rss = rssMb(pid);
      child.proc.kill('SIGKILL');
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const n = (x: number) => Math.round(x).toLocaleString('en');
  const bare = servers[0]!;
  const sqlite = servers[1]!;
  const vs = (h: Http, base: Http) => median(h.rps.map((r, i) => r / base.rps[i]!)).toFixed(2);
  const col = (f: (r: StoreRun) => string) => stores.map(f).join(' | ');
  const lines = [
    `| store metric | ${stores.map((r) => r.engine).join(' | ')} | target |`,
    `|---|${stores.map(() => '---|').join('')}---|`,
    `| bindings | ${col(() => `${n(bindings)} (${n(ACCOUNTS)} accounts × ${PER} + 5 pattern bindings)`)} | — |`,
    `| load time | ${col((r) => (r.engine === 'SQLite' ? `seeded in ${seedSecs.toFixed(1)} s` : `export → import in ${importSecs.toFixed(1)} s`))} | — |`,
    `| store decisions/s, cold (${n(coldReqs.length)} distinct requests over all accounts) | ${col((r) => `**${n(r.cold)}** (${r.allowedPct}% allowed)`)} | ≥ 50,000 (SQLite) |`,
    `| store decisions/s, hot (1,000 distinct requests) | ${col((r) => `**${n(r.hot)}**`)} | ≥ 50,000 |`,
    `| bench process RSS after seeding (peak) | ${col((r) => (r.engine === 'SQLite' ? `${benchRss.rss} MB (${benchRss.peak} MB)` : '—'))} | — |`,
    '',
    `| POST /authorized server (median of ${ROUNDS} rounds) | req/s | p99 | CPU/request | vs bare | vs authz SQLite | RSS after load (peak) | spawn → listening | errors / 403 denials (intended) |`,
    `|---|---|---|---|---|---|---|---|---|`,
    ...servers.map((h) => `| ${h.label} | **${n(median(h.rps))}** | ${median(h.p99)} ms | ${n(median(h.cpuUs))} µs | ${vs(h, bare)}× | ${h === bare ? '—' : `${vs(h, sqlite)}×`} | ${h.rss?.rss ?? 0} MB (${h.rss?.peak ?? 0} MB) | ${(median(h.readyMs) / 1000).toFixed(1)} s | ${h.errors} / ${h.non2xx} |`),
    '',
    'Targets: authz as served ≥ 1.0× bare express; PostgreSQL ≥ 0.8× SQLite; server RSS ≤ 300 MB.',
  ];
  const load1 = loadavg()[0]!;
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM (${(freemem() / 2 ** 30).toFixed(1)} GiB free), node ${process.version}, ${process.platform}, load average ${load1.toFixed(2)}${load1 > cpus().length ? ' — above the CPU count: other work shared the machine, so compare within this run only' : ''}`;
  const cmd = `npm run bench:authz -- --accounts ${ACCOUNTS} --per-account ${PER} --duration ${DURATION} --connections ${CONNECTIONS} --rounds ${ROUNDS}`;
  const report = lines.join('\n');
  process.stdout.write(`${report}\n\nmachine: ${machine}\n`);
  if (WRITE) {
    const out = join(here, 'results', 'authz.md');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(
      out,
      `# authz-server benchmark\n\nMeasured ${new Date().toISOString()} with \`${cmd}\`.\n\nMachine: ${machine}.\n\n${report}\n\n` +
        `Store decisions run in the bench process against the real database (SQLite file in WAL mode; PostgreSQL started by the bench, fsync off, on loopback): "cold" spreads requests over all accounts so most miss the 20,000-account cache and read the database, "hot" cycles 1,000 requests; HTTP runs use autocannon over loopback ` +
        `(${CONNECTIONS} connections, ${DURATION} s each, ${ROUNDS} rounds of every server back to back, medians reported; CPU µs/request is the server process's user + system time from /proc over the run; 2,000 distinct request bodies: namespace pulls (allowed), other-namespace pushes (denied), regex permissions, glob-bound service accounts). ` +
        `Servers run in their own child process, from TypeScript through tsx (so RSS and the cold start include the tsx loader); the bare route is \`express.json()\` + \`res.json()\`. The authz-server runs at the default log level (\`info\`) with auth, validation and metrics on, exactly as \`createApp\` serves production traffic.\n`,
    );
    process.stderr.write(`wrote ${out}\n`);
  }
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await pgs?.destroy();
  rmSync(dir, { recursive: true, force: true });
}
