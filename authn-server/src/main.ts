/**
 * `tollgate authn serve`: reads flags/env, loads keys and credentials, listens, logs one
 * `listening` line, and shuts down cleanly on SIGTERM/SIGINT.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../../common/logger.js';
import { createApp } from './app.js';
import { createAuthzClient } from './authz-client/index.js';
import { loadConfig, type ServeFlags } from './config.js';
import { createCredentials } from './credentials/index.js';
import { loadKeys } from './keys/load.js';
import { createMetrics } from './metrics/index.js';
import { createLoginThrottle } from './throttle/index.js';

export interface Running {
  server: Server;
  url: string;
  close(): Promise<void>;
}

function urlOf(server: Server): string {
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return `http://${host}:${a.port}`;
}

/** Starts the server; resolves once it listens. Exported for in-process use (stack runner, tests). */
export async function startServer(flags: ServeFlags, log?: Logger): Promise<Running> {
  const cfg = loadConfig(flags);
  const logger = log ?? createLogger({ name: 'authn', level: cfg.logLevel });
  const keys = await loadKeys({ keyFile: cfg.key, certFile: cfg.cert, extraCertFiles: cfg.extraCerts, kidFormat: cfg.kidFormat, x5c: cfg.x5c });
  if (!cfg.authzToken) logger.warn('no authz client token set (--authz-token-file / TOLLGATE_AUTHN_AUTHZ_TOKEN): /authorized calls carry no Authorization header');
  const metrics = createMetrics();
  const credentials = await createCredentials({
    ...(cfg.users ? { usersFile: cfg.users } : {}),
    ...(cfg.htpasswd ? { htpasswdFile: cfg.htpasswd } : {}),
    logger,
    onCache: (hit) => metrics.credentialCache.inc({ result: hit ? 'hit' : 'miss' }),
  });
  const authz = createAuthzClient({
    url: cfg.authzUrl,
    token: cfg.authzToken,
    observe: (secs, outcome) => {
      metrics.authzCalls.observe({ outcome }, secs);
      if (outcome === 'error') metrics.authzErrors.inc();
    },
  });
  const app = createApp({
    credentials,
    throttle: createLoginThrottle(),
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
  });
  const server = createServer({ maxHeaderSize: 16384 }, app);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const cleanup = () => {
    credentials.close();
    authz.close();
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.listen.port, cfg.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((e: unknown) => {
    cleanup();
    throw e;
  });
  const url = urlOf(server);
  // The readiness line is printed even at --log-level warn/error: scripts wait for it.
  const announce = logger.level === 'silent' ? logger : logger.child({}, { level: 'info' });
  announce.info({ url, issuer: cfg.issuer, services: cfg.services, kid: keys.signing.kid, alg: keys.signing.alg, authz: cfg.authzUrl, anonymous: cfg.anonymous }, 'listening');
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => {
        cleanup();
        resolve();
      });
      server.closeIdleConnections();
      // In-flight requests get a moment; then every socket goes so shutdown cannot hang.
      setTimeout(() => server.closeAllConnections(), 5000).unref();
    }));
  return { server, url, close };
}

/** CLI entry: start, wire signals, exit non-zero with a clear message on bad config. */
export async function serve(flags: ServeFlags): Promise<void> {
  let running: Running;
  try {
    running = await startServer(flags);
  } catch (e) {
    process.stderr.write(`tollgate authn serve: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const stop = (signal: string) => {
    process.stderr.write(`authn-server: ${signal} received, shutting down\n`);
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
