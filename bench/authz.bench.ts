/**
 * `npm run bench:authz [-- --accounts 100000 --per-account 10 --duration 10 --connections 20 --write]`
 *
 * Seeds 100k accounts × 10 bindings (1M bindings) into a temp SQLite file, then measures:
 * store-level decisions/s, `/authorized` requests/s over loopback (autocannon, bounded) beside a
 * bare express JSON route in the same run, and RSS of both processes. Servers run in child
 * processes so autocannon does not share their event loop. `--write` saves bench/results/authz.md.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuthorizedRequest } from '../common/authorized.js';
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

function startChild(args: string[]): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(here, 'authz-server-child.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]) });
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
try {
  const file = join(dir, 'authz.db');
  process.stderr.write(`seeding ${ACCOUNTS} accounts × ${PER} bindings…\n`);
  const { store, seconds: seedSecs } = await seed(file, ACCOUNTS, PER);
  const bindings = await store.countBindings();

  // Cold: accounts spread over all of them, so most miss the per-account cache and hit SQLite.
  // Hot: 1000 distinct requests cycling (what a busy registry with recurring clients looks like).
  const run = async (reqs: AuthorizedRequest[]): Promise<{ rate: number; allowed: number }> => {
    let ok = 0;
    const t0 = performance.now();
    for (let k = 0; k < DECISIONS; k++) if ((await store.decide(reqs[k % reqs.length] as AuthorizedRequest)).allowed) ok++;
    return { rate: Math.round(DECISIONS / ((performance.now() - t0) / 1000)), allowed: ok };
  };
  const coldReqs = Array.from({ length: Math.min(DECISIONS, 200_000) }, (_, k) => requestFor(k * 13 + 1));
  const cold = await run(coldReqs);
  const hot = await run(Array.from({ length: 1000 }, (_, k) => requestFor(k)));
  const allowed = cold.allowed;
  const storeRate = cold.rate;
  const benchRss = rssMb('self');
  await store.close();

  process.stderr.write(`store: ${storeRate} cold / ${hot.rate} hot decisions/s; HTTP runs of ${DURATION}s…\n`);
  const bare = await startChild(['bare']);
  children.push(bare.proc);
  const bareRes = await load(bare.port, 'x');
  bare.proc.kill('SIGKILL');
  const authz = await startChild(['authz', file]);
  children.push(authz.proc);
  const authzRes = await load(authz.port, 'bench-client');
  const authzRss = rssMb(authz.proc.pid as number);
  authz.proc.kill('SIGKILL');

  const ratio = authzRes.requests.average / bareRes.requests.average;
  const non2xx = authzRes.non2xx;
  const lines = [
    `| metric | result | target |`,
    `|---|---|---|`,
    `| bindings seeded | ${bindings.toLocaleString('en')} (${ACCOUNTS.toLocaleString('en')} accounts × ${PER} + 5 pattern bindings) in ${seedSecs.toFixed(1)} s | — |`,
    `| store decisions/s, cold (${coldReqs.length.toLocaleString('en')} distinct requests over all accounts) | **${storeRate.toLocaleString('en')}** (${DECISIONS.toLocaleString('en')} decisions, ${Math.round((allowed / DECISIONS) * 100)}% allowed) | ≥ 50,000 |`,
    `| store decisions/s, hot (1,000 distinct requests) | **${hot.rate.toLocaleString('en')}** | ≥ 50,000 |`,
    `| bare express POST /authorized req/s | ${Math.round(bareRes.requests.average).toLocaleString('en')} (p99 ${bareRes.latency.p99} ms) | — |`,
    `| authz-server /authorized req/s | **${Math.round(authzRes.requests.average).toLocaleString('en')}** (p99 ${authzRes.latency.p99} ms; ${authzRes.errors} errors; ${non2xx} of the answers were 403 denials, as intended) | — |`,
    `| HTTP ratio authz / bare | **${ratio.toFixed(2)}×** | ≥ 0.6× |`,
    `| authz-server RSS after load (peak) | **${authzRss.rss} MB** (${authzRss.peak} MB) | ≤ 300 MB |`,
    `| bench process RSS after store run (peak, includes seeding) | ${benchRss.rss} MB (${benchRss.peak} MB) | — |`,
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
        `Store decisions run in the bench process against the real SQLite file (WAL): "cold" spreads requests over all accounts so most miss the 20,000-account cache and read SQLite, "hot" cycles 1,000 requests; HTTP runs use autocannon over loopback ` +
        `(${CONNECTIONS} connections, ${DURATION} s each, 2,000 distinct request bodies: namespace pulls (allowed), other-namespace pushes (denied), regex permissions, glob-bound service accounts). ` +
        `Both servers run in their own child process, from TypeScript through tsx (so RSS includes the tsx loader); the bare route is \`express.json()\` + \`res.json()\`. The authz-server runs at the default log level (\`info\`) with auth, validation and metrics on, exactly as \`createApp\` serves production traffic.\n`,
    );
    process.stderr.write(`wrote ${out}\n`);
  }
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
