/**
 * Scenario 6: containerd's `ctr images pull/push --user` uses the OAuth2 POST password grant
 * (client_id containerd-client, space-joined scope) and must never need its GET fallback.
 */
import assert from 'node:assert/strict';
import { uniqueImage, useStack } from '../harness/fixture.js';
import { Containerd } from '../harness/daemons.js';
import { Skopeo } from '../harness/skopeo.js';

describe('e2e: containerd (ctr)', function () {
  this.timeout(180000);
  const stack = useStack(['skopeo', 'containerd', 'ctr']);
  let cd: Containerd | undefined;

  before(async function () {
    this.timeout(60000);
    const s = stack();
    cd = await Containerd.start(s.home('containerd'));
    s.defer(() => (cd as Containerd).stop());
  });

  it('pulls team-a/app and pushes team-a/ctr with POST grant_type=password only', async () => {
    const s = stack();
    const c = cd as Containerd;
    const img = uniqueImage(s, 'ctr');
    const seed = await new Skopeo(s.home('seed')).push(img.dir, 'v1', s.ref('team-a/app'), stack.creds('alice'));
    assert.equal(seed.code, 0, seed.out);

    const mark = s.spy.requests.length;
    const pull = await c.pull(s.ref('team-a/app'), stack.creds('alice'));
    assert.equal(pull.code, 0, pull.out);
    const tag = await c.ctr(['images', 'tag', s.ref('team-a/app'), s.ref('team-a/ctr')]);
    assert.equal(tag.code, 0, tag.out);
    const push = await c.push(s.ref('team-a/ctr'), stack.creds('alice'));
    assert.equal(push.code, 0, push.out);

    const reqs = s.spy.since(mark);
    assert.ok(reqs.length > 0, 'ctr asked for tokens');
    for (const r of reqs) {
      assert.equal(r.method, 'POST', `ctr fell back to ${r.method}: ${JSON.stringify(reqs)}`);
      assert.equal(r.grantType, 'password');
      assert.equal(r.clientId, 'containerd-client');
      assert.equal(r.status, 200);
    }
    assert.ok(reqs.some((r) => r.scopes.some((x) => x.startsWith('repository:team-a/ctr:') && x.includes('push'))), JSON.stringify(reqs));

    const check = await new Skopeo(s.home('check')).pull(s.ref('team-a/ctr'), `${s.dir}/check-ctr`, stack.creds('alice'));
    assert.equal(check.code, 0, check.out);
  });

  it('ctr pull with a wrong password fails (401 on POST, then 401 on the GET fallback)', async () => {
    const s = stack();
    const mark = s.spy.requests.length;
    const pull = await (cd as Containerd).pull(s.ref('team-a/app'), { user: 'alice', password: 'wrong-password' });
    assert.notEqual(pull.code, 0);
    assert.match(pull.out, /401 Unauthorized/);
    const reqs = s.spy.since(mark);
    assert.ok(reqs.length > 0 && reqs.every((r) => r.status === 401), JSON.stringify(reqs));
    // On 401 containerd is allowed to (and does) retry with GET + Basic; the answer stays 401.
    assert.ok(reqs.some((r) => r.method === 'POST' && r.grantType === 'password'), JSON.stringify(reqs));
    assert.ok(reqs.some((r) => r.method === 'GET' && r.basicAuth), JSON.stringify(reqs));
  });

  it('ctr pull of team-b as alice is denied by the registry', async () => {
    const s = stack();
    const img = uniqueImage(s, 'ctr-b');
    const seed = await new Skopeo(s.home('seed-b')).push(img.dir, 'v1', s.ref('team-b/app'), stack.creds('bob'));
    assert.equal(seed.code, 0, seed.out);
    const pull = await (cd as Containerd).pull(s.ref('team-b/app'), stack.creds('alice'));
    assert.notEqual(pull.code, 0);
    // containerd prints the registry's WWW-Authenticate error for a token without the access.
    assert.match(pull.out, /insufficient_scope: authorization failed/);
  });
});
