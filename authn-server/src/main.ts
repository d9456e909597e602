/**
 * `tollgate authn serve`: reads flags/env, loads keys and credentials, listens, logs one
 * `listening` line, and shuts down cleanly on SIGTERM/SIGINT.
 */
import type { Server } from 'node:http';
import { createLogger, type Logger } from '../../common/logger.js';
import { listen, serveUntilSignal } from '../../common/serve.js';
import { createApp } from './app.js';
import { loadConfig, type ServeFlags } from './config.js';
import { createAuthnCore } from './core.js';
import { MAX_HEADER_BYTES } from './credentials/limits.js';

export interface Running {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. Exported for in-process use (stack runner, tests). */
export async function startServer(flags: ServeFlags, log?: Logger): Promise<Running> {
  const cfg = loadConfig(flags);
  const logger = log ?? createLogger({ name: 'authn', level: cfg.logLevel });
  const core = await createAuthnCore(cfg, logger);
  const { keys, credentials, throttle, accountGuard, authz, feed, metrics } = core;
  const app = createApp({
    credentials,
    throttle,
    accountGuard,
    keys,
    authz,
    logger,
    metrics,
    issuer: cfg.issuer,
    services: cfg.services,
    tokenTtlSec: cfg.tokenTtlSec,
    refreshTtlSec: cfg.refreshTtlSec,
    anonymous: cfg.anonymous,
    realm: cfg.realm,
    ...(cfg.trustProxy ? { trustProxy: cfg.trustProxy } : {}),
    decisionCacheTtlMs: cfg.decisionCacheTtlMs,
    feed,
    ...(cfg.metricsToken ? { metricsToken: cfg.metricsToken } : {}),
  });
  const cleanup = () => core.close();
  const fields = { issuer: cfg.issuer, services: cfg.services, kid: keys.signing.kid, alg: keys.signing.alg, authz: cfg.authzUrl, anonymous: cfg.anonymous };
  const { server, url, close } = await listen(app, cfg.listen, { logger, fields, cleanup, maxHeaderSize: MAX_HEADER_BYTES });
  return { server, url, close };
}

/** CLI entry: start, wire signals, exit non-zero with a clear message on bad config. */
export function serve(flags: ServeFlags): Promise<void> {
  return serveUntilSignal('tollgate authn serve', 'authn-server', () => startServer(flags));
}
