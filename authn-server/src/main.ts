/**
 * `tollgate authn serve`: reads flags/env, loads keys and credentials, listens, logs one
 * `listening` line, and shuts down cleanly on SIGTERM/SIGINT.
 */
import type { Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

/**
 * V8's old-generation limits for the `authn serve` process, measured with --trace-gc under 32 connections
 * (docs/authn.md "Memory"); neither can go in startServer, which tests run inside their own process.
 *
 * - Growth after a full collection capped at 30 % (V8's own factor for small-memory devices). V8 picks the factor
 *   itself, up to 4× on a machine with ≥ 2 GB for the heap: with authn's ~19 MB live it let the old generation
 *   reach 60–72 MB before collecting again (136–147 MB RSS). Capped, V8's minimum step (8 MB) decides below
 *   ~27 MB live, so the old generation stays under ~28 MB; a full collection costs ~5 ms. Read at each collection,
 *   so it can be set now (the semi-space size cannot: NODE_OPTIONS sets it).
 * - One full collection once listening. Until its first one, V8's limit comes from the heap's configured size,
 *   not from what is live: a server loaded from its first second collected only at 38–42 MB of old generation
 *   (106–111 MB RSS), most of it garbage its requests had promoted. Collected once at start (~14 ms, 17 → 14 MB,
 *   before any request), the limit follows what stays live from then on.
 *   `gc` is reachable only with --expose-gc, which node refuses in NODE_OPTIONS; set here for one new context
 *   (the main context never gets `gc`) and unset at once, so no later context or worker thread gets it.
 */
const AUTHN_HEAP_GROWING_PERCENT = 30;

function collectStartupGarbage(): void {
  setFlagsFromString('--expose-gc');
  try {
    (runInNewContext('gc') as () => void)();
  } catch (e) {
    // A node that will not expose gc: the server runs on, only with V8's own first collection.
    process.emitWarning(`authn-server: start-up collection skipped (${(e as Error).message}); peak memory may be higher`);
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** CLI entry: start, wire signals, exit non-zero with a clear message on bad config. */
export function serve(flags: ServeFlags): Promise<void> {
  setFlagsFromString(`--heap-growing-percent=${AUTHN_HEAP_GROWING_PERCENT}`);
  return serveUntilSignal('tollgate authn serve', 'authn-server', async () => {
    const running = await startServer(flags);
    collectStartupGarbage();
    return running;
  });
}
