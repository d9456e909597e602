/**
 * `createApp(deps)`: the whole HTTP surface with its dependencies injected (store, logger, tokens,
 * clock, metrics), so tests drive it with supertest and no open port. It is a request listener:
 * exact `POST /authorized` is answered by routes/authorized-fast.ts, everything else by express
 * (also reachable as `.express`).
 */
import type { RequestListener } from 'node:http';
import express from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../../common/logger.js';
import { adminAuth } from './auth/admin-auth.js';
import { requireClientToken, type Tokens } from './auth/bearer.js';
import { errorMiddleware, notFound } from './errors.js';
import { createMetrics, type Metrics } from './metrics/index.js';
import type { AuthzStore } from './store/decision-cache.js';
import { bindingRoutes } from './bindings/routes.js';
import { consoleRoutes, type ConsoleOptions } from './console/index.js';
import { consoleTokenResolver } from './console/principal.js';
import { defaultAssetsDir } from './console/static.js';
import { roleRoutes } from './roles/routes.js';
import { decisionRoutes } from './routes/authorized.js';
import { withFastAuthorized } from './routes/authorized-fast.js';
import type { RouteContext } from './routes/context.js';
import { changeRoutes, CHANGES_PATH } from './routes/changes.js';
import { healthRoutes } from './routes/health.js';
import { openApiRoutes } from './routes/openapi.js';
import { robotRoutes } from './robots/routes.js';
import { stateRoutes } from './routes/state.js';
import { principalResolver } from './tokens/resolve.js';
import { tokenRoutes } from './tokens/routes.js';

export interface AppDeps {
  store: AuthzStore;
  logger: Logger;
  tokens: Tokens;
  clock?: () => Date;
  metrics?: Metrics;
  /**
   * The web console at /ui/ (console/); assets from dist/console by default. Sign-in (the admin token or a
   * scoped API token) always goes through the app's one resolver, so it is not an option here.
   */
  console?: Partial<Omit<ConsoleOptions, 'resolver'>>;
}

// Busy, routine routes log at debug so the decision path does not flood the log.
const QUIET = new Set(['/authorized', '/healthz', '/readyz', '/metrics', CHANGES_PATH]);

const pathOnly = (url: string | undefined): string | undefined => (url === undefined ? undefined : url.split('?')[0]);

export type AuthzApp = RequestListener & { express: express.Express };

export function createApp(deps: AppDeps): AuthzApp {
  const metrics = deps.metrics ?? createMetrics({ roles: () => deps.store.countRoles(), bindings: () => deps.store.countBindings() }, false);
  const clock = deps.clock ?? (() => new Date());
  // One resolver for the REST API and the console: one last_used_at throttle per token (tokens/resolve.ts).
  const principals = principalResolver(deps.tokens, deps.store.engine, clock);
  const ctx: RouteContext = {
    store: deps.store,
    logger: deps.logger,
    metrics,
    clock,
    // Admin routes: the admin token or a scoped API token → res.locals.principal (auth/principal.ts).
    admin: adminAuth(deps.tokens, principals),
    client: requireClientToken(deps.tokens),
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(metrics.middleware);
  const httpLog = pinoHttp({
    logger: deps.logger,
    // Path only: a query string may carry a secret (`?access_token=…`), and logs outlive it.
    serializers: { req: (req: { id?: unknown; method?: string; url?: string }) => ({ id: req.id, method: req.method, url: pathOnly(req.url) }) },
    customLogLevel: (req, res, err) =>
      err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 && res.statusCode !== 403 ? 'warn' : QUIET.has(req.url ?? '') ? 'debug' : 'info',
  });
  app.use((req, res, next) => {
    // The decision path skips the per-request logger unless debug is on (it halves throughput);
    // its failures are still logged, in one short line.
    if (!QUIET.has(req.path) || deps.logger.isLevelEnabled('debug')) return httpLog(req, res, next);
    res.on('finish', () => {
      if (res.statusCode >= 400 && res.statusCode !== 403) deps.logger.warn({ method: req.method, url: req.path, status: res.statusCode }, 'request failed');
    });
    next();
  });
  // Robot accounts live in the store's own database: an import writes them in the transaction that writes roles and bindings.
  const robots = deps.store.engine.robots;
  const consoleOpts: ConsoleOptions = { assetsDir: defaultAssetsDir(), ...deps.console, resolver: consoleTokenResolver(deps.tokens, principals) };
  app.use('/ui', consoleRoutes({ ...ctx, robots }, consoleOpts));
  app.use(changeRoutes(ctx), decisionRoutes({ ...ctx, robots }), healthRoutes(ctx), openApiRoutes(), roleRoutes(ctx), bindingRoutes(ctx), stateRoutes({ ...ctx, robots }), robotRoutes({ ...ctx, robots }), tokenRoutes(ctx));
  app.use(notFound);
  app.use(errorMiddleware(deps.logger));
  const listener = withFastAuthorized({ store: deps.store, metrics, clock: ctx.clock, robots, logger: deps.logger, tokens: deps.tokens }, app);
  return Object.assign(listener, { express: app });
}
