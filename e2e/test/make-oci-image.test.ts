/** The offline OCI image builder: deterministic digests, a layout skopeo reads, tags added to one index. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { makeOciImage } from '../../scripts/make-oci-image.js';
import { requireBins } from '../harness/fixture.js';
import { ROOT, run, tempDir } from '../harness/procs.js';

describe('scripts/make-oci-image', function () {
  const t = tempDir();
  after(() => t.cleanup());

  it('same files → same digests in two directories; different files → different layer', () => {
    const a = makeOciImage(join(t.dir, 'a'), 'v1', { files: { 'x.txt': 'same\n' } });
    const b = makeOciImage(join(t.dir, 'b'), 'v1', { files: { 'x.txt': 'same\n' } });
    const c = makeOciImage(join(t.dir, 'c'), 'v1', { files: { 'x.txt': 'other\n' } });
    assert.equal(a.manifestDigest, b.manifestDigest);
    assert.notEqual(a.layerDigest, c.layerDigest);
  });

  it('blobs are content-addressed and the config diff_id is the sha256 of the uncompressed layer', () => {
    const img = makeOciImage(join(t.dir, 'd'), 'v1', { files: { 'dir/hello.txt': 'hi\n' } });
    const blob = (d: string) => readFileSync(join(img.dir, 'blobs', 'sha256', d.replace('sha256:', '')));
    for (const d of [img.manifestDigest, img.configDigest, img.layerDigest]) assert.equal(`sha256:${createHash('sha256').update(blob(d)).digest('hex')}`, d);
    const config = JSON.parse(blob(img.configDigest).toString()) as { rootfs: { diff_ids: string[] } };
    const tar = gunzipSync(blob(img.layerDigest));
    assert.deepEqual(config.rootfs.diff_ids, [`sha256:${createHash('sha256').update(tar).digest('hex')}`]);
    assert.ok(tar.includes(Buffer.from('dir/hello.txt')));
    const index = JSON.parse(readFileSync(join(img.dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations: Record<string, string> }> };
    assert.deepEqual(index.manifests.map((m) => [m.annotations['org.opencontainers.image.ref.name'], m.digest]), [['v1', img.manifestDigest]]);
  });

  it('a second tag joins the same index; the CLI prints the manifest digest; skopeo reads both tags', async function () {
    this.timeout(30000);
    const dir = join(t.dir, 'e');
    const v1 = makeOciImage(dir, 'v1');
    const cli = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'make-oci-image.ts'), dir, 'v2', 'second']);
    assert.equal(cli.code, 0, cli.out);
    assert.match(cli.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ annotations: Record<string, string> }> };
    assert.deepEqual(index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']), ['v1', 'v2']);
    requireBins(this, ['skopeo']);
    for (const [tag, digest] of [['v1', v1.manifestDigest], ['v2', cli.stdout.trim()]] as const) {
      const r = await run('skopeo', ['inspect', `oci:${dir}:${tag}`]);
      assert.equal(r.code, 0, r.out);
      assert.equal((JSON.parse(r.stdout) as { Digest: string }).Digest, digest);
    }
  });
});
