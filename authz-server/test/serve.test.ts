/** The real `tollgate authz serve` process: start-up checks, the listening line, graceful shutdown. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import axios from 'axios';
import { ADMIN, CLIENT, runServe, spawnServer, tempDir, tokenFiles, type ServerProcess } from './helpers.js';


describe('authz serve process', () => {
  let t: ReturnType<typeof tempDir>;
  let server: ServerProcess | undefined;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(async () => {
    await server?.stop('SIGKILL');
    server = undefined;
    t.cleanup();
  });

  it('refuses to start without tokens and says how to set them', () => {
    const res = runServe(['--db', join(t.dir, 'a.db')]);
    assert.equal(res.status, 2);
    assert.match(res.stderr, /--admin-token-file/);
    assert.match(res.stderr, /TOLLGATE_AUTHZ_CLIENT_TOKEN/);
    assert.equal(existsSync(join(t.dir, 'a.db')), false, 'no database created');
  });

  it('refuses a client token equal to the admin token, and an unreadable token file', () => {
    const same = runServe(['--db', join(t.dir, 'a.db')], { TOLLGATE_AUTHZ_ADMIN_TOKEN: 'same-token', TOLLGATE_AUTHZ_CLIENT_TOKEN: 'same-token' });
    assert.equal(same.status, 2);
    assert.match(same.stderr, /must differ/);
    const missing = runServe(['--db', join(t.dir, 'a.db'), '--admin-token-file', join(t.dir, 'nope'), '--client-token-file', join(t.dir, 'nope2')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read admin token from/);
  });

  it('refuses a bad --listen value naming the flag', () => {
    const res = runServe(['--listen', 'nonsense'], { TOLLGATE_AUTHZ_ADMIN_TOKEN: ADMIN, TOLLGATE_AUTHZ_CLIENT_TOKEN: CLIENT });
    assert.equal(res.status, 2);
    assert.match(res.stderr, /--listen/);
  });

  it('starts with token files, logs one listening line, answers, and exits 0 on SIGTERM', async () => {
    const tok = tokenFiles(t.dir);
    const db = join(t.dir, 'sub', 'authz.db');
    server = await spawnServer(['--db', db, '--admin-token-file', tok.admin, '--client-token-file', tok.client]);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(existsSync(db), true, 'parent dir and db created');
    const ready = await axios.get(`${server.url}/readyz`);
    assert.deepEqual(ready.data, { ok: true });
    const roles = await axios.get(`${server.url}/roles`, { headers: { Authorization: `Bearer ${ADMIN}` } });
    assert.deepEqual(roles.data, { roles: [] });
    const code = await server.stop('SIGTERM');
    assert.equal(code, 0);
    assert.equal((server.output().match(/"msg":"listening"/g) ?? []).length, 1);
    assert.doesNotMatch(server.output(), new RegExp(ADMIN));
  });

  it('takes tokens from env, and --insecure-dev without tokens logs a loud warning', async () => {
    server = await spawnServer(['--db', join(t.dir, 'e.db')], { TOLLGATE_AUTHZ_ADMIN_TOKEN: ADMIN, TOLLGATE_AUTHZ_CLIENT_TOKEN: CLIENT });
    const noTok = await axios.get(`${server.url}/roles`, { validateStatus: () => true });
    assert.equal(noTok.status, 401);
    await server.stop();
    const clean = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('TOLLGATE_AUTHZ_')).map((k) => [k, undefined]));
    server = await spawnServer(['--db', join(t.dir, 'd.db'), '--insecure-dev'], clean);
    assert.match(server.output(), /insecure-dev[^\n]*NEVER/);
    assert.equal((await axios.get(`${server.url}/roles`)).status, 200);
    await server.stop();
    // A quiet log level must not hide that the server is open.
    server = await spawnServer(['--db', join(t.dir, 'q.db'), '--insecure-dev', '--log-level', 'error'], clean);
    assert.match(server.output(), /WARNING: --insecure-dev: admin routes and \/authorized open without a token\. NEVER/);
  });
});
