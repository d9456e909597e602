/** `tollgate authn serve` as a real process (real credentials file), and config validation (flags, env, messages). */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import bcrypt from 'bcryptjs';
import { Command } from 'commander';
import { registerAuthnCommands } from '../src/cli/index.js';
import { loadConfig, type ServeFlags } from '../src/config.js';
import { generateKeyFiles } from '../src/keys/generate.js';
import { CLIENT_TOKEN, libtrustKid, StandInAuthz, tempDir, verifyIndependently } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'authn', 'serve'];

describe('authn serve configuration', () => {
  it('defaults', () => {
    const c = loadConfig({ key: 'k', users: 'u' }, {});
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 5002 });
    assert.equal(c.authzUrl, 'http://127.0.0.1:5001');
    assert.equal(c.issuer, 'tollgate');
    assert.deepEqual(c.services, ['tollgate-registry']);
    assert.equal(c.tokenTtlSec, 300);
    assert.equal(c.refreshTtlSec, 30 * 86400);
    assert.equal(c.decisionCacheTtlMs, 60_000, 'caching is on by default, kept current by the change feed');
    assert.equal(c.changeFeed, true);
    assert.equal(c.kidFormat, 'libtrust');
    assert.equal(c.x5c, true);
    assert.equal(c.anonymous, false);
    assert.equal(c.realm, 'tollgate');
  });

  it('environment variables, flags winning over them', () => {
    const tmp = tempDir();
    try {
      const tokenFile = join(tmp.dir, 'authz.token');
      writeFileSync(tokenFile, 'from-file-0123456789abcdef0123456789\n');
      const env = {
        TOLLGATE_AUTHN_LISTEN: '127.0.0.1:7000',
        TOLLGATE_AUTHN_SERVICE: 'a, b',
        TOLLGATE_AUTHN_KEY: 'env.key',
        TOLLGATE_AUTHN_HTPASSWD: 'h',
        TOLLGATE_AUTHN_AUTHZ_TOKEN: 'from-env-0123456789abcdef0123456789',
        TOLLGATE_AUTHN_NO_X5C: 'true',
        TOLLGATE_AUTHN_ANONYMOUS: '1',
        TOLLGATE_AUTHN_TOKEN_TTL: '10m',
        TOLLGATE_AUTHN_DECISION_CACHE_TTL: '2s',
        TOLLGATE_AUTHN_TRUST_PROXY: '10.0.0.0/8',
        TOLLGATE_AUTHN_EXTRA_CERT: 'x.crt,y.crt',
      };
      const c = loadConfig({ listen: '127.0.0.1:7001' }, env);
      assert.deepEqual(c.listen, { host: '127.0.0.1', port: 7001 });
      assert.deepEqual(c.services, ['a', 'b']);
      assert.equal(c.key, 'env.key');
      assert.equal(c.authzToken, 'from-env-0123456789abcdef0123456789');
      assert.equal(c.x5c, false);
      assert.equal(c.anonymous, true);
      assert.equal(c.tokenTtlSec, 600);
      assert.equal(c.decisionCacheTtlMs, 2000);
      assert.ok(c.trustProxy?.check('10.1.2.3'));
      assert.deepEqual(c.extraCerts, ['x.crt', 'y.crt']);
      assert.equal(loadConfig({ authzTokenFile: tokenFile, service: ['s1', 's2'] }, env).authzToken, 'from-file-0123456789abcdef0123456789');
      assert.deepEqual(loadConfig({ service: ['s1', 's2'] }, env).services, ['s1', 's2']);
    } finally {
      tmp.cleanup();
    }
  });

  it('every documented flag reaches the configuration (commander wiring)', async () => {
    const program = new Command('tollgate').exitOverride();
    registerAuthnCommands(program);
    let flags: ServeFlags | undefined;
    const tmp = tempDir();
    const tokenFile = join(tmp.dir, 'client.token');
    writeFileSync(tokenFile, 'flag-token-0123456789abcdef0123456789\n');
    const metricsFile = join(tmp.dir, 'metrics.token');
    writeFileSync(metricsFile, 'metrics-flag-token-0123456789abcdef0123\n');
    program.commands.find((c) => c.name() === 'authn')!.commands.find((c) => c.name() === 'serve')!.action((o: ServeFlags) => void (flags = o));
    // prettier-ignore
    await program.parseAsync(['authn', 'serve',
      '--listen', '127.0.0.1:7100', '--authz-url', 'http://127.0.0.1:7101', '--authz-token-file', tokenFile, '--issuer', 'flag-iss', '--service', 'reg-1', '--service', 'reg-2',
      '--key', 'k.pem', '--cert', 'c.pem', '--extra-cert', 'old.crt', '--extra-cert', 'new.crt', '--kid-format', 'thumbprint', '--no-x5c',
      '--users', 'u.yaml', '--htpasswd', 'h.htpasswd', '--oidc-issuers', 'i.yaml', '--token-ttl', '2m', '--refresh-ttl', '1d', '--trust-proxy', '10.0.0.0/8',
      '--anonymous', '--decision-cache-ttl', '3s', '--no-change-feed', '--realm', 'flag-realm', '--log-level', 'debug',
      '--k8s-secrets', '--k8s-secret-name', 'devbox-registry', '--k8s-secret-registry-host', 'reg.example.com', '--k8s-account-prefix', 'ns:',
      '--k8s-secrets-mode', 'get', '--k8s-api-url', 'https://k8s.example.com:6443', '--k8s-token-file', 'sa.token', '--k8s-ca-file', 'ca.crt', '--k8s-stale-after', '1m',
      '--bcrypt-workers', '3', '--bcrypt-queue', '40', '--uncached-per-ip', '30', '--account-failures-per-hour', '20', '--metrics-token-file', metricsFile], { from: 'user' });
    const c = loadConfig(flags!, {});
    tmp.cleanup();
    assert.deepEqual(
      { ...c, trustProxy: c.trustProxy?.check('10.2.3.4') },
      {
        listen: { host: '127.0.0.1', port: 7100 }, authzUrl: 'http://127.0.0.1:7101', authzToken: 'flag-token-0123456789abcdef0123456789', issuer: 'flag-iss', services: ['reg-1', 'reg-2'],
        key: 'k.pem', cert: 'c.pem', extraCerts: ['old.crt', 'new.crt'], kidFormat: 'thumbprint', x5c: false, users: 'u.yaml', htpasswd: 'h.htpasswd', oidcIssuers: 'i.yaml',
        tokenTtlSec: 120, refreshTtlSec: 86400, trustProxy: true, anonymous: true, decisionCacheTtlMs: 3000, changeFeed: false, realm: 'flag-realm', logLevel: 'debug',
        k8sSecrets: true, k8sSecretName: 'devbox-registry', k8sSecretRegistryHost: 'reg.example.com', k8sAccountPrefix: 'ns:', k8sSecretsMode: 'get',
        k8sApiUrl: 'https://k8s.example.com:6443', k8sTokenFile: 'sa.token', k8sCaFile: 'ca.crt', k8sStaleAfterSec: 60,
        bcryptWorkers: 3, bcryptQueue: 40, uncachedPerIp: 30, accountFailuresPerHour: 20, metricsToken: 'metrics-flag-token-0123456789abcdef0123',
      },
    );
  });

  it('every other TOLLGATE_AUTHN_* variable is read too', () => {
    const tmp = tempDir();
    try {
      const tokenFile = join(tmp.dir, 'client.token');
      writeFileSync(tokenFile, 'token-from-env-file-0123456789abcdef0123\n');
      const c = loadConfig(
        {},
        {
          TOLLGATE_AUTHN_AUTHZ_URL: 'https://authz.internal:8443',
          TOLLGATE_AUTHN_AUTHZ_TOKEN_FILE: tokenFile,
          TOLLGATE_AUTHN_ISSUER: 'env-issuer',
          TOLLGATE_AUTHN_KEY: 'k.pem',
          TOLLGATE_AUTHN_CERT: 'c.pem',
          TOLLGATE_AUTHN_KID_FORMAT: 'thumbprint',
          TOLLGATE_AUTHN_USERS: 'users.yaml',
          TOLLGATE_AUTHN_REFRESH_TTL: '7d',
          TOLLGATE_AUTHN_REALM: 'env-realm',
          TOLLGATE_AUTHN_LOG_LEVEL: 'warn',
        },
      );
      assert.equal(c.authzUrl, 'https://authz.internal:8443');
      assert.equal(c.authzToken, 'token-from-env-file-0123456789abcdef0123');
      assert.equal(c.issuer, 'env-issuer');
      assert.equal(c.cert, 'c.pem');
      assert.equal(c.kidFormat, 'thumbprint');
      assert.equal(c.users, 'users.yaml');
      assert.equal(c.refreshTtlSec, 7 * 86400);
      assert.equal(c.realm, 'env-realm');
      assert.equal(c.logLevel, 'warn');
      assert.equal(loadConfig({ key: 'k', users: 'u' }, { TOLLGATE_LOG_LEVEL: 'error' }).logLevel, 'error', 'the shared TOLLGATE_LOG_LEVEL as a fallback');
    } finally {
      tmp.cleanup();
    }
  });

  it('bad values are refused with the flag and variable named', () => {
    const base = { key: 'k', users: 'u' };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ tokenTtl: '30s' }, /--token-ttl \/ TOLLGATE_AUTHN_TOKEN_TTL: "30s" must be between 60s/],
      [{ tokenTtl: 'soon' }, /--token-ttl.*invalid duration/],
      // A fractional exp (1795915780.5) makes the registry refuse every token.
      [{ tokenTtl: '90500ms' }, /--token-ttl \/ TOLLGATE_AUTHN_TOKEN_TTL: "90500ms" must be a whole number of seconds/],
      [{ refreshTtl: '1d500ms' }, /--refresh-ttl \/ TOLLGATE_AUTHN_REFRESH_TTL: "1d500ms" must be a whole number of seconds/],
      [{ bcryptWorkers: '0' }, /--bcrypt-workers/],
      [{ uncachedPerIp: '1.5' }, /--uncached-per-ip.*whole number/],
      [{ decisionCacheTtl: '2h' }, /--decision-cache-ttl.*above the 1h maximum/],
      [{ listen: 'nope' }, /--listen.*invalid listen address/],
      [{ authzUrl: 'ftp://x' }, /--authz-url/],
      [{ kidFormat: 'x5t' }, /--kid-format/],
      [{ trustProxy: '10.0.0.0/99' }, /--trust-proxy.*invalid CIDR/],
      [{ key: undefined }, /--key \/ TOLLGATE_AUTHN_KEY: is required.*keys generate/],
      [{ users: undefined }, /no credential source/],
      [{ logLevel: 'loud' }, /--log-level/],
      [{ issuer: 'iss', service: ['iss/refresh'] }, /--service.*"iss\/refresh" is the audience of refresh tokens/],
    ];
    for (const [flags, re] of cases) assert.throws(() => loadConfig({ ...base, ...flags }, {}), re, JSON.stringify(flags));
    assert.throws(() => loadConfig(base, { TOLLGATE_AUTHN_ANONYMOUS: 'maybe' }), /TOLLGATE_AUTHN_ANONYMOUS/);
    // Tokens shorter than 32 characters are refused at start.
    assert.throws(() => loadConfig(base, { TOLLGATE_AUTHN_AUTHZ_TOKEN: 'short-client-token' }), /authz client token .* is 18 characters long; tokens must be at least 32/);
    assert.throws(() => loadConfig(base, { TOLLGATE_AUTHN_METRICS_TOKEN: 'm'.repeat(31) }), /metrics token .* is 31 characters long/);
    assert.equal(loadConfig(base, { TOLLGATE_AUTHN_METRICS_TOKEN: 'm'.repeat(32) }).metricsToken, 'm'.repeat(32));
    // Anonymous-only needs no credential source.
    assert.equal(loadConfig({ key: 'k', anonymous: true }, {}).anonymous, true);
  });

  it('a bad configuration exits 2 with the message on stderr', () => {
    const r = spawnSync(process.execPath, [...CLI, '--key', '/nonexistent.key', '--users', '/nonexistent.yaml', '--token-ttl', '5s'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /tollgate authn serve: invalid --token-ttl/);
  });

  it('serves tokens as a real process with a real users file, logs "listening", stops on SIGTERM', async () => {
    const tmp = tempDir();
    const authz = await new StandInAuthz((r) => (r.Account === 'alice' ? ['pull'] : [])).start();
    const keys = generateKeyFiles(join(tmp.dir, 'keys'));
    const users = join(tmp.dir, 'users.yaml');
    writeFileSync(users, `users:\n  alice:\n    password: "${bcrypt.hashSync('s3cret', 4)}"\n    labels: {team: [a]}\n`);
    const tokenFile = join(tmp.dir, 'authz.token');
    writeFileSync(tokenFile, CLIENT_TOKEN);
    const proc = spawn(process.execPath, [...CLI, '--listen', '127.0.0.1:0', '--authz-url', authz.url, '--authz-token-file', tokenFile, '--key', keys.keyFile, '--cert', keys.certFile, '--users', users, '--service', 'reg', '--issuer', 'iss'], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    let out = '';
    try {
      const url = await new Promise<string>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no listening line:\n${out}`)), 20000);
        const on = (c: Buffer) => {
          out += c.toString();
          const line = out.split('\n').find((l) => l.includes('"msg":"listening"'));
          if (line) {
            clearTimeout(timer);
            res((JSON.parse(line) as { url: string }).url);
          }
        };
        proc.stdout.on('data', on);
        proc.stderr.on('data', on);
        void exited.then((code) => rej(new Error(`exited ${code}:\n${out}`)));
      });
      const auth = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
      const res = await fetch(`${url}/auth?service=reg&scope=repository:a/b:pull,push`, { headers: { Authorization: auth } });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { token: string };
      const pub = createPublicKey(createPrivateKey(readFileSync(keys.keyFile)));
      const { header, claims } = verifyIndependently(body.token, pub);
      assert.equal(header.kid, libtrustKid(pub));
      assert.equal(claims.iss, 'iss');
      assert.deepEqual(claims.access, [{ type: 'repository', name: 'a/b', actions: ['pull'] }]);
      assert.deepEqual(authz.requests[0]!.Labels, { team: ['a'] });
      assert.equal((await fetch(`${url}/auth?service=reg`, { headers: { Authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}` } })).status, 401);
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      await fetch(`${url}/auth?service=reg`, { headers: { Authorization: auth } });
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /tollgate_authn_credential_cache_total\{result="hit"\} [1-9]/, 'a re-login is served by the bcrypt cache');
      assert.match(metrics, /tollgate_authn_tokens_issued_total\{grant="basic"\} 2/);
      // One token request's call plus /readyz's (it asks /authorized with our client token).
      assert.match(metrics, /tollgate_authn_authz_call_duration_seconds_count\{outcome="ok"\} 2/, 'authz call latency is measured');
      assert.match(metrics, /tollgate_authn_token_requests_denied_total\{reason="unauthorized"\} 1/);
      // The audit line names the account and the granted scopes, never the password or token.
      await new Promise((r) => setTimeout(r, 100));
      const audit = out.split('\n').find((l) => l.includes('"msg":"token issued"'));
      assert.ok(audit, out);
      assert.match(audit, /"account":"alice"/);
      assert.match(audit, /"granted":\["repository:a\/b:pull"\]/);
      assert.ok(!out.includes('s3cret') && !out.includes(body.token), 'no secrets in logs');
    } finally {
      if (proc.exitCode === null && proc.pid) process.kill(proc.pid, 'SIGTERM');
      const code = await exited;
      await authz.stop();
      tmp.cleanup();
      assert.equal(code, 0, out);
    }
  });
});
