/**
 * POST /authorized without express. Why: this route answers once per scope of every token request,
 * and express's per-request work (prototype swaps, the router stack, body-parser's type/charset
 * negotiation, res.json) cost more CPU than the decision itself — the route ran at 0.76–0.85× a bare
 * express route returning the same JSON. Here one listener reads the body and answers with node's
 * own API; numbers in docs/authn.md "Hot paths".
 *
 * What it still shares with the express route (routes/authorized.ts), so both behave the same:
 * - auth: `clientTokenCheck` (auth/bearer.ts), client or admin token, compared in constant time, checked
 *   before the body is read;
 * - the body rules of `jsonBody` (routes/context.ts): BODY_LIMIT (413 body_too_large), any
 *   Content-Type read as JSON, strict JSON (400 invalid_json naming body), an empty body is `{}`;
 * - the zod contract (common/authorized.ts) through `decideRequestSync`, its 400s naming the field;
 * - errors rendered by errors.ts `sendError`; the request-duration histogram under the route label
 *   `/authorized` and the decision counter; failures logged in one line like app.ts does.
 * Anything this path does not handle itself goes to express untouched: a compressed body
 * (Content-Encoding), a charset other than UTF-8, and every request while debug logging is on (so
 * pino-http logs each one).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AUTHORIZED_PATH } from '../../../common/authorized.js';
import type { Logger } from '../../../common/logger.js';
import { clientTokenCheck, type Tokens } from '../auth/bearer.js';
import { sendJson } from '../../../common/json-reply.js';
import { AuthzError, sendError } from '../errors.js';
import { decideRequestSync, type DecideDeps } from './authorized.js';
import { BODY_LIMIT, requireUtf8 } from './context.js';

export interface FastDeps extends DecideDeps {
  logger: Logger;
  tokens: Tokens;
}

/** Content types read here; anything else that carries a charset goes to express (body-parser decodes it). */
const PLAIN_TYPE = /^[^;]*(?:;\s*charset="?utf-8"?\s*)?$/i;

function handledHere(req: IncomingMessage): boolean {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const type = req.headers['content-type'];
  return type === undefined || PLAIN_TYPE.test(type);
}

const tooLarge = () => new AuthzError(413, 'body_too_large', `request body is larger than ${BODY_LIMIT} bytes`, 'body');

/** The body as JSON, by body-parser's strict rules; undefined when the request has no body at all. */
function parseJson(text: string): unknown {
  if (text.length === 0) return {};
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const first = /^[\x20\x09\x0a\x0d]*(.)/.exec(t)?.[1];
  if (first !== '{' && first !== '[') throw new AuthzError(400, 'invalid_json', `request body is not valid JSON: it must start with "{" or "[", not ${JSON.stringify(first ?? '')}`, 'body');
  try {
    return JSON.parse(t);
  } catch (e) {
    throw new AuthzError(400, 'invalid_json', `request body is not valid JSON: ${(e as Error).message}`, 'body');
  }
}

/** Wraps `fallback` (the express app): exact `POST /authorized` is answered here, the rest passes through. */
export function withFastAuthorized(deps: FastDeps, fallback: RequestListener): RequestListener {
  const checkClient = clientTokenCheck(deps.tokens);
  const fail = (req: IncomingMessage, res: ServerResponse, e: unknown): void => {
    const err = e instanceof AuthzError ? e : new AuthzError(500, 'internal', 'internal error');
    if (!(e instanceof AuthzError)) deps.logger.error({ err: e, method: 'POST', path: AUTHORIZED_PATH }, 'unhandled error');
    else deps.logger.warn({ method: 'POST', url: AUTHORIZED_PATH, status: err.status }, 'request failed');
    sendError(res, err);
    // Whatever of the body is left is drained by node; a client still sending gets its answer first.
    req.resume();
  };

  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    deps.metrics.timeRequest('POST', AUTHORIZED_PATH, res);
    const denied = checkClient(req.headers.authorization);
    if (denied) return fail(req, res, denied);
    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) > BODY_LIMIT) return fail(req, res, tooLarge());
    const hasBody = length !== undefined || req.headers['transfer-encoding'] !== undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size <= BODY_LIMIT) return void chunks.push(c);
      done = true;
      fail(req, res, tooLarge());
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      let body: unknown;
      try {
        const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        // As express's JSON parser here: invalid UTF-8 is refused, never decoded to U+FFFD.
        requireUtf8(raw);
        body = hasBody ? parseJson(raw.toString()) : undefined;
      } catch (e) {
        return fail(req, res, e);
      }
      // Cached (or SQLite) decisions are answered without a promise: the async seam halved cold decisions.
      let decided: ReturnType<typeof decideRequestSync>;
      try {
        decided = decideRequestSync(deps, body);
      } catch (e) {
        return fail(req, res, e);
      }
      if (!(decided instanceof Promise)) return sendJson(res, decided.status, decided.out);
      decided.then(({ status, out }) => sendJson(res, status, out), (e: unknown) => fail(req, res, e));
    });
    // An aborted request has no one to answer.
    req.on('error', () => (done = true));
  };

  return (req, res) => {
    if (req.method === 'POST' && handledHere(req) && !deps.logger.isLevelEnabled('debug')) {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      if ((q < 0 ? url : url.slice(0, q)) === AUTHORIZED_PATH) return answer(req, res);
    }
    fallback(req, res);
  };
}
