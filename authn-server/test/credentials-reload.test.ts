/** Credentials files are reloaded on change (watch, poll, Kubernetes symlink swap); bad files keep the old content. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { createLogger } from '../../common/logger.js';
import { createCredentials, type CredentialOptions, type Credentials } from '../src/credentials/chain.js';

const hash = (pw: string): string => bcrypt.hashSync(pw, 4);
const yamlUsers = (users: Record<string, { pw: string; labels?: string }>): string =>
  `users:\n${Object.entries(users)
    .map(([u, v]) => `  ${u}:\n    password: "${hash(v.pw)}"\n${v.labels ? `    labels: ${v.labels}\n` : ''}`)
    .join('')}`;

/** Polls `fn` until it returns true, for at most `ms`. */
async function until(fn: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('credentials reload', () => {
  let dir: string;
  let creds: Credentials | undefined;
  let logs: Array<Record<string, unknown>>;
  let compares: number;
  const logger = createLogger({
    name: 'reload-test',
    level: 'info',
    destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-reload-'));
    logs = [];
    compares = 0;
  });
  afterEach(() => {
    creds?.close();
    creds = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(opts: Partial<CredentialOptions>): Promise<Credentials> {
    creds = await createCredentials({
      logger,
      compare: (pw, h) => (compares++, bcrypt.compare(pw, h)),
      watch: { watch: true, pollMs: 0, debounceMs: 20 },
      ...opts,
    });
    return creds;
  }
  const kind = async (user: string, pw: string): Promise<string> => (await creds!.authenticate(user, pw)).kind;
  const logged = (msg: string): Array<Record<string, unknown>> => logs.filter((l) => l.msg === msg);

  it('picks up an edited users file through the directory watch', async () => {
    const file = join(dir, 'users.yaml');
    writeFileSync(file, yamlUsers({ alice: { pw: 'old' } }));
    await open({ usersFile: file });
    assert.equal(await kind('alice', 'old'), 'ok');
    writeFileSync(file, yamlUsers({ alice: { pw: 'new' }, bob: { pw: 'bob' } }));
    await until(async () => (await kind('alice', 'new')) === 'ok', 5000, 'new password');
    assert.equal(await kind('alice', 'old'), 'wrong-password');
    assert.equal(await kind('bob', 'bob'), 'ok');
    assert.equal(logged('users file reloaded').at(-1)?.users, 2);
  });

  it('picks up an atomic replace (write a temp file, rename over) through the watch', async () => {
    const file = join(dir, 'users.yaml');
    writeFileSync(file, yamlUsers({ alice: { pw: 'old' } }));
    await open({ usersFile: file });
    writeFileSync(join(dir, '.users.yaml.tmp'), yamlUsers({ alice: { pw: 'renamed' } }));
    renameSync(join(dir, '.users.yaml.tmp'), file);
    await until(async () => (await kind('alice', 'renamed')) === 'ok', 5000, 'renamed file');
  });

  it('picks up a change with only the periodic stat check (no watcher)', async () => {
    const file = join(dir, 'htpasswd');
    writeFileSync(file, `carol:${hash('old')}\n`);
    await open({ htpasswdFile: file, watch: { watch: false, pollMs: 50 } });
    writeFileSync(file, `carol:${hash('new')}\n`);
    await until(async () => (await kind('carol', 'new')) === 'ok', 5000, 'new htpasswd');
    assert.equal(await kind('carol', 'old'), 'wrong-password');
  });

  it('follows a Kubernetes-style ..data symlink swap', async () => {
    // Layout of a mounted Secret: users.yaml -> ..data/users.yaml, ..data -> ..v1 (swapped atomically).
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'users.yaml'), yamlUsers({ alice: { pw: 'v1' } }));
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync('..data/users.yaml', join(dir, 'users.yaml'));
    await open({ usersFile: join(dir, 'users.yaml') });
    assert.equal(await kind('alice', 'v1'), 'ok');

    mkdirSync(join(dir, '..v2'));
    writeFileSync(join(dir, '..v2', 'users.yaml'), yamlUsers({ alice: { pw: 'v2' } }));
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..v1'), { recursive: true });
    await until(async () => (await kind('alice', 'v2')) === 'ok', 5000, 'swapped secret');
    assert.equal(await kind('alice', 'v1'), 'wrong-password');
  });

  it('rejects an invalid new file with a logged reason and keeps serving the old users', async () => {
    const file = join(dir, 'users.yaml');
    writeFileSync(file, yamlUsers({ alice: { pw: 'pw' } }));
    await open({ usersFile: file, watch: { watch: false, pollMs: 30 } });
    writeFileSync(file, `users:\n  alice:\n    password: "plaintext"\n`);
    await until(() => logged('users file rejected; keeping the previous content').length > 0, 5000, 'rejection log');
    const rejection = logged('users file rejected; keeping the previous content')[0]!;
    assert.match(String(rejection.reason), /users\.alice\.password: must be a bcrypt hash/);
    assert.equal(rejection.file, file);
    assert.equal(await kind('alice', 'pw'), 'ok');
    assert.equal(await kind('alice', 'plaintext'), 'wrong-password');

    writeFileSync(file, yamlUsers({ alice: { pw: 'fixed' } }));
    await until(async () => (await kind('alice', 'fixed')) === 'ok', 5000, 'fixed file');
    assert.equal(logged('users file rejected; keeping the previous content').length, 1, 'rejected once, not on every poll');
  });

  it('never logs the rejected password or hash', async () => {
    const file = join(dir, 'users.yaml');
    writeFileSync(file, yamlUsers({ alice: { pw: 'pw' } }));
    await open({ usersFile: file, watch: { watch: false, pollMs: 30 } });
    writeFileSync(file, `users:\n  alice:\n    password: "plaintext-secret-123"\n  bob:\n    password: "$2b$10$tooShortHashValue"\n`);
    await until(() => logged('users file rejected; keeping the previous content').length > 0, 5000, 'rejection log');
    const all = JSON.stringify(logs);
    assert.ok(!all.includes('plaintext-secret-123'), all);
    assert.ok(!all.includes('tooShortHashValue'), all);
    assert.match(all, /users\.alice\.password/);
  });

  it('settles on the last of many quick successive writes', async () => {
    const file = join(dir, 'users.yaml');
    writeFileSync(file, yamlUsers({ alice: { pw: 'v0' } }));
    await open({ usersFile: file, watch: { watch: true, pollMs: 0, debounceMs: 20 } });
    const hashes = Array.from({ length: 15 }, (_, i) => hash(`v${i + 1}`));
    for (const h of hashes) writeFileSync(file, `users:\n  alice: {password: "${h}"}\n`);
    await until(async () => (await kind('alice', 'v15')) === 'ok', 5000, 'last version');
    await sleep(150);
    assert.equal(await kind('alice', 'v15'), 'ok');
    assert.ok(logged('users file reloaded').length < 15, 'debounced');
  });

  it('rejects an htpasswd reload with a non-bcrypt line, naming it', async () => {
    const file = join(dir, 'htpasswd');
    writeFileSync(file, `carol:${hash('pw')}\n`);
    await open({ htpasswdFile: file, watch: { watch: false, pollMs: 30 } });
    writeFileSync(file, `carol:${hash('pw2')}\ndave:$apr1$xyz$abcdefghijklmnopqrstuv\n`);
    await until(() => logged('htpasswd file rejected; keeping the previous content').length > 0, 5000, 'rejection log');
    assert.match(String(logged('htpasswd file rejected; keeping the previous content')[0]!.reason), /line 2: user "dave" has Apache MD5/);
    assert.equal(await kind('carol', 'pw'), 'ok');
  });

  it('keeps serving when the file disappears, and says so', async () => {
    const file = join(dir, 'users.yaml');
    writeFileSync(file, yamlUsers({ alice: { pw: 'pw' } }));
    await open({ usersFile: file, watch: { watch: false, pollMs: 30 } });
    unlinkSync(file);
    await until(() => logged('users file unreadable; keeping the previous content').length > 0, 5000, 'warning');
    assert.equal(await kind('alice', 'pw'), 'ok');
  });

  it('drops the verification cache on reload', async () => {
    const file = join(dir, 'users.yaml');
    const aliceHash = hash('pw');
    writeFileSync(file, `users:\n  alice: {password: "${aliceHash}"}\n`);
    await open({ usersFile: file, watch: { watch: false, pollMs: 30 } });
    await kind('alice', 'pw');
    await kind('alice', 'pw');
    assert.equal(compares, 1, 'cached before reload');
    writeFileSync(file, `users:\n  alice: {password: "${aliceHash}"}\n  bob: {password: "${hash('b')}"}\n`);
    await until(async () => (await creds!.lookup('bob')) !== null, 5000, 'reload');
    assert.equal(await kind('alice', 'pw'), 'ok');
    assert.equal(compares, 2, 'alice re-verified with bcrypt after the reload');
  });

  it('credential id: kept for an unchanged entry, changed with the password, gone with the user', async () => {
    const file = join(dir, 'users.yaml');
    const aliceHash = hash('pw');
    const bobHash = hash('bob');
    writeFileSync(file, `users:\n  alice: {password: "${aliceHash}"}\n  bob: {password: "${bobHash}"}\n`);
    await open({ usersFile: file, watch: { watch: false, pollMs: 30 } });
    const alice1 = (await creds!.lookup('alice'))!.credentialId;
    const bob1 = (await creds!.lookup('bob'))!.credentialId;

    // Labels change for alice, password change for bob.
    writeFileSync(file, `users:\n  alice: {password: "${aliceHash}", labels: {team: [x]}}\n  bob: {password: "${hash('bob2')}"}\n`);
    await until(async () => (await creds!.lookup('alice'))?.labels.team?.[0] === 'x', 5000, 'reload 1');
    assert.equal((await creds!.lookup('alice'))!.credentialId, alice1, 'same hash, same id');
    const bob2 = (await creds!.lookup('bob'))!.credentialId;
    assert.notEqual(bob2, bob1, 'new password, new id');
    const r = await creds!.authenticate('bob', 'bob2');
    assert.ok(r.kind === 'ok' && r.credentialId === bob2);

    writeFileSync(file, `users:\n  alice: {password: "${aliceHash}", labels: {team: [x]}}\n`);
    await until(async () => (await creds!.lookup('bob')) === null, 5000, 'reload 2');
    assert.equal(await kind('bob', 'bob2'), 'no-match');
  });

  it('a touch without a content change is not a reload', async () => {
    const file = join(dir, 'users.yaml');
    writeFileSync(file, yamlUsers({ alice: { pw: 'pw' } }));
    await open({ usersFile: file, watch: { watch: true, pollMs: 30, debounceMs: 10 } });
    await kind('alice', 'pw');
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    await sleep(300);
    assert.equal(logged('users file reloaded').length, 0);
    await kind('alice', 'pw');
    assert.equal(compares, 1, 'cache survived the touch');
  });

  it('close() stops watching', async () => {
    const file = join(dir, 'users.yaml');
    writeFileSync(file, yamlUsers({ alice: { pw: 'old' } }));
    await open({ usersFile: file, watch: { watch: true, pollMs: 20, debounceMs: 10 } });
    creds!.close();
    writeFileSync(file, yamlUsers({ alice: { pw: 'new' } }));
    await sleep(300);
    assert.equal(await kind('alice', 'old'), 'ok');
    assert.equal(logged('users file reloaded').length, 0);
  });
});
