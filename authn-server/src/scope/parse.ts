/**
 * Scope parsing (distribution token spec): every `scope` value split on spaces; in each, the type
 * ends at the FIRST `:` and the actions start after the LAST `:` (names may hold `host:port`).
 * Rules: type `[a-z0-9]+` with an optional `(class)`; name ≤ 255 characters, empty (zot's
 * `repository::pull`) or the spec's `[hostname[:port] '/'] component ('/' component)*` with
 * lowercase components (what a registry puts in its challenge; `..`, `//`, uppercase paths and
 * wildcards are refused); ≥ 1 action; at most MAX_SCOPES resource scopes per request. Duplicate
 * resources are merged (union of actions) so authz is asked once.
 */
import { REPOSITORY_NAME, REPOSITORY_NAME_HINT } from '../../../common/names.js';
import { AuthnError } from '../errors.js';

const MAX_SCOPES = 64;

export interface Scope {
  type: string;
  class?: string;
  name: string;
  /** Sorted, unique. */
  actions: string[];
}

const TYPE = /^([a-z0-9]+)(?:\(([a-z0-9]+)\))?$/;
// distribution's name grammar, shared with authz-server's /authorized (common/names.ts).
const NAME = REPOSITORY_NAME;
const ACTION = /^(?:\*|[a-z][a-z0-9_-]*)$/;

function bad(raw: string, why: string): AuthnError {
  const shown = raw.length > 80 ? `${raw.slice(0, 80)}…` : raw;
  return new AuthnError(400, 'invalid_scope', `malformed scope "${shown}": ${why}`, { field: 'scope' });
}

export function parseScope(raw: string): Scope {
  const first = raw.indexOf(':');
  const last = raw.lastIndexOf(':');
  if (first < 0 || first === last) throw bad(raw, 'expected type:name:actions');
  const typeText = raw.slice(0, first);
  const name = raw.slice(first + 1, last);
  const actionText = raw.slice(last + 1);
  const t = TYPE.exec(typeText);
  if (!t) throw bad(raw, `resource type "${typeText}" must be lowercase letters/digits, optionally with a (class)`);
  if (name.length > 255) throw bad(raw, 'resource name is longer than 255 characters');
  if (!NAME.test(name)) throw bad(raw, `resource name "${name.slice(0, 80)}" is not a repository name (${REPOSITORY_NAME_HINT})`);
  const actions = actionText.split(',');
  if (actions.length > 16) throw bad(raw, 'more than 16 actions');
  for (const a of actions) if (!ACTION.test(a) || a.length > 64) throw bad(raw, a ? `invalid action "${a}"` : 'empty action');
  return { type: t[1]!, ...(t[2] ? { class: t[2] } : {}), name, actions: [...new Set(actions)].sort() };
}

/** Parses every value (each may hold several space-separated scopes), merging duplicates. */
export function parseScopes(values: readonly string[]): Scope[] {
  const byKey = new Map<string, Scope>();
  let count = 0;
  for (const value of values) {
    for (const raw of value.split(' ')) {
      if (raw === '') continue;
      if (++count > MAX_SCOPES) throw new AuthnError(400, 'invalid_scope', `too many scopes: at most ${MAX_SCOPES} per request`, { field: 'scope' });
      const s = parseScope(raw);
      const key = `${s.type}\u0000${s.class ?? ''}\u0000${s.name}`;
      const seen = byKey.get(key);
      if (seen) seen.actions = [...new Set([...seen.actions, ...s.actions])].sort();
      else byKey.set(key, s);
    }
  }
  return [...byKey.values()];
}

/** Spec string form (`type(class):name:a,b`), used in the OAuth `scope` reply and in audit logs. */
export function formatScope(s: Scope): string {
  return `${s.type}${s.class ? `(${s.class})` : ''}:${s.name}:${s.actions.join(',')}`;
}
