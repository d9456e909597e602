/** `tollgate authz serve` configuration: every flag's env equivalent, precedence, and the start-up refusals. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS, loadConfig, MISSING_TOKENS_MESSAGE } from '../src/config.js';
import { tempDir } from './helpers.js';

describe('serve configuration', () => {
  let t: ReturnType<typeof tempDir>;
  let files: { a: string; c: string };
  beforeEach(() => {
    t = tempDir();
    files = { a: join(t.dir, 'a.token'), c: join(t.dir, 'c.token') };
    writeFileSync(files.a, 'admin-from-file-0123456789abcdef0123\n');
    writeFileSync(files.c, 'client-from-file-0123456789abcdef0123\n');
  });
  afterEach(() => t.cleanup());

  const TOKENS = { TOLLGATE_AUTHZ_ADMIN_TOKEN: 'admin-env-0123456789abcdef0123456789', TOLLGATE_AUTHZ_CLIENT_TOKEN: 'client-env-0123456789abcdef0123456789' };

  it('defaults: 127.0.0.1:5001, ./data/authz.db, info', () => {
    const cfg = loadConfig({}, TOKENS);
    assert.deepEqual(cfg.listen, { host: '127.0.0.1', port: 5001 });
    assert.equal(cfg.db, DEFAULTS.db);
    assert.equal(cfg.logLevel, 'info');
    assert.equal(cfg.insecureDev, false);
  });

  it('every flag has an env equivalent', () => {
    const cfg = loadConfig({}, {
      TOLLGATE_AUTHZ_LISTEN: '[::1]:6001',
      TOLLGATE_AUTHZ_DB: '/tmp/x.db',
      TOLLGATE_LOG_LEVEL: 'warn',
      TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE: files.a,
      TOLLGATE_AUTHZ_CLIENT_TOKEN_FILE: files.c,
    });
    assert.deepEqual(cfg.listen, { host: '::1', port: 6001 });
    assert.equal(cfg.db, '/tmp/x.db');
    assert.equal(cfg.logLevel, 'warn');
    assert.equal(cfg.adminToken, 'admin-from-file-0123456789abcdef0123');
    assert.equal(cfg.clientToken, 'client-from-file-0123456789abcdef0123');
    const direct = loadConfig({}, TOKENS);
    assert.deepEqual([direct.adminToken, direct.clientToken], ['admin-env-0123456789abcdef0123456789', 'client-env-0123456789abcdef0123456789']);
  });

  it('flags win over env; a token file wins over the token value', () => {
    const env = { ...TOKENS, TOLLGATE_AUTHZ_LISTEN: '127.0.0.1:7000', TOLLGATE_AUTHZ_DB: 'env.db', TOLLGATE_LOG_LEVEL: 'debug' };
    const cfg = loadConfig({ listen: '127.0.0.1:7001', db: 'flag.db', logLevel: 'error', adminTokenFile: files.a, clientTokenFile: files.c }, env);
    assert.deepEqual(cfg.listen, { host: '127.0.0.1', port: 7001 });
    assert.equal(cfg.db, 'flag.db');
    assert.equal(cfg.logLevel, 'error');
    assert.equal(cfg.adminToken, 'admin-from-file-0123456789abcdef0123');
    const fileEnv = loadConfig({}, { ...TOKENS, TOLLGATE_AUTHZ_ADMIN_TOKEN_FILE: files.a });
    assert.equal(fileEnv.adminToken, 'admin-from-file-0123456789abcdef0123');
  });

  it('without both tokens it refuses, saying how to set them; --insecure-dev relaxes that', () => {
    for (const env of [{}, { TOLLGATE_AUTHZ_ADMIN_TOKEN: 'a' }, { TOLLGATE_AUTHZ_CLIENT_TOKEN: 'c' }, { TOLLGATE_AUTHZ_ADMIN_TOKEN: '  ' }]) {
      assert.throws(() => loadConfig({}, env), (e: Error) => e.message === MISSING_TOKENS_MESSAGE);
    }
    assert.match(MISSING_TOKENS_MESSAGE, /--admin-token-file.*TOLLGATE_AUTHZ_ADMIN_TOKEN.*--client-token-file.*TOLLGATE_AUTHZ_CLIENT_TOKEN/);
    assert.equal(loadConfig({ insecureDev: true }, {}).adminToken, undefined);
  });

  it('--insecure-dev with a route left open only listens on loopback', () => {
    for (const listen of ['127.0.0.1:0', '[::1]:0', 'localhost:0']) assert.equal(loadConfig({ insecureDev: true, listen }, {}).insecureDev, true, listen);
    for (const listen of ['0.0.0.0:5001', ':5001', '[::]:5001', '10.0.0.5:5001']) {
      assert.throws(() => loadConfig({ insecureDev: true, listen }, { TOLLGATE_AUTHZ_ADMIN_TOKEN: 'a' }), /--insecure-dev .*only listens on loopback/, listen);
    }
    // With both tokens configured nothing is open, so any address is fine.
    assert.equal(loadConfig({ insecureDev: true, listen: '0.0.0.0:5001' }, TOKENS).listen.host, '0.0.0.0');
  });

  it('a token no client could send (inner whitespace, non-ASCII) is refused, without echoing it', () => {
    writeFileSync(files.a, 'two words\n');
    assert.throws(() => loadConfig({ adminTokenFile: files.a }, { TOLLGATE_AUTHZ_CLIENT_TOKEN: 'c' }), (e: Error) => {
      assert.match(e.message, /admin token .*printable ASCII without spaces/);
      assert.doesNotMatch(e.message, /two words/);
      return true;
    });
    assert.throws(() => loadConfig({}, { TOLLGATE_AUTHZ_ADMIN_TOKEN: 'a', TOLLGATE_AUTHZ_CLIENT_TOKEN: 'clé' }), /client token .*printable ASCII/);
  });

  it('bad values name the flag and its env variable', () => {
    assert.throws(() => loadConfig({}, { ...TOKENS, TOLLGATE_AUTHZ_LISTEN: 'nope' }), /--listen \/ TOLLGATE_AUTHZ_LISTEN/);
    assert.throws(() => loadConfig({ logLevel: 'loud' }, TOKENS), /--log-level \/ TOLLGATE_LOG_LEVEL/);
    assert.throws(() => loadConfig({ db: '' }, TOKENS), /--db \/ TOLLGATE_AUTHZ_DB/);
  });

  it('admin and client tokens shorter than 32 characters are refused at start, naming which', () => {
    const long = 'x'.repeat(32);
    assert.throws(() => loadConfig({}, { TOLLGATE_AUTHZ_ADMIN_TOKEN: 'short-admin-token', TOLLGATE_AUTHZ_CLIENT_TOKEN: long }), /admin token .* is 17 characters long; tokens must be at least 32/);
    assert.throws(() => loadConfig({}, { TOLLGATE_AUTHZ_ADMIN_TOKEN: long, TOLLGATE_AUTHZ_CLIENT_TOKEN: 'y'.repeat(31) }), /client token .* is 31 characters long/);
    assert.equal(loadConfig({}, { TOLLGATE_AUTHZ_ADMIN_TOKEN: long, TOLLGATE_AUTHZ_CLIENT_TOKEN: 'y'.repeat(32) }).clientToken, 'y'.repeat(32));
  });
});
