/**
 * `tollgate authz serve`: reads flags/env, opens the store, listens, and shuts down cleanly on
 * SIGTERM/SIGINT (stop accepting, finish in-flight requests, close the database).
 */
import type { Server } from 'node:http';
import { createLogger, type Logger } from '../../common/logger.js';
import { listen, serveUntilSignal } from '../../common/serve.js';
import { createApp } from './app.js';
import { loadConfig, type Config, type ServeFlags } from './config.js';
import { createMetrics } from './metrics/index.js';
import { AuthzStore } from './store/decision-cache.js';
import { isPostgresUrl, redactUrl } from './store/postgres/connect.js';
import { PostgresStore } from './store/postgres/index.js';
import { SqliteStore } from './store/sqlite/index.js';
import type { Store } from './store/store.js';

export interface Running {
  server: Server;
  store: AuthzStore;
  url: string;
  close(): Promise<void>;
}

/** The one place that picks the engine: a postgres:// URL is PostgreSQL, anything else a SQLite file. */
function openEngine(cfg: Config, logger: Logger): Promise<Store> {
  if (!isPostgresUrl(cfg.db)) return Promise.resolve(SqliteStore.open(cfg.db));
  return PostgresStore.open({ url: cfg.db, password: cfg.dbPassword, onError: (message) => logger.warn({ db: redactUrl(cfg.db) }, message) });
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
  const store = await AuthzStore.create(await openEngine(cfg, logger), undefined, (message) => logger.warn(message));
  const metrics = createMetrics({ roles: () => store.countRoles(), bindings: () => store.countBindings() });
  const app = createApp({ store, logger, metrics, tokens: { admin: cfg.adminToken, client: cfg.clientToken, insecureDev: cfg.insecureDev }, console: { registryHost: cfg.registryHost ?? null, services: cfg.registryServices } });
  // An import body may be 64 MiB: keep node's own 5 min for a whole request (the 30 s default suits token requests).
  const { server, url, close } = await listen(app, cfg.listen, { logger, fields: { db: redactUrl(cfg.db), engine: store.engine.engine }, cleanup: () => void store.close(), requestTimeoutMs: 300_000 });
  // Open change-feed streams end first, or they would hold the shutdown for its 5 s grace.
  return { server, store, url, close: () => (store.tail.stop(), close()) };
}

/** CLI entry: start, wire signals, exit non-zero with a clear message on bad config. */
export function serve(flags: ServeFlags): Promise<void> {
  return serveUntilSignal('tollgate authz serve', 'authz-server', () => startServer(flags));
}
