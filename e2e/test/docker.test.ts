/**
 * Scenario 7: `docker login` asks for an offline token and stores the refresh token; `docker pull`
 * and `docker push` then use only the POST refresh_token grant (no GET, no stored password).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueImage, useStack, REGISTRY_DENIED } from '../harness/fixture.js';
import { Containerd, Dockerd } from '../harness/daemons.js';
import { Skopeo } from '../harness/skopeo.js';
import { tokenHash } from '../harness/spy.js';

describe('e2e: docker (dockerd + docker CLI)', function () {
  this.timeout(240000);
  const stack = useStack(['skopeo', 'containerd', 'dockerd', 'docker']);
  let cd: Containerd | undefined;
  let dd: Dockerd | undefined;

  before(async function () {
    this.timeout(120000);
    const s = stack();
    cd = await Containerd.start(s.home('containerd'));
    s.defer(() => (cd as Containerd).stop());
    dd = await Dockerd.start(s.home('dockerd'), cd);
    s.defer(() => (dd as Dockerd).stop());
  });

  it('docker login stores a refresh token (identitytoken), not the password', async () => {
    const s = stack();
    const d = dd as Dockerd;
    const mark = s.spy.requests.length;
    const login = await d.login(s.registry?.host ?? '', stack.creds('alice'));
    assert.equal(login.code, 0, login.out);
    assert.match(login.out, /Login Succeeded/);
    const reqs = s.spy.since(mark);
    assert.ok(reqs.some((r) => r.method === 'GET' && r.offlineToken && r.clientId === 'docker' && r.status === 200), JSON.stringify(reqs));
    const cfg = JSON.parse(readFileSync(join(d.config, 'config.json'), 'utf8')) as { auths: Record<string, { auth?: string; identitytoken?: string }> };
    const entry = cfg.auths[s.registry?.host ?? ''];
    assert.ok(entry?.identitytoken, `no identitytoken stored: ${JSON.stringify(Object.keys(cfg.auths))}`);
    assert.ok(!entry.auth || !Buffer.from(entry.auth, 'base64').toString().includes(stack.creds('alice').password), 'password must not be stored');
  });

  it('docker pull and push go through POST grant_type=refresh_token only', async () => {
    const s = stack();
    const d = dd as Dockerd;
    const img = uniqueImage(s, 'docker');
    const seed = await new Skopeo(s.home('seed')).push(img.dir, 'v1', s.ref('team-a/app'), stack.creds('alice'));
    assert.equal(seed.code, 0, seed.out);

    const mark = s.spy.requests.length;
    const pull = await d.docker(['pull', s.ref('team-a/app')]);
    assert.equal(pull.code, 0, pull.out);
    const tag = await d.docker(['tag', s.ref('team-a/app'), s.ref('team-a/docker')]);
    assert.equal(tag.code, 0, tag.out);
    const push = await d.docker(['push', s.ref('team-a/docker')]);
    assert.equal(push.code, 0, push.out);

    const reqs = s.spy.since(mark);
    assert.ok(reqs.length > 0, 'docker asked for tokens');
    // The refresh token `docker login` stored is the credential of every later request.
    const cfg = JSON.parse(readFileSync(join(d.config, 'config.json'), 'utf8')) as { auths: Record<string, { identitytoken?: string }> };
    const stored = tokenHash(cfg.auths[s.registry?.host ?? '']?.identitytoken ?? '');
    for (const r of reqs) {
      assert.equal(r.method, 'POST', `docker sent a ${r.method}: ${JSON.stringify(reqs)}`);
      assert.equal(r.grantType, 'refresh_token', JSON.stringify(r));
      assert.equal(r.basicAuth, false, 'no password on the wire after login');
      assert.equal(r.refreshTokenHash, stored, 'the refresh token from docker login');
      assert.equal(r.status, 200);
    }
    // Pull and push each asked (same refresh token reused), and push got push access on team-a/docker.
    assert.ok(reqs.some((r) => r.scopes.includes('repository:team-a/app:pull')), JSON.stringify(reqs));
    assert.ok(reqs.some((r) => r.granted.some((g) => g.startsWith('repository:team-a/docker:') && g.includes('push'))), JSON.stringify(reqs));

    const check = await new Skopeo(s.home('check')).pull(s.ref('team-a/docker'), `${s.dir}/check-docker`, stack.creds('alice'));
    assert.equal(check.code, 0, check.out);
  });

  it('docker pull of team-b/app is denied', async () => {
    const s = stack();
    const img = uniqueImage(s, 'docker-b');
    const seed = await new Skopeo(s.home('seed-b')).push(img.dir, 'v1', s.ref('team-b/app'), stack.creds('bob'));
    assert.equal(seed.code, 0, seed.out);
    const pull = await (dd as Dockerd).docker(['pull', s.ref('team-b/app')]);
    assert.notEqual(pull.code, 0);
    assert.match(pull.out, REGISTRY_DENIED);
  });
});
