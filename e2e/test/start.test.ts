/**
 * `npm start` / `tollgate start`: first run (the README's real `npm start`, which builds) creates
 * keys, tokens, users and the demo seed under --data, the printed skopeo command works, and a
 * terminal-style Ctrl-C (SIGINT to the whole process group) stops every child; a second run reuses
 * everything; a missing registry binary still gives authz + authn; a child that dies takes the stack down.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { requireBins } from '../harness/fixture.js';
import { createServer, type Server } from 'node:net';
import { alive, freePort, Proc, ROOT, run, tempDir } from '../harness/procs.js';

function occupy(port: number): Promise<Server> {
  return new Promise((ok) => {
    const srv = createServer();
    srv.listen(port, '127.0.0.1', () => ok(srv));
  });
}

/** Waits until none of `pids` is alive (they are stopped asynchronously by their parent). */
async function gone(pids: number[], ms = 15000): Promise<number[]> {
  const end = Date.now() + ms;
  while (pids.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive);
}

describe('e2e: tollgate start', function () {
  this.timeout(240000);
  const t = tempDir();
  const data = join(t.dir, 'data');
  let ports: { authz: number; authn: number; registry: number };
  let proc: Proc | undefined;
  let childPids: number[] = [];

  before(async function () {
    requireBins(this, ['docker-registry', 'skopeo']);
    ports = { authz: await freePort(), authn: await freePort(), registry: await freePort() };
  });
  afterEach(async () => {
    await proc?.stop();
    // The children have their own process groups; if `start` could not stop them, do it by PID here.
    for (const pid of childPids.filter(alive)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* exited meanwhile */
      }
    }
    childPids = [];
  });
  after(() => t.cleanup());

  const portArgs = (): string[] => ['--data', data, '--authz-port', String(ports.authz), '--authn-port', String(ports.authn), '--registry-port', String(ports.registry)];

  /** Starts the stack in its own process group (as from a shell prompt) and waits for the banner. */
  const launch = async (how: { npm?: boolean; extra?: string[] } = {}): Promise<{ pids: number[]; out: string }> => {
    const args = [...portArgs(), ...(how.extra ?? [])];
    proc = new Proc({
      name: how.npm ? 'npm start' : 'tollgate start',
      ...(how.npm ? { cmd: 'npm', args: ['start', '--', ...args] } : { cmd: process.execPath, args: ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'start', ...args] }),
      logFile: join(t.dir, 'start.log'),
      detached: true,
    });
    await proc.waitFor((o) => o.includes('Ctrl-C stops everything'), 'the ready banner', 150000);
    const out = proc.output();
    const pids = [...(/pids\s+(.*)/.exec(out)?.[1] ?? '').matchAll(/=(\d+)/g)].map((m) => Number(m[1]));
    childPids = pids;
    return { pids, out };
  };

  /** What a terminal does on Ctrl-C: SIGINT to every process of the foreground group (npm, sh, node). */
  const ctrlC = () => proc?.signal('SIGINT');

  it('first run of `npm start`: builds, creates data, seeds the demo, the printed skopeo command pushes; Ctrl-C stops every child', async () => {
    const { pids, out } = await launch({ npm: true });
    assert.equal(pids.length, 3, out);
    assert.match(out, /^created admin\.token, client\.token, metrics\.token, keys\/token\.key, keys\/token\.crt, keys\/bundle\.pem, users\.yml, demo-credentials\.json, demo-image in /m);
    assert.match(out, /just seeded/);
    const creds = JSON.parse(readFileSync(join(data, 'demo-credentials.json'), 'utf8')) as Record<string, string>;
    for (const u of ['alice', 'bob', 'admin']) assert.ok(!out.includes(creds[u]!), `the banner does not show ${u}'s password`);
    assert.match(out, /passwords in .*demo-credentials\.json \(mode 0600; not printed\)/);
    // The files start creates are private: SQLite (and its WAL), every log.
    for (const f of ['authz.db', 'authz.db-wal', 'logs/authz.log', 'logs/authn.log', 'logs/registry.log']) {
      assert.equal(statSync(join(data, f)).mode & 0o777, 0o600, f);
    }
    assert.equal(readFileSync(join(data, 'admin.token'), 'utf8').trim().length, 64);
    // authn's /metrics is not open: only the metrics token (0600, under the data dir) reads it.
    const metricsToken = readFileSync(join(data, 'metrics.token'), 'utf8').trim();
    assert.equal(statSync(join(data, 'metrics.token')).mode & 0o777, 0o600);
    assert.equal((await fetch(`http://127.0.0.1:${ports.authn}/metrics`)).status, 401);
    const metrics = await fetch(`http://127.0.0.1:${ports.authn}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^tollgate_authn_/m);

    const q = new URLSearchParams({ service: 'tollgate-registry', account: 'alice', scope: 'repository:team-a/hello:pull,push' });
    const r = await fetch(`http://127.0.0.1:${ports.authn}/auth?${q}`, { headers: { authorization: `Basic ${Buffer.from(`alice:${creds.alice}`).toString('base64')}` } });
    assert.equal(r.status, 200);
    const token = ((await r.json()) as { token: string }).token;
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { access: Array<{ name: string; actions: string[] }> };
    assert.deepEqual(claims.access.map((a) => [a.name, [...a.actions].sort()]), [['team-a/hello', ['pull', 'push']]]);

    // The banner's copy-paste commands, run as printed: alice's push works, bob's pull is denied.
    // The logins read the password from the file: no command line holds one.
    const env = { REGISTRY_AUTH_FILE: join(t.dir, 'auth.json') };
    const logins = [...out.matchAll(/^\s+(node -p .* \| skopeo login .*)$/gm)].map((m) => m[1]!);
    assert.equal(logins.length, 2, out);
    for (const l of logins) for (const u of ['alice', 'bob']) assert.ok(!l.includes(creds[u]!));
    const pushCmd = /^\s+(skopeo copy --dest-tls-verify.*)$/m.exec(out)?.[1];
    assert.ok(pushCmd, out);
    assert.equal((await run('sh', ['-c', logins[0]!], { env, input: '' })).code, 0);
    const push = await run('sh', ['-c', pushCmd], { env, input: '' });
    assert.equal(push.code, 0, push.out);
    assert.match(push.out, /Writing manifest to image destination/);
    const denyCmd = /^\s+(skopeo copy --src-tls-verify.*)$/m.exec(out)?.[1];
    assert.ok(denyCmd, out);
    assert.equal((await run('sh', ['-c', logins[1]!], { env, input: '' })).code, 0);
    const deny = await run('sh', ['-c', denyCmd], { env, input: '' });
    assert.notEqual(deny.code, 0, deny.out);
    assert.match(deny.out, /denied: requested access to the resource is denied/);

    // The doctor command docs/start.md suggests, against this stack.
    const doc = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'doctor', '--registry', `http://127.0.0.1:${ports.registry}`, '--authn', `http://127.0.0.1:${ports.authn}`, '--user', 'admin'], {
      env: { TOLLGATE_DOCTOR_PASSWORD: creds.admin },
    });
    assert.equal(doc.code, 0, doc.out);
    assert.match(doc.stdout, /all \d+ checks passed/);

    assert.ok(pids.every(alive));
    ctrlC();
    const code = await proc?.wait();
    // npm re-raises the SIGINT its script got, as npm does for any script (a shell shows 130).
    assert.ok(code === 0 || proc?.exitSignal === 'SIGINT', `npm start ended with ${code}/${proc?.exitSignal}:\n${proc?.tail()}`);
    // start itself stopped all three (none died on its own first, which would read as a crash).
    assert.match(proc?.output() ?? '', /SIGINT: stopping authz-server, authn-server, registry\n/);
    assert.doesNotMatch(proc?.output() ?? '', /exited unexpectedly/);
    assert.deepEqual(await gone(pids), [], 'every child is gone');
  });

  it('second run: reuses keys, tokens and users, does not seed again; pressing Ctrl-C twice still stops cleanly', async () => {
    const files = ['admin.token', 'client.token', 'metrics.token', 'keys/token.key', 'keys/token.crt', 'keys/bundle.pem', 'users.yml', 'demo-credentials.json'];
    const before = files.map((f) => readFileSync(join(data, f), 'utf8'));
    const { pids, out } = await launch();
    assert.doesNotMatch(out, /just seeded/);
    assert.doesNotMatch(out, /^created /m);
    assert.deepEqual(files.map((f) => readFileSync(join(data, f), 'utf8')), before);
    // alice's image from the first run is still there.
    const creds = JSON.parse(readFileSync(join(data, 'demo-credentials.json'), 'utf8')) as Record<string, string>;
    const pull = await run('skopeo', ['inspect', '--tls-verify=false', '--creds', `alice:${creds.alice}`, `docker://127.0.0.1:${ports.registry}/team-a/hello:v1`], { env: { REGISTRY_AUTH_FILE: join(t.dir, 'auth.json') } });
    assert.equal(pull.code, 0, pull.out);
    ctrlC();
    await new Promise((r) => setTimeout(r, 50));
    ctrlC();
    assert.equal(await proc?.wait(), 0, proc?.tail());
    assert.deepEqual(await gone(pids), []);
  });

  it('without the registry binary: says how to install it and still runs authz + authn; SIGTERM stops them', async () => {
    const { pids, out } = await launch({ extra: ['--registry-bin', 'no-such-docker-registry'] });
    assert.match(out, /"no-such-docker-registry" not found — install it with: sudo apt-get install docker-registry/);
    assert.equal(pids.length, 2, out);
    assert.doesNotMatch(out, /skopeo copy/);
    const creds = JSON.parse(readFileSync(join(data, 'demo-credentials.json'), 'utf8')) as Record<string, string>;
    const q = new URLSearchParams({ service: 'tollgate-registry', account: 'bob', scope: 'repository:team-b/x:pull' });
    const r = await fetch(`http://127.0.0.1:${ports.authn}/auth?${q}`, { headers: { authorization: `Basic ${Buffer.from(`bob:${creds.bob}`).toString('base64')}` } });
    assert.equal(r.status, 200);
    process.kill(proc?.pid ?? 0, 'SIGTERM');
    assert.equal(await proc?.wait(), 0);
    assert.deepEqual(await gone(pids), []);
  });

  it('start killed with SIGKILL: its children notice and exit, freeing the ports', async () => {
    const { pids, out } = await launch();
    assert.equal(pids.length, 3, out);
    process.kill(proc?.pid ?? 0, 'SIGKILL');
    await proc?.wait();
    assert.deepEqual(await gone(pids), [], 'every child is gone');
    for (const port of [ports.authz, ports.authn, ports.registry]) {
      await assert.rejects(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }), `nothing listens on ${port} any more`);
    }
  });

  it('a child that dies takes the stack down: its log tail is printed, the others are stopped, exit 1', async () => {
    const { pids, out } = await launch();
    assert.equal(pids.length, 3, out);
    const authnPid = Number(/authn-server=(\d+)/.exec(out)?.[1]);
    process.kill(authnPid, 'SIGKILL');
    assert.equal(await proc?.wait(), 1, proc?.tail());
    assert.match(proc?.output() ?? '', /authn-server exited unexpectedly \(-1\); last log lines:/);
    assert.match(proc?.output() ?? '', /authn-server died: stopping authz-server, registry\n/);
    assert.deepEqual(await gone(pids), []);
  });

  it('a busy authz port is a clear error (exit 2); a busy registry port (Debian runs its own on :5000) falls back to a free one', async () => {
    const blocker = await occupy(ports.authz);
    try {
      const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'start', ...portArgs()]);
      assert.equal(r.code, 2, r.out);
      assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${ports.authz} for authz-server is already in use.*--authz-port`));
    } finally {
      blocker.close();
    }
    const regBlocker = await occupy(ports.registry);
    try {
      const { pids, out } = await launch();
      assert.equal(pids.length, 3, out);
      const m = new RegExp(`127\\.0\\.0\\.1:${ports.registry} is in use .*; using 127\\.0\\.0\\.1:(\\d+)`).exec(out);
      assert.ok(m, out);
      const challenge = await fetch(`http://127.0.0.1:${m[1]}/v2/`);
      assert.equal(challenge.status, 401);
      assert.match(challenge.headers.get('www-authenticate') ?? '', new RegExp(`realm="http://127\\.0\\.0\\.1:${ports.authn}/auth"`));
      ctrlC();
      assert.equal(await proc?.wait(), 0);
      assert.deepEqual(await gone(pids), []);
    } finally {
      regBlocker.close();
    }
  });

  it('a deleted signing key (either half) regenerates the pair (nothing else is touched) and start warns that the old bundle no longer matches', async () => {
    const bundle = readFileSync(join(data, 'keys', 'bundle.pem'), 'utf8');
    const cert = readFileSync(join(data, 'keys', 'token.crt'), 'utf8');
    // Only the key: its certificate alone is useless, so both are made anew.
    rmSync(join(data, 'keys', 'token.key'));
    const { pids, out } = await launch();
    assert.match(out, /^created keys\/token\.key, keys\/token\.crt in /m);
    assert.match(out, /warning: .*keys\/bundle\.pem does not hold .*keys\/token\.crt, so the registry will reject every token; delete the bundle to have it rebuilt/);
    assert.equal(readFileSync(join(data, 'keys', 'bundle.pem'), 'utf8'), bundle, 'the bundle was not overwritten');
    assert.notEqual(readFileSync(join(data, 'keys', 'token.crt'), 'utf8'), cert, 'a new certificate for the new key');
    ctrlC();
    assert.equal(await proc?.wait(), 0);
    assert.deepEqual(await gone(pids), []);
  });
});
