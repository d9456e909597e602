/** The request → scope table of the whole distribution API (proxy/src/route.ts), one row per request shape. */
import assert from 'node:assert/strict';
import { formatScope as scopeString } from '../../authn-server/src/scope/parse.js';
import { mapRequest, withoutMount, type Route } from '../src/route.js';

const D = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;

const scopes = (r: ReturnType<typeof mapRequest>): string[] => {
  assert.ok(r.ok, JSON.stringify(r));
  return (r as Route).scopes.map((s) => `${scopeString(s)}${s.extra ? `+${s.extra.join(',')}` : ''}${s.optional ? '?' : ''}`);
};

describe('proxy: request → scope mapping', () => {
  const rows: Array<[string, string, string, string[]]> = [
    ['GET', '/v2/', 'base', []],
    ['HEAD', '/v2/', 'base', []],
    ['GET', '/v2/_catalog', 'catalog', ['registry:catalog:*']],
    ['GET', '/v2/_catalog?n=10&last=a', 'catalog', ['registry:catalog:*']],
    ['GET', '/v2/team-a/app/manifests/v1', 'manifest', ['repository:team-a/app:pull']],
    ['HEAD', `/v2/team-a/app/manifests/${D}`, 'manifest', ['repository:team-a/app:pull']],
    ['PUT', '/v2/team-a/app/manifests/v1', 'manifest', ['repository:team-a/app:pull,push']],
    ['DELETE', `/v2/team-a/app/manifests/${D}`, 'manifest', ['repository:team-a/app:delete']],
    ['GET', `/v2/team-a/app/blobs/${D}`, 'blob', ['repository:team-a/app:pull']],
    ['HEAD', `/v2/team-a/app/blobs/${D}`, 'blob', ['repository:team-a/app:pull']],
    ['DELETE', `/v2/team-a/app/blobs/${D}`, 'blob', ['repository:team-a/app:delete']],
    ['GET', '/v2/team-a/app/tags/list', 'tags', ['repository:team-a/app:pull']],
    ['GET', '/v2/team-a/app/tags/list?n=5&last=v1', 'tags', ['repository:team-a/app:pull']],
    ['GET', `/v2/team-a/app/referrers/${D}`, 'referrers', ['repository:team-a/app:pull']],
    ['POST', '/v2/team-a/app/blobs/uploads/', 'upload-start', ['repository:team-a/app:pull,push']],
    ['POST', '/v2/team-a/app/blobs/uploads', 'upload-start', ['repository:team-a/app:pull,push']],
    ['GET', '/v2/team-a/app/blobs/uploads/0f2b-uuid', 'upload', ['repository:team-a/app:pull,push']],
    ['PATCH', '/v2/team-a/app/blobs/uploads/0f2b-uuid?_state=abc%3D', 'upload', ['repository:team-a/app:pull,push']],
    ['PUT', `/v2/team-a/app/blobs/uploads/0f2b-uuid?_state=x&digest=${D}`, 'upload', ['repository:team-a/app:pull,push']],
    ['DELETE', '/v2/team-a/app/blobs/uploads/0f2b-uuid', 'upload', ['repository:team-a/app:pull,push+delete']],
    ['GET', '/v2/app/manifests/latest', 'manifest', ['repository:app:pull']],
    ['GET', '/v2/a/b/c/d/manifests/v1.2_3-x', 'manifest', ['repository:a/b/c/d:pull']],
    ['GET', '/v2/localhost:5000/ns/app/manifests/v1', 'manifest', ['repository:localhost:5000/ns/app:pull']],
    // A repository may be called like a route keyword: the last keyword decides, as in the registry's router.
    ['GET', '/v2/x/manifests/y/tags/list', 'tags', ['repository:x/manifests/y:pull']],
    ['GET', `/v2/x/blobs/uploads/blobs/${D}`, 'blob', ['repository:x/blobs/uploads:pull']],
  ];
  for (const [method, target, kind, want] of rows) {
    it(`${method} ${target} → ${kind} ${want.join(' ') || '(authentication only)'}`, () => {
      const r = mapRequest(method, target);
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.kind, kind);
      assert.deepEqual(scopes(r), want);
    });
  }

  it('cross-repository mount: push on the target, pull on the source (optional), query rebuilt from the decided values', () => {
    const r = mapRequest('POST', `/v2/team-a/app/blobs/uploads/?mount=${D}&from=team-b/base&x=1`);
    assert.deepEqual(scopes(r), ['repository:team-a/app:pull,push', 'repository:team-b/base:pull?']);
    assert.ok(r.ok);
    assert.deepEqual(r.mount, { digest: D, from: 'team-b/base' });
    assert.equal(r.target, `/v2/team-a/app/blobs/uploads/?mount=${encodeURIComponent(D)}&from=team-b%2Fbase`);
    assert.equal(withoutMount(r), '/v2/team-a/app/blobs/uploads/');
  });

  it('an encoded from= is decided on as the registry decodes it', () => {
    const r = mapRequest('POST', `/v2/team-a/app/blobs/uploads/?from=team-b%2Fbase&mount=${D}`);
    assert.deepEqual(scopes(r), ['repository:team-a/app:pull,push', 'repository:team-b/base:pull?']);
  });

  it('a mount from an invalid name is dropped (a normal upload), a repeated from= is a 400', () => {
    const r = mapRequest('POST', `/v2/team-a/app/blobs/uploads/?mount=${D}&from=Team-B/base`);
    assert.deepEqual(scopes(r), ['repository:team-a/app:pull,push']);
    assert.ok(r.ok);
    assert.equal(r.target, '/v2/team-a/app/blobs/uploads/');
    const twice = mapRequest('POST', `/v2/team-a/app/blobs/uploads/?mount=${D}&from=team-a/x&from=team-b/y`);
    assert.equal(twice.ok, false);
    assert.equal(!twice.ok && twice.status, 400);
  });

  it('a monolithic upload keeps its digest; a malformed digest is a 400 naming it', () => {
    const r = mapRequest('POST', `/v2/team-a/app/blobs/uploads/?digest=${D2}`);
    assert.ok(r.ok);
    assert.equal(r.target, `/v2/team-a/app/blobs/uploads/?digest=${encodeURIComponent(D2)}`);
    const bad = mapRequest('POST', '/v2/team-a/app/blobs/uploads/?digest=nope');
    assert.ok(!bad.ok);
    assert.equal(bad.status, 400);
    assert.match(bad.message, /digest/);
  });

  const refused: Array<[string, string, number]> = [
    ['PUT', `/v2/team-a/app/blobs/${D}`, 405],
    ['POST', '/v2/team-a/app/manifests/v1', 405],
    ['DELETE', '/v2/team-a/app/tags/list', 405],
    ['OPTIONS', '/v2/', 405],
    ['POST', '/v2/_catalog', 405],
    ['PROPFIND', '/v2/team-a/app/manifests/v1', 405],
    ['GET', '/v2', 404],
    ['GET', '/', 404],
    ['GET', '/v1/_ping', 404],
    ['GET', '/v2/team-a/app', 404],
    ['GET', '/v2/team-a/app/manifests/', 404],
    ['GET', '/v2/team-a/app/blobs/notadigest', 404],
    ['GET', '/v2/_catalog/x', 404],
    ['GET', '/debug/vars', 404],
  ];
  for (const [method, target, status] of refused) {
    it(`${method} ${target} → ${status}, never forwarded`, () => {
      const r = mapRequest(method, target);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.status, status);
      if (status === 405) assert.ok(!r.ok && r.allow);
    });
  }
});
