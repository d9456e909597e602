/**
 * containerd's `ctr` and docker (dockerd + CLI) through `tollgate proxy --mode token`: both meet a
 * Basic challenge at the proxy and send the password on every request, as they do to an htpasswd
 * registry; the registry behind only ever sees the proxy's tokens.
 */
import assert from 'node:assert/strict';
import { uniqueImage, useStack, REGISTRY_DENIED } from '../harness/fixture.js';
import { Containerd, Dockerd } from '../harness/daemons.js';
import { startTestProxy } from '../harness/proxy.js';
import { Skopeo } from '../harness/skopeo.js';

describe('e2e: proxy with containerd (ctr) and docker', function () {
  this.timeout(240000);
  const stack = useStack(['skopeo', 'containerd', 'ctr', 'dockerd', 'docker']);
  let cd: Containerd;
  let dd: Dockerd;
  let proxy: { url: string; host: string };

  before(async function () {
    this.timeout(120000);
    const s = stack();
    proxy = await startTestProxy(s, s.registry!.url);
    const seed = await new Skopeo(s.home('seed')).push(uniqueImage(s, 'clients').dir, 'v1', `${proxy.host}/team-a/app:v1`, stack.creds('alice'));
    assert.equal(seed.code, 0, seed.out);
    cd = await Containerd.start(s.home('containerd'));
    s.defer(() => cd.stop());
    dd = await Dockerd.start(s.home('dockerd'), cd);
    s.defer(() => dd.stop());
  });

  it('ctr pulls team-a/app and pushes team-a/ctr; bob cannot pull it', async () => {
    const pull = await cd.pull(`${proxy.host}/team-a/app:v1`, stack.creds('alice'));
    assert.equal(pull.code, 0, pull.out);
    const tag = await cd.ctr(['images', 'tag', `${proxy.host}/team-a/app:v1`, `${proxy.host}/team-a/ctr:v1`]);
    assert.equal(tag.code, 0, tag.out);
    const push = await cd.push(`${proxy.host}/team-a/ctr:v1`, stack.creds('alice'));
    assert.equal(push.code, 0, push.out);
    const denied = await cd.pull(`${proxy.host}/team-a/ctr:v1`, stack.creds('bob'));
    assert.notEqual(denied.code, 0);
  });

  it('docker login, pull and push through the proxy; a push into another namespace is denied', async () => {
    // Its own image: containerd's content store is shared with the ctr test, and docker warns when it
    // persists a manifest containerd already holds in another namespace.
    const s = stack();
    const seed = await new Skopeo(s.home('seed')).push(uniqueImage(s, 'docker-src').dir, 'v1', `${proxy.host}/team-a/dsrc:v1`, stack.creds('alice'));
    assert.equal(seed.code, 0, seed.out);
    const login = await dd.login(proxy.host, stack.creds('alice'));
    assert.equal(login.code, 0, login.out);
    const pull = await dd.docker(['pull', `${proxy.host}/team-a/dsrc:v1`]);
    assert.equal(pull.code, 0, pull.out);
    const tag = await dd.docker(['tag', `${proxy.host}/team-a/dsrc:v1`, `${proxy.host}/team-a/docker:v1`]);
    assert.equal(tag.code, 0, tag.out);
    const push = await dd.docker(['push', `${proxy.host}/team-a/docker:v1`]);
    assert.equal(push.code, 0, push.out);
    const cross = await dd.docker(['tag', `${proxy.host}/team-a/dsrc:v1`, `${proxy.host}/team-b/docker:v1`]);
    assert.equal(cross.code, 0, cross.out);
    const denied = await dd.docker(['push', `${proxy.host}/team-b/docker:v1`]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.out, REGISTRY_DENIED);
  });
});
