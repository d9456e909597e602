/**
 * authn's view of the one SIMULATED Kubernetes API server (e2e/harness/kube-api-sim.ts, which the
 * controller tests use too): a bearer token (`sim-token`), RBAC `resourceNames` for the one Secret name
 * the backend may read (a list/watch without `fieldSelector=metadata.name=<it>`, or a GET of another
 * Secret, is 403), no bookmarks until `bookmarkEveryMs` is set (kube-apiserver: about once a minute),
 * and Secret-shaped helpers (`put` with plain-text values, `delete`). Faults — `failNext` (status with
 * headers / garbage / hang), `brokenWatch` (issue 18's four broken watches), `sendError`, `sendRaw`,
 * `dropWatches`, `compact`, `goneAs` — are the shared server's.
 */
import { KubeApiSim, type BrokenWatch, type Fault, type FaultKind, type SimRequest } from '../../../e2e/harness/kube-api-sim.js';

export type { BrokenWatch };
export type Obj = Record<string, unknown>;

export class SimulatedKubeApi {
  readonly token = 'sim-token';
  private readonly api: KubeApiSim;

  constructor(readonly allowedName = 'tollgate-registry') {
    this.api = new KubeApiSim({ token: this.token, secretName: allowedName, bookmarkMs: 0, resourceVersion: 100 });
  }

  /** Serves plain http, or https with the given PEM key and certificate (as a real API server does). */
  async start(tls?: { key: string; cert: string }): Promise<this> {
    await this.api.start(tls);
    return this;
  }

  stop(): Promise<void> {
    return this.api.stop();
  }

  get url(): string {
    return this.api.url;
  }

  get requests(): SimRequest[] {
    return this.api.requests;
  }

  get watcherCount(): number {
    return this.api.watcherCount;
  }

  /** Every watch misbehaves this way until set back to undefined. */
  get brokenWatch(): BrokenWatch | undefined {
    return this.api.brokenWatch;
  }
  set brokenWatch(how: BrokenWatch | undefined) {
    this.api.brokenWatch = how;
  }

  /** How a too-old watch resourceVersion is answered. */
  get goneAs(): 'status' | 'error-event' {
    return this.api.goneAs;
  }
  set goneAs(how: 'status' | 'error-event') {
    this.api.goneAs = how;
  }

  /** Sends a BOOKMARK on every open watch every `ms` (undefined stops). */
  set bookmarkEveryMs(ms: number | undefined) {
    this.api.bookmarkEveryMs = ms;
  }

  /** Creates or replaces a Secret (`data` values given as plain strings are base64-encoded). */
  put(namespace: string, name: string, data: Record<string, string>, opts: { raw?: boolean; type?: string } = {}): Obj {
    const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, opts.raw ? v : Buffer.from(v).toString('base64')]));
    const prev = this.api.store.get('secrets', namespace, name);
    const obj = { kind: 'Secret', apiVersion: 'v1', metadata: { ...(prev?.metadata ?? {}), name, namespace }, type: opts.type ?? 'Opaque', data: encoded };
    if (!prev) return this.api.store.create('secrets', namespace, obj as Parameters<KubeApiSim['store']['create']>[2]);
    return this.api.store.update('secrets', namespace, name, { ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } }, { status: false, patch: false });
  }

  delete(namespace: string, name: string): void {
    if (this.api.store.get('secrets', namespace, name)) this.api.store.remove('secrets', namespace, name);
  }

  /** Forgets history: a watch from an older resourceVersion now gets 410 Gone. */
  compact(): void {
    this.api.store.compact();
  }

  bookmark(): void {
    this.api.bookmark();
  }

  /** An ERROR event with a Status of `code` on every open watch. */
  sendError(code: number, message = 'internal error'): void {
    this.api.sendError(code, message);
  }

  sendRaw(line: string): void {
    this.api.sendRaw(line);
  }

  /** Destroys every open watch connection mid-stream. */
  dropWatches(): void {
    this.api.breakWatches();
  }

  failNext(kind: FaultKind, fault: Fault, times = 1): void {
    this.api.failNext(kind, fault, times);
  }

  clearFaults(): void {
    this.api.clearFaults();
  }
}
