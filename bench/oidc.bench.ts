/**
 * JWT logins (workload identity) beside cached password re-logins, in the same run, through the same
 * `Credentials.authenticate` chain authn-server uses: verification cache warm (same token again) and cold
 * (cache off: a full jose verification each time), for RS256 and ES256, with the signature algorithm's own
 * ceiling (node:crypto verify of the same token, nothing else) as the bound for cold.
 * Keys come from a SIMULATED Kubernetes issuer (real HTTP JWKS on 127.0.0.1, fetched once).
 * Writes bench/results/oidc.md.
 *
 *   npm run bench:oidc [-- --seconds N]
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import bcrypt from 'bcryptjs';
import { stringify } from 'yaml';
import { createLogger } from '../common/logger.js';
import { createCredentials, type Credentials } from '../authn-server/src/credentials/chain.js';
import { SimulatedIssuer } from '../e2e/harness/simulated-issuer.js';
import { helpIfAsked, numArg } from './args.js';

const PHASE_MS = numArg('seconds', 3, { min: 1, max: 30 }) * 1000;
helpIfAsked('npm run bench:oidc [-- flags]: JWT logins beside cached password logins');
const MAX_OPS = 500_000;
const LOAD_AT_START = loadavg()[0] ?? 0;

interface Phase {
  name: string;
  ops: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

async function run(name: string, fn: () => unknown): Promise<Phase> {
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

function must(r: { kind: string }): void {
  if (r.kind !== 'ok') throw new Error(`login failed: ${r.kind}`);
}

/** node:crypto verify of the token's signature alone: the most a verifier can do per second. */
function ceiling(token: string, issuer: SimulatedIssuer): () => void {
  const [h, p, s] = token.split('.') as [string, string, string];
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, 'base64url');
  const key = createPublicKey(issuer.key.publicKey.export({ format: 'pem', type: 'spki' }));
  const ec = issuer.alg === 'ES256';
  return () => {
    if (!cryptoVerify('sha256', data, ec ? { key, dsaEncoding: 'ieee-p1363' } : key, sig)) throw new Error('bad signature');
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-oidc-'));
  const logger = createLogger({ name: 'bench', level: 'silent' });
  const rsa = await new SimulatedIssuer('RS256').start();
  const ec = await new SimulatedIssuer('ES256').start();
  const issuers = [
    { name: 'rsa', usernames: ['k8s-rsa'], issuer: rsa.url, audiences: ['tollgate-registry'], insecure: true, accountPrefix: 'rsa:' },
    { name: 'ec', usernames: ['k8s-ec'], issuer: ec.url, audiences: ['tollgate-registry'], insecure: true, accountPrefix: 'ec:' },
  ];
  writeFileSync(join(dir, 'issuers.yaml'), stringify({ issuers }));
  writeFileSync(join(dir, 'users.yaml'), stringify({ users: { alice: { password: await bcrypt.hash('alice-pw', 10) } } }));
  const open = (cacheTtlMs: number): Promise<Credentials> =>
    createCredentials({ logger, usersFile: join(dir, 'users.yaml'), oidc: { path: join(dir, 'issuers.yaml'), cacheTtlMs }, watch: { watch: false, pollMs: 0 } });
  const tokens = { rsa: await rsa.mint({ ttl: 3600 }), ec: await ec.mint({ ttl: 3600 }) };

  const phases: Phase[] = [];
  const warm = await open(60_000);
  must(await warm.authenticate('alice', 'alice-pw'));
  must(await warm.authenticate('k8s-rsa', tokens.rsa));
  must(await warm.authenticate('k8s-ec', tokens.ec));
  phases.push(await run('cached password re-login (bcrypt cache hit) — baseline', async () => must(await warm.authenticate('alice', 'alice-pw'))));
  phases.push(await run('JWT login, verification cache warm (RS256)', async () => must(await warm.authenticate('k8s-rsa', tokens.rsa))));
  phases.push(await run('JWT login, verification cache warm (ES256)', async () => must(await warm.authenticate('k8s-ec', tokens.ec))));
  warm.close();
  const cold = await open(0);
  must(await cold.authenticate('k8s-rsa', tokens.rsa));
  must(await cold.authenticate('k8s-ec', tokens.ec));
  phases.push(await run('JWT login, cache cold (RS256, jose verify)', async () => must(await cold.authenticate('k8s-rsa', tokens.rsa))));
  phases.push(await run('RS256 signature ceiling (node:crypto verify only)', ceiling(tokens.rsa, rsa)));
  phases.push(await run('JWT login, cache cold (ES256, jose verify)', async () => must(await cold.authenticate('k8s-ec', tokens.ec))));
  phases.push(await run('ES256 signature ceiling (node:crypto verify only)', ceiling(tokens.ec, ec)));
  cold.close();
  await Promise.all([rsa.stop(), ec.stop()]);
  rmSync(dir, { recursive: true, force: true });

  const [base, warmRsa, warmEc, coldRsa, ceilRsa, coldEc, ceilEc] = phases as [Phase, Phase, Phase, Phase, Phase, Phase, Phase];
  const ratio = (a: Phase, b: Phase) => (a.opsPerSec / b.opsPerSec).toFixed(2);
  const rows = phases.map((p) => `| ${p.name} | ${p.ops} | ${p.opsPerSec.toFixed(0)} | ${p.p50Ms.toFixed(3)} | ${p.p99Ms.toFixed(3)} |`);
  const md = [
    '# Workload-identity (JWT) login benchmark',
    '',
    `Command: \`npm run bench:oidc\` — ${new Date().toISOString()}, Node ${process.version},`,
    `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}. Sequential calls of \`Credentials.authenticate\` (the chain authn-server`,
    'uses: issuers file first, then the users file; no HTTP, no authz), up to',
    `${PHASE_MS / 1000} s or ${MAX_OPS} calls per phase. Keys from a SIMULATED Kubernetes issuer over HTTP on 127.0.0.1 (fetched once).`,
    '**Taken on a shared 2-core machine with other engineers\' tests running: the numbers are noisy; the lead re-runs it on a quiet machine.**',
    '',
    '| phase | calls | calls/s | p50 ms | p99 ms |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `Warm / cached password: **RS256 ${ratio(warmRsa, base)}×, ES256 ${ratio(warmEc, base)}×** (target ≥ 0.9×).`,
    `Cold / signature ceiling: RS256 ${ratio(coldRsa, ceilRsa)}×, ES256 ${ratio(coldEc, ceilEc)}× (jose's claim checks, header parsing and key`,
    `selection on top of the bare verify). Load average at start ${LOAD_AT_START.toFixed(2)}.`,
    '',
    'Warm = the same token again within 60 s: one SHA-256 of the token and a Map lookup, as the bcrypt cache is one',
    'HMAC and a lookup. Cold = every login verifies the signature (a kubelet presents a new token about every 10',
    'minutes per pod, so cold is the first pull of each token).',
    '',
  ].join('\n');
  const outDir = resolve(import.meta.dirname, 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'oidc.md'), md);
  process.stdout.write(md);
}

await main();
