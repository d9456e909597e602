#!/usr/bin/env node
// Builds the web console (authz-server/console/) with esbuild into dist/console/: content-hashed
// assets/ plus index.html pointing at them. Prints the gzipped size of the JavaScript the first load
// fetches and fails when it exceeds the 100 KB budget. `--out DIR` writes elsewhere (tests).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET = 100 * 1024;
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const src = join(root, 'authz-server', 'console');
const i = process.argv.indexOf('--out');
const out = i > 0 && process.argv[i + 1] ? process.argv[i + 1] : join(root, 'dist', 'console');

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
const result = await build({
  entryPoints: [join(src, 'main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  outdir: join(out, 'assets'),
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});
const files = Object.keys(result.metafile.outputs).map((f) => join(root, f));
const js = files.find((f) => f.endsWith('.js'));
const css = files.find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error('build-console: esbuild wrote no JS or no CSS');
const html = readFileSync(join(src, 'index.html'), 'utf8').replace('__JS__', basename(js)).replace('__CSS__', basename(css));
writeFileSync(join(out, 'index.html'), html);
const gz = gzipSync(readFileSync(js)).length;
process.stdout.write(`build-console: ${basename(js)} ${(gz / 1024).toFixed(1)} KB gzipped (budget ${BUDGET / 1024} KB), ${basename(css)} → ${out}\n`);
if (gz > BUDGET) {
  process.stderr.write(`build-console: first-load JavaScript is ${gz} bytes gzipped, over the ${BUDGET}-byte budget\n`);
  process.exit(1);
}
