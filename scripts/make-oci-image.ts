/**
 * Builds a tiny OCI image layout with no network, so tests and the demo have something to push.
 *
 * One gzip'd tar layer made deterministic (`tar --sort=name --mtime=@0 --owner=0 --group=0
 * --numeric-owner`, `gzip -n`): the same files give the same digests on every machine, which is what
 * lets skopeo recognise a blob it pushed before and try a cross-repository mount.
 *
 * CLI: `node --import tsx scripts/make-oci-image.ts OUTDIR TAG [TEXT]`
 * → OUTDIR is an OCI layout usable as `oci:OUTDIR:TAG`; prints the manifest digest.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface OciImage {
  /** The layout directory (use as `oci:<dir>:<tag>`). */
  dir: string;
  tag: string;
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
}

export interface OciImageOptions {
  /** Files inside the layer, path → content. Default: `/hello.txt` naming the tag. */
  files?: Record<string, string>;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function run(cmd: string, args: string[], cwd: string): Buffer {
  const r = spawnSync(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().trim()}`);
  return r.stdout;
}

function writeBlob(dir: string, data: Buffer): string {
  const hex = sha256(data);
  writeFileSync(join(dir, 'blobs', 'sha256', hex), data);
  return `sha256:${hex}`;
}

/** Builds layer, config and manifest from `files`. Adds `tag` to an existing layout's index. */
export function makeOciImage(dir: string, tag: string, opts: OciImageOptions = {}): OciImage {
  const out = resolve(dir);
  const files = opts.files ?? { 'hello.txt': `hello from tollgate, image ${tag}\n` };
  mkdirSync(join(out, 'blobs', 'sha256'), { recursive: true });

  const stage = mkdtempSync(join(tmpdir(), 'tollgate-oci-'));
  let tar: Buffer;
  let gz: Buffer;
  try {
    const root = join(stage, 'root');
    const names: string[] = [];
    for (const [name, content] of Object.entries(files)) {
      const rel = name.replace(/^\/+/, '');
      if (!rel || rel.split('/').includes('..')) throw new Error(`bad file name in image: ${name}`);
      mkdirSync(join(root, rel, '..'), { recursive: true });
      writeFileSync(join(root, rel), content, { mode: 0o644 });
      names.push(rel);
    }
    tar = run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--mode=a+rX,u+w,go-w', '-cf', '-', ...names.sort()], root);
    gz = spawnSync('gzip', ['-n', '-c'], { input: tar, maxBuffer: 64 * 1024 * 1024 }).stdout;
    if (!gz?.length) throw new Error('gzip produced no output');
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }

  const layerDigest = writeBlob(out, gz);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tar)}`] } }),
  );
  const configDigest = writeBlob(out, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: gz.length }],
    }),
  );
  const manifestDigest = writeBlob(out, manifest);

  writeFileSync(join(out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const indexPath = join(out, 'index.json');
  type Desc = { mediaType: string; digest: string; size: number; annotations?: Record<string, string> };
  const prior: Desc[] = existsSync(indexPath) ? ((JSON.parse(readFileSync(indexPath, 'utf8')) as { manifests?: Desc[] }).manifests ?? []) : [];
  const manifests = prior.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== tag);
  manifests.push({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: manifestDigest,
    size: manifest.length,
    annotations: { 'org.opencontainers.image.ref.name': tag },
  });
  writeFileSync(indexPath, JSON.stringify({ schemaVersion: 2, manifests }));
  return { dir: out, tag, manifestDigest, configDigest, layerDigest };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [dir, tag, text] = process.argv.slice(2);
  if (!dir || !tag) {
    process.stderr.write('usage: make-oci-image OUTDIR TAG [TEXT]\n');
    process.exit(2);
  }
  const img = makeOciImage(dir, tag, text === undefined ? {} : { files: { 'hello.txt': `${text}\n` } });
  process.stdout.write(`${img.manifestDigest}\n`);
}
