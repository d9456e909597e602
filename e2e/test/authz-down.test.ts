/**
 * Scenario 9: with authz-server down, authn answers token requests with 503 (fails closed) and the
 * client fails; once authz is back the next pull works without restarting authn.
 */
import assert from 'node:assert/strict';
import { outDir, uniqueImage, useStack } from '../harness/fixture.js';
import { Skopeo } from '../harness/skopeo.js';
import { getToken } from '../harness/token.js';

describe('e2e: authz-server down', function () {
  this.timeout(120000);
  const stack = useStack(['skopeo']);

  it('503 and a failing pull while authz is down; pulls work again after it restarts', async () => {
    const s = stack();
    const img = uniqueImage(s, 'down');
    const alice = new Skopeo(s.home('alice'));
    const seed = await alice.push(img.dir, 'v1', s.ref('team-a/app'), stack.creds('alice'));
    assert.equal(seed.code, 0, seed.out);
    const authnPid = s.authn.pid;

    await s.authz.stop();
    const t = await getToken(s.authnUrl, stack.creds('alice'), ['repository:team-a/app:pull']);
    assert.equal(t.status, 503, JSON.stringify(t.body));
    assert.equal(t.token, undefined, 'no token while authz is down');

    const mark = s.spy.requests.length;
    const down = await alice.pull(s.ref('team-a/app'), outDir(s, 'down'), stack.creds('alice'));
    assert.notEqual(down.code, 0);
    // containers/image reports any non-200 non-401 token answer as an invalid status code.
    assert.match(down.out, /Requesting bearer token: invalid status code from registry 503 \(Service Unavailable\)/);
    assert.ok(s.spy.since(mark).some((r) => r.status === 503));

    await s.startAuthz();
    const up = await alice.pull(s.ref('team-a/app'), outDir(s, 'up'), stack.creds('alice'));
    assert.equal(up.code, 0, up.out);
    assert.equal(s.authn.pid, authnPid, 'authn was not restarted');
  });
});
