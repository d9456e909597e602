/**
 * Scenario 11: authn with `--anonymous` and a pull binding for `<anonymous>` on `public/**`:
 * an anonymous skopeo pull of public/app works, of team-a/app fails.
 */
import assert from 'node:assert/strict';
import { outDir, seedTeams, uniqueImage, useStack, REGISTRY_DENIED } from '../harness/fixture.js';
import { Skopeo } from '../harness/skopeo.js';
import type { Stack } from '../harness/stack.js';

async function seed(s: Stack): Promise<void> {
  await seedTeams(s);
  await s.addRole('public-pull', [{ request_type: 'repository', name: 'public/**', actions: ['pull'] }]);
  await s.bind('<anonymous>', 'public-pull');
}

describe('e2e: anonymous pulls', function () {
  this.timeout(120000);
  const stack = useStack(['skopeo'], { anonymous: true }, seed);

  before(async () => {
    const s = stack();
    const root = new Skopeo(s.home('root'));
    for (const repo of ['public/app', 'team-a/app']) {
      const r = await root.push(uniqueImage(s, repo.replace('/', '-')).dir, 'v1', s.ref(repo), stack.creds('root'));
      assert.equal(r.code, 0, r.out);
    }
  });

  it('anonymous skopeo pull of public/app works', async () => {
    const s = stack();
    const mark = s.spy.requests.length;
    const pull = await new Skopeo(s.home('anon')).pull(s.ref('public/app'), outDir(s, 'anon'));
    assert.equal(pull.code, 0, pull.out);
    const reqs = s.spy.since(mark);
    assert.ok(reqs.length > 0 && reqs.every((r) => !r.basicAuth && r.account === undefined), JSON.stringify(reqs));
  });

  it('anonymous skopeo pull of team-a/app fails', async () => {
    const s = stack();
    const pull = await new Skopeo(s.home('anon')).pull(s.ref('team-a/app'), outDir(s, 'anon'));
    assert.notEqual(pull.code, 0);
    assert.match(pull.out, REGISTRY_DENIED);
  });

  it('anonymous push to public/app fails', async () => {
    const s = stack();
    const push = await new Skopeo(s.home('anon')).push(uniqueImage(s, 'anon-push').dir, 'v1', s.ref('public/app', 'anon'));
    assert.notEqual(push.code, 0);
    assert.match(push.out, REGISTRY_DENIED);
  });
});
