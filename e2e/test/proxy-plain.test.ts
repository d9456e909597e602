/**
 * `tollgate proxy --mode plain` in front of registries that have no token auth: the real registry
 * 2.8.2 with no auth at all, and one with htpasswd whose credentials only the proxy holds
 * (--upstream-auth-file). Clients log in with the normal token flow (the proxy's 401 names authn as
 * the Bearer realm); the proxy verifies every token (signature, aud, exp, access) or Basic credentials,
 * and never forwards the client's Authorization.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { outDir, uniqueImage, useStack } from '../harness/fixture.js';
import { basic, startTestProxy } from '../harness/proxy.js';
import { startRegistry } from '../harness/registry.js';
import { Podman, Skopeo } from '../harness/skopeo.js';
import { SERVICE } from '../harness/stack.js';
import { getToken } from '../harness/token.js';

describe('e2e: proxy, plain mode (registry 2.8.2 without token auth)', function () {
  this.timeout(180000);
  const stack = useStack(['skopeo', 'podman']);
  let proxy: { url: string; host: string };
  let guarded: { url: string; host: string };
  const upstreams: string[] = [];
  const upstreamPassword = 'upstream-secret-0123456789';

  before(async function () {
    this.timeout(60000);
    const s = stack();
    const open = await startRegistry(join(s.dir, 'plain'), { none: true });
    s.defer(() => open.stop());
    const locked = await startRegistry(join(s.dir, 'locked'), { htpasswd: { users: { proxy: upstreamPassword } } });
    s.defer(() => locked.stop());
    upstreams.push(open.host, locked.host);
    proxy = await startTestProxy(s, open.url, { mode: 'plain', tokenRealm: `${s.spy.url}/auth` });
    writeFileSync(join(s.dir, 'upstream.auth'), `proxy:${upstreamPassword}\n`, { mode: 0o600 });
    guarded = await startTestProxy(s, locked.url, { mode: 'plain', tokenRealm: `${s.spy.url}/auth`, upstreamAuthFile: join(s.dir, 'upstream.auth') });
  });

  it('no credentials → 401 Bearer challenge naming authn, the service and the scope', async () => {
    const r = await fetch(`${proxy.url}/v2/team-a/app/manifests/v1`);
    assert.equal(r.status, 401);
    const s = stack();
    assert.equal(r.headers.get('www-authenticate'), `Bearer realm="${s.spy.url}/auth",service="${SERVICE}",scope="repository:team-a/app:pull"`);
    assert.equal(((await r.json()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'UNAUTHORIZED');
  });

  it('skopeo pushes and pulls through the token flow; bob is refused across namespaces', async () => {
    const s = stack();
    const img = uniqueImage(s, 'plain');
    const mark = s.spy.requests.length;
    const push = await new Skopeo(s.home('alice')).push(img.dir, 'v1', `${proxy.host}/team-a/app:v1`, stack.creds('alice'));
    assert.equal(push.code, 0, push.out);
    assert.ok(s.spy.since(mark).some((r) => r.status === 200 && r.scopes.some((x) => x.startsWith('repository:team-a/app:'))), 'skopeo fetched a token from authn');
    const pull = await new Skopeo(s.home('carol')).pull(`${proxy.host}/team-a/app:v1`, outDir(s, 'carol'), stack.creds('carol'));
    assert.equal(pull.code, 0, pull.out);
    const denied = await new Skopeo(s.home('bob')).pull(`${proxy.host}/team-a/app:v1`, outDir(s, 'bob'), stack.creds('bob'));
    assert.notEqual(denied.code, 0);
    const push2 = await new Skopeo(s.home('bob')).push(uniqueImage(s, 'bob').dir, 'v1', `${proxy.host}/team-a/bob:v1`, stack.creds('bob'));
    assert.notEqual(push2.code, 0);
  });

  it('podman pulls and pushes through the plain proxy; its push into team-b is refused', async () => {
    const s = stack();
    const pm = new Podman(s.home('podman'));
    const pull = await pm.pull(`${proxy.host}/team-a/app:v1`, stack.creds('alice'));
    assert.equal(pull.code, 0, pull.out);
    const push = await pm.push(`${proxy.host}/team-a/app:v1`, `${proxy.host}/team-a/podman:v1`, stack.creds('alice'));
    assert.equal(push.code, 0, push.out);
    const tags = await fetch(`${proxy.url}/v2/team-a/podman/tags/list`, { headers: { authorization: basic(stack.creds('alice')) } });
    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, ['v1']);
    const cross = await pm.push(`${proxy.host}/team-a/app:v1`, `${proxy.host}/team-b/podman:v1`, stack.creds('alice'));
    assert.notEqual(cross.code, 0);
  });

  it('tokens are verified on every request: wrong scope → insufficient_scope, tampered or foreign → invalid_token', async () => {
    const s = stack();
    const bob = await getToken(s.authnUrl, stack.creds('bob'), ['repository:team-b/app:pull', 'repository:team-a/app:pull']);
    const r = await fetch(`${proxy.url}/v2/team-a/app/tags/list`, { headers: { authorization: `Bearer ${bob.token}` } });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    const alice = await getToken(s.authnUrl, stack.creds('alice'), ['repository:team-a/app:pull']);
    const ok = await fetch(`${proxy.url}/v2/team-a/app/tags/list`, { headers: { authorization: `Bearer ${alice.token}` } });
    assert.equal(ok.status, 200);
    const [h, p, sig] = (alice.token ?? '').split('.');
    const widened = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), access: [{ type: 'repository', name: 'team-b/app', actions: ['pull'] }] })).toString('base64url');
    const forged = await fetch(`${proxy.url}/v2/team-b/app/tags/list`, { headers: { authorization: `Bearer ${h}.${widened}.${sig}` } });
    assert.equal(forged.status, 401);
    assert.match(forged.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    const offline = await fetch(`${s.authnUrl}/auth?service=${SERVICE}&offline_token=true&account=alice`, { headers: { authorization: basic(stack.creds('alice')) } });
    const refresh = ((await offline.json()) as { refresh_token: string }).refresh_token;
    assert.equal((await fetch(`${proxy.url}/v2/team-a/app/tags/list`, { headers: { authorization: `Bearer ${refresh}` } })).status, 401);
  });

  it('Basic credentials are accepted too (decided through authn\'s decision path): alice 200, bob 403 DENIED', async () => {
    assert.equal((await fetch(`${proxy.url}/v2/team-a/app/tags/list`, { headers: { authorization: basic(stack.creds('alice')) } })).status, 200);
    const r = await fetch(`${proxy.url}/v2/team-a/app/tags/list`, { headers: { authorization: basic(stack.creds('bob')) } });
    assert.equal(r.status, 403);
  });

  it('mount, catalog and delete through the plain proxy are decided by the proxy itself (the registry checks nothing)', async () => {
    const s = stack();
    const img = uniqueImage(s, 'plain-mount');
    const push = await new Skopeo(s.home('alice-m')).push(img.dir, 'v1', `${proxy.host}/team-a/src:v1`, stack.creds('alice'));
    assert.equal(push.code, 0, push.out);
    const as = (user: string, method: string, path: string) => fetch(`${proxy.url}${path}`, { method, headers: { authorization: basic(stack.creds(user)) } });
    assert.equal((await as('alice', 'POST', `/v2/team-a/dst/blobs/uploads/?mount=${img.layerDigest}&from=team-a/src`)).status, 201);
    assert.equal((await as('bob', 'POST', `/v2/team-b/dst/blobs/uploads/?mount=${img.layerDigest}&from=team-a/src`)).status, 202);
    assert.equal((await as('bob', 'HEAD', `/v2/team-b/dst/blobs/${img.layerDigest}`)).status, 404);
    assert.equal((await as('alice', 'GET', '/v2/_catalog')).status, 403);
    const cat = await as('root', 'GET', '/v2/_catalog');
    assert.equal(cat.status, 200);
    assert.ok(((await cat.json()) as { repositories: string[] }).repositories.includes('team-a/src'));
    assert.equal((await as('alice', 'DELETE', `/v2/team-a/src/manifests/${img.manifestDigest}`)).status, 403);
    assert.equal((await as('root', 'DELETE', `/v2/team-a/src/manifests/${img.manifestDigest}`)).status, 202);
  });

  it('an htpasswd upstream: the proxy adds its own credentials, never the client\'s, and never shows them', async () => {
    const s = stack();
    const img = uniqueImage(s, 'guarded');
    const push = await new Skopeo(s.home('alice-g')).push(img.dir, 'v1', `${guarded.host}/team-a/app:v1`, stack.creds('alice'));
    assert.equal(push.code, 0, push.out);
    const pull = await new Skopeo(s.home('carol-g')).pull(`${guarded.host}/team-a/app:v1`, outDir(s, 'carol-g'), stack.creds('carol'));
    assert.equal(pull.code, 0, pull.out);
    const r = await fetch(`${guarded.url}/v2/team-a/app/manifests/v1`, { headers: { authorization: basic(stack.creds('alice')), accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(r.status, 200);
    const text = JSON.stringify([...r.headers]) + (await r.text());
    assert.ok(!text.includes(upstreamPassword) && !text.includes(Buffer.from(`proxy:${upstreamPassword}`).toString('base64')));
    for (const u of upstreams) assert.ok(!text.includes(u));
  });

  it('an upload through the plain proxy keeps Location on the proxy (upstream address never shown)', async () => {
    const r = await fetch(`${proxy.url}/v2/team-a/up/blobs/uploads/`, { method: 'POST', headers: { authorization: basic(stack.creds('alice')) } });
    assert.equal(r.status, 202);
    const loc = r.headers.get('location') ?? '';
    assert.match(loc, /^\/v2\/team-a\/up\/blobs\/uploads\//);
    for (const u of upstreams) assert.ok(!JSON.stringify([...r.headers]).includes(u));
  });
});
