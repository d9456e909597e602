/**
 * The request-duration bookkeeping both servers share (their own metrics/index.ts name the series).
 * prom-client validates and hashes a label object on every `inc`/`observe`; on the hot paths (authn's
 * token, authz's /authorized) that was several hashes per request. `children` makes `metric.labels(...)`
 * once per label set and keeps it; label values are few (routes, statuses, methods node accepts, results).
 */
import type { ServerResponse } from 'node:http';
import type { Histogram } from 'prom-client';

export function children<C>(labels: (...values: string[]) => C): (...values: string[]) => C {
  const made = new Map<string, C>();
  return (...values) => {
    const key = values.join('\0');
    let c = made.get(key);
    if (c === undefined) made.set(key, (c = labels(...values)));
    return c;
  };
}

/** Observes a response's duration under (method, route, status) when it finishes; `labels` is read then (express sets req.route while routing). */
export function finishTimer(duration: Histogram<'method' | 'route' | 'status'>): (res: ServerResponse, labels: () => { method: string; route: string }) => void {
  const of = children((...v) => duration.labels(...v));
  return (res, labels) => {
    const start = performance.now();
    res.once('finish', () => {
      const { method, route } = labels();
      of(method, route, String(res.statusCode)).observe((performance.now() - start) / 1000);
    });
  };
}
