/**
 * scripts/ext_authz.sh — the cesanta/docker_auth `ext_authz` bridge, driven like docker_auth drives it:
 * one JSON document per scope on stdin, against a real authz-server.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startAuthz, type AuthzServer } from './helpers/authz.js';
import { requireTool, run, ROOT, tempDir } from './helpers/run.js';

const SCRIPT = join(ROOT, 'scripts', 'ext_authz.sh');

describe('scripts/ext_authz.sh (docker_auth ext_authz bridge)', () => {
  let dir: ReturnType<typeof tempDir>;
  let authz: AuthzServer;

  before(async () => {
    requireTool('curl', 'ext_authz.sh needs curl (apt-get install curl)');
    dir = tempDir('ext-authz');
    authz = await startAuthz(dir.path);
    // An account name with a space and quotes, and a namespace with a space, to prove nothing is re-parsed by a shell.
    assert.equal((await authz.admin('POST', '/add-role', { name: 'dev', permissions: [{ name: '${namespace}/*', actions: ['pull', 'push'] }] })).status, 201);
    assert.equal((await authz.admin('POST', '/add-role-binding', { account_name: 'alice "the dev" $HOME', role_name: 'dev', namespace: 'team a' })).status, 201);
    assert.equal((await authz.admin('POST', '/add-role', { name: 'ops', permissions: [{ labels: { group: 'ops' }, actions: ['pull'] }] })).status, 201);
    assert.equal((await authz.admin('POST', '/add-role-binding', { account_name: '*', role_name: 'ops' })).status, 201);
  });

  after(async () => {
    await authz?.proc.stop();
    dir?.remove();
  });

  const request = (o: Record<string, unknown>) =>
    JSON.stringify({ Account: 'alice "the dev" $HOME', Type: 'repository', Name: 'team a/app', Service: 'registry', IP: '10.0.0.7', Actions: ['pull', 'push'], Labels: null, ...o });

  const ext = (input: string, env: Record<string, string | undefined> = {}) =>
    run('bash', [SCRIPT], { input, env: { PATH: process.env.PATH, TOLLGATE_AUTHZ_URL: authz.url, TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE: authz.clientTokenFile, ...env } });

  it('exits 0 when every requested action is granted (account with spaces, quotes and $)', () => {
    const res = ext(request({}));
    assert.equal(res.status, 0, res.stderr);
  });

  it('exits 1 when any requested action is denied', () => {
    assert.equal(ext(request({ Actions: ['delete', 'pull'] })).status, 1);
    assert.equal(ext(request({ Account: 'bob', Actions: ['pull'] })).status, 1);
    assert.equal(ext(request({ Name: 'team b/app', Actions: ['pull'] })).status, 1);
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
