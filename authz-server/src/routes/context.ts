/** What every router gets from `createApp`. */
import express from 'express';
import type { RequestHandler } from 'express';
import type { Logger } from '../../../common/logger.js';
import type { AuthzStore } from '../store/index.js';
import type { Metrics } from '../metrics/index.js';

export interface RouteContext {
  store: AuthzStore;
  logger: Logger;
  metrics: Metrics;
  clock: () => Date;
  admin: RequestHandler;
  client: RequestHandler;
}

export const BODY_LIMIT = 64 * 1024;
export const IMPORT_LIMIT = 64 * 1024 * 1024;

// Any content type is read as JSON: clients (curl, ext_authz scripts) often omit the header.
export const jsonBody = express.json({ limit: BODY_LIMIT, type: () => true, strict: true });
export const importBody = express.json({ limit: IMPORT_LIMIT, type: () => true, strict: true });
