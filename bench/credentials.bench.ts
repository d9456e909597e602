/**
 * Credential verification throughput: cached vs uncached bcrypt (cost 10), wrong passwords and unknown users.
 * Each phase runs for a bounded time. Writes bench/results/credentials.md.
 *
 *   npm run bench:credentials [-- --seconds N]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import bcrypt from 'bcryptjs';
import { createLogger } from '../common/logger.js';
import { createCredentials, type Credentials } from '../authn-server/src/credentials/chain.js';
import { helpIfAsked, numArg } from './args.js';

const COST = 10;
const PHASE_MS = numArg('seconds', 3, { min: 1, max: 30 }) * 1000;
helpIfAsked('npm run bench:credentials [-- flags]: cached vs uncached bcrypt logins');
const MAX_OPS = 200_000;
const LOAD_AT_START = loadavg()[0] ?? 0;

interface Phase {
  name: string;
  ops: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

async function run(name: string, fn: () => Promise<unknown>): Promise<Phase> {
  const lat: number[] = [];
  const start = performance.now();
  while (performance.now() - start < PHASE_MS && lat.length < MAX_OPS) {
    const t = performance.now();
    await fn();
    lat.push(performance.now() - t);
  }
  const elapsed = performance.now() - start;
  lat.sort((a, b) => a - b);
  const pct = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0;
  return { name, ops: lat.length, opsPerSec: (lat.length * 1000) / elapsed, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

/**
 * Mixed costs (one user each at 5, 10 and 12): wrong-password time per user, and the time of 24 unknown
 * names, each labelled with the real user whose time it is closest to. Unknown names should land on all
 * three levels, not on a fourth one.
 */
async function mixedCosts(dir: string): Promise<string[]> {
  const file = join(dir, 'mixed.yaml');
  const costs = [5, 10, 12];
  writeFileSync(file, `users:\n${costs.map((c) => `  cost${c}:\n    password: "${bcrypt.hashSync('pw', c)}"\n`).join('')}`);
  const creds = await createCredentials({ logger: createLogger({ name: 'bench', level: 'silent' }), usersFile: file, cacheTtlMs: 0, watch: { watch: false, pollMs: 0 } });
  const time = async (user: string): Promise<number> => {
    const t = performance.now();
    await creds.authenticate(user, 'wrong');
    return performance.now() - t;
  };
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const real: Array<[string, number]> = [];
  for (const c of costs) {
    const xs: number[] = [];
    for (let i = 0; i < 5; i++) xs.push(await time(`cost${c}`));
    real.push([`cost${c}`, median(xs)]);
  }
  const near = new Map<string, number[]>();
  for (let i = 0; i < 24; i++) {
    const ms = await time(`unknown-${i}`);
    const [closest] = real.reduce((best, r) => (Math.abs(r[1] - ms) < Math.abs(best[1] - ms) ? r : best));
    near.set(closest, [...(near.get(closest) ?? []), ms]);
  }
  creds.close();
  return [
    '',
    'Mixed costs (users at bcrypt cost 5, 10 and 12; every call a wrong password or an unknown name):',
    '',
    '| real user | wrong password, median of 5 (ms) | unknown names closest to it | their median (ms) |',
    '|---|---|---|---|',
    ...real.map(([u, ms]) => `| ${u} | ${ms.toFixed(1)} | ${near.get(u)?.length ?? 0} of 24 | ${near.has(u) ? median(near.get(u)!).toFixed(1) : '—'} |`),
  ];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-creds-'));
  const logger = createLogger({ name: 'bench', level: 'silent' });
  const usersFile = join(dir, 'users.yaml');
  const hash = await bcrypt.hash('alice-pw', COST);
  writeFileSync(usersFile, `users:\n  alice:\n    password: "${hash}"\n    labels: {team: [a]}\n`);
  const open = (cacheTtlMs: number): Promise<Credentials> => createCredentials({ logger, usersFile, cacheTtlMs, watch: { watch: false, pollMs: 0 } });

  const phases: Phase[] = [];
  const cached = await open(60_000);
  await cached.authenticate('alice', 'alice-pw');
  phases.push(await run('cached success (cache hit)', () => cached.authenticate('alice', 'alice-pw')));
  cached.close();

  const uncached = await open(0);
  phases.push(await run('uncached success (bcrypt)', () => uncached.authenticate('alice', 'alice-pw')));
  phases.push(await run('wrong password (bcrypt)', () => uncached.authenticate('alice', 'nope')));
  phases.push(await run('unknown user (dummy bcrypt)', () => uncached.authenticate('nobody', 'nope')));
  uncached.close();
  const mixed = await mixedCosts(dir);
  rmSync(dir, { recursive: true, force: true });

  const rssMb = process.memoryUsage().rss / 1024 / 1024;
  const hit = phases[0]!;
  const miss = phases[1]!;
  const rows = phases.map((p) => `| ${p.name} | ${p.ops} | ${p.opsPerSec.toFixed(p.opsPerSec < 100 ? 1 : 0)} | ${p.p50Ms.toFixed(3)} | ${p.p99Ms.toFixed(3)} |`);
  const md = [
    '# Credential verification benchmark',
    '',
    `Command: \`npm run bench:credentials\` — ${new Date().toISOString()}, Node ${process.version},`,
    `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}. One user, bcrypt cost ${COST} (bcryptjs, async compare),`,
    `sequential calls of \`Credentials.authenticate\` (no HTTP), up to ${PHASE_MS / 1000} s or ${MAX_OPS} calls per phase.`,
    '',
    '| phase | calls | calls/s | p50 ms | p99 ms |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    ...mixed,
    '',
    `Cached / uncached: **${(hit.opsPerSec / miss.opsPerSec).toFixed(0)}×**. RSS of the bench process (incl. tsx) at the end: ${rssMb.toFixed(0)} MB; load average at start ${LOAD_AT_START.toFixed(2)} (other work shares the machine).`,
    '',
    'Unknown users and wrong passwords cost about the same as an uncached success: every one is a full bcrypt',
    'compare (unknown users against a dummy hash of a cost drawn, per name, from the users\' own mix), so',
    'response times do not reveal which user names exist. Each compare runs on one of the worker threads (`--bcrypt-workers`), so the uncached',
    'rate here is what one thread does; the event loop stays free meanwhile (see bench/results/hash-flood.md).',
    '',
  ].join('\n');
  const outDir = resolve(import.meta.dirname, 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'credentials.md'), md);
  process.stdout.write(md);
}

await main();
