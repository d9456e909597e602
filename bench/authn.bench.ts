/**
 * `npm run bench:authn [-- --duration 10 --connections 32 --bcrypt-users 64 --write]`
 *
 * Real processes on loopback: authz-server (`tollgate authz serve`, SQLite seeded with a role and a
 * binding), authn-server (`tollgate authn serve`, users file with bcrypt cost-10 hashes), and a bare
 * express route returning a token-sized JSON body, all measured with autocannon in the same run:
 *   1. bare express route (the ceiling on this machine),
 *   2. the same route plus one /authorized call through authn's own authz client, and the same route signing one
 *      ES256 token with authn's key (what any token server does per token),
 *   3. cached re-login: GET /auth with Basic + 1 and 4 scopes, bcrypt verification cached, authn as started
 *      with no cache flags (decisions cached, kept current by authz's change feed), at 32 connections and
 *      (latency of several scopes) at one connection,
 *   4. the same with --decision-cache-ttl 0 (authz asked for every scope of every token),
 *   5. uncached bcrypt path: each request a different user's first login (bounded: one request per user).
 * Then RSS of the authn process. Servers run from a tsc build in a temp dir (plain node, like
 * `npx tollgate`). Every row also reports the server's and authz-server's CPU time per request (from
 * /proc): unlike req/s it barely moves when other work shares the machine. `--write` saves the
 * Markdown to bench/results/authn.md.
 */
import autocannon from 'autocannon';
import bcrypt from 'bcryptjs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuthzStore } from '../authz-server/src/store/decision-cache.js';
import { SqliteStore } from '../authz-server/src/store/sqlite/index.js';
import { generateKeyFiles } from '../authn-server/src/keys/generate.js';
import { AUTHN_NODE_OPTIONS as DEFAULT_AUTHN_NODE_OPTIONS } from '../authn-server/src/node-options.js';
import { flag, helpIfAsked, numArg, strArg } from './args.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DURATION = numArg('duration', 10);
/** NODE_OPTIONS for the authn-server processes; default as compose, k8s and `npm start` run it (`--authn-node-options=` for none). */
const AUTHN_NODE_OPTIONS = strArg('authn-node-options', DEFAULT_AUTHN_NODE_OPTIONS, 'OPTIONS');
const CONNECTIONS = numArg('connections', 32);
const BCRYPT_USERS = numArg('bcrypt-users', 64);
const WRITE = flag('write', 'save bench/results/authn.md');
helpIfAsked('npm run bench:authn [-- flags]: authn beside a bare express route (see the opening comment of bench/authn.bench.ts)');
const COST = 10;
/** How long "idle" waits after start: past the bcrypt pool's idle exit (HASH_THREAD_IDLE_MS, 10 s). */
const IDLE_SETTLE_MS = 12_000;
const children: ChildProcess[] = [];

/** CPU seconds (user + system) a process has used so far. */
function cpuSec(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function rssMb(pid: number): { rss: number; peak: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024;
  return { rss: Math.round(kb('VmRSS')), peak: Math.round(kb('VmHWM')) };
}

/** Samples the process's RSS every 50 ms from now; the returned function stops and gives the highest (MB). */
function sampleRss(pid: number): () => number {
  let highest = rssMb(pid).rss;
  const timer = setInterval(() => (highest = Math.max(highest, rssMb(pid).rss)), 50);
  return () => {
    clearInterval(timer);
    return Math.max(highest, rssMb(pid).rss);
  };
}

/** Spawns a node process and resolves with the URL from its `listening` JSON log line. */
function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...env } });
  children.push(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    let ready = false;
    // After the listening line, output (audit lines) is drained but not kept.
    const on = (d: Buffer) => {
      if (ready) return;
      out += d.toString();
      const m = /"url":"(http:[^"]+)"[^\n]*"msg":"listening"|"msg":"listening"[^\n]*"url":"(http:[^"]+)"/.exec(out);
      if (m) {
        ready = true;
        resolve({ proc, url: (m[1] ?? m[2])! });
      }
    };
    proc.stdout?.on('data', on);
    proc.stderr?.on('data', on);
    proc.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}`)));
  });
}

let buildDir = '';
/** Compiles the CLI into the temp dir (not the shared dist/), so servers run as `npx tollgate` runs them: plain node, no tsx. */
function build(dir: string): void {
  buildDir = join(dir, 'build');
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', buildDir], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc failed:\n${r.stdout}${r.stderr}`);
  symlinkSync(join(root, 'node_modules'), join(buildDir, 'node_modules'));
  // As in the package: compiled files are ES modules (no CommonJS-then-ESM syntax detection at load).
  writeFileSync(join(buildDir, 'package.json'), '{"type":"module"}\n');
}
const cli = (...a: string[]) => [join(buildDir, 'cli', 'tollgate.js'), ...a];

async function load(url: string, opts: Partial<autocannon.Options>): Promise<autocannon.Result> {
  return autocannon({ url, connections: CONNECTIONS, duration: DURATION, pipelining: 1, ...opts });
}

interface Row {
  name: string;
  cpuUs?: number;
  /** Highest RSS of the server process sampled every 50 ms during the run (MB). */
  maxRss?: number;
  authzUs?: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}
const row = (name: string, r: autocannon.Result): Row => ({ name, rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx });

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-authn-'));
  try {
    build(dir);
    // authz-server with a real SQLite store: alice is a developer in team-a; every bench user reads team-a.
    const db = join(dir, 'authz.db');
    const store = await AuthzStore.create(SqliteStore.open(db));
    await store.putRole('developer', [{ name: '${namespace}/*', actions: ['pull', 'push'] }]);
    await store.addBinding({ account_name: 'alice', role_name: 'developer', namespace: 'team-a' });
    await store.addBinding({ account_name: 'user-*', role_name: 'developer', namespace: 'team-a' });
    await store.close();
    writeFileSync(join(dir, 'admin.token'), 'bench-admin-token-0123456789abcdef');
    writeFileSync(join(dir, 'client.token'), 'bench-client-token-0123456789abcdef');
    const authz = await start(cli('authz', 'serve', '--listen', '127.0.0.1:0', '--db', db, '--admin-token-file', join(dir, 'admin.token'), '--client-token-file', join(dir, 'client.token')), { TOLLGATE_LOG_LEVEL: 'info' });

    process.stderr.write(`hashing ${BCRYPT_USERS + 1} passwords at cost ${COST}…\n`);
    const lines = [`  alice:\n    password: "${bcrypt.hashSync('alice-pw', COST)}"`];
    for (let i = 0; i < BCRYPT_USERS; i++) lines.push(`  user-${i}:\n    password: "${bcrypt.hashSync(`pw-${i}`, COST)}"`);
    writeFileSync(join(dir, 'users.yaml'), `users:\n${lines.join('\n')}\n`);
    const keys = generateKeyFiles(join(dir, 'keys'));
    const authnArgs = (extra: string[]) =>
      cli('authn', 'serve', '--listen', '127.0.0.1:0', '--authz-url', authz.url, '--authz-token-file', join(dir, 'client.token'), '--key', keys.keyFile, '--cert', keys.certFile, '--users', join(dir, 'users.yaml'), '--service', 'bench-registry', ...extra);
    // Logs stay at info: the one audit line per token request is part of the real cost.
    const authn = await start(authnArgs([]), { TOLLGATE_LOG_LEVEL: 'info', NODE_OPTIONS: AUTHN_NODE_OPTIONS });
    await new Promise((r) => setTimeout(r, 500));
    const idle = rssMb(authn.proc.pid!);
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    // Percent-encoded as the clients send it (Go's url.Values.Encode: `:` → %3A, `/` → %2F, `,` → %2C).
    const q = (scope: string) => `scope=${encodeURIComponent(scope)}`;
    const tokenPath = `/auth?account=alice&service=bench-registry&${q('repository:team-a/app:pull,push')}`;
    // Four scopes in one token request (as `docker push` of an image mounted from other repositories asks).
    const tokenPath4 = `${tokenPath}&${q('repository:team-a/base:pull')}&${q('repository:team-a/tools:pull')}&${q('repository:team-a/cache:pull,push')}`;
    const headers = { authorization: basic('alice', 'alice-pw') };
    // The first login pays bcrypt once; its token sizes the bare route's reply. Then idle as it stays: the bcrypt
    // thread (dummy hashes at start-up, this login) exits after 10 s without work, as on a server whose clients
    // are logged in (their re-logins are cached).
    const firstToken = ((await (await fetch(authn.url + tokenPath, { headers })).json()) as { token: string }).token;
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    const idleSettled = rssMb(authn.proc.pid!);

    const bareScript = join(dir, 'bare.mjs');
    writeFileSync(
      bareScript,
      `import express from ${JSON.stringify(join(root, 'node_modules', 'express', 'index.js'))};
import { createAuthzClient } from ${JSON.stringify(join(buildDir, 'authn-server', 'src', 'authz-client', 'index.js'))};
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
const app = express();
// A token-sized reply: as long as the token authn issues for one scope (its x5c header included).
const fake = 'x'.repeat(Number(process.env.TOKEN_CHARS));
const body = { token: fake, access_token: fake, expires_in: 300, issued_at: new Date().toISOString() };
app.get('/auth', (req, res) => res.json(body));
// The same route signing a one-scope ES256 token with authn's key (header encoded once, 128-bit jti, as
// token/issuer.ts does): the least any token server must do per token, with express around it.
const key = { key: createPrivateKey(readFileSync(process.env.KEY_FILE)), dsaEncoding: 'ieee-p1363' };
const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: 'bench', x5c: [fake.slice(0, Math.max(0, Number(process.env.TOKEN_CHARS) - 560))] })).toString('base64url');
app.get('/auth-signed', (req, res) => {
  const iat = Math.floor(Date.now() / 1000);
  const claims = { iss: 'tollgate', sub: 'alice', aud: 'bench-registry', access: [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }], iat, nbf: iat, exp: iat + 300, jti: randomBytes(16).toString('base64url') };
  const input = header + '.' + Buffer.from(JSON.stringify(claims)).toString('base64url');
  const token = input + '.' + sign('sha256', Buffer.from(input), key).toString('base64url');
  res.json({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() });
});
// The same route plus one call to /authorized through authn's own authz client (node:http with a
// keep-alive agent, authn-server/src/authz-client): the floor of any design that asks authz per request.
const authz = createAuthzClient({ url: process.env.AUTHZ_URL, token: process.env.AUTHZ_TOKEN });
const ask = { Account: 'alice', Type: 'repository', Name: 'team-a/app', Service: 'bench-registry', IP: '127.0.0.1', Actions: ['pull', 'push'], Labels: null };
app.get('/auth-plus-authz', async (req, res) => { await authz.authorize(ask); res.json(body); });
const s = app.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', url: 'http://127.0.0.1:' + s.address().port })));
`,
    );
    const bare = await start([bareScript], { AUTHZ_URL: authz.url, AUTHZ_TOKEN: 'bench-client-token-0123456789abcdef', TOKEN_CHARS: String(firstToken.length), KEY_FILE: keys.keyFile });

    // The JIT warms up on both servers.
    await load(authn.url + tokenPath, { headers, duration: 3 });
    await load(bare.url + '/auth', { duration: 3 });
    await load(bare.url + '/auth-signed', { duration: 2 });

    /** Runs a load and adds the server's and the authz-server's CPU microseconds per request. */
    const measured = async (name: string, pid: number, url: string, opts: Partial<autocannon.Options>): Promise<Row> => {
      const c0 = cpuSec(pid);
      const z0 = cpuSec(authz.proc.pid!);
      const highest = sampleRss(pid);
      const r = await load(url, opts);
      const perReq = (sec: number) => Math.round((sec / r.requests.total) * 1e6);
      return { ...row(name, r), cpuUs: perReq(cpuSec(pid) - c0), authzUs: perReq(cpuSec(authz.proc.pid!) - z0), maxRss: highest() };
    };
    const load0 = loadavg();
    const rows: Row[] = [];
    rows.push(await measured("bare express route (reply as long as authn's 1-scope token reply)", bare.proc.pid!, bare.url + '/auth', {}));
    await load(bare.url + '/auth-plus-authz', { duration: 2 });
    rows.push(await measured("bare express route + one /authorized call (authn's authz client)", bare.proc.pid!, bare.url + '/auth-plus-authz', {}));
    rows.push(await measured("bare express route + one ES256 signature (a one-scope token signed with authn's key)", bare.proc.pid!, bare.url + '/auth-signed', {}));
    rows.push(await measured('authn: cached re-login, 1 scope, no cache flags (change feed + decision cache)', authn.proc.pid!, authn.url + tokenPath, { headers }));
    rows.push(await measured('authn: cached re-login, 4 scopes, no cache flags (change feed + decision cache)', authn.proc.pid!, authn.url + tokenPath4, { headers }));
    const afterCached = rssMb(authn.proc.pid!);

    const authnDc = await start(authnArgs(['--decision-cache-ttl', '0']), { TOLLGATE_LOG_LEVEL: 'info', NODE_OPTIONS: AUTHN_NODE_OPTIONS });
    // A cold start under load: sampled from the moment it listens (warm-up included) to the end of its runs.
    const coldHighest = sampleRss(authnDc.proc.pid!);
    await new Promise((r) => setTimeout(r, 500));
    const idleDc = rssMb(authnDc.proc.pid!);
    await load(authnDc.url + tokenPath, { headers, duration: 2 });
    const dcRows: Row[] = [rows[0]!];
    dcRows.push(await measured('authn: cached re-login, 1 scope, --decision-cache-ttl 0 (authz asked every time)', authnDc.proc.pid!, authnDc.url + tokenPath, { headers }));
    dcRows.push(await measured('authn: cached re-login, 4 scopes, --decision-cache-ttl 0 (authz asked every time)', authnDc.proc.pid!, authnDc.url + tokenPath4, { headers }));
    // Latency without queueing, where authz is asked for every scope: one connection, so a request's time is its
    // own work plus its authz round trips (autocannon's latencies are whole milliseconds: time = 1000 / req/s).
    const lat1 = await measured('authn: 1 scope, 1 connection', authnDc.proc.pid!, authnDc.url + tokenPath, { headers, connections: 1, duration: Math.min(DURATION, 5) });
    const lat4 = await measured('authn: 4 scopes, 1 connection', authnDc.proc.pid!, authnDc.url + tokenPath4, { headers, connections: 1, duration: Math.min(DURATION, 5) });
    const memDc = rssMb(authnDc.proc.pid!);
    const coldPeak = coldHighest();
    authnDc.proc.kill('SIGTERM');

    // Uncached bcrypt: every request is a different user's first login, so bcrypt runs each time.
    const requests = Array.from({ length: BCRYPT_USERS }, (_, i) => ({
      method: 'GET' as const,
      path: `/auth?service=bench-registry&scope=repository:team-a/app:pull`,
      headers: { authorization: basic(`user-${i}`, `pw-${i}`) },
    }));
    const started = Date.now();
    const bc = await autocannon({ url: authn.url, connections: 4, amount: BCRYPT_USERS, requests, duration: 120 });
    const bcRow = row(`authn: uncached bcrypt (cost ${COST}), ${BCRYPT_USERS} first logins`, bc);
    bcRow.rps = Math.round((BCRYPT_USERS / (Date.now() - started)) * 1000 * 10) / 10;
    const mem = rssMb(authn.proc.pid!);

    const load1 = loadavg();
    const [bareRow, floorRow, signedRow, cached, cached4] = rows as [Row, Row, Row, Row, Row];
    const [, dcRow, dc4] = dcRows as [Row, Row, Row];
    const x = (a: number, b: number) => (a / b).toFixed(2);
    const msPer = (r: Row) => (1000 / r.rps).toFixed(2);
    const cpu = (r: Row) => (r.cpuUs ?? 0) + (r.authzUs ?? 0);
    const callUs = cpu(floorRow) - cpu(bareRow);
    const table = (rs: Row[]) => [
      '| scenario | req/s | × bare | p50 ms | p99 ms | authn CPU µs/token | authz-server CPU µs/token | errors | non-2xx |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rs.map((r) => `| ${r.name} | ${r.rps} | ${x(r.rps, bareRow.rps)} | ${r.p50} | ${r.p99} | ${r.cpuUs ?? '—'} | ${r.authzUs ?? '—'} | ${r.errors} | ${r.non2xx} |`),
    ];
    const md = [
      '# authn-server benchmark',
      '',
      `Run \`npm run bench:authn\` — ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; load average ${load0.map((l) => l.toFixed(2)).join(' ')} at the start, ${load1.map((l) => l.toFixed(2)).join(' ')} at the end.`,
      `authn-server NODE_OPTIONS: ${AUTHN_NODE_OPTIONS ? `\`${AUTHN_NODE_OPTIONS}\`` : 'none'}. autocannon on loopback, ${CONNECTIONS} connections, ${DURATION} s per run; authz-server, authn-server and the bare route each in their own process`,
      '(compiled JS, as `npx tollgate … serve` runs), autocannon in a fourth. All on the same machine, so the numbers are a floor; req/s and p99 move',
      'with anything else running there, CPU µs per request (user + system time of the process, from /proc, over the run) much less.',
      '"authn CPU" is the row\'s server process (the bare route\'s own process in the first two rows).',
      ...(load0[0]! > cpus().length ? [`**The load average was above the CPU count: other work shared the machine. Compare rows within this run (ratios, CPU per token), not with other runs.**`] : []),
      '',
      '### As started with no cache flags: decisions cached, kept current by authz\'s change feed',
      '',
      ...table(rows),
      '',
      '### The same with `--decision-cache-ttl 0` (authz asked for every scope of every token)',
      '',
      ...table(dcRows),
      '',
      '### Several scopes: latency at one connection (no queueing), `--decision-cache-ttl 0`',
      '',
      '| scopes per token | req/s | ms per token (1000 / req/s) | p99 ms (whole ms) | authn CPU µs/token | authz-server CPU µs/token |',
      '|---:|---:|---:|---:|---:|---:|',
      `| 1 | ${lat1.rps} | ${msPer(lat1)} | ${lat1.p99} | ${lat1.cpuUs} | ${lat1.authzUs} |`,
      `| 4 | ${lat4.rps} | ${msPer(lat4)} | ${lat4.p99} | ${lat4.cpuUs} | ${lat4.authzUs} |`,
      '',
      `- No cache flags, 1 scope, vs the bare express route: **${x(cached.rps, bareRow.rps)}×** req/s (target ≥ 1.0×); p99 ${cached.p99} ms against the bare route's ${bareRow.p99} ms (target: no higher).`,
      `- No cache flags, 4 scopes: **${x(cached4.rps, bareRow.rps)}×** the bare route (target ≥ 0.8×), p99 ${cached4.p99} ms.`,
      `- The bare route signing one ES256 token per request: ${x(signedRow.rps, bareRow.rps)}× the bare route (${signedRow.cpuUs} µs of CPU per token against ${bareRow.cpuUs}): the signature alone costs ${(signedRow.cpuUs ?? 0) - (bareRow.cpuUs ?? 0)} µs. authn (1 scope) against it: ${x(cached.rps, signedRow.rps)}× req/s, ${cached.cpuUs} µs per token.`,
      `- With \`--decision-cache-ttl 0\` (every scope asks authz): ${x(dcRow.rps, bareRow.rps)}× (1 scope, p99 ${dcRow.p99} ms), ${x(dc4.rps, bareRow.rps)}× (4 scopes, p99 ${dc4.p99} ms).`,
      `- Scopes are asked in parallel: with authz asked for each, a 4-scope token takes ${msPer(lat4)} ms at one connection against ${msPer(lat1)} ms for 1 scope (in series it would be ≈ 4 round trips).`,
      `- CPU per token, both processes: bare route ${bareRow.cpuUs} µs; no cache flags, 1 scope ${cached.cpuUs} + ${cached.authzUs} = ${cpu(cached)} µs (**${x(bareRow.cpuUs ?? 0, cpu(cached))}×** the bare route if CPU-bound);`,
      `  without the cache ${cpu(dcRow)} µs (**${x(bareRow.cpuUs ?? 0, cpu(dcRow))}×**). One /authorized call (row 2 minus row 1) costs ${callUs} µs: ${(floorRow.cpuUs ?? 0) - (bareRow.cpuUs ?? 0)} µs in the caller, ${(floorRow.authzUs ?? 0) - (bareRow.authzUs ?? 0)} µs in authz-server.`,
      `- authn-server RSS (target ≤ 75 MB idle, ≤ 100 MB peak under load): idle ${idleSettled.rss} MB (${IDLE_SETTLE_MS / 1000} s after start; ${idle.rss} MB at 0.5 s, while the bcrypt thread that made the dummy hashes still runs);`,
      `  highest RSS sampled every 50 ms during the cached 32-connection runs ${Math.max(cached.maxRss ?? 0, cached4.maxRss ?? 0)} MB (1 scope ${cached.maxRss}, 4 scopes ${cached4.maxRss}); after them ${afterCached.rss} MB, peak since start (VmHWM, includes the warm-up's bcrypt thread) ${afterCached.peak} MB;`,
      `  after the uncached bcrypt logins too ${mem.rss} MB (peak ${mem.peak} MB). \`--decision-cache-ttl 0\` process, loaded 0.5 s after it listens (its bcrypt thread still running): idle ${idleDc.rss} MB, highest sampled from then to the end of its runs ${coldPeak} MB, after them ${memDc.rss} MB, peak ${memDc.peak} MB.`,
      '',
      '| uncached login | first logins/s | p50 ms | p99 ms | errors |',
      '|---|---:|---:|---:|---:|',
      `| ${bcRow.name} | ${bcRow.rps} | ${bcRow.p50} | ${bcRow.p99} | ${bcRow.errors} |`,
      '',
      `- The uncached row is first logins per second over the whole bounded run (4 connections); bcrypt cost ${COST} in pure-JS bcryptjs is the limit there by design.`,
      '',
    ].join('\n');
    process.stdout.write(md + '\n');
    if (WRITE) {
      mkdirSync(join(root, 'bench', 'results'), { recursive: true });
      writeFileSync(join(root, 'bench', 'results', 'authn.md'), md);
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
