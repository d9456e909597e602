/**
 * What a client can type into the credential fields: over-long passwords are a 400 charged to the
 * throttle (no authz call, no error-level line), Basic credentials up to a 16 KiB token are read, larger
 * ones say "credentials too long", and a secret typed into the user-name field is not logged as typed.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import request from 'supertest';
import { createLogger } from '../../common/logger.js';
import { createCredentials, type Credentials } from '../src/credentials/chain.js';
import { MAX_HEADER_BYTES, MAX_TOKEN_BYTES } from '../src/credentials/limits.js';
import { createRobotsBackend } from '../src/credentials/robots.js';
import { createAuthzClient } from '../src/authz-client/index.js';
import { createLoginThrottle } from '../src/throttle/index.js';
import { basic, makeKeys, StandInAuthz, tempDir, testApp, type TestApp } from './helpers.js';

const S = 'registry.test';
interface Line {
  level: number;
  msg: string;
  audit?: Record<string, unknown>;
}

describe('credential input: sizes and secrets in the wrong field', () => {
  let tmp: ReturnType<typeof tempDir>;
  let authz: StandInAuthz;
  let creds: Credentials;
  let t: TestApp;
  let lines: string[];
  const parsed = (): Line[] => lines.map((l) => JSON.parse(l) as Line);

  before(async () => {
    tmp = tempDir();
    writeFileSync(join(tmp.dir, 'users.yaml'), `users:\n  alice:\n    password: "${bcrypt.hashSync('alice-pw', 4)}"\n`);
    authz = await new StandInAuthz(() => ['pull']).start();
    // Robots point at a closed port: a call would be a 503 with an error-level line.
    creds = await createCredentials({
      logger: createLogger({ name: 'x', level: 'silent' }),
      usersFile: join(tmp.dir, 'users.yaml'),
      watch: { watch: false, pollMs: 0 },
      robots: createRobotsBackend({ client: createAuthzClient({ url: 'http://127.0.0.1:9', timeoutMs: 500 }) }),
    });
    lines = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    t = testApp({ keys: await makeKeys(tmp.dir), authzUrl: authz.url, credentials: creds, throttle: createLoginThrottle(), logger: createLogger({ name: 't', level: 'info', destination: sink }) });
  });
  after(async () => {
    t.authzClient.close();
    creds.close();
    await authz.stop();
    tmp.cleanup();
  });
  beforeEach(() => (lines.length = 0));

  it('a robot password over 512 characters is a 400 inside the throttle: no authz call, no error line, 429 after the free attempts', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await request(t.app).get(`/auth?service=${S}`).set('Authorization', basic('robot:team-a+ci', 'x'.repeat(600 + i)));
      statuses.push(res.status);
      if (res.status === 400) assert.match((res.body as { error_description: string }).error_description, /password longer than 512 characters/);
    }
    assert.deepEqual(statuses, [400, 400, 400, 400, 400, 429, 429]);
    assert.deepEqual(parsed().filter((l) => l.level >= 50), [], 'no error-level line');
    assert.ok(parsed().every((l) => !JSON.stringify(l).includes('x'.repeat(600))), 'the password is not logged');
    // A file user's password over 4096 characters, the same way.
    const res = await request(t.app).post('/auth').type('form').send({ grant_type: 'password', username: 'alice', password: 'y'.repeat(5000), service: S });
    assert.equal(res.status, 400);
  });

  it('Basic credentials carrying a 16 KiB password are read (401 for a wrong one, not "not valid base64"); larger ones are "credentials too long"', async () => {
    const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, t.app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const get = (authorization: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const port = (server.address() as AddressInfo).port;
        const req = http.get({ host: '127.0.0.1', port, path: `/auth?service=${S}`, headers: { Authorization: authorization } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
      });
    try {
      const fits = await get(basic('alice', 'p'.repeat(MAX_TOKEN_BYTES)));
      assert.equal(fits.status, 400, fits.body);
      assert.match(fits.body, /password longer than 4096/, 'parsed, then refused by the password limit of a file user');
      const tooBig = await get(basic('alice', 'p'.repeat(MAX_TOKEN_BYTES + 2000)));
      assert.equal(tooBig.status, 400);
      assert.match(tooBig.body, /credentials too long/);
      assert.doesNotMatch(tooBig.body, /not valid base64/);
      // 3 KiB, refused as "not valid base64" before: now just a wrong password.
      assert.equal((await get(basic('alice', 'q'.repeat(3500)))).status, 401);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('a user name with a C1 control (U+0085 or U+009F) is a 400 naming the problem at authn, GET and POST — never a 503 from authz refusing the account', async () => {
    for (const name of ['bob\u0085', '\u009fbob']) {
      const calls = authz.requests.length;
      const get = await request(t.app).get(`/auth?service=${S}&scope=repository:a/b:pull`).set('Authorization', basic(name, 'pw'));
      assert.equal(get.status, 400, JSON.stringify(get.body));
      assert.match((get.body as { error_description: string }).error_description, /user name must not contain control characters/);
      const post = await request(t.app).post('/auth').type('form').send({ grant_type: 'password', username: name, password: 'pw', service: S, scope: 'repository:a/b:pull' });
      assert.equal(post.status, 400, JSON.stringify(post.body));
      assert.match((post.body as { error_description: string }).error_description, /username must not contain control characters/);
      assert.equal(authz.requests.length, calls, 'authz is not asked');
    }
    // A name authz normalizes to NFC is not refused for its form: it is simply not a user here.
    await request(t.app).post('/auth').type('form').send({ grant_type: 'password', username: 'e\u0301', password: 'pw', service: S }).expect(401);
  });

  it('a robot secret typed into the POST username field is not logged verbatim', async () => {
    const secret = 'tgr_Qm9vZ2llV29vZ2llQm9vZ2llV29vZ2llQm9vZ2ll';
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const random = 'aB3dE5fG7hJ9kL1mN3pQ5rS7';
    for (const name of [secret, jwt, random]) {
      const res = await request(t.app).post('/auth').type('form').send({ grant_type: 'password', username: name, password: 'whatever', service: S });
      assert.equal(res.status, 401);
    }
    const text = lines.join('');
    for (const name of [secret, jwt, random]) assert.ok(!text.includes(name), `${name.slice(0, 8)}… not in the log`);
    const accounts = parsed().map((l) => l.audit?.account);
    assert.equal(accounts.length, 3);
    for (const a of accounts) assert.match(String(a), /^\[redacted secret-like name sha256:[0-9a-f]{8}\]$/);
    // Ordinary names stay readable.
    await request(t.app).post('/auth').type('form').send({ grant_type: 'password', username: 'team-a-production-2024', password: 'x', service: S }).expect(401);
    assert.equal(parsed().at(-1)?.audit?.account, 'team-a-production-2024');
  });
});
