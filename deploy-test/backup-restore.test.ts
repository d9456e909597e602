/**
 * scripts/backup.sh and scripts/restore.sh: the migration path (compose → cluster, or host → host)
 * must carry every role and binding across, and a bad file must change nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAuthz, type AuthzServer } from './helpers/authz.js';
import { requireTool, run, ROOT, tempDir } from './helpers/run.js';

interface Exported {
  roles: Array<{ name: string }>;
  bindings: Array<{ account_name: string; role_name: string; namespace?: string }>;
}

describe('scripts/backup.sh + scripts/restore.sh', () => {
  let dir: ReturnType<typeof tempDir>;
  let source: AuthzServer;
  let target: AuthzServer;

  before(async () => {
    requireTool('curl', 'backup.sh and restore.sh need curl (apt-get install curl)');
    dir = tempDir('backup');
    [source, target] = await Promise.all([startAuthz(dir.path, 'src'), startAuthz(dir.path, 'dst')]);
    assert.equal((await source.admin('POST', '/add-role', { name: 'dev', permissions: [{ name: '${namespace}/*', actions: ['pull', 'push'] }] })).status, 201);
    assert.equal((await source.admin('POST', '/add-role', { name: 'reader', permissions: [{ name: 'public/*', actions: ['pull'] }] })).status, 201);
    for (const b of [
      { account_name: 'alice', role_name: 'dev', namespace: 'team-a' },
      { account_name: 'bob smith', role_name: 'dev', namespace: 'team-b' },
      { account_name: '<anonymous>', role_name: 'reader' },
    ]) {
      assert.equal((await source.admin('POST', '/add-role-binding', b)).status, 201);
    }
  });

  after(async () => {
    await Promise.all([source?.proc.stop(), target?.proc.stop()]);
    dir?.remove();
  });

  const script = (name: string, args: string[], server: AuthzServer, token = server.adminToken) =>
    run('bash', [join(ROOT, 'scripts', name), '--url', server.url, ...args], {
      env: { PATH: process.env.PATH, TOLLGATE_AUTHZ_ADMIN_TOKEN: token },
    });

  const decide = async (server: AuthzServer, Account: string, Name: string, Actions: string[]) =>
    (
      await fetch(`${server.url}/authorized`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.clientToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ Account, Type: 'repository', Name, Service: 'registry', IP: '10.0.0.1', Actions }),
      })
    ).status;

  it('backs up to a private file and restores every role and binding into an empty server', async () => {
    const file = join(dir.path, 'backup.json');
    const backup = script('backup.sh', ['--out', file], source);
    assert.equal(backup.status, 0, backup.stderr);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Exported;
    assert.deepEqual(saved.roles.map((r) => r.name).sort(), ['dev', 'reader']);
    assert.equal(saved.bindings.length, 3);

    assert.equal(await decide(target, 'bob smith', 'team-b/app', ['push']), 403, 'target starts empty');
    const restore = script('restore.sh', [file], target);
    assert.equal(restore.status, 0, restore.stderr);
    const after = (await target.admin('GET', '/export')).body as Exported;
    assert.deepEqual(after.roles, saved.roles);
    assert.deepEqual(after.bindings, saved.bindings);
    // docs/kompose.md step 6: the two exports are identical once exported_at is dropped.
    const { exported_at: a, ...savedRest } = saved as Exported & { exported_at?: string };
    const { exported_at: b, ...afterRest } = after as Exported & { exported_at?: string };
    assert.ok(a && b, 'exports carry exported_at (the field the documented diff ignores)');
    assert.deepEqual(afterRest, savedRest);
    assert.equal(await decide(target, 'bob smith', 'team-b/app', ['pull', 'push']), 200);
    assert.equal(await decide(target, '', 'public/base', ['pull']), 200);
    assert.equal(await decide(target, 'alice', 'team-b/app', ['pull']), 403);
  });

  it('--merge keeps roles that are not in the file', async () => {
    assert.equal((await target.admin('POST', '/add-role', { name: 'extra', permissions: [{ name: 'x/*', actions: ['pull'] }] })).status, 201);
    const file = join(dir.path, 'backup2.json');
    assert.equal(script('backup.sh', ['--out', file], source).status, 0);
    assert.equal(script('restore.sh', [file, '--merge'], target).status, 0);
    const names = ((await target.admin('GET', '/export')).body as Exported).roles.map((r) => r.name).sort();
    assert.deepEqual(names, ['dev', 'extra', 'reader']);
  });

  it('an invalid backup changes nothing and exits non-zero with the server message', async () => {
    const before = (await target.admin('GET', '/export')).body as Exported;
    const file = join(dir.path, 'bad.json');
    writeFileSync(file, JSON.stringify({ version: 1, roles: [{ name: 'broken', permissions: [] }], bindings: [] }));
    const res = script('restore.sh', [file], target);
    assert.equal(res.status, 1);
    assert.match(res.stderr, /HTTP 400.*permissions/);
    const after = (await target.admin('GET', '/export')).body as Exported;
    assert.deepEqual(after.roles, before.roles);
    assert.deepEqual(after.bindings, before.bindings);
  });

  it('a wrong admin token writes no backup file and exits 2', () => {
    const file = join(dir.path, 'never.json');
    const res = script('backup.sh', ['--out', file], source, 'wrong-token');
    assert.equal(res.status, 2);
    assert.match(res.stderr, /HTTP 401/);
    assert.equal(existsSync(file), false);
  });
});
