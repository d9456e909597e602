/**
 * One owner per account name: every overlap of account spaces is refused at start with one line naming
 * both owners and the fix; a refresh lookup goes only to the owner of the account's space.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import bcrypt from 'bcryptjs';
import { createCredentials, type CredentialOptions, type Credentials } from '../src/credentials/chain.js';
import { createK8sSecretsBackend, type K8sSecretsBackend } from '../src/credentials/k8s-secrets/index.js';
import { generateKeyFiles } from '../src/keys/generate.js';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createLogger } from '../../common/logger.js';
import { makeKeys, StandInAuthz, basic, logger, tempDir, testApp } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

interface Iss {
  name: string;
  prefix?: string;
  kubernetes?: boolean;
  labels?: Record<string, string>;
}

describe('account spaces: one owner per account name', () => {
  let tmp: ReturnType<typeof tempDir>;
  let open: Credentials | undefined;
  before(() => {
    tmp = tempDir();
    writeFileSync(join(tmp.dir, 'jwks.json'), '{"keys":[]}');
  });
  after(() => tmp.cleanup());
  /** Every Secrets backend a test made (each holds a keep-alive API client), closed after it. */
  const made: K8sSecretsBackend[] = [];
  afterEach(async () => {
    open?.close();
    open = undefined;
    await Promise.all(made.splice(0).map((b) => b.close()));
  });

  const issuersFile = (list: Iss[]): string => {
    const path = join(tmp.dir, `issuers-${Math.random()}.yaml`);
    const yaml = list
      .map((i) =>
        [
          `  - name: ${i.name}`,
          `    issuer: https://${i.name}.example`,
          '    audiences: [tollgate]',
          `    jwks: {file: ${join(tmp.dir, 'jwks.json')}}`,
          `    kubernetes: ${i.kubernetes ?? false}`,
          ...(i.prefix !== undefined ? [`    accountPrefix: "${i.prefix}"`] : []),
          ...(i.labels ? ['    labels:', ...Object.entries(i.labels).map(([k, v]) => `      ${k}: ${v}`)] : []),
        ].join('\n'),
      )
      .join('\n');
    writeFileSync(path, `issuers:\n${yaml}\n`);
    return path;
  };
  const usersFile = (names: string[]): string => {
    const path = join(tmp.dir, `users-${Math.random()}.yaml`);
    const hash = bcrypt.hashSync('pw', 4);
    writeFileSync(path, `users:\n${names.map((n) => `  "${n}":\n    password: "${hash}"`).join('\n')}\n`);
    return path;
  };
  const secrets = (accountPrefix: string): K8sSecretsBackend => {
    const b = createK8sSecretsBackend({ conn: { baseUrl: new URL('http://127.0.0.1:9'), tokenFile: join(tmp.dir, 'none') }, mode: 'get', accountPrefix, logger });
    made.push(b);
    return b;
  };
  const robots = { name: 'robots', authenticate: async () => ({ kind: 'no-match' as const }), lookup: () => null };
  const base = (o: Partial<CredentialOptions>): CredentialOptions => ({ logger, hashBudget: false, watch: { watch: false, pollMs: 0 }, robots, ...o });
  const refused = async (o: Partial<CredentialOptions>, message: RegExp): Promise<void> => {
    await assert.rejects(createCredentials(base(o)), message);
  };

  it('refuses each overlapping combination at start, naming both owners and the fix', async () => {
    await refused({ oidc: { path: issuersFile([{ name: 'ci' }]) } }, /issuer "ci" \(accountPrefix ""\) has an empty account prefix.*give issuer "ci" its own accountPrefix/);
    await refused(
      { oidc: { path: issuersFile([{ name: 'ci', prefix: 'ci:' }, { name: 'ci-two', prefix: 'ci:two:' }]) } },
      /issuer "ci" \(accountPrefix "ci:"\) and issuer "ci-two" \(accountPrefix "ci:two:"\) can name the same account; give issuer "ci-two" its own accountPrefix/,
    );
    // Two clusters with the same prefix: both clusters' team-a:builder would be one account.
    await refused({ oidc: { path: issuersFile([{ name: 'east', kubernetes: true }, { name: 'west', kubernetes: true }]) } }, /account prefix "" is already used by issuers\.0/);
    await refused({ oidc: { path: issuersFile([{ name: 'ci', prefix: 'robot:' }]) } }, /issuer "ci" \(accountPrefix "robot:"\) and robots \("robot:"\) can name the same account; give issuer "ci" its own accountPrefix/);
    await refused({ oidc: { path: issuersFile([{ name: 'ci', prefix: 'rob' }]) } }, /issuer "ci" \(accountPrefix "rob"\) and robots/);
    await refused(
      { oidc: { path: issuersFile([{ name: 'ci', prefix: 'namespace:' }]) }, k8sSecrets: secrets('namespace:') },
      /issuer "ci" \(accountPrefix "namespace:"\) and the Kubernetes Secrets \(--k8s-account-prefix "namespace:"\) can name the same account; choose another --k8s-account-prefix/,
    );
    await refused({ oidc: { path: issuersFile([{ name: 'ci', prefix: 'name' }]) }, k8sSecrets: secrets('namespace:') }, /issuer "ci" \(accountPrefix "name"\) and the Kubernetes Secrets/);
    // A Kubernetes issuer whose prefix is the Secrets' one: `ns:system:serviceaccount:…` is no namespace name, so no overlap.
    open = await createCredentials(base({ oidc: { path: issuersFile([{ name: 'k8s', kubernetes: true, prefix: 'ns:' }]) }, k8sSecrets: secrets('ns:') }));
  });

  it('refuses a users-file or htpasswd name inside another owner\'s space, and issuer labels that set the robot credential label', async () => {
    // File user names have no ":", so only prefixes without one can reach them.
    await refused({ usersFile: usersFile(['alice', 'ci-bob']), oidc: { path: issuersFile([{ name: 'ci', prefix: 'ci-' }]) } }, /users-file user "ci-bob" is in the accounts of issuer "ci" \(accountPrefix "ci-"\); rename the user/);
    await refused({ usersFile: usersFile(['ns-team-a']), k8sSecrets: secrets('ns-') }, /users-file user "ns-team-a" is in the accounts of the Kubernetes Secrets \(--k8s-account-prefix "ns-"\)/);
    // An empty Secret prefix makes every namespace-shaped name a Secret account.
    await refused({ usersFile: usersFile(['alice']), k8sSecrets: secrets('') }, /users-file user "alice" is in the accounts of the Kubernetes Secrets/);
    const htpasswd = join(tmp.dir, 'htpasswd');
    writeFileSync(htpasswd, `ci-x:${bcrypt.hashSync('pw', 4)}\n`);
    await refused({ htpasswdFile: htpasswd, oidc: { path: issuersFile([{ name: 'ci', prefix: 'ci-' }]) } }, /htpasswd user "ci-x" is in the accounts of issuer "ci"/);
    await refused({ oidc: { path: issuersFile([{ name: 'ci', prefix: 'ci:', labels: { credential: '/cred' } }]) } }, /issuers\.0\.labels\.credential: "credential" is reserved \(it marks a verified robot secret\)/);
  });

  it('an issuers-file reload that would overlap is rejected and the last good issuers keep serving', async () => {
    const path = issuersFile([{ name: 'ci', prefix: 'ci:' }]);
    const reloads: Array<[string, boolean]> = [];
    open = await createCredentials(base({ oidc: { path }, onReload: (b, ok) => reloads.push([b, ok]) }));
    writeFileSync(path, `issuers:\n  - name: ci\n    issuer: https://ci.example\n    audiences: [tollgate]\n    jwks: {file: ${join(tmp.dir, 'jwks.json')}}\n    kubernetes: false\n    accountPrefix: "robot:"\n`);
    const oidc = open.backends.find((b) => b.name === 'oidc') as unknown as { reload(): Promise<void>; issuers: Array<{ accountPrefix: string }> };
    await oidc.reload();
    assert.deepEqual(reloads.at(-1), ['oidc', false]);
    assert.equal(oidc.issuers[0]?.accountPrefix, 'ci:', 'the last good file keeps serving');
  });

  it('a refresh lookup asks only the owner of the account\'s space (an issuer no longer answers for a file user or a robot)', async () => {
    const asked: string[] = [];
    const robotsSeen = { ...robots, lookup: (a: string) => (asked.push(a), a === 'robot:team-a+ci' ? { credentialId: 'rid', labels: {} } : null) };
    open = await createCredentials(base({ robots: robotsSeen, usersFile: usersFile(['alice']), oidc: { path: issuersFile([{ name: 'ci', prefix: 'ci:' }]) } }));
    assert.equal((await open.lookup('robot:team-a+ci'))?.credentialId, 'rid');
    assert.equal((await open.lookup('alice'))?.labels !== undefined, true);
    assert.equal((await open.lookup('ci:repo:x'))?.labels.issuer?.[0], 'ci');
    assert.equal(await open.lookup('bob'), null);
    assert.equal(await open.lookup('namespace:team-a'), null);
    assert.deepEqual(asked, ['robot:team-a+ci'], 'robots were asked about their own account only');
  });

  it('a login whose account lands in another owner\'s space is refused with 401 and audited (a backend answering for an account it does not own)', async () => {
    // A robots backend gone wrong: it vouches for `ci:repo:x`, which issuer "ci" owns.
    const rogue = { name: 'robots', authenticate: async () => ({ kind: 'ok' as const, labels: {}, credentialId: 'x', account: 'ci:repo:x' }), lookup: () => null };
    open = await createCredentials(base({ robots: rogue, oidc: { path: issuersFile([{ name: 'ci', prefix: 'ci:' }]) } }));
    const authz = await new StandInAuthz(() => ['pull']).start();
    const lines: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    const t = testApp({ keys: await makeKeys(tmp.dir), authzUrl: authz.url, credentials: open, logger: createLogger({ name: 't', level: 'info', destination: sink }) });
    try {
      const res = await request(t.app).get('/auth?service=registry.test&scope=repository:ci/app:pull').set('Authorization', basic('robot:team-a+ci', 's3cret'));
      assert.equal(res.status, 401);
      assert.match((res.body as { error_description: string }).error_description, /account "ci:repo:x" is not in the accounts of the credential that verified it \(it belongs to issuer "ci"/);
      const audit = lines.map((l) => JSON.parse(l) as { msg: string; audit?: Record<string, unknown> }).find((l) => l.msg === 'token refused')?.audit;
      assert.equal(audit?.account_space, 'issuer:ci');
      assert.equal(audit?.verified_by, 'robots');
      assert.equal(audit?.status, 401);
    } finally {
      t.authzClient.close();
      await authz.stop();
    }
  });

  it('tollgate authn serve refuses an empty-prefix non-Kubernetes issuer with one line on stderr, exit 2', () => {
    const keys = generateKeyFiles(join(tmp.dir, 'keys'));
    const path = issuersFile([{ name: 'gitlab' }]);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'tollgate.ts'), 'authn', 'serve', '--listen', '127.0.0.1:0', '--key', keys.keyFile, '--cert', keys.certFile, '--oidc-issuers', path], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', TOLLGATE_AUTHN_AUTHZ_TOKEN: 'a'.repeat(32) },
      timeout: 30_000,
    });
    assert.notEqual(r.status, 0);
    const lines = r.stderr.split('\n').filter((l) => /account spaces/.test(l));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /issuer "gitlab" \(accountPrefix ""\) has an empty account prefix.*give issuer "gitlab" its own accountPrefix/);
  });
});
