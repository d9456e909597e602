/**
 * `npx tsx bench/revocation.bench.ts [--trials 100] [--no-postgres] [--write]`
 *
 * How long a revocation takes to reach a token request, end to end, with authn as started with no cache
 * flags (decisions and robot logins cached, kept current by authz's change feed). Real processes on
 * loopback (`tollgate authz serve`, `tollgate authn serve`); each trial requests tokens in a loop until it
 * is granted (so the grant is cached), makes the admin call, and measures from the moment the admin
 * call returned to the first refused token request:
 *   - binding removed (the scope comes back empty),
 *   - robot deleted (401),
 *   - robot rotated with overlap 0 (the old secret gets 401).
 * On SQLite (one authz), and on two PostgreSQL replicas with the admin calls on one and authn connected
 * to the other (PostgreSQL started by the bench itself). Target (issue 22): p99 ≤ 1 s over 100 trials.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { generateKeyFiles } from '../authn-server/src/keys/generate.js';
import { PgServer } from '../authz-server/test/pg-server.js';
import { flag, helpIfAsked, numArg } from './args.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TRIALS = numArg('trials', 100);
const NO_POSTGRES = flag('no-postgres', 'skip the two PostgreSQL replicas');
const WRITE = flag('write', 'save bench/results/revocation.md');
helpIfAsked('npx tsx bench/revocation.bench.ts [flags]: time from an admin call to the first refused token request');
const ADMIN = 'bench-admin-token-0123456789abcdef';
const CLIENT = 'bench-client-token-0123456789abcdef';
const children: ChildProcess[] = [];

function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli', 'tollgate.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', TOLLGATE_LOG_LEVEL: 'warn', ...env } });
  children.push(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    const on = (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:[^"]+)"[^\n]*"msg":"listening"|"msg":"listening"[^\n]*"url":"(http:[^"]+)"/.exec(out);
      if (m) resolve({ proc, url: (m[1] ?? m[2])! });
    };
    proc.stdout?.on('data', on);
    proc.stderr?.on('data', on);
    proc.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}`)));
  });
}

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

async function admin(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(base + path, { method, headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
  return res.json();
}

/** 'granted' | 'refused' for one token request of `scope`. */
async function tokenState(authn: string, user: string, secret: string, scope: string): Promise<'granted' | 'refused'> {
  const res = await fetch(`${authn}/auth?service=bench-registry&scope=${scope}`, { headers: { Authorization: basic(user, secret) } });
  if (res.status !== 200) return 'refused';
  const payload = JSON.parse(Buffer.from(((await res.json()) as { token: string }).token.split('.')[1]!, 'base64url').toString()) as { access: unknown[] };
  return payload.access.length > 0 ? 'granted' : 'refused';
}

async function until(state: 'granted' | 'refused', ask: () => Promise<'granted' | 'refused'>, limitMs = 10_000): Promise<number> {
  const t0 = performance.now();
  while ((await ask()) !== state) if (performance.now() - t0 > limitMs) throw new Error(`not ${state} within ${limitMs} ms`);
  return performance.now() - t0;
}

type Kind = 'binding removed' | 'robot deleted' | 'robot rotated, overlap 0';

async function trials(adminUrl: string, authn: string): Promise<Record<Kind, number[]>> {
  const out: Record<Kind, number[]> = { 'binding removed': [], 'robot deleted': [], 'robot rotated, overlap 0': [] };
  await admin(adminUrl, 'POST', '/add-role', { name: 'reader', permissions: [{ name: '${namespace}/**', actions: ['pull'] }] });
  const scope = 'repository:team-a/app:pull';
  for (let i = 0; i < TRIALS; i++) {
    const binding = { account_name: 'alice', role_name: 'reader', namespace: 'team-a' };
    await admin(adminUrl, 'POST', '/add-role-binding', binding);
    await until('granted', () => tokenState(authn, 'alice', 'alice-pw', scope));
    await tokenState(authn, 'alice', 'alice-pw', scope); // now from the cache
    await admin(adminUrl, 'POST', '/delete-role-binding', binding);
    out['binding removed'].push(await until('refused', () => tokenState(authn, 'alice', 'alice-pw', scope)));

    const del = (await admin(adminUrl, 'POST', '/robots', { namespace: 'team-a', name: `del-${i}`, actions: ['pull'] })) as { account: string; secret: string };
    await until('granted', () => tokenState(authn, del.account, del.secret, scope));
    await admin(adminUrl, 'DELETE', `/robots/${del.account}`);
    out['robot deleted'].push(await until('refused', () => tokenState(authn, del.account, del.secret, scope)));

    const rot = (await admin(adminUrl, 'POST', '/robots', { namespace: 'team-a', name: `rot-${i}`, actions: ['pull'] })) as { account: string; secret: string };
    await until('granted', () => tokenState(authn, rot.account, rot.secret, scope));
    await admin(adminUrl, 'POST', `/robots/${rot.account}/rotate`, { overlap: 0 });
    out['robot rotated, overlap 0'].push(await until('refused', () => tokenState(authn, rot.account, rot.secret, scope)));
    await admin(adminUrl, 'DELETE', `/robots/${rot.account}`);
  }
  return out;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-revocation-'));
  let pgs: PgServer | undefined;
  const rows: string[] = [];
  try {
    writeFileSync(join(dir, 'admin.token'), ADMIN);
    writeFileSync(join(dir, 'client.token'), CLIENT);
    writeFileSync(join(dir, 'users.yaml'), `users:\n  alice:\n    password: "${bcrypt.hashSync('alice-pw', 4)}"\n`);
    const keys = generateKeyFiles(join(dir, 'keys'));
    const tokens = ['--admin-token-file', join(dir, 'admin.token'), '--client-token-file', join(dir, 'client.token')];
    const authnFor = (authzUrl: string) =>
      start(['authn', 'serve', '--listen', '127.0.0.1:0', '--authz-url', authzUrl, '--authz-token-file', join(dir, 'client.token'), '--key', keys.keyFile, '--cert', keys.certFile, '--users', join(dir, 'users.yaml'), '--service', 'bench-registry']);
    const setups: Array<[string, () => Promise<{ adminUrl: string; authzForAuthn: string }>]> = [
      ['SQLite, one authz', async () => {
        const a = await start(['authz', 'serve', '--listen', '127.0.0.1:0', '--db', join(dir, 'authz.db'), ...tokens]);
        return { adminUrl: a.url, authzForAuthn: a.url };
      }],
    ];
    if (!NO_POSTGRES) {
      setups.push(['PostgreSQL, two replicas (admin on A, authn on B)', async () => {
        pgs = await PgServer.create();
        const { url } = await pgs.createDatabase('revocation');
        const a = await start(['authz', 'serve', '--listen', '127.0.0.1:0', '--db', url, ...tokens]);
        const b = await start(['authz', 'serve', '--listen', '127.0.0.1:0', '--db', url, ...tokens]);
        return { adminUrl: a.url, authzForAuthn: b.url };
      }]);
    }
    const load0 = loadavg();
    for (const [name, setup] of setups) {
      const { adminUrl, authzForAuthn } = await setup();
      const authn = await authnFor(authzForAuthn);
      await new Promise((r) => setTimeout(r, 500)); // the feed connects
      process.stderr.write(`${name}: ${TRIALS} trials…\n`);
      const res = await trials(adminUrl, authn.url);
      for (const [kind, xs] of Object.entries(res)) {
        rows.push(`| ${name} | ${kind} | ${xs.length} | ${pct(xs, 50).toFixed(1)} | ${pct(xs, 99).toFixed(1)} | ${Math.max(...xs).toFixed(1)} |`);
      }
      for (const c of children.splice(0)) c.kill('SIGTERM');
    }
    const md = [
      '# Revocation benchmark',
      '',
      `Run \`npx tsx bench/revocation.bench.ts\` — ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; load average ${load0.map((l) => l.toFixed(2)).join(' ')} at the start, ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end.`,
      'authn as started with no cache flags (decisions and robot logins cached by the change feed). Time from the admin call returning to the first refused token request; target p99 ≤ 1000 ms.',
      '',
      '| setup | revocation | trials | p50 ms | p99 ms | max ms |',
      '|---|---|---:|---:|---:|---:|',
      ...rows,
      '',
    ].join('\n');
    process.stdout.write(md);
    if (WRITE) {
      mkdirSync(join(root, 'bench', 'results'), { recursive: true });
      writeFileSync(join(root, 'bench', 'results', 'revocation.md'), md);
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGTERM');
    await pgs?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
