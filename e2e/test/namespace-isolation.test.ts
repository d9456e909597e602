/**
 * Scenario 1 (skopeo): team-a's account pushes and pulls team-a/app, and cannot touch team-b/app —
 * authn answers 200 with an empty grant and the registry refuses the client.
 */
import assert from 'node:assert/strict';
import { outDir, uniqueImage, useStack, REGISTRY_DENIED } from '../harness/fixture.js';
import { Skopeo } from '../harness/skopeo.js';

describe('e2e: namespace isolation (skopeo)', function () {
  this.timeout(120000);
  const stack = useStack(['skopeo']);

  it('alice pushes and pulls team-a/app', async () => {
    const s = stack();
    const sk = new Skopeo(s.home('alice'));
    const img = uniqueImage(s, 'team-a-app');
    const push = await sk.push(img.dir, 'v1', s.ref('team-a/app'), stack.creds('alice'));
    assert.equal(push.code, 0, push.out);
    const pull = await sk.pull(s.ref('team-a/app'), outDir(s, 'alice'), stack.creds('alice'));
    assert.equal(pull.code, 0, pull.out);
    assert.match(pull.out, new RegExp(img.layerDigest.replace('sha256:', '')));
  });

  it('alice cannot pull or push team-b/app: the registry denies her token', async () => {
    const s = stack();
    const bob = new Skopeo(s.home('bob'));
    const img = uniqueImage(s, 'team-b-app');
    const push = await bob.push(img.dir, 'v1', s.ref('team-b/app'), stack.creds('bob'));
    assert.equal(push.code, 0, push.out);

    const alice = new Skopeo(s.home('alice'));
    const mark = s.spy.requests.length;
    const pull = await alice.pull(s.ref('team-b/app'), outDir(s, 'alice-b'), stack.creds('alice'));
    assert.notEqual(pull.code, 0, 'alice must not pull team-b/app');
    assert.match(pull.out, REGISTRY_DENIED);
    // Her credentials are fine: authn grants the (empty) intersection with 200, the registry says no.
    const asked = s.spy.since(mark).filter((r) => r.scopes.includes('repository:team-b/app:pull'));
    assert.ok(asked.length > 0, 'skopeo asked for repository:team-b/app:pull');
    assert.ok(asked.every((r) => r.status === 200 && !r.granted.some((g) => g.includes('team-b'))), JSON.stringify(asked));

    const other = uniqueImage(s, 'alice-into-b');
    const push2 = await alice.push(other.dir, 'v1', s.ref('team-b/app', 'evil'), stack.creds('alice'));
    assert.notEqual(push2.code, 0, 'alice must not push to team-b/app');
    assert.match(push2.out, REGISTRY_DENIED);
  });

  it('a wrong password is refused by authn (401) and skopeo says so', async () => {
    const s = stack();
    const mark = s.spy.requests.length;
    const pull = await new Skopeo(s.home('alice')).pull(s.ref('team-a/app'), outDir(s, 'badpw'), { user: 'alice', password: 'not-her-password' });
    assert.notEqual(pull.code, 0);
    assert.match(pull.out, /unable to retrieve auth token: invalid username\/password/);
    const reqs = s.spy.since(mark);
    assert.ok(reqs.length > 0 && reqs.every((r) => r.status === 401), JSON.stringify(reqs));
  });

  it('bob still pulls his own team-b/app', async () => {
    const s = stack();
    const pull = await new Skopeo(s.home('bob')).pull(s.ref('team-b/app'), outDir(s, 'bob'), stack.creds('bob'));
    assert.equal(pull.code, 0, pull.out);
  });
});
