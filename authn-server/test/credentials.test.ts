/** Credentials: users file + htpasswd chain, credential ids, the verification cache and the dummy compare. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { createLogger } from '../../common/logger.js';
import { createCredentials, type CredentialOptions, type Credentials } from '../src/credentials/chain.js';

const logger = createLogger({ name: 'credentials-test', level: 'silent' });
const hash = (pw: string, cost = 4): string => bcrypt.hashSync(pw, cost);

describe('credentials', () => {
  let dir: string;
  let creds: Credentials | undefined;
  let compares: string[];
  const counting = async (pw: string, h: string): Promise<boolean> => {
    compares.push(h);
    return bcrypt.compare(pw, h);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-creds-'));
    compares = [];
  });
  afterEach(() => {
    creds?.close();
    creds = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  function files(users?: string, htpasswd?: string): Pick<CredentialOptions, 'usersFile' | 'htpasswdFile'> {
    const out: Pick<CredentialOptions, 'usersFile' | 'htpasswdFile'> = {};
    if (users !== undefined) writeFileSync((out.usersFile = join(dir, 'users.yaml')), users);
    if (htpasswd !== undefined) writeFileSync((out.htpasswdFile = join(dir, 'htpasswd')), htpasswd);
    return out;
  }

  async function open(users?: string, htpasswd?: string, extra: Partial<CredentialOptions> = {}): Promise<Credentials> {
    creds = await createCredentials({ logger, compare: counting, watch: { watch: false, pollMs: 0 }, ...files(users, htpasswd), ...extra });
    return creds;
  }

  const aliceYaml = (pw = 'alice-pw'): string => `users:\n  alice:\n    password: "${hash(pw)}"\n    labels: {team: [a, b], tier: gold}\n`;

  describe('users file', () => {
    it('accepts the right password and returns labels and a credential id', async () => {
      const c = await open(aliceYaml());
      const r = await c.authenticate('alice', 'alice-pw');
      assert.equal(r.kind, 'ok');
      assert.ok(r.kind === 'ok');
      assert.deepEqual(r.labels, { team: ['a', 'b'], tier: ['gold'] });
      assert.match(r.credentialId, /^[A-Za-z0-9_-]{20,}$/);
      assert.deepEqual((await c.lookup('alice')), { credentialId: r.credentialId, labels: r.labels });
    });

    it('says wrong-password for a known user and no-match for an unknown one', async () => {
      const c = await open(aliceYaml());
      assert.deepEqual(await c.authenticate('alice', 'nope'), { kind: 'wrong-password' });
      assert.deepEqual(await c.authenticate('alice', ''), { kind: 'wrong-password' });
      assert.deepEqual(await c.authenticate('mallory', 'alice-pw'), { kind: 'no-match' });
      assert.deepEqual(await c.authenticate('Alice', 'alice-pw'), { kind: 'no-match' });
      assert.equal((await c.lookup('mallory')), null);
    });

    it('accepts $2a$, $2b$ and $2y$ hashes and users without labels', async () => {
      const h = hash('pw');
      const yaml = `users:\n  a: {password: "${h.replace('$2b$', '$2a$')}"}\n  b: {password: "${h}"}\n  y: {password: "${h.replace('$2b$', '$2y$')}", labels: null}\n`;
      const c = await open(yaml);
      for (const user of ['a', 'b', 'y']) {
        const r = await c.authenticate(user, 'pw');
        assert.equal(r.kind, 'ok', user);
        assert.ok(r.kind === 'ok');
        assert.deepEqual(r.labels, {});
      }
    });

    it('an empty users map serves nobody', async () => {
      const c = await open('users: {}\n');
      assert.deepEqual(await c.authenticate('alice', 'x'), { kind: 'no-match' });
    });

    const invalid: Array<[string, string, RegExp]> = [
      ['a non-bcrypt password', 'users:\n  bob:\n    password: "secret"\n', /users\.bob\.password: must be a bcrypt hash/],
      ['a missing password', 'users:\n  bob:\n    labels: {team: [a]}\n', /users\.bob\.password/],
      ['a misspelt key', `users:\n  bob:\n    pasword: "${hash('x')}"\n`, /users\.bob.*pasword/],
      ['labels that are not lists of strings', `users:\n  bob:\n    password: "${hash('x')}"\n    labels: {team: {a: 1}}\n`, /users\.bob\.labels\.team/],
      ['a user name with a colon', `users:\n  "bo:b":\n    password: "${hash('x')}"\n`, /users\.bo:b.*":"/],
      // authz refuses these accounts (common/names.ts nameProblem): such a user would log in and then get 503s.
      ['a user name with a C1 control (U+0085)', `users:\n  "bob\\x85":\n    password: "${hash('x')}"\n`, /users\.bob.*control characters/],
      ['a duplicate user', `users:\n  bob: {password: "${hash('x')}"}\n  bob: {password: "${hash('y')}"}\n`, /YAML error: .*unique.*line 3/i],
      ['broken YAML', 'users: [\n', /YAML error: .*line \d/],
      ['an unknown top-level key', 'user: {}\n', /\(top level\).*user/],
      // A plain object would swallow these keys silently.
      ['a user named __proto__', `users:\n  __proto__:\n    password: "${hash('x')}"\n`, /users\.__proto__: "__proto__" is not allowed/],
      ['a label named __proto__', `users:\n  bob:\n    password: "${hash('x')}"\n    labels: {__proto__: [a]}\n`, /users\.bob\.labels\.__proto__/],
    ];
    for (const [what, yaml, message] of invalid) {
      it(`refuses to start with ${what}, naming the problem`, async () => {
        await assert.rejects(open(yaml), (e: Error) => {
          assert.match(e.message, /invalid users file .*users\.yaml/);
          assert.match(e.message, message);
          return true;
        });
      });
    }

    it('refuses to start when the file is missing', async () => {
      await assert.rejects(createCredentials({ logger, usersFile: join(dir, 'absent.yaml') }), /cannot read users file .*absent\.yaml/);
    });
  });

  describe('htpasswd file', () => {
    it('accepts bcrypt lines, ignores comments, blank lines and CRLF', async () => {
      const c = await open(undefined, `# team\r\n\r\ncarol:${hash('carol-pw').replace('$2b$', '$2y$')}\r\ndave:${hash('dave-pw')}\n`);
      const r = await c.authenticate('carol', 'carol-pw');
      assert.ok(r.kind === 'ok');
      assert.deepEqual(r.labels, {});
      assert.equal((await c.authenticate('dave', 'dave-pw')).kind, 'ok');
      assert.equal((await c.authenticate('dave', 'carol-pw')).kind, 'wrong-password');
    });

    const invalid: Array<[string, string, RegExp]> = [
      ['an Apache MD5 line', `ok:${hash('x')}\n\nmd5:$apr1$abc$0123456789012345678901\n`, /line 3: user "md5" has Apache MD5 \(\$apr1\$\); only bcrypt/],
      ['a SHA-1 line', 'sha:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\n', /line 1: user "sha" has SHA-1/],
      ['a plain-text line', 'plain:secret\n', /line 1: user "plain" has crypt or plain text/],
      ['a line without a colon', 'nocolon\n', /line 1: expected "user:hash"/],
      ['a duplicate user', `u:${hash('a')}\nu:${hash('b')}\n`, /line 2: user "u" appears twice/],
      ['a user name with a C1 control (U+0085)', `bob\u0085:${hash('a')}\n`, /line 1: invalid user name/],
    ];
    for (const [what, text, message] of invalid) {
      it(`refuses ${what}, naming the line`, async () => {
        await assert.rejects(open(undefined, text), (e: Error) => {
          assert.match(e.message, /invalid htpasswd file/);
          assert.match(e.message, message);
          return true;
        });
      });
    }
  });

  describe('chain', () => {
    it('asks the users file first, then htpasswd', async () => {
      const c = await open(aliceYaml(), `carol:${hash('carol-pw')}\n`);
      assert.equal((await c.authenticate('alice', 'alice-pw')).kind, 'ok');
      assert.equal((await c.authenticate('carol', 'carol-pw')).kind, 'ok');
      assert.deepEqual(await c.authenticate('erin', 'x'), { kind: 'no-match' });
      assert.equal((await c.lookup('carol'))?.labels && Object.keys((await c.lookup('carol'))!.labels).length, 0);
      assert.deepEqual(c.backends.map((b) => b.name), ['users-file', 'htpasswd']);
    });

    it('a wrong password in the users file is final even if htpasswd has that password', async () => {
      const c = await open(aliceYaml('yaml-pw'), `alice:${hash('htpasswd-pw')}\n`);
      assert.deepEqual(await c.authenticate('alice', 'htpasswd-pw'), { kind: 'wrong-password' });
      assert.equal((await c.authenticate('alice', 'yaml-pw')).kind, 'ok');
    });

    it('with no files configured, nobody authenticates', async () => {
      const c = await open();
      assert.deepEqual(await c.authenticate('alice', 'x'), { kind: 'no-match' });
      assert.equal((await c.lookup('alice')), null);
    });
  });

  describe('credential id', () => {
    it('differs per user even for the same password hash, and is the same across restarts', async () => {
      const h = hash('same');
      const yaml = `users:\n  u1: {password: "${h}"}\n  u2: {password: "${h}"}\n`;
      const c1 = await open(yaml);
      const id1 = (await c1.lookup('u1'))?.credentialId;
      assert.ok(id1);
      assert.notEqual(id1, (await c1.lookup('u2'))?.credentialId);
      c1.close();
      const c2 = await createCredentials({ logger, usersFile: join(dir, 'users.yaml'), watch: { watch: false, pollMs: 0 } });
      assert.equal((await c2.lookup('u1'))?.credentialId, id1);
      c2.close();
      assert.ok(!id1.includes(h) && !h.includes(id1));
    });

    it('changes with a custom key', async () => {
      const c = await open(aliceYaml());
      const plain = (await c.lookup('alice'))?.credentialId;
      c.close();
      const keyed = await createCredentials({ logger, usersFile: join(dir, 'users.yaml'), credentialIdKey: 'k', watch: { watch: false, pollMs: 0 } });
      assert.notEqual((await keyed.lookup('alice'))?.credentialId, plain);
      keyed.close();
    });
  });

  describe('verification cache', () => {
    it('a repeated successful login skips bcrypt; failures are never cached', async () => {
      const c = await open(aliceYaml());
      await c.authenticate('alice', 'alice-pw');
      assert.equal(compares.length, 1);
      assert.equal((await c.authenticate('alice', 'alice-pw')).kind, 'ok');
      assert.equal(compares.length, 1, 'second login served from cache');
      await c.authenticate('alice', 'wrong');
      await c.authenticate('alice', 'wrong');
      assert.equal(compares.length, 3, 'each wrong password runs bcrypt');
    });

    it('expires after cacheTtlMs', async () => {
      let now = 1_000_000;
      const c = await open(aliceYaml(), undefined, { cacheTtlMs: 60_000, now: () => now });
      await c.authenticate('alice', 'alice-pw');
      now += 59_000;
      await c.authenticate('alice', 'alice-pw');
      assert.equal(compares.length, 1);
      now += 2_000;
      assert.equal((await c.authenticate('alice', 'alice-pw')).kind, 'ok');
      assert.equal(compares.length, 2, 'expired entry re-verified');
    });

    it('cacheTtlMs 0 disables the cache', async () => {
      const c = await open(aliceYaml(), undefined, { cacheTtlMs: 0 });
      await c.authenticate('alice', 'alice-pw');
      await c.authenticate('alice', 'alice-pw');
      assert.equal(compares.length, 2);
    });

    it('is bounded: the oldest success is evicted first', async () => {
      const yaml = `users:\n${['u1', 'u2', 'u3'].map((u) => `  ${u}: {password: "${hash(u)}"}\n`).join('')}`;
      const c = await open(yaml, undefined, { cacheMaxEntries: 2 });
      for (const u of ['u1', 'u2', 'u3']) await c.authenticate(u, u);
      assert.equal(compares.length, 3);
      await c.authenticate('u3', 'u3');
      await c.authenticate('u2', 'u2');
      assert.equal(compares.length, 3, 'u2 and u3 still cached');
      await c.authenticate('u1', 'u1');
      assert.equal(compares.length, 4, 'u1 was evicted');
    });

    it('concurrent logins of the same user share one bcrypt run', async () => {
      const c = await open(aliceYaml());
      const results = await Promise.all(Array.from({ length: 8 }, () => c.authenticate('alice', 'alice-pw')));
      assert.ok(results.every((r) => r.kind === 'ok'));
      assert.equal(compares.length, 1);
    });
  });

  describe('unknown users', () => {
    it('cost one bcrypt compare against a hash of the users’ cost that matches no user', async () => {
      const yaml = `users:\n  a: {password: "${hash('a', 5)}"}\n  b: {password: "${hash('b', 5)}"}\n  c: {password: "${hash('c', 4)}"}\n`;
      const c = await open(yaml);
      assert.deepEqual(await c.authenticate('nobody', 'a'), { kind: 'no-match' });
      assert.equal(compares.length, 1);
      const dummy = compares[0]!;
      assert.ok([4, 5].includes(bcrypt.getRounds(dummy)), 'a cost drawn from the users own mix (see unknown-user-cost.test.ts)');
      assert.ok(!yaml.includes(dummy));
      assert.equal(await bcrypt.compare('a', dummy), false);
      await c.authenticate('nobody', 'a');
      assert.equal(compares.length, 2, 'never cached');
    });

    it('share concurrent identical compares exactly like known users do (no timing oracle)', async () => {
      const c = await open(aliceYaml());
      await Promise.all(Array.from({ length: 4 }, () => c.authenticate('alice', 'wrong')));
      const known = compares.length;
      await Promise.all(Array.from({ length: 4 }, () => c.authenticate('nobody', 'wrong')));
      assert.equal(known, 1);
      assert.equal(compares.length - known, 1);
    });

    it('take about as long as a wrong password for a known user (coarse)', async () => {
      const c = await open(`users:\n  alice: {password: "${hash('pw', 7)}"}\n`, undefined, { compare: undefined });
      const time = async (user: string): Promise<number> => {
        const t = process.hrtime.bigint();
        await c.authenticate(user, 'wrong');
        return Number(process.hrtime.bigint() - t) / 1e6;
      };
      let known = 0;
      let unknown = 0;
      for (let i = 0; i < 6; i++) {
        known += await time('alice');
        unknown += await time('nobody');
      }
      // Wide bounds: this only catches "unknown users skip bcrypt" (which would be ~100× faster), not jitter.
      const ratio = unknown / known;
      assert.ok(ratio > 0.2 && ratio < 5, `unknown/known time ratio ${ratio.toFixed(2)} (known ${known.toFixed(1)} ms, unknown ${unknown.toFixed(1)} ms)`);
    });
  });
});
