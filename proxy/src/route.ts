/**
 * Request → scope: which repository (or the catalog) a distribution API request touches and what the
 * registry will demand for it (PROTOCOL.md §11). Rules:
 * - decided on the raw request target, exactly as the registry will route it: no percent-decoding, no
 *   `..` resolution; a `%`, a backslash, an uppercase letter in the name, a name outside distribution's
 *   grammar (common/names.ts: `..`, `//`, trailing dots) or a path two routes could claim → 404, never
 *   forwarded;
 * - `GET/HEAD` manifests, blobs, tags list, referrers → pull; uploads and manifest `PUT` → pull + push;
 *   `DELETE` manifests/blobs → delete; `/v2/_catalog` → `registry:catalog:*`; `/v2/` → authentication only;
 * - cross-repository mount: push on the target and pull on `from`, the latter optional (without it the
 *   mount is dropped and the registry starts a normal upload); the upload-start query is rebuilt from
 *   the values decided on, so the registry cannot read another `from` than the proxy did.
 * A pure function: table-tested in proxy/test/route.test.ts and path-corpus.test.ts.
 */
import { REPOSITORY_NAME, REPOSITORY_NAME_MAX } from '../../common/names.js';

export type RouteKind = 'base' | 'catalog' | 'manifest' | 'blob' | 'upload-start' | 'upload' | 'tags' | 'referrers';

export interface NeededScope {
  type: 'repository' | 'registry';
  name: string;
  /** Actions the request needs: all must be granted. */
  actions: string[];
  /** Asked too and put in the upstream token when granted, but not needed (registry 2.8 wants `delete` to cancel an upload). */
  extra?: string[];
  /** A scope the request works without (the source of a cross-repository mount). */
  optional?: boolean;
}

export interface Route {
  ok: true;
  kind: RouteKind;
  /** The repository, for repository routes. */
  name?: string;
  scopes: NeededScope[];
  /** The request target to forward (path + query); the path is the client's, byte for byte. */
  target: string;
  /** Set on an upload start that asks for a cross-repository mount. */
  mount?: { digest: string; from: string };
}

export interface NoRoute {
  ok: false;
  status: 400 | 404 | 405;
  code: 'NAME_INVALID' | 'UNSUPPORTED' | 'DIGEST_INVALID';
  message: string;
  allow?: string;
}

const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const UUID = '[A-Za-z0-9_.=-]+';
const DIGEST_RE = new RegExp(`^${DIGEST}$`);

interface Pattern {
  kind: RouteKind;
  re: RegExp;
  methods: Record<string, { actions: string[]; extra?: string[] }>;
}

const PULL = { actions: ['pull'] };
const PUSH = { actions: ['pull', 'push'] };
const DELETE = { actions: ['delete'] };
// Every repository route ends in a fixed keyword and a last segment without "/": the name is what comes before.
const PATTERNS: Pattern[] = [
  { kind: 'manifest', re: new RegExp(`^/v2/(.+)/manifests/(${TAG}|${DIGEST})$`), methods: { GET: PULL, HEAD: PULL, PUT: PUSH, DELETE } },
  { kind: 'tags', re: /^\/v2\/(.+)\/tags\/list$/, methods: { GET: PULL, HEAD: PULL } },
  { kind: 'blob', re: new RegExp(`^/v2/(.+)/blobs/(${DIGEST})$`), methods: { GET: PULL, HEAD: PULL, DELETE } },
  { kind: 'upload-start', re: /^\/v2\/(.+)\/blobs\/uploads\/?$/, methods: { POST: PUSH } },
  { kind: 'upload', re: new RegExp(`^/v2/(.+)/blobs/uploads/(${UUID})$`), methods: { GET: PUSH, PATCH: PUSH, PUT: PUSH, DELETE: { actions: ['pull', 'push'], extra: ['delete'] } } },
  { kind: 'referrers', re: new RegExp(`^/v2/(.+)/referrers/(${DIGEST})$`), methods: { GET: PULL, HEAD: PULL } },
];

const notFound = (message: string, code: NoRoute['code'] = 'UNSUPPORTED'): NoRoute => ({ ok: false, status: 404, code, message });
const notAllowed = (methods: string[]): NoRoute => ({ ok: false, status: 405, code: 'UNSUPPORTED', message: `method not allowed (use ${methods.join(', ')})`, allow: methods.join(', ') });

/** A name the proxy will decide on: the repository grammar, lowercase only (a host part may not carry case either). */
function isRepositoryName(name: string): boolean {
  return name !== '' && name.length <= REPOSITORY_NAME_MAX && !/[A-Z]/.test(name) && REPOSITORY_NAME.test(name);
}

/** Maps one request; `target` is the raw request target as received (`req.url`). */
export function mapRequest(method: string, target: string): Route | NoRoute {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q + 1);
  // Percent-encoding, backslashes and anything outside the grammar's alphabet never name a route.
  if (!/^\/v2\/[A-Za-z0-9._\-/:=[\]]*$/.test(path) && path !== '/v2/') return notFound('no such route');
  if (path === '/v2/') return method === 'GET' || method === 'HEAD' ? { ok: true, kind: 'base', scopes: [], target } : notAllowed(['GET', 'HEAD']);
  if (path === '/v2/_catalog') {
    if (method !== 'GET') return notAllowed(['GET']);
    return { ok: true, kind: 'catalog', scopes: [{ type: 'registry', name: 'catalog', actions: ['*'] }], target };
  }
  const hits = PATTERNS.flatMap((p) => {
    const m = p.re.exec(path);
    return m ? [{ p, name: m[1]! }] : [];
  });
  if (hits.length !== 1) return notFound(hits.length ? 'ambiguous route' : 'no such route');
  const { p, name } = hits[0]!;
  if (!isRepositoryName(name)) return notFound(`repository name "${name.slice(0, 80)}" is not valid (lowercase components joined by "/")`, 'NAME_INVALID');
  const need = p.methods[method];
  if (!need) return notAllowed(Object.keys(p.methods));
  const scope: NeededScope = { type: 'repository', name, actions: need.actions, ...(need.extra ? { extra: need.extra } : {}) };
  if (p.kind !== 'upload-start') return { ok: true, kind: p.kind, name, scopes: [scope], target };
  return uploadStart(name, path, query, scope);
}

/** The upload start: only `mount`, `from` and `digest` are forwarded, re-encoded from the decoded values. */
function uploadStart(name: string, path: string, query: string, scope: NeededScope): Route | NoRoute {
  const params = new URLSearchParams(query);
  const one = (key: string): string | undefined | NoRoute => {
    const all = params.getAll(key);
    if (all.length > 1) return { ok: false, status: 400, code: 'UNSUPPORTED', message: `query field "${key}" given ${all.length} times` };
    return all[0];
  };
  const [mount, from, digest] = [one('mount'), one('from'), one('digest')];
  for (const v of [mount, from, digest]) if (typeof v === 'object') return v;
  const m = mount as string | undefined;
  const f = from as string | undefined;
  const d = digest as string | undefined;
  if (d !== undefined && !DIGEST_RE.test(d)) return { ok: false, status: 400, code: 'DIGEST_INVALID', message: 'query field "digest" is not a digest' };
  const kept: string[] = [];
  let mountOf: Route['mount'];
  if (m !== undefined && f !== undefined && DIGEST_RE.test(m) && isRepositoryName(f)) {
    mountOf = { digest: m, from: f };
    kept.push(`mount=${encodeURIComponent(m)}`, `from=${encodeURIComponent(f)}`);
  }
  if (d !== undefined) kept.push(`digest=${encodeURIComponent(d)}`);
  const target = kept.length ? `${path}?${kept.join('&')}` : path;
  const scopes: NeededScope[] = [scope];
  if (mountOf && mountOf.from !== name) scopes.push({ type: 'repository', name: mountOf.from, actions: ['pull'], optional: true });
  return { ok: true, kind: 'upload-start', name, scopes, target, ...(mountOf ? { mount: mountOf } : {}) };
}

/** The upload-start target without its mount: what is forwarded when `from` may not be read. */
export function withoutMount(route: Route): string {
  const q = route.target.indexOf('?');
  if (q < 0) return route.target;
  const kept = route.target.slice(q + 1).split('&').filter((kv) => !kv.startsWith('mount=') && !kv.startsWith('from='));
  return kept.length ? `${route.target.slice(0, q)}?${kept.join('&')}` : route.target.slice(0, q);
}
