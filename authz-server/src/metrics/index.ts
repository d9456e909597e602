/**
 * Prometheus metrics on a per-app registry (tests create many apps). Labels are low-cardinality:
 * the route pattern (never the raw path), method, status, decision result.
 */
import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { children, finishTimer } from '../../../common/http-metrics.js';

export interface Metrics {
  registry: Registry;
  decisions: Counter<'result'>;
  /** The decisions counter's child for a result, made once (no label object hashed per decision). */
  decided: (result: 'allowed' | 'denied') => Counter.Internal;
  middleware: RequestHandler;
  /** Times one request outside express (the `/authorized` fast path) under the given route label. */
  timeRequest(method: string, route: string, res: ServerResponse): void;
}

export function createMetrics(counts?: { roles: () => Promise<number>; bindings: () => Promise<number> }, defaults = true): Metrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'tollgate_authz_' });
  const duration = new Histogram({
    name: 'tollgate_authz_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  const decisions = new Counter({
    name: 'tollgate_authz_decisions_total',
    help: 'Decisions answered on /authorized by result',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  if (counts) {
    new Gauge({ name: 'tollgate_authz_roles', help: 'Roles in the store', registers: [registry], async collect() { this.set(await counts.roles()); } });
    new Gauge({ name: 'tollgate_authz_bindings', help: 'Bindings in the store', registers: [registry], async collect() { this.set(await counts.bindings()); } });
  }
  const timeUntilFinish = finishTimer(duration);
  // The route label is read when the response finishes: express sets req.route while routing.
  const middleware: RequestHandler = (req, res, next) => {
    timeUntilFinish(res, () => ({ method: req.method, route: String((req.route as { path?: string } | undefined)?.path ?? 'unmatched') }));
    next();
  };
  const decided = children((result) => decisions.labels(result));
  return { registry, decisions, decided, middleware, timeRequest: (method, route, res) => timeUntilFinish(res, () => ({ method, route })) };
}
