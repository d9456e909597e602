/**
 * Namespace credentials with the real registry and skopeo. The Kubernetes API is the SIMULATED one
 * (authn-server/test/k8s/api-sim.ts, the real list/watch wire format); everything else is real.
 * - team-a's Secret (user team-a) pushes and pulls team-a/* only; rotating the Secret switches which
 *   password works;
 * - robots: a pull robot pulls its namespace and cannot push; a push robot pushes; after a rotation
 *   both secrets work during the overlap.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SimulatedKubeApi } from '../../authn-server/test/k8s/api-sim.js';
import { outDir, REGISTRY_DENIED, seedTeams, uniqueImage, useStack } from '../harness/fixture.js';
import { tempDir } from '../harness/procs.js';
import { Skopeo } from '../harness/skopeo.js';
import type { Stack } from '../harness/stack.js';

const NAME = 'tollgate-registry';

describe('e2e: namespace credentials — SIMULATED Kubernetes API, real registry and skopeo', function () {
  this.timeout(180000);
  const sim = new SimulatedKubeApi(NAME);
  const tmp = tempDir();
  const tokenFile = join(tmp.dir, 'sa.token');
  before(async () => {
    await sim.start();
    writeFileSync(tokenFile, sim.token);
    sim.put('team-a', NAME, { username: 'team-a', password: 'team-a-first' });
  });
  after(async () => {
    await sim.stop();
    tmp.cleanup();
  });
  const stack = useStack(['skopeo'], { authnArgs: () => ['--k8s-secrets', '--k8s-api-url', sim.url, '--k8s-token-file', tokenFile] }, async (s: Stack) => {
    await seedTeams(s);
    // The rauth-equivalent setup: every namespace account may pull and push its own namespace.
    await s.addRole('ns-owner', [{ request_type: 'repository', name: '${labels:namespace}/**', actions: ['pull', 'push'] }]);
    await s.bind('namespace:*', 'ns-owner');
  });

  const token = (s: Stack, user: string, password: string) =>
    fetch(`${s.authnUrl}/auth?service=registry.e2e&scope=repository:team-a/app:pull`, { headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } });
  const robot = async (s: Stack, name: string, actions: string[]) => (await s.admin('/robots', { namespace: 'team-a', name, actions })) as { account: string; secret: string };

  it('team-a\'s Secret pushes and pulls team-a/app, and cannot touch team-b', async () => {
    const s = stack();
    const team = { user: 'team-a', password: 'team-a-first' };
    const sk = new Skopeo(s.home('team-a'));
    const img = uniqueImage(s, 'ns-team-a');
    const push = await sk.push(img.dir, 'v1', s.ref('team-a/app'), team);
    assert.equal(push.code, 0, push.out);
    const pull = await sk.pull(s.ref('team-a/app'), outDir(s, 'ns-team-a'), team);
    assert.equal(pull.code, 0, pull.out);
    const bob = new Skopeo(s.home('bob'));
    assert.equal((await bob.push(uniqueImage(s, 'ns-team-b').dir, 'v1', s.ref('team-b/app'), stack.creds('bob'))).code, 0);
    const denied = await sk.pull(s.ref('team-b/app'), outDir(s, 'ns-team-a-b'), team);
    assert.notEqual(denied.code, 0);
    assert.match(denied.out, REGISTRY_DENIED);
    const pushB = await sk.push(img.dir, 'v1', s.ref('team-b/app', 'evil'), team);
    assert.notEqual(pushB.code, 0);
    assert.match(pushB.out, REGISTRY_DENIED);
  });

  it('rotating the Secret switches which password works, within 2 s', async () => {
    const s = stack();
    sim.put('team-a', NAME, { username: 'team-a', password: 'team-a-second' });
    const t0 = Date.now();
    while ((await token(s, 'team-a', 'team-a-second')).status !== 200) {
      assert.ok(Date.now() - t0 < 2000, 'new password accepted within 2 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await token(s, 'team-a', 'team-a-first')).status, 401);
    const sk = new Skopeo(s.home('team-a-2'));
    const old = await sk.pull(s.ref('team-a/app'), outDir(s, 'ns-old'), { user: 'team-a', password: 'team-a-first' });
    assert.notEqual(old.code, 0);
    assert.match(old.out, /invalid username\/password/);
    const fresh = await sk.pull(s.ref('team-a/app'), outDir(s, 'ns-new'), { user: 'team-a', password: 'team-a-second' });
    assert.equal(fresh.code, 0, fresh.out);
  });

  it('a pull robot pulls its namespace and cannot push; a push robot pushes', async () => {
    const s = stack();
    const puller = await robot(s, 'puller', ['pull']);
    const pusher = await robot(s, 'pusher', ['pull', 'push']);
    const sk = new Skopeo(s.home('robots'));
    const pull = await sk.pull(s.ref('team-a/app'), outDir(s, 'robot-pull'), { user: puller.account, password: puller.secret });
    assert.equal(pull.code, 0, pull.out);
    const img = uniqueImage(s, 'robot-push');
    const refused = await sk.push(img.dir, 'v1', s.ref('team-a/robot'), { user: puller.account, password: puller.secret });
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, REGISTRY_DENIED);
    const pushed = await sk.push(img.dir, 'v1', s.ref('team-a/robot'), { user: pusher.account, password: pusher.secret });
    assert.equal(pushed.code, 0, pushed.out);
  });

  it('after a rotation both robot secrets pull until the overlap ends', async () => {
    const s = stack();
    const r = await robot(s, 'rotating', ['pull']);
    const rot = (await s.admin(`/robots/${encodeURIComponent(r.account)}/rotate`, { overlap: '1h' })) as { secret: string };
    const sk = new Skopeo(s.home('rotating'));
    for (const [i, secret] of [r.secret, rot.secret].entries()) {
      const pull = await sk.pull(s.ref('team-a/app'), outDir(s, `rot-${i}`), { user: r.account, password: secret });
      assert.equal(pull.code, 0, pull.out);
    }
    await s.admin(`/robots/${encodeURIComponent(r.account)}/rotate`, { overlap: 0 });
    // authn may still hold the old success for ≤ 60 s; a secret it never saw is checked at once.
    const wrong = await sk.pull(s.ref('team-a/app'), outDir(s, 'rot-x'), { user: r.account, password: 'tgr_not-the-secret' });
    assert.notEqual(wrong.code, 0);
  });
});
