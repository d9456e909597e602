/**
 * One request to the upstream, streamed both ways with backpressure (stream.pipeline: nothing is
 * buffered beyond the sockets' own windows), on a keep-alive agent. Rules:
 * - the upstream gets `timeoutMs` to connect and answer, and the same as the longest silence while a
 *   body streams; down or silent → 503 UNAVAILABLE with Retry-After, garbage → 502 BAD_GATEWAY, in the
 *   registry's error format (or a cut connection when the response had started);
 * - a client that goes away mid-transfer takes the upstream request down with it (no leaked socket);
 * - a 401 from the upstream never reaches the client as is: it names the upstream's realm. The caller
 *   turns it into its own answer (`onUnauthorized`).
 */
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { pipeline } from 'node:stream';
import type { Logger } from '../../common/logger.js';
import { ProxyError, sendProxyError } from './errors.js';
import { clientHeaders, upstreamHeaders } from './headers.js';

export interface Upstream {
  url: URL;
  timeoutMs: number;
  agent: HttpAgent;
  logger: Logger;
  /** Seconds from sending to the response headers, by outcome (`2xx`…`5xx`, `error`). */
  observe?: (seconds: number, outcome: string) => void;
}

export function upstreamOf(url: URL, timeoutMs: number, logger: Logger, observe?: Upstream['observe']): Upstream {
  const opts = { keepAlive: true, maxSockets: 512, maxFreeSockets: 64, timeout: timeoutMs };
  return { url, timeoutMs, logger, agent: url.protocol === 'https:' ? new HttpsAgent(opts) : new HttpAgent(opts), ...(observe ? { observe } : {}) };
}

const DOWN = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT', 'UPSTREAM_TIMEOUT']);

function failure(err: NodeJS.ErrnoException): ProxyError {
  if (err.code && DOWN.has(err.code)) return new ProxyError(503, 'UNAVAILABLE', 'upstream registry unavailable, try again shortly', { retryAfterSec: 5 });
  return new ProxyError(502, 'BAD_GATEWAY', 'upstream registry answered with an invalid response');
}

/**
 * Whether a request (or, with `answering` = the request's method, a response) carries a body (RFC 9112 §6.3).
 * Most registry requests and answers do not (HEAD of a
 * blob, a mount, a 202/201 with `Content-Length: 0`): they are sent and answered without a stream pipeline.
 * Two pipelines' setup and teardown (an AbortController and a DOMException each) were ≈ 0.17 ms of CPU per
 * proxied HEAD in a --cpu-prof of 2,000 — about what authentication, decision and header mapping cost together.
 */
function hasBody(m: IncomingMessage, answering?: string): boolean {
  const response = answering !== undefined;
  if (response && (answering === 'HEAD' || m.statusCode === 204 || m.statusCode === 304)) return false;
  if (m.headers['transfer-encoding'] !== undefined) return true;
  const length = m.headers['content-length'];
  // A response with neither header runs until the upstream closes; a request with neither has no body.
  return length === undefined ? response : length !== '0';
}

export interface ForwardOptions {
  target: string;
  authorization?: string;
  /** The upstream answered 401: answer the client instead (the upstream response is drained). */
  onUnauthorized: () => void;
}

export function forward(up: Upstream, req: IncomingMessage, res: ServerResponse, opts: ForwardOptions): void {
  const send = up.url.protocol === 'https:' ? httpsRequest : httpRequest;
  const upReq = send({
    protocol: up.url.protocol,
    hostname: up.url.hostname.replace(/^\[|\]$/g, ''),
    port: up.url.port || (up.url.protocol === 'https:' ? 443 : 80),
    method: req.method,
    path: opts.target,
    headers: upstreamHeaders(req.headers, up.url.host, opts.authorization),
    agent: up.agent,
  });
  let answered = false;
  const sent = performance.now();
  const fail = (err: NodeJS.ErrnoException): void => {
    if (answered && res.headersSent) return void res.destroy();
    if (!answered) up.observe?.((performance.now() - sent) / 1000, 'error');
    answered = true;
    const e = failure(err);
    up.logger.warn({ method: req.method, status: e.status, code: err.code, reason: err.message }, 'upstream request failed');
    sendProxyError(res, e);
  };
  upReq.setTimeout(up.timeoutMs, () => upReq.destroy(Object.assign(new Error('upstream timed out'), { code: 'UPSTREAM_TIMEOUT' })));
  // The client went away before the response was complete: stop the upstream side too.
  res.once('close', () => {
    if (!res.writableFinished) upReq.destroy();
  });
  upReq.once('response', (upRes: IncomingMessage) => {
    if (answered) return void upRes.resume();
    answered = true;
    up.observe?.((performance.now() - sent) / 1000, `${Math.floor((upRes.statusCode ?? 500) / 100)}xx`);
    if (upRes.statusCode === 401) {
      upRes.resume();
      return opts.onUnauthorized();
    }
    res.writeHead(upRes.statusCode ?? 502, clientHeaders(upRes.headers, up.url));
    if (!hasBody(upRes, req.method ?? '')) {
      upRes.resume();
      return void res.end();
    }
    pipeline(upRes, res, (err) => {
      if (err) res.destroy();
    });
  });
  if (!hasBody(req)) upReq.end();
  else
    pipeline(req, upReq, (err) => {
      if (err && !answered) fail(err as NodeJS.ErrnoException);
    });
  upReq.once('error', (err: NodeJS.ErrnoException) => {
    if (!answered) fail(err);
    else if (!res.writableFinished) res.destroy();
  });
}
