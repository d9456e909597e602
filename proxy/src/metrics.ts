/**
 * The proxy's own Prometheus series, on the registry of authn's core metrics (so one `/metrics` shows the
 * decision cache, the authz calls and the change feed beside them). Rules:
 * - nothing runs per chunk of a body: bytes are read from the client socket's own counters once, when each
 *   response closes, and charged as the difference from the connection's previous mark (headers included;
 *   a keep-alive connection's bytes are split between its requests, never counted twice);
 * - labels stay low-cardinality: the scope action (pull, push, delete, catalog, base, none), the status,
 *   the direction, the upstream outcome — never a repository, an account or an address.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Counter, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import type { Route } from './route.js';

export type RouteAction = 'pull' | 'push' | 'delete' | 'catalog' | 'base' | 'none';

export interface ProxyMetrics {
  /** Counts the request when its response closes; `action()` is read then (the route is known by that time). */
  track(req: IncomingMessage, res: ServerResponse, action: () => RouteAction): void;
  /** Time from sending a request upstream to its response headers, by outcome (status class or `error`). */
  observeUpstream(seconds: number, outcome: string): void;
}

/** The action a request is counted under: what its first scope needs most (push implies pull). */
export function actionOf(route: Pick<Route, 'kind' | 'scopes'>): RouteAction {
  if (route.kind === 'base') return 'base';
  if (route.kind === 'catalog') return 'catalog';
  const actions = route.scopes[0]?.actions ?? [];
  if (actions.includes('push')) return 'push';
  if (actions.includes('delete')) return 'delete';
  return actions.includes('pull') ? 'pull' : 'none';
}

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createProxyMetrics(registry: Registry): ProxyMetrics {
  collectDefaultMetrics({ register: registry, prefix: 'tollgate_proxy_' });
  const registers = [registry];
  const requests = new Counter({
    name: 'tollgate_proxy_requests_total',
    help: 'Requests answered on the registry API, by scope action (pull, push, delete, catalog, base, none = no route) and status (aborted: the response never finished)',
    labelNames: ['action', 'status'] as const,
    registers,
  });
  const bytes = new Counter({
    name: 'tollgate_proxy_client_bytes_total',
    help: 'Bytes on client connections of the registry API, headers included: up = received from clients, down = sent to them',
    labelNames: ['direction'] as const,
    registers,
  });
  const upstream = new Histogram({
    name: 'tollgate_proxy_upstream_duration_seconds',
    help: 'Time from sending a request to the upstream registry to its response headers, by outcome (2xx, 3xx, 4xx, 5xx, error)',
    labelNames: ['outcome'] as const,
    buckets: BUCKETS,
    registers,
  });
  const marks = new WeakMap<Socket, { read: number; written: number }>();
  return {
    track(req, res, action) {
      // Taken now: the request always has its socket here, whatever node does with the references later.
      const sock = req.socket;
      res.once('close', () => {
        requests.inc({ action: action(), status: res.writableFinished ? String(res.statusCode) : 'aborted' });
        const mark = marks.get(sock) ?? { read: 0, written: 0 };
        bytes.inc({ direction: 'up' }, Math.max(0, sock.bytesRead - mark.read));
        bytes.inc({ direction: 'down' }, Math.max(0, sock.bytesWritten - mark.written));
        marks.set(sock, { read: sock.bytesRead, written: sock.bytesWritten });
      });
    },
    observeUpstream(seconds, outcome) {
      upstream.observe({ outcome }, seconds);
    },
  };
}
