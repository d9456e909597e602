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

function labelsMatch(p: CompiledPermission, req: AuthorizedRequest, v: VarValues): boolean {
  for (const [key, tpl] of p.labels) {
    if (!labelValues(req.Labels, key).some((val) => matchTemplate(tpl, val, v))) return false;
  }
  return true;
}

/** True when the permission's match fields all accept the request. */
export function permissionMatches(p: CompiledPermission, req: AuthorizedRequest, v: VarValues): boolean {
  return (
    matchTemplate(p.type, req.Type, v) &&
    (!p.ip || p.ip(req.IP)) &&
    (!p.service || matchTemplate(p.service, req.Service, v)) &&
    (!p.name || matchTemplate(p.name, req.Name, v)) &&
    (p.labels.length === 0 || labelsMatch(p, req, v))
  );
}

/** Decides one request. `bindings` must already be the account's exact + matching pattern bindings. */
export function decide(req: AuthorizedRequest, bindings: readonly BindingRef[], roles: RoleLookup): AuthorizedResponse {
  const requested = [...new Set(req.Actions)].sort();
  const granted = new Set<string>();
  outer: for (const b of bindings) {
    const role = roles(b.role_name);
    if (!role) continue;
    const v = vars(req, b);
    for (const p of role.permissions) {
      // Skip the matching work when the permission could not add anything new.
      if (!p.all && !requested.some((a) => !granted.has(a) && p.actions.has(a))) continue;
      if (!permissionMatches(p, req, v)) continue;
      for (const a of requested) if (p.all || p.actions.has(a)) granted.add(a);
      if (granted.size === requested.length) break outer;
    }
  }
  const actions = requested.filter((a) => granted.has(a));
  return { allowed: requested.length > 0 && actions.length === requested.length, actions };
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

/** Why a permission does not match, or null when it does. */
export function mismatchReason(p: CompiledPermission, req: AuthorizedRequest, v: VarValues): string | null {
  if (!matchTemplate(p.type, req.Type, v)) return describe('type', p.type, req.Type, v);
  if (p.ip && !p.ip(req.IP)) return `ip "${req.IP}" is not in ${p.raw.ip}`;
  if (p.service && !matchTemplate(p.service, req.Service, v)) return describe('service', p.service, req.Service, v);
  if (p.name && !matchTemplate(p.name, req.Name, v)) return describe('name', p.name, req.Name, v);
  for (const [key, tpl] of p.labels) {
    const have = labelValues(req.Labels, key);
    if (have.length === 0) return `label "${key}" is missing from the request`;
    if (!have.some((val) => matchTemplate(tpl, val, v))) return describe(`label ${key}`, tpl, have.join(','), v);
  }
  return null;
}

function bindingText(b: BindingRef): string {
  return `binding ${b.account_name} → ${b.role_name}${b.namespace !== null ? ` (namespace ${b.namespace})` : ''}`;
}

/** Same decision as {@link decide}, with the binding → role → permission behind every grant and every miss. */
export function explain(req: AuthorizedRequest, bindings: readonly BindingRef[], roles: RoleLookup): ExplainResult {
  const requested = [...new Set(req.Actions)].sort();
  const byAction = new Map<string, Grant[]>(requested.map((a) => [a, []]));
  const misses: string[] = [];
  if (bindings.length === 0) misses.push(`account "${req.Account}" has no bindings`);
  for (const b of bindings) {
    const role = roles(b.role_name);
    if (!role) {
      misses.push(`${bindingText(b)}: role "${b.role_name}" could not be loaded (its stored permissions no longer validate), so it grants nothing`);
      continue;
    }
    const v = vars(req, b);
    role.permissions.forEach((p, i) => {
      const where = `${bindingText(b)}, permission #${i}`;
      const reason = mismatchReason(p, req, v);
      const hits = requested.filter((a) => p.all || p.actions.has(a));
      if (reason) return void misses.push(`${where}: ${reason}`);
      if (hits.length === 0) return void misses.push(`${where}: matches, but grants only [${p.raw.actions.join(', ')}]`);
      for (const a of hits) byAction.get(a)?.push({ binding: b, permission_index: i, permission: p.raw });
    });
  }
  const per_action = requested.map((action) => {
    const granted_by = byAction.get(action) ?? [];
    return { action, granted: granted_by.length > 0, granted_by };
  });
  const actions = per_action.filter((x) => x.granted).map((x) => x.action);
  const allowed = requested.length > 0 && actions.length === requested.length;
  return { allowed, actions, requested, bindings_considered: bindings.length, per_action, misses: allowed ? [] : misses };
}
