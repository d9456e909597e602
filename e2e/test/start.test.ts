/**
 * `tollgate start` (what `npm start` runs after building): first run creates keys, tokens, users and
 * the demo seed under --data; the stack answers token requests; SIGINT stops every child; a second
 * run reuses everything it created.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingBins, requireBins } from '../harness/fixture.js';
import { createServer, type Server } from 'node:net';
import { freePort, Proc, ROOT, run, tempDir } from '../harness/procs.js';

function occupy(port: number): Promise<Server> {
  return new Promise((ok) => {
    const srv = createServer();
    srv.listen(port, '127.0.0.1', () => ok(srv));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('e2e: tollgate start', function () {
  this.timeout(180000);
  const t = tempDir();
  const data = join(t.dir, 'data');
  const hasRegistry = missingBins(['docker-registry']).length === 0;
  let ports: { authz: number; authn: number; registry: number };
  let proc: Proc | undefined;

  before(async function () {
    requireBins(this, ['docker-registry', 'skopeo']);
    ports = { authz: await freePort(), authn: await freePort(), registry: await freePort() };
  });
  afterEach(async () => {
    await proc?.stop();
  });
  after(() => t.cleanup());

  const launch = async (extra: string[] = []): Promise<{ pids: number[]; out: string }> => {
    proc = new Proc({
      name: 'tollgate start',
      cmd: process.execPath,
      args: ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'start', '--data', data, '--authz-port', String(ports.authz), '--authn-port', String(ports.authn), '--registry-port', String(ports.registry), ...extra],
      logFile: join(t.dir, 'start.log'),
    });
    await proc.waitFor((o) => o.includes('Ctrl-C stops everything'), 'the ready banner', 90000);
    const out = proc.output();
    const pids = [...(/pids\s+(.*)/.exec(out)?.[1] ?? '').matchAll(/=(\d+)/g)].map((m) => Number(m[1]));
    return { pids, out };
  };

  it('first run: creates data, seeds the demo, serves tokens, and the printed skopeo command works; SIGINT stops all children', async () => {
    const { pids, out } = await launch();
    assert.equal(pids.length, hasRegistry ? 3 : 2, out);
    assert.match(out, /just seeded/);
    const creds = JSON.parse(readFileSync(join(data, 'demo-credentials.json'), 'utf8')) as Record<string, string>;
    assert.equal((readFileSync(join(data, 'admin.token'), 'utf8').trim()).length, 64);

    const q = new URLSearchParams({ service: 'tollgate-registry', account: 'alice', scope: 'repository:team-a/hello:pull,push' });
    const r = await fetch(`http://127.0.0.1:${ports.authn}/auth?${q}`, { headers: { authorization: `Basic ${Buffer.from(`alice:${creds.alice}`).toString('base64')}` } });
    assert.equal(r.status, 200);
    const token = ((await r.json()) as { token: string }).token;
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { access: Array<{ name: string; actions: string[] }> };
    assert.deepEqual(claims.access.map((a) => [a.name, [...a.actions].sort()]), [['team-a/hello', ['pull', 'push']]]);

    // The banner's copy-paste command, run as printed.
    const cmd = /^\s+(skopeo copy --dest-tls-verify.*)$/m.exec(out)?.[1];
    assert.ok(cmd, out);
    const push = await run('sh', ['-c', cmd], { env: { REGISTRY_AUTH_FILE: join(t.dir, 'auth.json') }, input: '' });
    assert.equal(push.code, 0, push.out);

    // The doctor command docs/start.md suggests, against this stack.
    const doc = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'doctor', '--registry', `http://127.0.0.1:${ports.registry}`, '--authn', `http://127.0.0.1:${ports.authn}`, '--user', 'admin'], {
      env: { TOLLGATE_DOCTOR_PASSWORD: creds.admin },
    });
    assert.equal(doc.code, 0, doc.out);
    assert.match(doc.stdout, /all \d+ checks passed/);

    assert.ok(pids.every(alive));
    process.kill(proc?.pid ?? 0, 'SIGINT');
    assert.equal(await proc?.wait(), 0, proc?.tail());
    assert.deepEqual(pids.filter(alive), [], 'every child is gone');
  });

  it('second run: reuses keys, tokens and users, does not seed again', async () => {
    const before = ['admin.token', 'client.token', 'keys/token.key', 'users.yml'].map((f) => readFileSync(join(data, f), 'utf8'));
    const { pids, out } = await launch();
    assert.doesNotMatch(out, /just seeded/);
    assert.doesNotMatch(out, /^created /m);
    const after = ['admin.token', 'client.token', 'keys/token.key', 'users.yml'].map((f) => readFileSync(join(data, f), 'utf8'));
    assert.deepEqual(after, before);
    process.kill(proc?.pid ?? 0, 'SIGTERM');
    assert.equal(await proc?.wait(), 0);
    assert.deepEqual(pids.filter(alive), []);
  });

  it('without the registry binary: says how to install it and still runs authz + authn', async () => {
    const { pids, out } = await launch(['--registry-bin', 'no-such-docker-registry']);
    assert.match(out, /"no-such-docker-registry" not found — install it with: sudo apt-get install docker-registry/);
    assert.equal(pids.length, 2, out);
    assert.doesNotMatch(out, /skopeo copy/);
    const creds = JSON.parse(readFileSync(join(data, 'demo-credentials.json'), 'utf8')) as Record<string, string>;
    const q = new URLSearchParams({ service: 'tollgate-registry', account: 'bob', scope: 'repository:team-b/x:pull' });
    const r = await fetch(`http://127.0.0.1:${ports.authn}/auth?${q}`, { headers: { authorization: `Basic ${Buffer.from(`bob:${creds.bob}`).toString('base64')}` } });
    assert.equal(r.status, 200);
    process.kill(proc?.pid ?? 0, 'SIGINT');
    assert.equal(await proc?.wait(), 0);
    assert.deepEqual(pids.filter(alive), []);
  });

  it('a busy authz port is a clear error (exit 2); a busy registry port (Debian runs its own on :5000) falls back to a free one', async () => {
    const blocker = await occupy(ports.authz);
    try {
      const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'start', '--data', data, '--authz-port', String(ports.authz), '--authn-port', String(ports.authn), '--registry-port', String(ports.registry)]);
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
      process.kill(proc?.pid ?? 0, 'SIGINT');
      assert.equal(await proc?.wait(), 0);
      assert.deepEqual(pids.filter(alive), []);
    } finally {
      regBlocker.close();
    }
  });
});
