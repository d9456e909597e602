/**
 * The console's built page (scripts/build-console.mjs writes it to dist/console/): content-hashed
 * assets under `/ui/assets/` cached for a year, and `index.html` for every other `/ui/` path (the page
 * routes itself from the URL). Unbuilt (a source checkout before `npm run build`): 503 saying so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { AuthzError } from '../errors.js';

/** dist/console beside the compiled server, or under the repository root when run from source. */
export function defaultAssetsDir(): string | undefined {
  const candidates = ['../../../console/', '../../../dist/console/'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((d) => existsSync(join(d, 'index.html')));
}

export function staticRoutes(dir: string | undefined): Router {
  const r = Router();
  r.get('/', (req, res, next) => {
    // `/ui` without the slash: relative asset URLs need it.
    if (req.originalUrl === '/ui') return res.redirect(301, '/ui/');
    next();
  });
  if (!dir) {
    r.get(/.*/, () => {
      throw new AuthzError(503, 'unavailable', 'the console is not built; run "npm run build"');
    });
    return r;
  }
  const index = readFileSync(join(dir, 'index.html'));
  r.use(
    '/assets',
    express.static(join(dir, 'assets'), {
      index: false,
      fallthrough: false,
      setHeaders: (res) => res.setHeader('Cache-Control', 'public, max-age=31536000, immutable'),
    }),
  );
  r.get(/.*/, (_req, res) => {
    res.type('html').send(index);
  });
  return r;
}
