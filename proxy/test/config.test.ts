/** `tollgate proxy` configuration (config.ts): what each mode requires, and messages naming the flag and its variable. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../authn-server/test/helpers.js';
import { loadProxyConfig, type ProxyFlags } from '../src/config.js';

describe('proxy: configuration', () => {
  const t = tempDir();
  after(() => t.cleanup());
  const base = (more: Partial<ProxyFlags> = {}): ProxyFlags => ({ key: join(t.dir, 'k.pem'), users: join(t.dir, 'users.yml'), upstream: 'http://127.0.0.1:5000', ...more });

  it('token mode by default, one service, default listen 127.0.0.1:5003, 30 s upstream bound', () => {
    const c = loadProxyConfig(base(), {});
    assert.equal(c.mode, 'token');
    assert.equal(c.service, 'tollgate-registry');
    assert.deepEqual(c.authn.listen, { host: '127.0.0.1', port: 5003 });
    assert.equal(c.upstreamTimeoutMs, 30_000);
  });

  const refused: Array<[string, Partial<ProxyFlags>, Record<string, string>, RegExp]> = [
    ['no upstream', { upstream: undefined }, {}, /--upstream \/ TOLLGATE_PROXY_UPSTREAM: is required/],
    ['an upstream with a path', { upstream: 'http://r:5000/v2' }, {}, /--upstream.*origin only/],
    ['an upstream that is not a URL', { upstream: 'registry:5000 please' }, {}, /--upstream.*must be an http\(s\) URL/],
    ['an upstream that is not http(s)', { upstream: 'ftp://r:5000' }, {}, /--upstream.*must be an http\(s\) URL/],
    ['an upstream with credentials in the URL', { upstream: 'http://u:p@r:5000' }, {}, /--upstream.*origin only/],
    ['an unknown mode', { mode: 'mirror' }, {}, /--mode \/ TOLLGATE_PROXY_MODE/],
    ['plain mode without a token realm', { mode: 'plain' }, {}, /--token-realm .*required with --mode plain/],
    ['upstream credentials in token mode', { upstreamAuthFile: join('/nonexistent') }, {}, /--upstream-auth-file: only for --mode plain/],
    ['a TLS cert without its key', { tlsCert: '/x.pem' }, {}, /--tls-cert \/ --tls-key: give both/],
    ['two services', { service: ['a', 'b'] }, {}, /exactly one service/],
    ['a zero upstream timeout', { upstreamTimeout: '0s' }, {}, /--upstream-timeout/],
  ];
  for (const [what, flags, env, message] of refused) {
    it(`refuses ${what}, naming the flag`, () => {
      assert.throws(() => loadProxyConfig({ ...base(), ...flags } as ProxyFlags, env), message);
    });
  }

  it('plain mode with an upstream credentials file: a Basic header, never the file text in the config\'s printable fields', () => {
    const f = join(t.dir, 'up.auth');
    writeFileSync(f, 'proxy:s3cret\n');
    const c = loadProxyConfig(base({ mode: 'plain', tokenRealm: 'https://auth.example/auth', upstreamAuthFile: f }), {});
    assert.equal(c.upstreamAuthorization, `Basic ${Buffer.from('proxy:s3cret').toString('base64')}`);
    writeFileSync(f, 'no-colon\n');
    assert.throws(() => loadProxyConfig(base({ mode: 'plain', tokenRealm: 'https://auth.example/auth', upstreamAuthFile: f }), {}), /expected one line "user:password"/);
  });

  it('reads TOLLGATE_PROXY_* variables; a flag wins', () => {
    const c = loadProxyConfig(base({ upstream: undefined }), { TOLLGATE_PROXY_UPSTREAM: 'https://reg.internal:443', TOLLGATE_PROXY_MODE: 'plain', TOLLGATE_PROXY_TOKEN_REALM: 'https://auth/auth', TOLLGATE_PROXY_LISTEN: '0.0.0.0:8443' });
    assert.equal(c.upstream.host, 'reg.internal');
    assert.equal(c.mode, 'plain');
    assert.deepEqual(c.authn.listen, { host: '0.0.0.0', port: 8443 });
    assert.equal(loadProxyConfig(base({ mode: 'token' }), { TOLLGATE_PROXY_MODE: 'plain' }).mode, 'token');
  });
});
