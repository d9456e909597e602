/**
 * Scenario 2 (skopeo): a pull-only binding pulls, and its push fails with the registry's denial
 * (authn grants the intersection — pull — with 200; the registry refuses the push).
 */
import assert from 'node:assert/strict';
import { outDir, uniqueImage, useStack, REGISTRY_DENIED } from '../harness/fixture.js';
import { Skopeo } from '../harness/skopeo.js';

describe('e2e: partial grant (skopeo)', function () {
  this.timeout(120000);
  const stack = useStack(['skopeo']);

  it('carol (pull-only in team-a) pulls team-a/app', async () => {
    const s = stack();
    const img = uniqueImage(s, 'team-a-app');
    const push = await new Skopeo(s.home('alice')).push(img.dir, 'v1', s.ref('team-a/app'), stack.creds('alice'));
    assert.equal(push.code, 0, push.out);
    const pull = await new Skopeo(s.home('carol')).pull(s.ref('team-a/app'), outDir(s, 'carol'), stack.creds('carol'));
    assert.equal(pull.code, 0, pull.out);
  });

  it("carol's push is refused by the registry although her token request succeeds", async () => {
    const s = stack();
    const img = uniqueImage(s, 'carol-push');
    const mark = s.spy.requests.length;
    const push = await new Skopeo(s.home('carol')).push(img.dir, 'v1', s.ref('team-a/carol'), stack.creds('carol'));
    assert.notEqual(push.code, 0, 'a pull-only account must not push');
    assert.match(push.out, REGISTRY_DENIED);
    const asked = s.spy.since(mark).filter((r) => r.scopes.some((x) => x.startsWith('repository:team-a/carol:') && x.includes('push')));
    assert.ok(asked.length > 0, 'skopeo asked for push on team-a/carol');
    // authn grants the intersection — pull only — and the registry turns the push down.
    assert.ok(asked.every((r) => r.status === 200 && r.granted.every((g) => !g.includes('push'))), JSON.stringify(asked));
  });
});
