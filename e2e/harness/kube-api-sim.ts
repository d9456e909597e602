/**
 * SIMULATED Kubernetes API server for controller tests (no API server can run here), resource-generic and
 * speaking the real wire format: namespaced resources by path (`/api/v1/namespaces/{ns}/{plural}/{name}`,
 * `/apis/{group}/{version}/…`, cluster-wide lists), paged list, watch as JSON lines with BOOKMARKs and an
 * ERROR 410 event for a too-old resourceVersion, `Status` bodies (404 NotFound, 409 Conflict/AlreadyExists,
 * 415 for a PATCH that is not merge-patch), the `/status` subresource, finalizers, Lease and Event
 * MicroTime checks (exactly six fractional digits, else 400), and TokenRequest issuing JWTs signed by a
 * {@link SimulatedIssuer} (the stand-in cluster issuer authn trusts through its issuers file).
 * Tests inject faults (`fail`), break watches, compact history (410) and count requests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiFailure, SimStore, type LoggedEvent, type Obj } from './kube-sim-store.js';
import type { SimulatedIssuer } from './simulated-issuer.js';

export interface KubeApiSimOptions {
  issuer?: SimulatedIssuer;
  /** The API server's --service-account-max-token-expiration: longer TokenRequests are shortened. */
  maxTokenExpirationSeconds?: number;
  bookmarkMs?: number;
  /** Required bearer token (default: none). */
  token?: string;
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
  server!: Server;
  url = '';
  readonly store = new SimStore((p) => STATUS_SUBRESOURCE.has(p));
  readonly requests: Array<{ method: string; path: string; contentType: string | undefined; at: number }> = [];
  /** Fault injection: return a status code to answer this request with (a Status body), or undefined. */
  fail: ((method: string, path: string) => number | undefined) | undefined;
  tokensIssued = 0;
  /** TCP connections accepted (a keep-alive client opens few; one per call without keep-alive). */
  connections = 0;
  private readonly watches = new Set<ServerResponse>();

  constructor(readonly opts: KubeApiSimOptions = {}) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
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
    });
    this.server.on('connection', () => this.connections++);
    this.server.listen(0, '127.0.0.1');
    await new Promise((r) => this.server.once('listening', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.breakWatches();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** Cuts every open watch connection (as an API server restart or a network blip does). */
  breakWatches(): void {
    for (const w of this.watches) w.destroy();
    this.watches.clear();
  }

  private handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const url = new URL(req.url ?? '/', 'http://sim');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, contentType: req.headers['content-type'], at: Date.now() });
    if (this.opts.token && req.headers.authorization !== `Bearer ${this.opts.token}`) return send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const injected = this.fail?.(method, url.pathname);
    if (injected) return send(res, injected, status(injected, injected === 409 ? 'Conflict' : 'InternalError', `SIMULATED failure ${injected}`));
    const r = route(url.pathname);
    if (!r) throw new ApiFailure(404, 'NotFound', `the server could not find the requested resource ${url.pathname}`);
    const body = raw ? (JSON.parse(raw) as Obj) : undefined;
    if (method === 'GET' && !r.name) return url.searchParams.get('watch') ? this.watch(res, r, url.searchParams) : this.list(res, r, url.searchParams);
    if (!r.namespace) throw new ApiFailure(405, 'MethodNotAllowed', 'namespaced resource needs a namespace');
    if (method === 'POST' && r.plural === 'serviceaccounts' && r.sub === 'token') return void this.tokenRequest(res, r.namespace, r.name!, body).catch((e: unknown) => send(res, 500, status(500, 'InternalError', (e as Error).message)));
    if (r.sub && r.sub !== 'status') throw new ApiFailure(404, 'NotFound', `no subresource ${r.sub}`);
    if (method === 'POST' && !r.name) {
      this.checkMicroTime(r.plural, body);
      return send(res, 201, this.store.create(r.plural, r.namespace, body!));
    }
    if (!r.name) throw new ApiFailure(405, 'MethodNotAllowed', `${method} needs a name`);
    if (method === 'GET') {
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
    const from = Number(q.get('resourceVersion') ?? this.store.rv);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const line = (v: unknown) => res.write(`${JSON.stringify(v)}\n`);
    if (from < this.store.compactedAt) {
      line({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.store.compactedAt})`) });
      return void res.end();
    }
    const field = /^metadata\.name=(.+)$/.exec(q.get('fieldSelector') ?? '')?.[1];
    const match = (e: LoggedEvent) => e.plural === r.plural && (!r.namespace || e.namespace === r.namespace) && (!field || e.object.metadata.name === field);
    for (const e of this.store.log) if (e.rv > from && match(e)) line({ type: e.type, object: e.object });
    const listener = (e: LoggedEvent) => {
      if (match(e)) line({ type: e.type, object: e.object });
    };
    this.store.listeners.add(listener);
    this.watches.add(res);
    const bookmarks = q.get('allowWatchBookmarks') === 'true' ? setInterval(() => line({ type: 'BOOKMARK', object: { kind: 'Bookmark', metadata: { resourceVersion: String(this.store.rv) } } }), this.opts.bookmarkMs ?? 1000) : undefined;
    const end = setTimeout(() => res.end(), Number(q.get('timeoutSeconds') ?? 300) * 1000);
    res.on('close', () => {
      this.store.listeners.delete(listener);
      this.watches.delete(res);
      clearInterval(bookmarks);
      clearTimeout(end);
    });
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
