/**
 * The decision: granted = union over the account's bindings (exact and pattern bindings) of
 * (permission actions ∩ requested actions), `*` in a permission granting every requested action.
 * Additive only, order-independent; actions sorted. Denied is a result, never an exception.
 */
import type { AuthorizedRequest, AuthorizedResponse } from '../../../common/authorized.js';
import { labelValues, matchTemplate, substitute, type Template, type VarValues } from './pattern.js';
import type { CompiledPermission } from './permission.js';

export interface BindingRef {
  account_name: string;
  role_name: string;
  /** null when the binding has no namespace: `${namespace}` then never matches. */
  namespace: string | null;
}

export interface CompiledRole {
  readonly name: string;
  readonly permissions: readonly CompiledPermission[];
}

export type RoleLookup = (name: string) => CompiledRole | undefined;

function vars(req: AuthorizedRequest, b: BindingRef): VarValues {
  return { namespace: b.namespace ?? undefined, account: req.Account, labels: req.Labels };
}

/** The first match field of a permission that refuses a request (null: all accept it); worded only by explain. */
type Mismatch =
  | { field: 'type' | 'ip' | 'service' | 'name' }
  | { field: 'label'; key: string; tpl: Template; missing: boolean };

const TYPE: Mismatch = { field: 'type' };
const IP: Mismatch = { field: 'ip' };
const SERVICE: Mismatch = { field: 'service' };
const NAME: Mismatch = { field: 'name' };

function firstMismatch(p: CompiledPermission, req: AuthorizedRequest, v: VarValues): Mismatch | null {
  if (!matchTemplate(p.type, req.Type, v)) return TYPE;
  if (p.ip && !p.ip(req.IP)) return IP;
  if (p.service && !matchTemplate(p.service, req.Service, v)) return SERVICE;
  if (p.name && !matchTemplate(p.name, req.Name, v)) return NAME;
  for (const [key, tpl] of p.labels) {
    const have = labelValues(req.Labels, key);
    if (have.length === 0) return { field: 'label', key, tpl, missing: true };
    if (!have.some((val) => matchTemplate(tpl, val, v))) return { field: 'label', key, tpl, missing: false };
  }
  return null;
}

/** Every step of a decision being explained; {@link decide} passes none and skips what cannot change its answer. */
interface Trace {
  noRole(b: BindingRef): void;
  /** `hits`: the requested actions the permission grants (empty when it does not match). */
  permission(b: BindingRef, index: number, p: CompiledPermission, miss: Mismatch | null, hits: readonly string[]): void;
}

const NO_HITS: readonly string[] = Object.freeze([]);

/** The one decision loop: `decide` runs it bare, `explain` with a trace (then nothing is skipped). */
function evaluate(req: AuthorizedRequest, bindings: readonly BindingRef[], roles: RoleLookup, trace?: Trace): AuthorizedResponse {
  const requested = [...new Set(req.Actions)].sort();
  const granted = new Set<string>();
  outer: for (const b of bindings) {
    const role = roles(b.role_name);
    if (!role) {
      trace?.noRole(b);
      continue;
    }
    const v = vars(req, b);
    const perms = role.permissions;
    for (let i = 0; i < perms.length; i++) {
      const p = perms[i] as CompiledPermission;
      // Skip the matching work when the permission could not add anything new.
      if (!trace && !p.all && !requested.some((a) => !granted.has(a) && p.actions.has(a))) continue;
      const miss = firstMismatch(p, req, v);
      if (trace) trace.permission(b, i, p, miss, miss ? NO_HITS : requested.filter((a) => p.all || p.actions.has(a)));
      if (miss) continue;
      for (const a of requested) if (p.all || p.actions.has(a)) granted.add(a);
      if (!trace && granted.size === requested.length) break outer;
    }
  }
  const actions = requested.filter((a) => granted.has(a));
  return { allowed: requested.length > 0 && actions.length === requested.length, actions };
}

/** Decides one request. `bindings` must already be the account's exact + matching pattern bindings. */
export function decide(req: AuthorizedRequest, bindings: readonly BindingRef[], roles: RoleLookup): AuthorizedResponse {
  return evaluate(req, bindings, roles);
}

export interface Grant {
  binding: BindingRef;
  permission_index: number;
  permission: CompiledPermission['raw'];
}

export interface ExplainResult extends AuthorizedResponse {
  requested: string[];
  bindings_considered: number;
  per_action: Array<{ action: string; granted: boolean; granted_by: Grant[] }>;
  /** Why each considered permission did not grant anything (only when something was denied). */
  misses: string[];
}

function describe(label: string, tpl: Template, got: string, v: VarValues): string {
  const resolved = substitute(tpl, v);
  const shown = resolved === tpl.source ? `"${tpl.source}"` : `"${tpl.source}" (here ${resolved})`;
  return `${label} "${got}" does not match ${shown}`;
}

function mismatchText(m: Mismatch, p: CompiledPermission, req: AuthorizedRequest, v: VarValues): string {
  switch (m.field) {
    case 'type':
      return describe('type', p.type, req.Type, v);
    case 'ip':
      return `ip "${req.IP}" is not in ${p.raw.ip}`;
    case 'service':
      return describe('service', p.service as Template, req.Service, v);
    case 'name':
      return describe('name', p.name as Template, req.Name, v);
    case 'label':
      return m.missing ? `label "${m.key}" is missing from the request` : describe(`label ${m.key}`, m.tpl, labelValues(req.Labels, m.key).join(','), v);
  }
}

function bindingText(b: BindingRef): string {
  return `binding ${b.account_name} → ${b.role_name}${b.namespace !== null ? ` (namespace ${b.namespace})` : ''}`;
}

/**
 * The decision of {@link decide} — the same pass, traced — with the binding → role → permission behind
 * every grant and every miss. `shown` limits the trace (not the decision) to some bindings: an API
 * token sees only its namespaces' (routes/authorized.ts).
 */
export function explain(req: AuthorizedRequest, bindings: readonly BindingRef[], roles: RoleLookup, shown: (b: BindingRef) => boolean = () => true): ExplainResult {
  const requested = [...new Set(req.Actions)].sort();
  const byAction = new Map<string, Grant[]>(requested.map((a) => [a, []]));
  const misses: string[] = [];
  const decision = evaluate(req, bindings, roles, {
    noRole(b) {
      if (shown(b)) misses.push(`${bindingText(b)}: role "${b.role_name}" could not be loaded (its stored permissions no longer validate), so it grants nothing`);
    },
    permission(b, i, p, miss, hits) {
      if (!shown(b)) return;
      const where = `${bindingText(b)}, permission #${i}`;
      if (miss) return void misses.push(`${where}: ${mismatchText(miss, p, req, vars(req, b))}`);
      if (hits.length === 0) return void misses.push(`${where}: matches, but grants only [${p.raw.actions.join(', ')}]`);
      for (const a of hits) byAction.get(a)?.push({ binding: b, permission_index: i, permission: p.raw });
    },
  });
  const considered = bindings.filter(shown).length;
  if (considered === 0) misses.unshift(`account "${req.Account}" has no bindings`);
  const per_action = requested.map((action) => ({ action, granted: decision.actions.includes(action), granted_by: byAction.get(action) ?? [] }));
  return { ...decision, requested, bindings_considered: considered, per_action, misses: decision.allowed ? [] : misses };
}
