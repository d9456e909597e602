/** The issuers file: defaults, and every error refusing the start names the path of the offending value. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { stringify } from 'yaml';
import { createLogger } from '../../common/logger.js';
import { loadConfig } from '../src/config.js';
import { createCredentials } from '../src/credentials/chain.js';
import { parseIssuersFile } from '../src/credentials/oidc/config.js';
import { tempDir } from './helpers.js';

const base = { name: 'cluster-a', issuer: 'https://kubernetes.default.svc.cluster.local', audiences: ['tollgate-registry'] };
const parse = (...issuers: Array<Record<string, unknown>>) => parseIssuersFile(stringify({ issuers }));
const refused = (message: RegExp, ...issuers: Array<Record<string, unknown>>) => assert.throws(() => parse(...issuers), message);

describe('issuers file', () => {
  it('defaults: user name = name, discovery, RS256+ES256, 60 s tolerance, 1 h age, 24 h lifetime, kubernetes on, no pod required', () => {
    const [i] = parse(base);
    assert.deepEqual(i, {
      ...base,
      usernames: ['cluster-a'],
      jwks: { discovery: true },
      algorithms: ['RS256', 'ES256'],
      clockTolerance: 60,
      maxTokenAge: 3600,
      maxLifetime: 86400,
      kubernetes: true,
      requirePod: false,
      accountPrefix: '',
      labels: {},
      tokenReview: false,
      insecure: false,
    });
  });

  it('the example of docs/workload-identity.md parses', () => {
    const text = `issuers:
  - name: cluster-a
    usernames: [k8s]
    issuer: https://kubernetes.default.svc.cluster.local
    audiences: [tollgate-registry]
    jwks: { discovery: true }
    caFile: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    bearerTokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
    algorithms: [RS256, ES256]
    clockTolerance: 60s
    maxTokenAge: 1h
    maxLifetime: 24h
    kubernetes: true
    requirePod: false
    accountPrefix: ""
`;
    const [i] = parseIssuersFile(text);
    assert.equal(i!.maxLifetime, 86400);
    assert.equal(i!.bearerTokenFile, '/var/run/secrets/kubernetes.io/serviceaccount/token');
  });

  it('an unknown key is refused with its path', () => refused(/issuers\.0: Unrecognized key: "audience"/, { ...base, audience: 'x' }));
  it('no audiences, or an empty list', () => {
    refused(/issuers\.0\.audiences: is required/, { name: 'a', issuer: base.issuer });
    refused(/issuers\.0\.audiences: must not be empty/, { ...base, audiences: [] });
  });
  it('duplicate name, user name, account prefix', () => {
    refused(/issuers\.1\.name: name "cluster-a" is already used by issuers\.0/, base, { ...base, accountPrefix: 'b:' });
    refused(/issuers\.1\.usernames\.0: user name "k8s" is already used by issuers\.0/, { ...base, usernames: ['k8s'] }, { ...base, name: 'b', usernames: ['k8s'], accountPrefix: 'b:' });
    refused(/issuers\.1\.accountPrefix: account prefix "" is already used by issuers\.0/, base, { ...base, name: 'b' });
  });
  it('http:// without insecure: true, for the issuer and a JWKS URL', () => {
    refused(/issuers\.0\.issuer: http:\/\/ is only allowed with insecure: true/, { ...base, issuer: 'http://10.0.0.1:6443' });
    refused(/issuers\.0\.jwks\.url: http:\/\/ is only allowed/, { ...base, jwks: { url: 'http://keys.example/jwks' } });
    assert.equal(parse({ ...base, issuer: 'http://10.0.0.1:6443', insecure: true })[0]!.insecure, true);
  });
  it('alg none and HS256 are refused at load', () => {
    refused(/issuers\.0\.algorithms\.0: "none" is not allowed/, { ...base, algorithms: ['none'] });
    refused(/issuers\.0\.algorithms\.1: "HS256" is not allowed/, { ...base, algorithms: ['RS256', 'HS256'] });
  });
  it('a bad name, a bad JSON Pointer, a reserved label, a bad duration, a jwks of two kinds', () => {
    refused(/issuers\.0\.name: must match/, { ...base, name: 'Cluster A' });
    refused(/issuers\.0\.labels\.owner: must be a JSON Pointer/, { ...base, labels: { owner: 'repository_owner' } });
    refused(/issuers\.0\.labels\.namespace: "namespace" is set by the verification itself/, { ...base, labels: { namespace: '/ns' } });
    refused(/issuers\.0\.maxLifetime: invalid duration/, { ...base, maxLifetime: 'a day' });
    refused(/issuers\.0\.jwks: must be one of/, { ...base, jwks: { url: 'https://x/jwks', file: '/k' } });
  });
  it('tokenReview: true is refused (not implemented), so nobody believes deleted pods are checked', () => {
    refused(/issuers\.0\.tokenReview: true is not supported/, { ...base, tokenReview: true });
  });
  it('a __proto__ key (which would vanish from the labels) is refused with its path', () => {
    assert.throws(() => parseIssuersFile(`issuers:\n  - name: a\n    issuer: ${base.issuer}\n    audiences: [x]\n    labels:\n      __proto__: /owner\n`), /issuers\.0\.labels\.__proto__: "__proto__" is not allowed/);
  });
  it('YAML duplicate keys and a missing issuers list', () => {
    assert.throws(() => parseIssuersFile('issuers: []\nissuers: []\n'), /YAML error: Map keys must be unique/);
    assert.throws(() => parseIssuersFile('other: 1\n'), /issuers: /);
  });

  describe('at start', () => {
    let tmp: ReturnType<typeof tempDir>;
    beforeEach(() => {
      tmp = tempDir();
    });
    afterEach(() => tmp.cleanup());

    it('a bad issuers file refuses to start with its path and the offending value', async () => {
      writeFileSync(join(tmp.dir, 'i.yaml'), stringify({ issuers: [{ ...base, audiences: [] }] }));
      await assert.rejects(
        createCredentials({ oidc: { path: join(tmp.dir, 'i.yaml') }, logger: createLogger({ name: 't', level: 'silent' }) }),
        new RegExp(`invalid issuers file ${join(tmp.dir, 'i.yaml')}: issuers\\.0\\.audiences: must not be empty`),
      );
    });

    it('a users-file user named like an issuer user name is refused', async () => {
      writeFileSync(join(tmp.dir, 'i.yaml'), stringify({ issuers: [{ ...base, usernames: ['k8s'] }] }));
      writeFileSync(join(tmp.dir, 'u.yaml'), stringify({ users: { k8s: { password: bcrypt.hashSync('x', 4) } } }));
      await assert.rejects(
        createCredentials({ oidc: { path: join(tmp.dir, 'i.yaml') }, usersFile: join(tmp.dir, 'u.yaml'), logger: createLogger({ name: 't', level: 'silent' }), watch: { watch: false, pollMs: 0 } }),
        /users-file: user "k8s" is also a user name of issuer cluster-a/,
      );
    });

    it('--oidc-issuers / TOLLGATE_AUTHN_OIDC_ISSUERS is a credential source of its own', () => {
      const env = { TOLLGATE_AUTHN_KEY: '/k', TOLLGATE_AUTHN_OIDC_ISSUERS: '/etc/tollgate/issuers.yaml' };
      assert.equal(loadConfig({}, env).oidcIssuers, '/etc/tollgate/issuers.yaml');
      assert.equal(loadConfig({ oidcIssuers: '/x.yaml' }, env).oidcIssuers, '/x.yaml');
      assert.throws(() => loadConfig({}, { TOLLGATE_AUTHN_KEY: '/k' }), /--oidc-issuers FILE/);
    });
  });
});
