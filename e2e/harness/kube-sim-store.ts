/**
 * The object store behind the SIMULATED Kubernetes API server (kube-api-sim.ts): namespaced objects of
 * any resource, one global resourceVersion counter, an event log that watches replay from a
 * resourceVersion (older than the compaction point → 410 Gone), optimistic concurrency (a stale
 * resourceVersion → 409 Conflict), `generation` bumped only by spec changes, the status subresource,
 * RFC 7386 merge-patch, and finalizers (DELETE only sets deletionTimestamp while any remain).
 */
import { randomUUID } from 'node:crypto';
import { isObject as isObj } from '../../common/is-object.js';

export type Obj = { apiVersion?: string; kind?: string; metadata: Record<string, unknown> & { name: string; namespace: string; resourceVersion: string }; [k: string]: unknown };
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface LoggedEvent {
  rv: number;
  plural: string;
  namespace: string;
  type: EventType;
  object: Obj;
}

export class ApiFailure extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** RFC 7386: objects merge, everything else replaces, null deletes. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const specOf = (o: Obj) => JSON.stringify(Object.fromEntries(Object.entries(o).filter(([k]) => !['metadata', 'status', 'apiVersion', 'kind'].includes(k))));

export class SimStore {
  private readonly objects = new Map<string, Map<string, Obj>>();
  readonly log: LoggedEvent[] = [];
  rv = 1000;
  /** Watches from a resourceVersion below this answer 410 Gone. */
  compactedAt = 0;
  listeners = new Set<(e: LoggedEvent) => void>();

  constructor(
    private readonly statusSubresource: (plural: string) => boolean,
    firstResourceVersion = 1000,
  ) {
    this.rv = firstResourceVersion;
  }

  private table(plural: string): Map<string, Obj> {
    let t = this.objects.get(plural);
    if (!t) this.objects.set(plural, (t = new Map()));
    return t;
  }

  list(plural: string, namespace?: string): Obj[] {
    return [...this.table(plural).values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace).sort((a, b) => (a.metadata.namespace + a.metadata.name).localeCompare(b.metadata.namespace + b.metadata.name));
  }

  get(plural: string, ns: string, name: string): Obj | undefined {
    return this.table(plural).get(`${ns}/${name}`);
  }

  /** Drops the event log: every watch from an older resourceVersion now gets 410 Gone (from the current one: not). */
  compact(): void {
    this.compactedAt = this.rv;
    this.log.length = 0;
  }

  private emit(plural: string, type: EventType, o: Obj): void {
    const e = { rv: Number(o.metadata.resourceVersion), plural, namespace: o.metadata.namespace, type, object: structuredClone(o) };
    this.log.push(e);
    if (this.log.length > 20_000) {
      this.log.splice(0, 10_000);
      // A watch resuming from a trimmed version gets 410 and lists again, as from a real API server; never a gap.
      this.compactedAt = Math.max(this.compactedAt, this.log[0]!.rv);
    }
    for (const l of this.listeners) l(e);
  }

  private bump(o: Obj): void {
    o.metadata.resourceVersion = String(++this.rv);
  }

  create(plural: string, ns: string, body: Obj): Obj {
    const name = body.metadata?.name ?? (typeof body.metadata?.generateName === 'string' ? `${body.metadata.generateName}${randomUUID().slice(0, 5)}` : undefined);
    if (!name) throw new ApiFailure(422, 'Invalid', 'metadata.name: Required value');
    if (this.get(plural, ns, name)) throw new ApiFailure(409, 'AlreadyExists', `${plural} "${name}" already exists`);
    const o = structuredClone(body);
    if (this.statusSubresource(plural)) delete o.status;
    o.metadata = { ...o.metadata, name, namespace: ns, uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), generation: 1, resourceVersion: '' };
    delete o.metadata.deletionTimestamp;
    this.bump(o);
    this.table(plural).set(`${ns}/${name}`, o);
    this.emit(plural, 'ADDED', o);
    return o;
  }

  /** PUT (`patch` undefined) or merge-patch of the object or its status. */
  update(plural: string, ns: string, name: string, body: unknown, opts: { status: boolean; patch: boolean }): Obj {
    const cur = this.get(plural, ns, name);
    if (!cur) throw new ApiFailure(404, 'NotFound', `${plural} "${name}" not found`);
    const asked = isObj(body) && isObj(body.metadata) ? body.metadata.resourceVersion : undefined;
    if (asked !== undefined && asked !== cur.metadata.resourceVersion) {
      throw new ApiFailure(409, 'Conflict', `Operation cannot be fulfilled on ${plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    const merged = (opts.patch ? mergePatch(cur, body) : structuredClone(body)) as Obj;
    let next: Obj;
    if (opts.status) next = { ...structuredClone(cur), status: merged.status };
    else {
      next = { ...merged, metadata: { ...merged.metadata, name, namespace: ns, uid: cur.metadata.uid, creationTimestamp: cur.metadata.creationTimestamp, generation: cur.metadata.generation, resourceVersion: '' } };
      if (cur.metadata.deletionTimestamp) next.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
      else delete next.metadata.deletionTimestamp;
      if (this.statusSubresource(plural)) next.status = cur.status;
      if (specOf(next) !== specOf(cur)) next.metadata.generation = Number(cur.metadata.generation ?? 1) + 1;
    }
    if (JSON.stringify({ ...next, metadata: { ...next.metadata, resourceVersion: '' } }) === JSON.stringify({ ...cur, metadata: { ...cur.metadata, resourceVersion: '' } })) return cur;
    this.bump(next);
    const finalizers = Array.isArray(next.metadata.finalizers) ? next.metadata.finalizers : [];
    if (next.metadata.deletionTimestamp && finalizers.length === 0) {
      this.table(plural).delete(`${ns}/${name}`);
      this.emit(plural, 'DELETED', next);
      return next;
    }
    this.table(plural).set(`${ns}/${name}`, next);
    this.emit(plural, 'MODIFIED', next);
    return next;
  }

  remove(plural: string, ns: string, name: string): Obj {
    const cur = this.get(plural, ns, name);
    if (!cur) throw new ApiFailure(404, 'NotFound', `${plural} "${name}" not found`);
    const finalizers = Array.isArray(cur.metadata.finalizers) ? cur.metadata.finalizers : [];
    if (finalizers.length) {
      if (cur.metadata.deletionTimestamp) return cur;
      const next = structuredClone(cur);
      next.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      this.bump(next);
      this.table(plural).set(`${ns}/${name}`, next);
      this.emit(plural, 'MODIFIED', next);
      return next;
    }
    this.table(plural).delete(`${ns}/${name}`);
    const gone = structuredClone(cur);
    this.bump(gone);
    this.emit(plural, 'DELETED', gone);
    return gone;
  }
}
