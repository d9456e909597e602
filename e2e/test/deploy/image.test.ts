/**
 * The built tollgate image itself (scripts/build-images.sh, once per run): every layer unpacked and
 * searched for key material, tokens and the build's CA bundle (a build secret must never land in a
 * layer), `docker history` free of secrets, and a lean runtime (no compiler, no npm cache, no dev
 * dependencies).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { sharedEngine, type Engine } from '../../harness/engine.js';
import { requireBins } from '../../harness/fixture.js';
import { tempDir } from '../../harness/procs.js';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    const st = lstatSync(p);
    return st.isDirectory() ? walk(p) : st.isFile() ? [p] : [];
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('deploy: the tollgate image', function () {
  this.timeout(300_000);
  const t = tempDir('tollgate-image-');
  let e: Engine;
  const layers: string[] = [];

  before(async function () {
    this.timeout(1_800_000);
    requireBins(this, ['dockerd', 'docker', 'nsenter']);
    e = await sharedEngine();
    const tar = join(t.dir, 'image.tar');
    const saved = await e.docker(['save', '-o', tar, e.images.tollgate]);
    assert.equal(saved.code, 0, saved.out);
    const root = join(t.dir, 'save');
    mkdirSync(root);
    assert.equal(spawnSync('tar', ['-xf', tar, '-C', root]).status, 0);
    const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>;
    for (const [i, layer] of (manifest[0]?.Layers ?? []).entries()) {
      const dir = join(t.dir, 'layers', String(i));
      mkdirSync(dir, { recursive: true });
      // Device nodes and owners do not matter here; only what the files contain.
      const r = spawnSync('tar', ['-xf', join(root, layer), '-C', dir, '--no-same-owner', '--exclude=dev/*'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      layers.push(dir);
    }
  });
  after(() => t.cleanup());

  it('reports its size, and the runtime holds no compiler, npm cache or dev dependency', async () => {
    const size = Number((await e.docker(['image', 'inspect', '-f', '{{.Size}}', e.images.tollgate])).stdout.trim());
    const base = Number((await e.docker(['image', 'inspect', '-f', '{{.Size}}', e.images.node])).stdout.trim());
    process.stdout.write(`      [deploy] ${e.images.tollgate}: ${(size / 1e6).toFixed(0)} MB (base ${e.images.node}: ${(base / 1e6).toFixed(0)} MB, storage ${e.storageDriver}, images built in ${e.buildSeconds} s)\n`);
    assert.ok(size - base < 100e6, `tollgate adds ${((size - base) / 1e6).toFixed(0)} MB to its base`);
    const files = layers.flatMap((l) => walk(l).map((f) => relative(l, f)));
    for (const bad of [/^usr\/bin\/(g\+\+|gcc|cc|make|python3)$/, /^(root|home\/node)\/\.npm\//, /^app\/node_modules\/(typescript|mocha|tsx|@types)\//]) {
      assert.deepEqual(files.filter((f) => bad.test(f)).slice(0, 3), [], `${bad} in the runtime image`);
    }
    assert.ok(files.includes('app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'), 'better-sqlite3 native module');
  });

  it('no layer and no history entry holds a key, a token, an .npmrc or the build CA bundle', async () => {
    const history = await e.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', e.images.tollgate]);
    assert.equal(history.code, 0, history.out);
    assert.doesNotMatch(history.stdout, /BEGIN|PRIVATE KEY|TOKEN=|PASSWORD|npm_ca=/i);
    const caFile = process.env.NODE_EXTRA_CA_CERTS;
    const caSha = caFile && existsSync(caFile) ? sha(readFileSync(caFile)) : undefined;
    const found: string[] = [];
    for (const l of layers) {
      for (const f of walk(l)) {
        const rel = relative(l, f);
        if (/(^|\/)(\.npmrc|[^/]+\.(key|token|pem)|run\/secrets\/.*)$/.test(rel) && !rel.startsWith('etc/ssl/') && !rel.startsWith('usr/')) found.push(rel);
        const st = lstatSync(f);
        if (st.size > 5e6) continue;
        const data = readFileSync(f);
        if (caSha && sha(data) === caSha) found.push(`${rel} (the build's CA bundle)`);
        // A PEM block with a body, not the label a crypto library spells out in its code (jose does).
        if (/-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=\r\n]{64,}/.test(data.toString('latin1'))) found.push(`${rel} (a private key)`);
      }
    }
    assert.deepEqual(found, []);
  });
});
