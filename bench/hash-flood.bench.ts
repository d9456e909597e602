/**
 * Cached-login latency while 8 connections flood /auth with random unknown users (each one an uncached
 * bcrypt check, cost 10). Four phases, same process, same run:
 *   1. no flood (baseline);
 *   2. flood, bcrypt on the event loop (the design before worker threads — the baseline to beat);
 *   3. flood, worker threads + bounded queue, per-IP budget off (what many attacking addresses look like);
 *   4. flood, defaults (worker threads, bounded queue, per-IP budget).
 * The probe is one client logging in sequentially as a cached user every 10 ms; no scope, so authz is
 * not involved. Writes bench/results/hash-flood.md.
 *
 *   npm run bench:hash-flood [-- --seconds N]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import bcrypt from 'bcryptjs';
import { createLogger } from '../common/logger.js';
import { createApp } from '../authn-server/src/app.js';
import { createAuthzClient } from '../authn-server/src/authz-client/index.js';
import { createCredentials, type CredentialOptions } from '../authn-server/src/credentials/chain.js';
import { generateKeyFiles } from '../authn-server/src/keys/generate.js';
import { loadKeys } from '../authn-server/src/keys/load.js';
import { createLoginThrottle } from '../authn-server/src/throttle/index.js';
import { helpIfAsked, numArg } from './args.js';

const PHASE_MS = numArg('seconds', 5, { min: 1, max: 30 }) * 1000;
helpIfAsked('npm run bench:hash-flood [-- flags]: cached-login latency under a flood of unknown users');
const FLOOD_CONNECTIONS = 8;
const LOAD_AT_START = loadavg()[0] ?? 0;
const logger = createLogger({ name: 'bench', level: 'silent' });

interface Result {
  name: string;
  probes: number;
  p50: number;
  p99: number;
  max: number;
  flood: Record<number, number>;
}

function get(agent: http.Agent, url: string, user: string, password: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    http
      .get(url, { agent, headers: { authorization: auth } }, (r) => {
        r.resume();
        r.on('end', () => res({ status: r.statusCode ?? 0, ms: performance.now() - t0 }));
      })
      .on('error', rej);
  });
}

async function phase(name: string, dir: string, usersFile: string, flood: boolean, extra: Partial<CredentialOptions>): Promise<Result> {
  const credentials = await createCredentials({ logger, usersFile, watch: { watch: false, pollMs: 0 }, ...extra });
  const keys = await loadKeys({ ...generateKeyFiles(join(dir, `keys-${name.length}`), { alg: 'ES256' }), kidFormat: 'libtrust', x5c: true });
  const authz = createAuthzClient({ url: 'http://127.0.0.1:9', token: 'unused' });
  const app = createApp({ credentials, throttle: createLoginThrottle(), keys, authz, logger, services: ['bench'] });
  const server = http.createServer(app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth?service=bench`;
  const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const floodAgent = new http.Agent({ keepAlive: true, maxSockets: FLOOD_CONNECTIONS });
  await get(probeAgent, url, 'owner', 'owner-password');
  const until = Date.now() + PHASE_MS;
  const statuses: Record<number, number> = {};
  let n = 0;
  const floodLoop = async (): Promise<void> => {
    while (Date.now() < until) {
      const r = await get(floodAgent, url, `stranger-${n++}`, 'guess');
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
  };
  const lat: number[] = [];
  const probeLoop = async (): Promise<void> => {
    while (Date.now() < until) {
      const r = await get(probeAgent, url, 'owner', 'owner-password');
      if (r.status !== 200) throw new Error(`cached login answered ${r.status}`);
      lat.push(r.ms);
      await new Promise((res) => setTimeout(res, 10));
    }
  };
  await Promise.all([...(flood ? Array.from({ length: FLOOD_CONNECTIONS }, floodLoop) : []), probeLoop()]);
  probeAgent.destroy();
  floodAgent.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  authz.close();
  credentials.close();
  lat.sort((a, b) => a - b);
  const pct = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0;
  return { name, probes: lat.length, p50: pct(0.5), p99: pct(0.99), max: lat[lat.length - 1] ?? 0, flood: statuses };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-flood-'));
  const usersFile = join(dir, 'users.yaml');
  writeFileSync(usersFile, `users:\n  owner:\n    password: "${bcrypt.hashSync('owner-password', 10)}"\n`);
  const results = [
    await phase('no flood (baseline)', dir, usersFile, false, {}),
    await phase('flood, bcrypt on the event loop (old design)', dir, usersFile, true, { compare: (p, h) => bcrypt.compare(p, h), hashBudget: false }),
    await phase('flood, worker threads + bounded queue, no per-IP budget', dir, usersFile, true, { hashBudget: false }),
    await phase('flood, defaults (threads, queue, per-IP budget)', dir, usersFile, true, {}),
  ];
  rmSync(dir, { recursive: true, force: true });
  const rows = results.map((r) => {
    const flood = Object.entries(r.flood).map(([s, c]) => `${s}×${c}`).join(', ') || '—';
    return `| ${r.name} | ${r.probes} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${flood} |`;
  });
  const md = [
    '# Cached login under a bcrypt flood',
    '',
    `Command: \`npm run bench:hash-flood\` — ${new Date().toISOString()}, Node ${process.version},`,
    `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}; load average at start ${LOAD_AT_START.toFixed(2)}.`,
    '**Taken on a shared machine with other engineers running tests: numbers are noisy; re-run on a quiet machine.**',
    '',
    `${PHASE_MS / 1000} s per phase. Probe: one keep-alive client, a cached Basic login (no scope) every 10 ms.`,
    `Flood: ${FLOOD_CONNECTIONS} keep-alive connections, each a new random unknown user (uncached bcrypt, cost 10). Load generator`,
    'and server share one process. Target: cached-login p99 < 20 ms under the flood, and the flood refused (429/503).',
    '',
    '| phase | probes | p50 ms | p99 ms | max ms | flood answers (status×count) |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  const outDir = resolve(import.meta.dirname, 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'hash-flood.md'), md);
  process.stdout.write(md);
}

await main();
