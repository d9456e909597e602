/** Scenario 8: deleting a binding takes effect on the very next pull — no restart of anything. */
import assert from 'node:assert/strict';
import { outDir, uniqueImage, useStack, REGISTRY_DENIED } from '../harness/fixture.js';
import { Skopeo } from '../harness/skopeo.js';

describe('e2e: revocation', function () {
  this.timeout(120000);
  const stack = useStack(['skopeo']);

  it('carol pulls, her binding is deleted, her next pull is denied', async () => {
    const s = stack();
    const img = uniqueImage(s, 'revoke');
    const seed = await new Skopeo(s.home('alice')).push(img.dir, 'v1', s.ref('team-a/app'), stack.creds('alice'));
    assert.equal(seed.code, 0, seed.out);
    const pids = [s.authz.pid, s.authn.pid, s.registry?.proc.pid];

    const carol = new Skopeo(s.home('carol'));
    const before = await carol.pull(s.ref('team-a/app'), outDir(s, 'carol'), stack.creds('carol'));
    assert.equal(before.code, 0, before.out);

    await s.unbind('carol', 'ns-ro', 'team-a');
    const after = await carol.pull(s.ref('team-a/app'), outDir(s, 'carol'), stack.creds('carol'));
    assert.notEqual(after.code, 0, 'pull must fail once the binding is gone');
    assert.match(after.out, REGISTRY_DENIED);

    assert.deepEqual([s.authz.pid, s.authn.pid, s.registry?.proc.pid], pids, 'nothing was restarted');
    assert.ok(s.authz.running && s.authn.running);

    await s.bind('carol', 'ns-ro', 'team-a');
    const again = await carol.pull(s.ref('team-a/app'), outDir(s, 'carol'), stack.creds('carol'));
    assert.equal(again.code, 0, again.out);
  });
});
