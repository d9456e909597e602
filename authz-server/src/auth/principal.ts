/**
 * Who is calling an admin route (contracts.md §1). The auth middleware resolves the bearer token to a
 * Principal and leaves it in `res.locals.principal`; every admin route decides from that, never from
 * the header, so another authentication (the console's session cookie) can mount the same routers
 * behind its own middleware. `admin` may do everything; a `scoped` API token only its abilities in its
 * namespaces (exact names, globs like `team-*`, or `*` for all).
 */
import { parseTemplate, type Matcher } from '../policy/pattern.js';
import type { Ability } from './abilities.js';

export { ABILITIES, type Ability } from './abilities.js';
export type ScopedPrincipal = { kind: 'scoped'; id: string; name: string; namespaces: string[]; abilities: Ability[] };
export type Principal = { kind: 'admin'; name: 'admin' } | ScopedPrincipal;

export const ADMIN_PRINCIPAL: Principal = { kind: 'admin', name: 'admin' };

/** Abilities that include another: whoever may create and delete robots may also rotate them. */
const IMPLIED: Partial<Record<Ability, readonly Ability[]>> = { 'robots:manage': ['robots:rotate'] };

export function hasAbility(p: Principal, ability: Ability): boolean {
  if (p.kind === 'admin') return true;
  return p.abilities.some((a) => a === ability || (IMPLIED[a]?.includes(ability) ?? false));
}

// Scope entries are validated when the token is made (tokens/schema.ts); compiled once per entry.
const compiled = new Map<string, Matcher>();
function entryMatcher(entry: string): Matcher {
  let m = compiled.get(entry);
  if (!m) {
    const fixed = entry === '*' ? () => true : parseTemplate(entry, false).fixed;
    m = fixed ?? (() => false);
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(entry, m);
  }
  return m;
}

/** Whether a namespace scope entry (exact, glob, `*`) covers `namespace`. */
export const scopeCovers = (entry: string, namespace: string): boolean => entryMatcher(entry)(namespace);

/**
 * A scope entry as an anchored POSIX regular expression with the same meaning as {@link scopeCovers}
 * (`*` and `?` inside one `/`-separated segment, `**` across, `*` alone: every namespace), for a
 * database to filter by (store/postgres). Entries hold only `[a-z0-9*?-]` (tokens/schema.ts); anything
 * else is quoted anyway.
 */
export function scopeEntryRegex(entry: string): string {
  if (entry === '*') return '^.+$';
  const body = entry.replace(/\*\*|\*|\?|[^*?]/g, (t) => (t === '**' ? '.*' : t === '*' ? '[^/]*' : t === '?' ? '[^/]' : /[A-Za-z0-9-]/.test(t) ? t : `\\${t}`));
  return `^${body}$`;
}

/** Whether the principal's namespaces include `namespace` (the admin's include every namespace). */
export function inNamespaces(p: Principal, namespace: string | null | undefined): boolean {
  if (p.kind === 'admin') return true;
  if (namespace === null || namespace === undefined || namespace === '') return false;
  return p.namespaces.some((e) => scopeCovers(e, namespace));
}

/** The ability, in that namespace (or, without one, anywhere in its scope). */
export function can(p: Principal, ability: Ability, namespace?: string | null): boolean {
  return hasAbility(p, ability) && (namespace === undefined || inNamespaces(p, namespace));
}
