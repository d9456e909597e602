/**
 * tollgate controller against the SIMULATED Kubernetes API server (in this process) and the real authz (its
 * app in this process, SQLite): the controller runs as its own process (`tollgate controller`), so its RSS is
 * its own. Measures (1) cold start: N RegistryCredentials already exist, time from spawn until all are Ready
 * (one list, N robots, N Secrets, N references) and the controller's RSS then; (2) steady state: every CR's
 * spec changes at once (rotateEvery), time until all are reconciled again (no rotation, status rewritten);
 * (3) CR → working Secret: one CR at a time, time until its Secret holds a secret authz accepts. For (1) and
 * (2) it counts what the controller cost the API server and authz: calls and TCP connections per CR.
 * Writes bench/results/controller.md.
 *
 *   npx tsx bench/controller.bench.ts [--crs 1000 --samples 20]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { World, HOST, AUDIENCE } from '../controller/test/helpers.js';
import { helpIfAsked, numArg } from './args.js';

const CRS = numArg('crs', 1000, { min: 1, max: 20_000 });
const SAMPLES = numArg('samples', 20, { min: 1, max: 1000 });
helpIfAsked('npx tsx bench/controller.bench.ts [flags]: the controller against the SIMULATED API server and a real authz');
const NAMESPACES = Math.max(1, Math.ceil(CRS / 10));
const LOAD_AT_START = loadavg()[0] ?? 0;
const ROOT = resolve(import.meta.dirname, '..');

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const w = await new World().start();
const all = () => w.sim.store.list('registrycredentials');
const readyCount = (gen: number) => all().filter((o) => ((o.status as { observedGeneration?: number; conditions?: Array<{ status: string }> } | undefined)?.observedGeneration ?? 0) >= gen && (o.status as { conditions?: Array<{ status: string }> }).conditions?.[0]?.status === 'True').length;

for (let n = 0; n < NAMESPACES; n++) w.serviceAccount(`ns-${n}`, 'default');
for (let i = 0; i < CRS; i++) w.credential(`ns-${i % NAMESPACES}`, `cr-${i}`, { type: 'Robot', actions: ['pull'], serviceAccounts: ['default'], rotateEvery: '24h' });

const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'controller', '--listen', '127.0.0.1:0', '--k8s-api-url', w.sim.url,
  '--authz-url', w.authzUrl, '--authz-token-file', join(w.dir, 'authz.token'), '--registry-host', HOST, '--audience', AUDIENCE, '--no-leader-elect', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
/** API calls, API connections and authz calls since `from`, per CR. */
const mark = () => ({ kube: w.sim.requests.length, conns: w.sim.connections, authz: w.authzRequests.length });
const perCr = (from: ReturnType<typeof mark>) => {
  const now = mark();
  return `${((now.kube - from.kube) / CRS).toFixed(1)} API calls, ${now.conns - from.conns} API connections in all, ${((now.authz - from.authz) / CRS).toFixed(1)} authz calls`;
};
try {
  const coldFrom = mark();
  const t0 = performance.now();
  await until('cold start', () => readyCount(1) === CRS, 600_000);
  const coldMs = performance.now() - t0;
  await sleep(500);
  const rss = rssMb(child.pid!);

  const coldCost = perCr(coldFrom);
  const steadyFrom = mark();
  const t1 = performance.now();
  for (const o of all()) w.sim.store.update('registrycredentials', o.metadata.namespace, o.metadata.name, { ...o, spec: { ...(o.spec as object), rotateEvery: '25h' } }, { status: false, patch: false });
  await until('steady state', () => readyCount(2) === CRS, 600_000);
  const steadyMs = performance.now() - t1;
  const steadyCost = perCr(steadyFrom);

  const lat: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t = performance.now();
    w.credential('ns-0', `lat-${i}`, { type: 'Robot', actions: ['pull'] });
    await until('secret', async () => {
      const s = w.secret('ns-0', `lat-${i}-registry`);
      return s !== undefined && (await w.verify(s.username, s.password));
    }, 30_000);
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))]!.toFixed(0);

  const md = [
    '# tollgate controller (SIMULATED Kubernetes API, real authz on SQLite)',
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${LOAD_AT_START.toFixed(2)} at start. ${CRS} RegistryCredentials (type Robot, one service account each) in ${NAMESPACES} namespaces, 4 workers.`,
    '',
    '| measure | value |',
    '|---|---|',
    `| cold start: spawn → all ${CRS} Ready (list, robots, Secrets, references, status) | ${(coldMs / 1000).toFixed(1)} s (${((CRS * 1000) / coldMs).toFixed(0)} CRs/s) |`,
    `| steady state: every spec changed → all reconciled again | ${(steadyMs / 1000).toFixed(1)} s (${((CRS * 1000) / steadyMs).toFixed(0)} reconciles/s) |`,
    `| cold start cost per CR | ${coldCost} |`,
    `| steady state cost per CR (the spec edits themselves are not API calls) | ${steadyCost} |`,
    `| controller RSS with ${CRS} CRs | ${rss.toFixed(0)} MB |`,
    `| CR created → Secret whose secret authz accepts (${SAMPLES} samples) | p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms |`,
    '',
    'The API server stand-in and authz run in the benchmark process; the controller in its own (`tollgate controller`).',
    '',
  ].join('\n');
  process.stdout.write(md);
  const out = resolve(import.meta.dirname, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'controller.md'), md);
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await w.stop();
}
