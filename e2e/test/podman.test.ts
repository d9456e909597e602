/** Scenario 5: podman pulls and pushes with `--creds` (containers/image GET + Basic), and is denied outside its namespace. */
import assert from 'node:assert/strict';
import { uniqueImage, useStack, REGISTRY_DENIED } from '../harness/fixture.js';
import { Podman, Skopeo } from '../harness/skopeo.js';

describe('e2e: podman', function () {
  this.timeout(180000);
  const stack = useStack(['skopeo', 'podman']);

  it('alice pulls team-a/app and pushes it as team-a/podman with --creds', async () => {
    const s = stack();
    const img = uniqueImage(s, 'podman');
    const seed = await new Skopeo(s.home('seed')).push(img.dir, 'v1', s.ref('team-a/app'), stack.creds('alice'));
    assert.equal(seed.code, 0, seed.out);

    const pm = new Podman(s.home('podman'));
    const mark = s.spy.requests.length;
    const pull = await pm.pull(s.ref('team-a/app'), stack.creds('alice'));
    assert.equal(pull.code, 0, pull.out);
    const tag = await pm.podman(['tag', s.ref('team-a/app'), s.ref('team-a/podman')]);
    assert.equal(tag.code, 0, tag.out);
    const push = await pm.push(s.ref('team-a/podman'), s.ref('team-a/podman'), stack.creds('alice'));
    assert.equal(push.code, 0, push.out);
    const reqs = s.spy.since(mark);
    assert.ok(reqs.length > 0 && reqs.every((r) => r.method === 'GET' && r.basicAuth && r.account === 'alice' && r.status === 200), JSON.stringify(reqs));

    const check = await new Skopeo(s.home('check')).pull(s.ref('team-a/podman'), `${s.dir}/check-podman`, stack.creds('alice'));
    assert.equal(check.code, 0, check.out);
  });

  it('podman pull of team-b/app as alice fails with the registry denial', async () => {
    const s = stack();
    const img = uniqueImage(s, 'podman-b');
    const seed = await new Skopeo(s.home('seed-b')).push(img.dir, 'v1', s.ref('team-b/app'), stack.creds('bob'));
    assert.equal(seed.code, 0, seed.out);
    const pull = await new Podman(s.home('podman')).pull(s.ref('team-b/app'), stack.creds('alice'));
    assert.notEqual(pull.code, 0);
    assert.match(pull.out, REGISTRY_DENIED);
  });
});
