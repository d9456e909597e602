/**
 * `tollgate proxy --mode token` in front of the real registry 2.8.2 configured with tollgate token auth:
 * clients send Basic to the proxy only; it decides through authn's decision path and forwards with a
 * token for exactly the grant. skopeo pushes and pulls through it; the rest is the distribution API
 * spoken directly (mount, catalog, tags, delete, chunked upload, Range), the path-trick corpus sent
 * raw, the upstream address looked for in every answer, and 1,000 aborted transfers leaking no fd.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../harness/procs.js';
import { request } from 'node:http';
import { outDir, uniqueImage, useStack } from '../harness/fixture.js';
import { basic, raw, startTestProxy } from '../harness/proxy.js';
import { Skopeo } from '../harness/skopeo.js';
import { PATH_TRICKS } from '../../proxy/test/path-corpus.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('e2e: proxy, token mode (registry 2.8.2 with tollgate token auth)', function () {
  this.timeout(180000);
  const stack = useStack(['skopeo']);
  let proxy: { url: string; host: string };
  let upstreamHost = '';
  const seen: string[] = [];
  const get = async (path: string, user: string | undefined, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (user) headers.set('authorization', basic(stack.creds(user)));
    const r = await fetch(`${proxy.url}${path}`, { ...init, headers, redirect: 'manual' });
    seen.push(JSON.stringify([...r.headers]));
    return r;
  };
  let image: ReturnType<typeof uniqueImage>;

  before(async () => {
    const s = stack();
    upstreamHost = s.registry!.host;
    proxy = await startTestProxy(s, s.registry!.url);
    image = uniqueImage(s, 'proxy-token');
    const push = await new Skopeo(s.home('alice')).push(image.dir, 'v1', `${proxy.host}/team-a/app:v1`, stack.creds('alice'));
    assert.equal(push.code, 0, push.out);
  });

  after(() => {
    for (const text of seen) assert.ok(!text.includes(upstreamHost), `upstream address in a response: ${text}`);
  });

  it('skopeo pushes (above) and pulls through the proxy with Basic credentials only', async () => {
    const s = stack();
    const pull = await new Skopeo(s.home('carol')).pull(`${proxy.host}/team-a/app:v1`, outDir(s, 'carol'), stack.creds('carol'));
    assert.equal(pull.code, 0, pull.out);
  });

  it('no credentials → 401 with a Basic challenge in the registry error format; a wrong password too', async () => {
    const r = await get('/v2/', undefined);
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm="/);
    assert.equal(((await r.json()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'UNAUTHORIZED');
    const wrong = await fetch(`${proxy.url}/v2/team-a/app/tags/list`, { headers: { authorization: basic({ user: 'alice', password: 'nope' }) } });
    assert.equal(wrong.status, 401);
    assert.equal((await get('/v2/', 'alice')).status, 200);
  });

  it('serves HTTPS with --tls-cert/--tls-key; skopeo verifies it against the CA in its cert dir', async () => {
    const s = stack();
    const dir = join(s.dir, 'proxy-tls');
    mkdirSync(dir, { recursive: true });
    mkdirSync(join(s.dir, 'pulled'), { recursive: true });
    const gen = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', join(s.dir, 'proxy-tls.key'), '-out', join(dir, 'ca.crt')]);
    assert.equal(gen.code, 0, gen.out);
    const tls = await startTestProxy(s, s.registry!.url, { tlsCert: join(dir, 'ca.crt'), tlsKey: join(s.dir, 'proxy-tls.key') });
    assert.match(tls.url, /^https:/);
    const c = stack.creds('carol');
    const pull = await new Skopeo(s.home('carol-tls')).skopeo(['copy', '--src-cert-dir', dir, '--src-creds', `${c.user}:${c.password}`, `docker://${tls.host}/team-a/app:v1`, `oci:${outDir(s, 'tls')}:pulled`]);
    assert.equal(pull.code, 0, pull.out);
    const untrusted = await new Skopeo(s.home('carol-tls2')).skopeo(['copy', '--src-creds', `${c.user}:${c.password}`, `docker://${tls.host}/team-a/app:v1`, `oci:${outDir(s, 'tls2')}:pulled`]);
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.out, /certificate/);
  });

  it('denies pull and push across namespaces (bob on team-a), with skopeo and as DENIED', async () => {
    const s = stack();
    const pull = await new Skopeo(s.home('bob')).pull(`${proxy.host}/team-a/app:v1`, outDir(s, 'bob'), stack.creds('bob'));
    assert.notEqual(pull.code, 0);
    assert.match(pull.out, /denied/);
    const push = await new Skopeo(s.home('bob')).push(uniqueImage(s, 'bob-push').dir, 'v1', `${proxy.host}/team-a/bob:v1`, stack.creds('bob'));
    assert.notEqual(push.code, 0);
    const r = await get('/v2/team-a/app/manifests/v1', 'bob');
    assert.equal(r.status, 403);
    assert.equal(((await r.json()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'DENIED');
  });

  it('tag list: alice reads the tags of team-a/app', async () => {
    const tags = await get('/v2/team-a/app/tags/list', 'alice');
    assert.equal(tags.status, 200);
    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, ['v1']);
  });

  it('cross-repository mount: 201 when the source may be read, a normal upload (202) when not', async () => {
    const ok = await get(`/v2/team-a/mounted/blobs/uploads/?mount=${image.layerDigest}&from=team-a/app`, 'alice', { method: 'POST' });
    assert.equal(ok.status, 201);
    const refused = await get(`/v2/team-b/stolen/blobs/uploads/?mount=${image.layerDigest}&from=team-a/app`, 'bob', { method: 'POST' });
    assert.equal(refused.status, 202);
    assert.match(refused.headers.get('location') ?? '', /^\/v2\/team-b\/stolen\/blobs\/uploads\//);
    assert.equal((await get(`/v2/team-b/stolen/blobs/${image.layerDigest}`, 'bob', { method: 'HEAD' })).status, 404);
  });

  it('a resumed chunked upload (PATCH with Content-Range, status GET, PATCH, PUT) and a Range read', async () => {
    const blob = randomBytes(300_000);
    const start = await get('/v2/team-a/chunked/blobs/uploads/', 'alice', { method: 'POST' });
    assert.equal(start.status, 202);
    let loc = start.headers.get('location') ?? '';
    assert.ok(loc.startsWith('/v2/team-a/chunked/blobs/uploads/'), loc);
    const first = await get(loc, 'alice', { method: 'PATCH', body: blob.subarray(0, 100_000), headers: { 'content-type': 'application/octet-stream', 'content-range': '0-99999' } });
    assert.equal(first.status, 202);
    // The client "lost" its place: it asks the upload's status and resumes where the registry says.
    const status = await get(first.headers.get('location') ?? '', 'alice');
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-99999');
    loc = status.headers.get('location') ?? '';
    const second = await get(loc, 'alice', { method: 'PATCH', body: blob.subarray(100_000), headers: { 'content-type': 'application/octet-stream', 'content-range': '100000-299999' } });
    assert.equal(second.status, 202);
    const loc2 = second.headers.get('location') ?? '';
    const done = await get(`${loc2}${loc2.includes('?') ? '&' : '?'}digest=${sha(blob)}`, 'alice', { method: 'PUT' });
    assert.equal(done.status, 201);
    assert.equal(done.headers.get('docker-content-digest'), sha(blob));
    const part = await get(`/v2/team-a/chunked/blobs/${sha(blob)}`, 'carol', { headers: { range: 'bytes=1000-1999' } });
    assert.equal(part.status, 206);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), blob.subarray(1000, 2000));
    assert.equal((await get(`/v2/team-a/chunked/blobs/${sha(blob)}`, 'carol', { headers: { range: 'bytes=9-1' } })).status, 416);
    assert.equal((await get(loc2, 'alice', { method: 'PATCH', body: 'x', headers: { 'content-range': 'bytes */5' } })).status, 416);
  });

  it('delete when allowed: root deletes a manifest (202), alice (pull,push only) is DENIED', async () => {
    const s = stack();
    const img = uniqueImage(s, 'proxy-del');
    const push = await new Skopeo(s.home('alice')).push(img.dir, 'v1', `${proxy.host}/team-a/del:v1`, stack.creds('alice'));
    assert.equal(push.code, 0, push.out);
    assert.equal((await get(`/v2/team-a/del/manifests/${img.manifestDigest}`, 'alice', { method: 'DELETE' })).status, 403);
    assert.equal((await get(`/v2/team-a/del/manifests/${img.manifestDigest}`, 'root', { method: 'DELETE' })).status, 202);
    assert.equal((await get(`/v2/team-a/del/manifests/${img.manifestDigest}`, 'root', { method: 'HEAD' })).status, 404);
  });

  it('catalog: root only (registry:catalog:*), passed through as the registry pages it (Link rewritten to the proxy)', async () => {
    const cat = await get('/v2/_catalog?n=1', 'root');
    assert.equal(cat.status, 200);
    assert.equal(((await cat.json()) as { repositories: string[] }).repositories.length, 1);
    const next = /^<(\/v2\/_catalog\?[^>]+)>; rel="next"$/.exec(cat.headers.get('link') ?? '');
    assert.ok(next, cat.headers.get('link') ?? 'no Link');
    const page2 = await get(next[1]!, 'root');
    assert.equal(page2.status, 200);
    assert.equal((await get('/v2/_catalog', 'alice')).status, 403);
  });

  it(`the path-trick corpus (${PATH_TRICKS.length} targets) never reaches team-b's data`, async () => {
    const s = stack();
    const secret = uniqueImage(s, 'team-b-secret');
    const push = await new Skopeo(s.home('bob')).push(secret.dir, 'v1', `${proxy.host}/team-b/app:v1`, stack.creds('bob'));
    assert.equal(push.code, 0, push.out);
    for (const target of PATH_TRICKS) {
      const r = await raw(proxy.host, 'GET', target, { authorization: basic(stack.creds('alice')) });
      seen.push(r.head + r.body);
      assert.ok(r.status === 404 || r.status === 400, `${target} → ${r.status}`);
      assert.ok(!r.body.includes(secret.configDigest) && !r.head.includes(secret.manifestDigest), target);
    }
  });

  it('a revoked binding stops the proxy within the change-feed bound (≤ 1 s documented; asserted loosely)', async () => {
    const s = stack();
    assert.equal((await get('/v2/team-a/app/tags/list', 'carol')).status, 200);
    assert.equal((await get('/v2/team-a/app/tags/list', 'carol')).status, 200, 'a second request (decision cached while the feed is live)');
    await s.unbind('carol', 'ns-ro', 'team-a');
    const revoked = Date.now();
    try {
      let status = 200;
      while (status === 200 && Date.now() - revoked < 3_000) {
        status = (await get('/v2/team-a/app/tags/list', 'carol')).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(status, 403, `still granted ${Date.now() - revoked} ms after the binding was removed`);
    } finally {
      await s.bind('carol', 'ns-ro', 'team-a');
    }
  });

  it('1,000 aborted transfers leave no socket or fd behind', async function () {
    this.timeout(120000);
    const blob = randomBytes(4 * 1024 * 1024);
    const start = await get('/v2/team-a/big/blobs/uploads/', 'alice', { method: 'POST' });
    const loc = start.headers.get('location') ?? '';
    const put = await get(`${loc}${loc.includes('?') ? '&' : '?'}digest=${sha(blob)}`, 'alice', { method: 'PUT', body: blob });
    assert.equal(put.status, 201);
    const fds = () => readdirSync('/proc/self/fd').length;
    const auth = basic(stack.creds('alice'));
    const [host, port] = proxy.host.split(':');
    const abortOne = (i: number): Promise<void> =>
      new Promise((done) => {
        const upload = i % 2 === 1;
        const req = request({ host, port: Number(port), method: upload ? 'POST' : 'GET', path: upload ? `/v2/team-a/abort/blobs/uploads/?digest=${sha(blob)}` : `/v2/team-a/big/blobs/${sha(blob)}`, headers: { authorization: auth, ...(upload ? { 'content-length': String(blob.length) } : {}) } });
        req.on('error', () => done());
        req.on('close', () => done());
        req.on('response', (res) => {
          res.once('data', () => req.destroy());
          res.on('error', () => done());
        });
        if (upload) {
          req.write(blob.subarray(0, 65536));
          setTimeout(() => req.destroy(), 5);
        } else req.end();
      });
    const before = fds();
    for (let i = 0; i < 1000; i += 25) await Promise.all(Array.from({ length: 25 }, (_, k) => abortOne(i + k)));
    // Keep-alive sockets to the registry may stay pooled (bounded by the agent); give closes a moment to land.
    await new Promise((r) => setTimeout(r, 1500));
    const after = fds();
    assert.ok(after - before <= 70, `fds before ${before}, after ${after}`);
    assert.equal((await get('/v2/team-a/app/tags/list', 'alice')).status, 200);
  });

  it('upstream down → 503 UNAVAILABLE with Retry-After in the registry format; back when it returns', async () => {
    const s = stack();
    await s.registry!.stop();
    try {
      const r = await get('/v2/team-a/app/tags/list', 'alice');
      assert.equal(r.status, 503);
      assert.ok(r.headers.get('retry-after'));
      const text = await r.text();
      assert.equal((JSON.parse(text) as { errors: Array<{ code: string }> }).errors[0]?.code, 'UNAVAILABLE');
      assert.ok(!text.includes(upstreamHost));
    } finally {
      await s.registry!.restart();
    }
    assert.equal((await get('/v2/team-a/app/tags/list', 'alice')).status, 200);
  });
});
