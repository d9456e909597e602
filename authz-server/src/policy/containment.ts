/**
 * Whether a role, bound in `namespace`, can only ever grant on repositories under `<namespace>/`.
 * A scoped API token may bind only such roles (otherwise a team-a token could bind `*` to a role that
 * grants `shared/**` or `**`). The check is a proof, not a guess: anything it cannot show contained is
 * refused, with the reason.
 *
 * Per permission, with `${namespace}` replaced by the binding's namespace:
 * - `request_type` absent or exactly `repository` (catalog and other types are not namespaced);
 * - `name` present, and its fixed leading text (before any wildcard, `${account}` or `${labels:…}`, which
 *   the caller controls) starts with `<namespace>/`:
 *   glob: the literal run; `/regex/`: literal characters (escaped punctuation included), none followed by
 *   a quantifier, and no `|` outside parentheses anywhere (a top-level alternative would escape).
 * Repository names cannot contain `..` (distribution's grammar, enforced on every request), so a name
 * starting with `<namespace>/` is inside it.
 */
import type { Permission } from './permission.js';
import { parseTemplate, PatternError, type Template } from './pattern.js';

export type Containment = { contained: true } | { contained: false; index: number; reason: string };

const QUANTIFIER = /[?*+{]/;

/** The literal text a glob template starts with, `${namespace}` filled in. */
function globPrefix(tpl: Template, namespace: string): string {
  let out = '';
  for (const t of tpl.tokens) {
    if ('lit' in t) out += t.lit;
    else if ('v' in t && t.v === 'namespace') out += namespace;
    else break;
  }
  return out;
}

/** Whether `src` has a `|` outside every group (character classes and escapes skipped). */
function topLevelAlternation(src: string): boolean {
  let depth = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (c === '[') {
      i++;
      if (src[i] === '^') i++;
      if (src[i] === ']') i++;
      while (i < src.length && src[i] !== ']') i += src[i] === '\\' ? 2 : 1;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

/** The literal text a regex source starts with: plain [A-Za-z0-9/_-] or escaped punctuation, none quantified. */
function regexPrefix(src: string): string {
  let out = '';
  for (let i = 0; i < src.length; ) {
    let ch: string;
    let next: number;
    if (src[i] === '\\' && /[!-/:-@[-`{-~]/.test(src[i + 1] ?? '')) [ch, next] = [src[i + 1]!, i + 2];
    else if (/[A-Za-z0-9/_-]/.test(src[i]!)) [ch, next] = [src[i]!, i + 1];
    else break;
    if (QUANTIFIER.test(src[next] ?? '')) break;
    out += ch;
    i = next;
  }
  return out;
}

/** Regex source with `${namespace}` as its escaped value and other variables as one literal character (they are inserted literally). */
function regexSource(tpl: Template, namespace: string): string {
  return tpl.tokens.map((t) => ('src' in t ? t.src : 'v' in t && t.v === 'namespace' ? namespace.replace(/[!-/:-@[-`{-~]/g, '\\$&') : 'x')).join('');
}

function nameReason(name: string | undefined, namespace: string): string | null {
  if (name === undefined) return 'it has no name pattern, so it matches every repository';
  let tpl: Template;
  try {
    tpl = parseTemplate(name);
  } catch (e) {
    if (e instanceof PatternError) return `its name pattern "${name}" does not validate`;
    throw e;
  }
  const want = `${namespace}/`;
  if (tpl.kind === 'glob') {
    return globPrefix(tpl, namespace).startsWith(want) ? null : `name "${name}" can match repositories outside "${want}"`;
  }
  const src = regexSource(tpl, namespace);
  if (topLevelAlternation(src)) return `regex name "${name}" has a top-level alternative (|), which cannot be proven to stay inside "${want}"`;
  return regexPrefix(src).startsWith(want) ? null : `regex name "${name}" cannot be proven to match only repositories under "${want}"`;
}

/** Checks every permission; the first that can reach outside `namespace` is named. */
export function roleContainedIn(permissions: readonly Permission[], namespace: string): Containment {
  for (const [index, p] of permissions.entries()) {
    if (p.request_type !== undefined && p.request_type !== 'repository') {
      return { contained: false, index, reason: `request_type "${p.request_type}" is not namespaced (only "repository" is)` };
    }
    const reason = nameReason(p.name, namespace);
    if (reason) return { contained: false, index, reason };
  }
  return { contained: true };
}
