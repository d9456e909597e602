/**
 * The web console at `/ui/`, on authz's own listener: security headers on everything under it, the
 * session API, and the SAME routers as the REST API mounted under `/ui/api/` behind the session gate
 * (cookie + CSRF → `res.locals.principal`), so no REST logic is copied and the routes' own checks of
 * the principal apply to the console too. The REST API itself never accepts the cookie.
 */
import { Router } from 'express';
import { bindingRoutes } from '../bindings/routes.js';
import { notFound } from '../errors.js';
import { roleRoutes } from '../roles/routes.js';
import { decisionRoutes } from '../routes/authorized.js';
import type { RouteContext } from '../routes/context.js';
import { robotRoutes } from '../robots/routes.js';
import type { RobotStore } from '../robots/store.js';
import { securityHeaders } from './headers.js';
import type { TokenResolver } from './principal.js';
import { notForConsole, requirePrincipal, requireSession } from './require-session.js';
import { sessionRoutes } from './session-routes.js';
import { DEFAULT_TIMES, Sessions, type SessionTimes } from './sessions.js';
import { staticRoutes } from './static.js';
import { SignInThrottle, type ThrottleOptions } from './throttle.js';
import { tokenRoutes } from '../tokens/routes.js';

export interface ConsoleOptions {
  resolver: TokenResolver;
  /** Built assets (dist/console); undefined serves a 503 "not built". */
  assetsDir: string | undefined;
  registryHost?: string | null | undefined;
  /** authn's service names (Explain's Service field). */
  services?: string[];
  times?: SessionTimes;
  throttle?: ThrottleOptions;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { limit: 5, windowMs: 60_000 };

export function consoleRoutes(ctx: RouteContext & { robots: RobotStore }, opts: ConsoleOptions): Router {
  const now = () => ctx.clock().getTime();
  const sessions = new Sessions(ctx.store.engine.sessions, opts.resolver, opts.times ?? DEFAULT_TIMES, now);
  const throttle = new SignInThrottle(opts.throttle ?? DEFAULT_THROTTLE, now);
  const shared = { ...ctx, admin: requirePrincipal, client: notForConsole };

  const api = Router();
  api.use(sessionRoutes({ sessions, resolver: opts.resolver, throttle, logger: ctx.logger, registryHost: opts.registryHost ?? null, services: opts.services ?? ['tollgate-registry'] }));
  api.use(requireSession(sessions, ctx.logger));
  api.use(roleRoutes(shared), bindingRoutes(shared), robotRoutes(shared), decisionRoutes(shared), tokenRoutes(shared));
  api.use(notFound);

  const ui = Router();
  ui.use(securityHeaders);
  ui.use('/api', api);
  ui.use(staticRoutes(opts.assetsDir));
  return ui;
}
