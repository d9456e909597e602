/**
 * scripts/ext_authz.sh — the cesanta/docker_auth `ext_authz` bridge, driven like docker_auth drives it:
 * one JSON document per scope on stdin, against a real authz-server (and, for statuses authz never
 * sends, a stand-in HTTP server).
 *
 * The script must read all of stdin before it can exit: a program that exits with input still unread
 * makes the writer (docker_auth, or spawnSync here) fail with EPIPE. That was the old flaky
 * "spawnSync bash EPIPE": the missing-token case exited before curl read the body; small inputs lost
 * that race only on a loaded machine. A 1 MiB request (larger than a pipe buffer) makes it deterministic.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startAuthz, type AuthzServer } from './helpers/authz.js';
import { requireTool, run, ROOT, startProcess, tempDir, type Proc } from './helpers/run.js';

const SCRIPT = join(ROOT, 'scripts', 'ext_authz.sh');
const ACCOUNT = 'alice "the dev" $HOME `id` \\ ü';

/** Answers POST <base>/<status>/authorized with that status (statuses authz-server never sends). */
const STAND_IN = `
const srv = require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.statusCode = Number(req.url.split('/')[1]) || 500; res.end(); });
});
srv.listen(0, '127.0.0.1', () => console.log('port=' + srv.address().port));
`;

describe('scripts/ext_authz.sh (docker_auth ext_authz bridge)', () => {
  let dir: ReturnType<typeof tempDir>;
  let authz: AuthzServer;

  before(async () => {
    requireTool('curl', 'ext_authz.sh needs curl (apt-get install curl)');
    dir = tempDir('ext-authz');
    authz = await startAuthz(dir.path);
    // An account name with spaces, quotes, `$`, backticks, a backslash and non-ASCII: any shell
    // re-parsing or JSON mangling on the way would change the decision. (Repository names follow
    // distribution's grammar: authz refuses "team a/app" with 400.)
    assert.equal((await authz.admin('POST', '/add-role', { name: 'dev', permissions: [{ name: '${namespace}/*', actions: ['pull', 'push'] }] })).status, 201);
    assert.equal((await authz.admin('POST', '/add-role-binding', { account_name: ACCOUNT, role_name: 'dev', namespace: 'team-a' })).status, 201);
    assert.equal((await authz.admin('POST', '/add-role', { name: 'ops', permissions: [{ labels: { group: 'ops' }, actions: ['pull'] }] })).status, 201);
    assert.equal((await authz.admin('POST', '/add-role-binding', { account_name: '*', role_name: 'ops' })).status, 201);
  });

  let standIn: { proc: Proc; url: string } | undefined;

  after(async () => {
    await Promise.all([authz?.proc.stop(), standIn?.proc.stop()]);
    dir?.remove();
  });

  const fields = (o: Record<string, unknown>) => ({ Account: ACCOUNT, Type: 'repository', Name: 'team-a/app', Service: 'registry', IP: '10.0.0.7', Actions: ['pull', 'push'], Labels: null, ...o });
  const request = (o: Record<string, unknown>) => JSON.stringify(fields(o));

  const ext = (input: string, env: Record<string, string | undefined> = {}) =>
    run('bash', [SCRIPT], { input, env: { PATH: process.env.PATH, TOLLGATE_AUTHZ_URL: authz.url, TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE: authz.clientTokenFile, ...env } });

  it('exits 0 when every requested action is granted (account with spaces, quotes, $, backticks, \\ and ü)', () => {
    const res = ext(request({}));
    assert.equal(res.status, 0, res.stderr);
  });

  it('takes pretty-printed JSON (newlines, indentation) and a 50 KB request (just under authz\'s 64 KiB body limit) unchanged', () => {
    assert.equal(ext(JSON.stringify(fields({}), null, 2)).status, 0);
    const labels = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`label-${i}`, ['x'.repeat(500)]]));
    const big = ext(request({ Labels: labels }));
    assert.equal(big.status, 0, big.stderr);
  });

  it('reads all of stdin before failing: a 1 MiB request without a token exits 2 and the writer never sees EPIPE', () => {
    // run() throws "cannot run bash: spawnSync bash EPIPE" if the script exits with input unread.
    const res = ext(request({ Labels: { pad: ['x'.repeat(1 << 20)] } }), { TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE: undefined });
    assert.equal(res.status, 2);
    assert.match(res.stderr, /no client token/);
    const badTimeout = ext(request({ Labels: { pad: ['x'.repeat(1 << 20)] } }), { TOLLGATE_EXT_AUTHZ_TIMEOUT: 'soon' });
    assert.equal(badTimeout.status, 2);
    assert.match(badTimeout.stderr, /TOLLGATE_EXT_AUTHZ_TIMEOUT/);
  });

  it('exits 2 on empty stdin instead of asking authz about nothing', () => {
    const res = ext('  \n');
    assert.equal(res.status, 2);
    assert.match(res.stderr, /no request JSON/);
  });

  it('exits 0 only on 200: 204, 302 and 500 from a stand-in HTTP server are errors (2), its 403 is a denial (1)', async () => {
    const started = await startProcess(process.execPath, ['-e', STAND_IN], (out) => /port=(\d+)/.exec(out)?.[1]);
    standIn = { proc: started.proc, url: `http://127.0.0.1:${started.value}` };
    const status = (code: number) => {
      const child = spawn('bash', [SCRIPT], { env: { PATH: process.env.PATH, TOLLGATE_AUTHZ_URL: `${standIn?.url}/${code}`, TOLLGATE_AUTHZ_CLIENT_TOKEN: 't' }, stdio: ['pipe', 'ignore', 'ignore'] });
      return new Promise<number | null>((resolve, reject) => {
        child.stdin.once('error', reject); // EPIPE if the script stopped reading: a failure, not a crash
        child.once('exit', resolve);
        child.stdin.end(request({}));
      });
    };
    assert.equal(await status(200), 0);
    assert.equal(await status(403), 1);
    for (const code of [204, 302, 401, 404, 500, 503]) assert.equal(await status(code), 2, `HTTP ${code}`);
  });

  it('exits 1 when any requested action is denied', () => {
    assert.equal(ext(request({ Actions: ['delete', 'pull'] })).status, 1);
    assert.equal(ext(request({ Account: 'bob', Actions: ['pull'] })).status, 1);
    assert.equal(ext(request({ Name: 'team-b/app', Actions: ['pull'] })).status, 1);
  });

  it('passes docker_auth labels through (label-matched role grants pull)', () => {
    assert.equal(ext(request({ Account: 'carol', Actions: ['pull'], Labels: { group: ['ops'] } })).status, 0);
    assert.equal(ext(request({ Account: 'carol', Actions: ['pull'], Labels: { group: ['qa'] } })).status, 1);
  });

  it('accepts the token from TOLLGATE_AUTHZ_CLIENT_TOKEN too', () => {
    assert.equal(ext(request({}), { TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE: undefined, TOLLGATE_AUTHZ_CLIENT_TOKEN: authz.clientToken }).status, 0);
  });

  it('exits 2 (error, never 0) on a wrong token, bad JSON, no token or an unreachable server', () => {
    const wrong = ext(request({}), { TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE: undefined, TOLLGATE_AUTHZ_CLIENT_TOKEN: 'not-the-token' });
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /HTTP 401/);
    const bad = ext('{"Account": "alice", "Type": ');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /HTTP 400/);
    const none = ext(request({}), { TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE: undefined });
    assert.equal(none.status, 2);
    assert.match(none.stderr, /no client token/);
    const down = ext(request({}), { TOLLGATE_AUTHZ_URL: 'http://127.0.0.1:9' });
    assert.equal(down.status, 2);
  });
});
