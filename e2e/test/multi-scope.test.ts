/**
 * Scenario 3 (skopeo): pushing an image whose blobs already sit in another repository makes skopeo
 * ask one token for two scopes (`repository:dst:pull,push repository:src:pull`) and mount the blob
 * across repositories; the push succeeds and the copy pulls.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { outDir, uniqueImage, useStack } from '../harness/fixture.js';
import { isolationAvailable, Skopeo } from '../harness/skopeo.js';

describe('e2e: multi-scope cross-repository mount (skopeo)', function () {
  this.timeout(120000);
  const stack = useStack(['skopeo']);

  it('a second push of the same image mounts its layer from team-a/app with a two-scope token', async () => {
    const s = stack();
    const sk = new Skopeo(s.home('alice'));
    const img = uniqueImage(s, 'mount-src');
    const first = await sk.push(img.dir, 'v1', s.ref('team-a/app'), stack.creds('alice'));
    assert.equal(first.code, 0, first.out);

    const mark = s.spy.requests.length;
    const regMark = s.registry?.proc.output().length ?? 0;
    const second = await sk.push(img.dir, 'v1', s.ref('team-a/copy'), stack.creds('alice'));
    assert.equal(second.code, 0, second.out);

    const multi = s.spy.since(mark).filter((r) => r.scopes.length >= 2);
    assert.ok(multi.length > 0, `expected a multi-scope token request, saw ${JSON.stringify(s.spy.since(mark))}`);
    const scopes = multi.flatMap((r) => r.scopes);
    assert.ok(scopes.some((x) => x.startsWith('repository:team-a/copy:') && x.includes('push')), scopes.join(' '));
    assert.ok(scopes.includes('repository:team-a/app:pull'), scopes.join(' '));
    assert.ok(multi.every((r) => r.status === 200));

    // The registry really mounted the layer (201 on the POST …?from=team-a/app&mount=<digest>).
    const log = s.registry?.proc.since(regMark) ?? '';
    const layerHex = img.layerDigest.replace('sha256:', '');
    const want = `"POST /v2/team-a/copy/blobs/uploads/?from=team-a%2Fapp&mount=sha256%3A${layerHex} HTTP/1.1" 201 `;
    assert.ok(log.includes(want), `registry access log has no 201 mount of the layer:\n${log.slice(-3000)}`);

    const pull = await sk.pull(s.ref('team-a/copy'), outDir(s, 'copy'), stack.creds('alice'));
    assert.equal(pull.code, 0, pull.out);
    // What skopeo remembered about that layer lives in this stack's temp dir, not the machine's cache.
    if (isolationAvailable()) assert.ok(existsSync(join(s.dir, 'clients', 'blob-info-cache', 'blob-info-cache-v1.boltdb')));
  });

  it('a mount source the account cannot pull is not granted: no mount, the layer is uploaded instead', async () => {
    const s = stack();
    const img = uniqueImage(s, 'mount-foreign');
    const bob = await new Skopeo(s.home('bob')).push(img.dir, 'v1', s.ref('team-b/app', 'foreign'), stack.creds('bob'));
    assert.equal(bob.code, 0, bob.out);

    const mark = s.spy.requests.length;
    const regMark = s.registry?.proc.output().length ?? 0;
    const push = await new Skopeo(s.home('alice')).push(img.dir, 'v1', s.ref('team-a/own'), stack.creds('alice'));
    assert.equal(push.code, 0, push.out);

    // skopeo asked to mount from team-b/app (its blob cache knows the layer is there)…
    const multi = s.spy.since(mark).filter((r) => r.scopes.includes('repository:team-b/app:pull'));
    assert.ok(multi.length > 0, JSON.stringify(s.spy.since(mark)));
    // …authn granted only the team-a half…
    for (const r of multi) {
      assert.equal(r.status, 200);
      assert.ok(r.granted.some((g) => g.startsWith('repository:team-a/own:')), JSON.stringify(r.granted));
      assert.ok(!r.granted.some((g) => g.includes('team-b')), JSON.stringify(r.granted));
    }
    // …so the registry never mounted team-b's blob into team-a.
    const log = s.registry?.proc.since(regMark) ?? '';
    // (skopeo 1.9 does not even try the mount once the blob is not visible to it; a client that tries gets 401.)
    assert.doesNotMatch(log, /"POST \/v2\/team-a\/own\/blobs\/uploads\/\?from=team-b%2Fapp[^"]*" 201 /);
    const layerHex = img.layerDigest.replace('sha256:', '');
    assert.match(log, new RegExp(`"PUT /v2/team-a/own/blobs/uploads/[^"]*digest=sha256%3A${layerHex} HTTP/1.1" 201 `), 'alice uploaded the layer herself');
  });
});
