#!/usr/bin/env node
// Entry for `npx tollgate`: runs the compiled CLI (built by `npm run build`, which `npm ci` runs via `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = join(root, 'dist', 'cli', 'tollgate.js');
if (!existsSync(entry)) {
  process.stderr.write(`tollgate: ${entry} is missing; run "npm run build" first\n`);
  process.exit(1);
}
await import(pathToFileURL(entry).href);
