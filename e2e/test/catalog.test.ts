/**
 * Scenario 4: `/v2/_catalog` with a bearer token works only for an account whose role grants
 * `registry:catalog:*`; for anyone else the registry answers 401 insufficient_scope.
 */
import assert from 'node:assert/strict';
import { uniqueImage, useStack } from '../harness/fixture.js';
import { Skopeo } from '../harness/skopeo.js';
import { accessOf, getToken } from '../harness/token.js';

describe('e2e: catalog scope', function () {
  this.timeout(120000);
  const stack = useStack(['skopeo']);

  before(async () => {
    const s = stack();
    const push = await new Skopeo(s.home('alice')).push(uniqueImage(s, 'cat').dir, 'v1', s.ref('team-a/app'), stack.creds('alice'));
    assert.equal(push.code, 0, push.out);
  });

  it('root (role with registry:catalog:*) lists the repositories', async () => {
    const s = stack();
    const challenge = await fetch(`${s.registry?.url}/v2/_catalog`);
    assert.equal(challenge.status, 401);
    assert.match(challenge.headers.get('www-authenticate') ?? '', /scope="registry:catalog:\*"/);

    const t = await getToken(s.authnUrl, stack.creds('root'), ['registry:catalog:*']);
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.deepEqual(accessOf(t.token ?? ''), [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    const r = await fetch(`${s.registry?.url}/v2/_catalog`, { headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(r.status, 200);
    const body = (await r.json()) as { repositories: string[] };
    assert.ok(body.repositories.includes('team-a/app'), JSON.stringify(body));
  });

  it('alice (namespace role only) gets a token without catalog access, and the registry refuses it', async () => {
    const s = stack();
    const t = await getToken(s.authnUrl, stack.creds('alice'), ['registry:catalog:*']);
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.deepEqual(accessOf(t.token ?? ''), []);
    const r = await fetch(`${s.registry?.url}/v2/_catalog`, { headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
  });
});
