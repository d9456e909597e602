/**
 * GET /auth (and its aliases) without express. Why: every image pull asks for a token, and once the
 * change feed lets authn answer decisions from its cache (authz-client/cache.ts), what is left of a
 * token request is authn's own work — of which express's per-request dispatch (prototype swaps, two
 * routers, res.json) was the largest part, more than the cached login and the ES256 signature together.
 * Here node's own request goes straight to the token handler (routes/token.ts `direct`), the same one
 * express runs for POST, so both behave alike: same parsing, audit line, metrics label and errors.
 *
 * What it still shares with express: the request-duration histogram under the token route's label
 * (`metrics.timeRequest`), and the error middleware for unexpected errors (logged, 500). Anything it
 * does not handle goes to express untouched: other methods (POST, HEAD → 405), other paths, and
 * spellings of the token paths only express's routing accepts (`/AUTH`, `/auth/`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type express from 'express';
import { TOKEN_PATHS, type TokenHandler } from './token.js';

/** Same label express's route gives the token paths (`String(req.route.path)`). */
const TOKEN_ROUTE_LABEL = String(TOKEN_PATHS);
const FAST_PATHS = new Set(TOKEN_PATHS);

export interface TokenFastDeps {
  direct: TokenHandler;
  timeRequest(method: string, route: string, res: ServerResponse): void;
  onError: express.ErrorRequestHandler;
}

/** Wraps `fallback` (the express app): GET on the exact token paths is answered here. */
export function withFastTokenGet(deps: TokenFastDeps, fallback: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  const fast = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    deps.timeRequest('GET', TOKEN_ROUTE_LABEL, res);
    deps.direct(req as IncomingMessage & { method: string }, res).catch((err: unknown) => {
      // As express would: the error middleware logs it and answers 500.
      deps.onError(err, { method: 'GET', path } as express.Request, res as express.Response, () => undefined);
    });
  };
  return (req, res) => {
    if (req.method === 'GET') {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      if (FAST_PATHS.has(path)) return fast(req, res, path);
    }
    fallback(req, res);
  };
}
