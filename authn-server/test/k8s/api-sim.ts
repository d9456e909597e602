/**
 * SIMULATED Kubernetes API server (no real one can run here): the Secret list/watch/get wire format of
 * kube-apiserver, over real HTTP on 127.0.0.1.
 * - `GET /api/v1/secrets?fieldSelector=metadata.name%3D<n>[&limit&continue]` → `SecretList` with
 *   `metadata.resourceVersion` (and `continue` while pages remain);
 * - `…&watch=1&resourceVersion=<rv>&allowWatchBookmarks=true&timeoutSeconds=<s>` → a chunked stream of
 *   `{"type","object"}` JSON lines: history after `rv`, then live events; `BOOKMARK` objects carry only
 *   `metadata.resourceVersion`; a compacted `rv` answers `410 Gone` (as a Status body, or as an `ERROR`
 *   event with a 410 Status, the way the watch cache does it);
 * - `GET /api/v1/namespaces/<ns>/secrets/<name>` → the Secret or a 404 Status;
 * - bearer token checked on every request (401), and RBAC `resourceNames` emulated: a list/watch without
 *   `fieldSelector=metadata.name=<allowed>` is 403, as is a get of another name.
 * Faults for tests: `failNext` (status / garbage / hang), `sendError`, `sendRaw`, `dropWatches`, `compact`,
 * and `brokenWatch`, the four ways a watch failed open in issue 18's review (every watch until reset):
 * - `error-after-200`: 200, then an ERROR event (500 Status), then the end of the stream;
 * - `hang`: the request is accepted and never answered (no status line, no byte);
 * - `empty`: 200 with an empty body, ended at once;
 * - `proxy-hold`: a proxy in between answers 200, swallows every event and the server's end at
 *   `timeoutSeconds`, and holds the stream open, writing a keep-alive newline now and then.
 * A healthy server ends every watch at the `timeoutSeconds` asked for, and sends bookmarks every
 * `bookmarkEveryMs` when set (kube-apiserver: about once a minute).
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export type Obj = Record<string, unknown>;
type Fault = { status: number; body?: string; headers?: Record<string, string> } | 'garbage' | 'hang';
export type BrokenWatch = 'error-after-200' | 'hang' | 'empty' | 'proxy-hold';

interface Watcher {
  res: ServerResponse;
  name: string;
}

const status = (code: number, reason: string, message: string): Obj => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

export class SimulatedKubeApi {
  token = 'sim-token';
  allowedName: string;
  /** How a too-old watch resourceVersion is answered. */
  goneAs: 'status' | 'error-event' = 'error-event';
  /** Every watch misbehaves this way until set back to undefined. */
  brokenWatch: BrokenWatch | undefined;
  readonly requests: { method: string; path: string; auth: string | undefined }[] = [];
  private readonly secrets = new Map<string, Obj>();
  private history: { rv: number; type: string; obj: Obj }[] = [];
  private rv = 100;
  private oldestRv = 100;
  private readonly watchers = new Set<Watcher>();
  private readonly faults: { kind: 'list' | 'watch' | 'get'; fault: Fault }[] = [];
  private readonly sockets = new Set<Socket>();
  private server: http.Server | undefined;
  url = '';

  constructor(allowedName = 'tollgate-registry') {
    this.allowedName = allowedName;
  }

  /** Serves plain http, or https with the given PEM key and certificate (as a real API server does). */
  async start(tls?: { key: string; cert: string }): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.bookmarkEveryMs = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  /** Sends a BOOKMARK on every open watch every `ms` (undefined stops). */
  set bookmarkEveryMs(ms: number | undefined) {
    clearInterval(this.bookmarkTimer);
    this.bookmarkTimer = ms === undefined ? undefined : setInterval(() => this.bookmark(), ms);
  }
  private bookmarkTimer: NodeJS.Timeout | undefined;

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Creates or replaces a Secret (`data` values given as plain strings are base64-encoded). */
  put(namespace: string, name: string, data: Record<string, string>, opts: { raw?: boolean; type?: string } = {}): Obj {
    const key = `${namespace}/${name}`;
    const prev = this.secrets.get(key);
    const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, opts.raw ? v : Buffer.from(v).toString('base64')]));
    const meta = (prev?.metadata as Obj | undefined) ?? { name, namespace, uid: randomUUID(), creationTimestamp: new Date().toISOString() };
    const obj: Obj = { kind: 'Secret', apiVersion: 'v1', metadata: { ...meta, resourceVersion: String(++this.rv) }, type: opts.type ?? 'Opaque', data: encoded };
    this.secrets.set(key, obj);
    this.emit(prev ? 'MODIFIED' : 'ADDED', obj);
    return obj;
  }

  delete(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const prev = this.secrets.get(key);
    if (!prev) return;
    this.secrets.delete(key);
    this.emit('DELETED', { ...prev, metadata: { ...(prev.metadata as Obj), resourceVersion: String(++this.rv) } });
  }

  /** Forgets history: a watch from an older resourceVersion now gets 410 Gone. */
  compact(): void {
    this.history = [];
    this.oldestRv = this.rv;
  }

  bookmark(): void {
    for (const w of this.watchers) this.write(w, { type: 'BOOKMARK', object: { kind: 'Secret', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } } });
  }

  /** An ERROR event with a Status of `code` on every open watch. */
  sendError(code: number, message = 'internal error'): void {
    for (const w of this.watchers) this.write(w, { type: 'ERROR', object: status(code, code === 410 ? 'Expired' : 'InternalError', message) });
  }

  sendRaw(line: string): void {
    for (const w of this.watchers) w.res.write(line);
  }

  /** Destroys every open watch connection mid-stream. */
  dropWatches(): void {
    for (const w of this.watchers) w.res.socket?.destroy();
    this.watchers.clear();
  }

  failNext(kind: 'list' | 'watch' | 'get', fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push({ kind, fault });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  private emit(type: string, obj: Obj): void {
    this.history.push({ rv: this.rv, type, obj });
    const name = (obj.metadata as Obj).name;
    for (const w of this.watchers) if (w.name === name) this.write(w, { type, object: obj });
  }

  private write(w: Watcher, ev: Obj): void {
    w.res.write(`${JSON.stringify(ev)}\n`);
  }

  private takeFault(kind: 'list' | 'watch' | 'get'): Fault | undefined {
    const i = this.faults.findIndex((f) => f.kind === kind);
    return i < 0 ? undefined : this.faults.splice(i, 1)[0]!.fault;
  }

  /** Answers a fault; true when it did. */
  private fault(kind: 'list' | 'watch' | 'get', res: ServerResponse): boolean {
    const f = this.takeFault(kind);
    if (!f) return false;
    if (f === 'hang') return true;
    if (f === 'garbage') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('<html>not json');
      return true;
    }
    res.writeHead(f.status, { 'Content-Type': 'application/json', ...f.headers }).end(f.body ?? JSON.stringify(status(f.status, 'Fault', `simulated ${f.status}`)));
    return true;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://sim');
    this.requests.push({ method: req.method ?? '', path: url.pathname + url.search, auth: req.headers.authorization });
    const json = (code: number, body: Obj): void => void res.writeHead(code, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    if (req.headers.authorization !== `Bearer ${this.token}`) return json(401, status(401, 'Unauthorized', 'Unauthorized'));
    const one = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(url.pathname);
    if (one) {
      const [ns, name] = [decodeURIComponent(one[1]!), decodeURIComponent(one[2]!)];
      if (name !== this.allowedName) return json(403, status(403, 'Forbidden', `secrets "${name}" is forbidden`));
      if (this.fault('get', res)) return;
      const s = this.secrets.get(`${ns}/${name}`);
      return s ? json(200, s) : json(404, status(404, 'NotFound', `secrets "${name}" not found`));
    }
    if (url.pathname !== '/api/v1/secrets') return json(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const selector = url.searchParams.get('fieldSelector') ?? '';
    const name = selector.startsWith('metadata.name=') ? selector.slice('metadata.name='.length) : '';
    if (name !== this.allowedName) return json(403, status(403, 'Forbidden', 'secrets is forbidden: cannot list resource "secrets" at the cluster scope'));
    if (url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true') return this.watch(url, name, res);
    if (this.fault('list', res)) return;
    const all = [...this.secrets.values()].filter((s) => (s.metadata as Obj).name === name);
    const limit = Number(url.searchParams.get('limit') ?? '0');
    const start = Number(url.searchParams.get('continue') ? Buffer.from(url.searchParams.get('continue')!, 'base64').toString() : '0');
    const page = limit > 0 ? all.slice(start, start + limit) : all;
    const more = limit > 0 && start + limit < all.length;
    const items = page.map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    json(200, { kind: 'SecretList', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv), ...(more ? { continue: Buffer.from(String(start + limit)).toString('base64') } : {}) }, items });
  }

  private watch(url: URL, name: string, res: ServerResponse): void {
    if (this.fault('watch', res)) return;
    if (this.brokenWatch) return this.broken(this.brokenWatch, res);
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    const gone = status(410, 'Expired', `too old resource version: ${from} (${this.oldestRv})`);
    if (from < this.oldestRv && this.goneAs === 'status') {
      res.writeHead(410, { 'Content-Type': 'application/json' }).end(JSON.stringify(gone));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const w: Watcher = { res, name };
    if (from < this.oldestRv) {
      this.write(w, { type: 'ERROR', object: gone });
      res.end();
      return;
    }
    for (const h of this.history) if (h.rv > from && (h.obj.metadata as Obj).name === name) this.write(w, { type: h.type, object: h.obj });
    this.watchers.add(w);
    const secs = Number(url.searchParams.get('timeoutSeconds') ?? '1800');
    const t = setTimeout(() => res.end(), secs * 1000);
    res.on('close', () => {
      clearTimeout(t);
      this.watchers.delete(w);
    });
  }

  private broken(how: BrokenWatch, res: ServerResponse): void {
    if (how === 'hang') return;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    if (how === 'empty') return void res.end();
    if (how === 'error-after-200') return void res.end(`${JSON.stringify({ type: 'ERROR', object: status(500, 'InternalError', 'etcd unavailable') })}\n`);
    const keepAlive = setInterval(() => res.write('\n'), 200);
    res.on('close', () => clearInterval(keepAlive));
  }
}
