/**
 * The one SIMULATED Kubernetes API server of the tests (no API server can run here) — the controller's and,
 * through authn-server/test/k8s/api-sim.ts, authn's Secret backend's. Resource-generic and speaking the
 * real wire format: namespaced resources by path (`/api/v1/namespaces/{ns}/{plural}/{name}`,
 * `/apis/{group}/{version}/…`, cluster-wide lists), paged list, watch as JSON lines with BOOKMARKs, `Status`
 * bodies (401 without the bearer token, 404 NotFound, 409 Conflict/AlreadyExists, 415 for a PATCH that is
 * not merge-patch), the `/status` subresource, finalizers, Lease and Event MicroTime checks (exactly six
 * fractional digits, else 400), TokenRequest issuing JWTs signed by a {@link SimulatedIssuer}, and RBAC
 * `resourceNames` for Secrets (`secretName`: a list/watch without `fieldSelector=metadata.name=<it>` or a
 * GET of another Secret is 403). Like kube-apiserver, a watch from a resourceVersion older than the
 * compaction point is answered `410 Gone` (an ERROR event, or a Status with `goneAs: 'status'`); one from
 * the current resourceVersion is not.
 * Faults for tests: `fail` (any request), `failNext` (status with headers / garbage / hang for the next
 * list, watch or get), `brokenWatch` (issue 18's four ways a watch failed open, every watch until reset:
 * `error-after-200` — 200, an ERROR event, the end; `hang` — never answered; `empty` — 200 and an empty
 * body; `proxy-hold` — a proxy swallows every event and the server's end, writing a newline now and then),
 * `breakWatches`, `sendError`, `sendRaw`, `store.compact()`; requests and connections are counted.
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { ApiFailure, SimStore, type LoggedEvent, type Obj } from './kube-sim-store.js';
import type { SimulatedIssuer } from './simulated-issuer.js';

export interface KubeApiSimOptions {
  issuer?: SimulatedIssuer;
  /** The API server's --service-account-max-token-expiration: longer TokenRequests are shortened. */
  maxTokenExpirationSeconds?: number;
  /** A BOOKMARK on every watch that allows them, this often (default 1000 ms; 0: none until `bookmarkEveryMs` is set). */
  bookmarkMs?: number;
  /** Required bearer token (default: none). */
  token?: string;
  /** The resourceVersion the store starts from (default 1000). */
  resourceVersion?: number;
  /** RBAC `resourceNames` for Secrets: only this name may be listed, watched (by fieldSelector) or read. */
  secretName?: string;
}

export type Fault = { status: number; body?: string; headers?: Record<string, string> } | 'garbage' | 'hang';
export type FaultKind = 'list' | 'watch' | 'get';
export type BrokenWatch = 'error-after-200' | 'hang' | 'empty' | 'proxy-hold';
export interface SimRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  pathname: string;
  contentType: string | undefined;
  auth: string | undefined;
  at: number;
}
interface Watch {
  res: ServerResponse;
  bookmarks: boolean;
}

const STATUS_SUBRESOURCE = new Set(['registrycredentials']);
const MICROTIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const send = (res: ServerResponse, code: number, body: unknown) => {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

interface Route {
  prefix: string;
  plural: string;
  namespace?: string;
  name?: string;
  sub?: string;
}

function route(path: string): Route | undefined {
  const m = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(path);
  if (!m) return undefined;
  return { prefix: m[1]!, namespace: m[2], plural: m[3]!, name: m[4], sub: m[5] };
}

export class KubeApiSim {
  server!: Server | https.Server;
  url = '';
  readonly store: SimStore;
  readonly requests: SimRequest[] = [];
  /** Fault injection: return a status code to answer this request with (a Status body), or undefined. */
  fail: ((method: string, path: string) => number | undefined) | undefined;
  /** Every watch misbehaves this way until set back to undefined. */
  brokenWatch: BrokenWatch | undefined;
  /** How a watch from a compacted resourceVersion is answered. */
  goneAs: 'status' | 'error-event' = 'error-event';
  tokensIssued = 0;
  /** TCP connections accepted (a keep-alive client opens few; one per call without keep-alive). */
  connections = 0;
  private readonly watches = new Set<Watch>();
  private readonly faults: Array<{ kind: FaultKind; fault: Fault }> = [];
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private bookmarkMs: number | undefined;

  constructor(readonly opts: KubeApiSimOptions = {}) {
    this.store = new SimStore((p) => STATUS_SUBRESOURCE.has(p), opts.resourceVersion);
    this.bookmarkMs = opts.bookmarkMs === 0 ? undefined : (opts.bookmarkMs ?? 1000);
  }

  /** Sends a BOOKMARK on every open watch that allows them every `ms` (undefined stops). */
  set bookmarkEveryMs(ms: number | undefined) {
    this.bookmarkMs = ms;
    clearInterval(this.bookmarkTimer);
    this.bookmarkTimer = ms === undefined || !this.url ? undefined : setInterval(() => this.bookmark(), ms);
  }

  get watcherCount(): number {
    return this.watches.size;
  }

  /** Serves plain http, or https with the given PEM key and certificate (as a real API server does). */
  async start(tls?: { key: string; cert: string }): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (raw += c));
      req.on('end', () => {
        try {
          this.handle(req, res, raw);
        } catch (e) {
          const f = e instanceof ApiFailure ? e : new ApiFailure(500, 'InternalError', (e as Error).message);
          send(res, f.code, status(f.code, f.reason, f.message));
        }
      });
    };
    this.server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    this.server.on(tls ? 'secureConnection' : 'connection', () => this.connections++);
    this.server.listen(0, '127.0.0.1');
    await new Promise((r) => this.server.once('listening', r));
    this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.bookmarkEveryMs = this.bookmarkMs;
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.bookmarkTimer);
    this.breakWatches();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** Cuts every open watch connection (as an API server restart or a network blip does). */
  breakWatches(): void {
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
  }

  /** The next `times` lists, watches or single GETs answer `fault`. */
  failNext(kind: FaultKind, fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push({ kind, fault });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** A BOOKMARK (the current resourceVersion) on every open watch that allows them. */
  bookmark(): void {
    for (const w of this.watches) if (w.bookmarks) this.line(w.res, { type: 'BOOKMARK', object: { kind: 'Bookmark', metadata: { resourceVersion: String(this.store.rv) } } });
  }

  /** An ERROR event with a Status of `code` on every open watch. */
  sendError(code: number, message = 'internal error'): void {
    for (const w of this.watches) this.line(w.res, { type: 'ERROR', object: status(code, code === 410 ? 'Expired' : 'InternalError', message) });
  }

  /** Writes `text` as is on every open watch. */
  sendRaw(text: string): void {
    for (const w of this.watches) w.res.write(text);
  }

  private line(res: ServerResponse, v: unknown): void {
    res.write(`${JSON.stringify(v)}\n`);
  }

  /** Answers the next fault of `kind`, if any; true when it did. */
  private fault(kind: FaultKind, res: ServerResponse): boolean {
    const i = this.faults.findIndex((f) => f.kind === kind);
    if (i < 0) return false;
    const f = this.faults.splice(i, 1)[0]!.fault;
    if (f === 'hang') return true;
    if (f === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not json');
      return true;
    }
    res.writeHead(f.status, { 'content-type': 'application/json', ...f.headers }).end(f.body ?? JSON.stringify(status(f.status, 'Fault', `simulated ${f.status}`)));
    return true;
  }

  /** RBAC `resourceNames` on Secrets: the Secret name a request may touch, or a 403. */
  private forbidden(r: Route, q: URLSearchParams): string | undefined {
    const allowed = this.opts.secretName;
    if (allowed === undefined || r.plural !== 'secrets') return undefined;
    if (r.name) return r.name === allowed ? undefined : `secrets "${r.name}" is forbidden`;
    return q.get('fieldSelector') === `metadata.name=${allowed}` ? undefined : 'secrets is forbidden: cannot list resource "secrets" at the cluster scope';
  }

  private handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const url = new URL(req.url ?? '/', 'http://sim');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname + url.search, pathname: url.pathname, contentType: req.headers['content-type'], auth: req.headers.authorization, at: Date.now() });
    if (this.opts.token && req.headers.authorization !== `Bearer ${this.opts.token}`) return send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const injected = this.fail?.(method, url.pathname);
    if (injected) return send(res, injected, status(injected, injected === 409 ? 'Conflict' : 'InternalError', `SIMULATED failure ${injected}`));
    const r = route(url.pathname);
    if (!r) throw new ApiFailure(404, 'NotFound', `the server could not find the requested resource ${url.pathname}`);
    const denied = this.forbidden(r, url.searchParams);
    if (denied) return send(res, 403, status(403, 'Forbidden', denied));
    const body = raw ? (JSON.parse(raw) as Obj) : undefined;
    const watch = url.searchParams.get('watch');
    if (method === 'GET' && !r.name) return watch === '1' || watch === 'true' ? this.watch(res, r, url.searchParams) : this.list(res, r, url.searchParams);
    if (!r.namespace) throw new ApiFailure(405, 'MethodNotAllowed', 'namespaced resource needs a namespace');
    if (method === 'POST' && r.plural === 'serviceaccounts' && r.sub === 'token') return void this.tokenRequest(res, r.namespace, r.name!, body).catch((e: unknown) => send(res, 500, status(500, 'InternalError', (e as Error).message)));
    if (r.sub && r.sub !== 'status') throw new ApiFailure(404, 'NotFound', `no subresource ${r.sub}`);
    if (method === 'POST' && !r.name) {
      this.checkMicroTime(r.plural, body);
      return send(res, 201, this.store.create(r.plural, r.namespace, body!));
    }
    if (!r.name) throw new ApiFailure(405, 'MethodNotAllowed', `${method} needs a name`);
    if (method === 'GET') {
      if (this.fault('get', res)) return;
      const o = this.store.get(r.plural, r.namespace, r.name);
      return o ? send(res, 200, o) : send(res, 404, status(404, 'NotFound', `${r.plural} "${r.name}" not found`));
    }
    if (method === 'PUT' || method === 'PATCH') {
      if (method === 'PATCH' && req.headers['content-type'] !== 'application/merge-patch+json') throw new ApiFailure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json`);
      this.checkMicroTime(r.plural, body);
      return send(res, 200, this.store.update(r.plural, r.namespace, r.name, body, { status: r.sub === 'status', patch: method === 'PATCH' }));
    }
    if (method === 'DELETE') return send(res, 200, this.store.remove(r.plural, r.namespace, r.name));
    throw new ApiFailure(405, 'MethodNotAllowed', method);
  }

  private checkMicroTime(plural: string, body: Obj | undefined): void {
    const spec = (body?.spec ?? {}) as Record<string, unknown>;
    const fields = plural === 'leases' ? { 'spec.renewTime': spec.renewTime, 'spec.acquireTime': spec.acquireTime } : plural === 'events' ? { eventTime: body?.eventTime } : {};
    for (const [f, v] of Object.entries(fields)) {
      if (v !== undefined && v !== null && !(typeof v === 'string' && MICROTIME.test(v))) throw new ApiFailure(400, 'BadRequest', `${f}: parsing time "${String(v)}" as MicroTime: expected six fractional digits`);
    }
  }

  private list(res: ServerResponse, r: Route, q: URLSearchParams): void {
    if (this.fault('list', res)) return;
    const field = /^metadata\.name=(.+)$/.exec(q.get('fieldSelector') ?? '')?.[1];
    const all = this.store.list(r.plural, r.namespace).filter((o) => !field || o.metadata.name === field);
    const limit = Number(q.get('limit') ?? 0) || all.length || 1;
    const [rvText, offText] = (q.get('continue') ? Buffer.from(q.get('continue')!, 'base64url').toString() : `${this.store.rv}:0`).split(':');
    if (Number(rvText) < this.store.compactedAt) return send(res, 410, status(410, 'Expired', 'The provided continue parameter is too old'));
    const off = Number(offText);
    const items = all.slice(off, off + limit);
    const more = off + limit < all.length;
    send(res, 200, { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: rvText, ...(more ? { continue: Buffer.from(`${rvText}:${off + limit}`).toString('base64url') } : {}) }, items });
  }

  private watch(res: ServerResponse, r: Route, q: URLSearchParams): void {
    if (this.fault('watch', res)) return;
    if (this.brokenWatch) return this.broken(this.brokenWatch, res);
    const from = Number(q.get('resourceVersion') ?? this.store.rv);
    if (from < this.store.compactedAt) {
      const gone = status(410, 'Expired', `too old resource version: ${from} (${this.store.compactedAt})`);
      if (this.goneAs === 'status') return send(res, 410, gone);
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      this.line(res, { type: 'ERROR', object: gone });
      return void res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const field = /^metadata\.name=(.+)$/.exec(q.get('fieldSelector') ?? '')?.[1];
    const match = (e: LoggedEvent) => e.plural === r.plural && (!r.namespace || e.namespace === r.namespace) && (!field || e.object.metadata.name === field);
    for (const e of this.store.log) if (e.rv > from && match(e)) this.line(res, { type: e.type, object: e.object });
    const listener = (e: LoggedEvent) => {
      if (match(e)) this.line(res, { type: e.type, object: e.object });
    };
    this.store.listeners.add(listener);
    const w: Watch = { res, bookmarks: q.get('allowWatchBookmarks') === 'true' };
    this.watches.add(w);
    const end = setTimeout(() => res.end(), Number(q.get('timeoutSeconds') ?? 1800) * 1000);
    res.on('close', () => {
      this.store.listeners.delete(listener);
      this.watches.delete(w);
      clearTimeout(end);
    });
  }

  private broken(how: BrokenWatch, res: ServerResponse): void {
    if (how === 'hang') return;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (how === 'empty') return void res.end();
    if (how === 'error-after-200') return void res.end(`${JSON.stringify({ type: 'ERROR', object: status(500, 'InternalError', 'etcd unavailable') })}\n`);
    const keepAlive = setInterval(() => res.write('\n'), 200);
    res.on('close', () => clearInterval(keepAlive));
  }

  private async tokenRequest(res: ServerResponse, ns: string, sa: string, body: Obj | undefined): Promise<void> {
    if (!this.store.get('serviceaccounts', ns, sa)) return send(res, 404, status(404, 'NotFound', `serviceaccounts "${sa}" not found`));
    const spec = (body?.spec ?? {}) as { audiences?: unknown; expirationSeconds?: unknown };
    const exp = spec.expirationSeconds ?? 3600;
    if (typeof exp !== 'number' || exp < 600) return send(res, 400, status(400, 'BadRequest', 'spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes'));
    if (!Array.isArray(spec.audiences) || !spec.audiences.length || !this.opts.issuer) return send(res, 400, status(400, 'BadRequest', 'spec.audiences: Required value'));
    const ttl = Math.min(exp, this.opts.maxTokenExpirationSeconds ?? exp);
    const iat = Math.floor(Date.now() / 1000);
    const token = await this.opts.issuer.mint({ namespace: ns, serviceAccount: sa, pod: false, audiences: spec.audiences as string[], ttl, iat });
    this.tokensIssued++;
    send(res, 201, { kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata: { name: sa, namespace: ns }, spec: { ...spec, expirationSeconds: ttl }, status: { token, expirationTimestamp: new Date((iat + ttl) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') } });
  }

  /** Creates objects directly (test setup), as `kubectl apply` would. */
  put(apiPath: string, obj: Record<string, unknown>): Obj {
    const r = route(apiPath)!;
    return this.store.create(r.plural, r.namespace!, obj as Obj);
  }
}
