/**
 * `tollgate authz serve`: reads flags/env, opens the store, listens, and shuts down cleanly on
 * SIGTERM/SIGINT (stop accepting, finish in-flight requests, close the database).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../../common/logger.js';
import { createApp } from './app.js';
import { loadConfig, type ServeFlags } from './config.js';
import { createMetrics } from './metrics/index.js';
import { Store } from './store/index.js';

export interface Running {
  server: Server;
  store: Store;
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
  const logger = log ?? createLogger({ name: 'authz', level: cfg.logLevel });
  if (cfg.insecureDev) {
    const open = [!cfg.adminToken && 'admin routes', !cfg.clientToken && '/authorized'].filter(Boolean).join(' and ');
    const msg = `--insecure-dev: ${open || 'nothing'} open without a token. NEVER use this outside local development.`;
    // Loud at every log level: a quiet --log-level must not hide that the server is open.
    if (logger.isLevelEnabled('warn')) logger.warn(msg);
    else process.stderr.write(`WARNING: ${msg}\n`);
  }
  const store = Store.open(cfg.db);
  const metrics = createMetrics({ roles: () => store.countRoles(), bindings: () => store.bindings.count() });
  const app = createApp({ store, logger, metrics, tokens: { admin: cfg.adminToken, client: cfg.clientToken, insecureDev: cfg.insecureDev } });
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.listen.port, cfg.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((e: unknown) => {
    store.close();
    throw e;
  });
  const url = urlOf(server);
  // The readiness line is printed even at --log-level warn/error: scripts wait for it.
  const announce = logger.level === 'silent' ? logger : logger.child({}, { level: 'info' });
  announce.info({ url, db: cfg.db }, 'listening');
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => {
        store.close();
        resolve();
      });
      server.closeIdleConnections();
      // In-flight requests get a moment; then every socket goes so shutdown cannot hang.
      setTimeout(() => server.closeAllConnections(), 5000).unref();
    }));
  return { server, store, url, close };
}

/** CLI entry: start, wire signals, exit non-zero with a clear message on bad config. */
export async function serve(flags: ServeFlags): Promise<void> {
  let running: Running;
  try {
    running = await startServer(flags);
  } catch (e) {
    process.stderr.write(`tollgate authz serve: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const stop = (signal: string) => {
    process.stderr.write(`authz-server: ${signal} received, shutting down\n`);
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
