/** What every router gets from `createApp`. */
import { isUtf8 } from 'node:buffer';
import express from 'express';
import type { RequestHandler } from 'express';
import { AuthzError } from '../errors.js';
import type { Logger } from '../../../common/logger.js';
import type { AuthzStore } from '../store/decision-cache.js';
import type { Metrics } from '../metrics/index.js';

export interface RouteContext {
  store: AuthzStore;
  logger: Logger;
  metrics: Metrics;
  clock: () => Date;
  /** Authenticates an admin-route caller into `res.locals.principal` (auth/admin-auth.ts, or the console's own). */
  admin: RequestHandler;
  client: RequestHandler;
}

export const BODY_LIMIT = 64 * 1024;
export const IMPORT_LIMIT = 64 * 1024 * 1024;

/**
 * Invalid UTF-8 would otherwise be decoded to U+FFFD: a name that is not the one the client sent
 * (a repository, a role, an account). Refused with 400 before parsing.
 */
export function requireUtf8(buf: Buffer): void {
  if (!isUtf8(buf)) throw new AuthzError(400, 'invalid_request', 'request body is not valid UTF-8', 'body');
}

const utf8Only = (_req: unknown, _res: unknown, buf: Buffer): void => requireUtf8(buf);

// Any content type is read as JSON: clients (curl, ext_authz scripts) often omit the header.
export const jsonBody = express.json({ limit: BODY_LIMIT, type: () => true, strict: true, verify: utf8Only });
export const importBody = express.json({ limit: IMPORT_LIMIT, type: () => true, strict: true, verify: utf8Only });
