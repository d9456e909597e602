/**
 * Match patterns an admin writes into permissions (name, service, request_type, label values) and
 * into binding account names.
 *
 * - Glob: `*` and `?` stay inside one `/`-separated segment, `**` crosses segments; whole-string match.
 * - `/regex/`: RE2 syntax, full match, run by re2js (linear time) — admin input never reaches a
 *   backtracking engine. Globs that are not a plain literal/prefix are also compiled to RE2.
 * - `${namespace}`, `${account}`, `${labels:KEY}`: replaced by the value at decision time, always
 *   literally (a `*` in an account name is not a wildcard).
 * - Cost: a pattern's RE2 program is limited when written (MAX_PROGRAM_SIZE, variables counted as one
 *   character) and again at decision time with the variables' real values (MAX_DECISION_PROGRAM):
 *   `/(?:${labels:team}){300}/` repeats the value 300 times, so a 512-character label would compile to
 *   150 000 instructions. The size is predicted without compiling (each inserted character is one
 *   instruction per copy; the copies are counted when the pattern is written), and a permission over
 *   the budget does not match — fail closed, and the event loop never pays for it.
 */
import { RE2JS } from 're2js';

export type VarName = 'namespace' | 'account' | 'labels';
type GlobToken = { lit: string } | { wild: '*' | '**' | '?' } | { v: VarName; key?: string };
type RegexToken = { src: string } | { v: VarName; key?: string };

export interface Template {
  readonly source: string;
  readonly kind: 'glob' | 'regex';
  readonly vars: ReadonlySet<VarName>;
  readonly tokens: ReadonlyArray<GlobToken | RegexToken>;
  /** Set when the pattern has no variables: compiled once. */
  readonly fixed?: Matcher;
  /**
   * Set for the common shape "literals and ${namespace}/${account}, then optionally one trailing
   * `*` or `**`" (e.g. `${namespace}/**`): matched by string comparison, no per-request compiling.
   */
  readonly simple?: { parts: ReadonlyArray<string | { v: 'namespace' | 'account' }>; tail: '' | '*' | '**' };
  /**
   * For patterns with variables: RE2 instructions with every variable one character long (`base`), and
   * per variable how many instructions each further character of its value adds (`perChar`).
   */
  readonly cost?: { base: number; perChar: ReadonlyMap<string, number> };
}

export type Matcher = (value: string) => boolean;

export interface VarValues {
  namespace?: string | undefined;
  account?: string | undefined;
  labels?: Readonly<Record<string, readonly string[]>> | null | undefined;
}

/** Thrown by {@link parseTemplate}; the caller turns it into a 400 naming the field. */
export class PatternError extends Error {}

const VAR_RE = /\$\{([^}]*)\}/y;
/**
 * Largest RE2 program an admin pattern may compile to. RE2 matching is linear in the input, but
 * its cost per character grows with the program: `\pL{1000}` (1002 instructions) takes hundreds of
 * milliseconds per match in re2js, on every decision. 500 keeps the worst match in the low ms.
 */
export const MAX_PROGRAM_SIZE = 500;
/** Label-value combinations matched one by one; more become one alternation per variable. */
const MAX_COMBINATIONS = 64;
/** A pattern whose substituted form (label values inserted) grows beyond this never matches. */
const MAX_RESOLVED_SOURCE = 64 * 1024;
/**
 * Most RE2 instructions one permission may compile for one decision, with the real variable values
 * (all label-value combinations together). Compiling and matching 2 048 instructions costs about a
 * millisecond; 512-character values in an ordinary pattern stay well inside.
 */
export const MAX_DECISION_PROGRAM = 2048;

function parseVar(body: string, allowVars: boolean): { v: VarName; key?: string } {
  if (!allowVars) throw new PatternError(`variables like \${${body}} are not allowed here`);
  if (body === 'namespace' || body === 'account') return { v: body };
  const m = /^labels:(.+)$/.exec(body);
  if (m?.[1]) return { v: 'labels', key: m[1] };
  throw new PatternError(`unknown variable \${${body}} (use \${namespace}, \${account} or \${labels:KEY})`);
}

function tokenize(text: string, allowVars: boolean, glob: boolean): Array<GlobToken | RegexToken> {
  const out: Array<GlobToken | RegexToken> = [];
  const pushLit = (s: string): void => {
    const last = out[out.length - 1];
    if (glob) {
      if (last && 'lit' in last) out[out.length - 1] = { lit: last.lit + s };
      else out.push({ lit: s });
    } else if (last && 'src' in last) out[out.length - 1] = { src: last.src + s };
    else out.push({ src: s });
  };
  for (let i = 0; i < text.length; ) {
    const ch = text[i] as string;
    if (ch === '$' && text[i + 1] === '{') {
      VAR_RE.lastIndex = i;
      const m = VAR_RE.exec(text);
      if (!m) throw new PatternError('unterminated ${ (variables look like ${namespace})');
      out.push(parseVar(m[1] ?? '', allowVars));
      i += m[0].length;
    } else if (glob && ch === '*') {
      const dbl = text[i + 1] === '*';
      out.push({ wild: dbl ? '**' : '*' });
      i += dbl ? 2 : 1;
    } else if (glob && ch === '?') {
      out.push({ wild: '?' });
      i += 1;
    } else {
      pushLit(ch);
      i += 1;
    }
  }
  return out;
}

/**
 * Parses and validates a pattern. `allowVars` is false for account names (nothing to substitute).
 * Throws {@link PatternError} with a reason an admin can act on.
 */
export function parseTemplate(source: string, allowVars = true): Template {
  if (source.length === 0) throw new PatternError('must not be empty (leave the field out to match anything)');
  const isRegex = source.length >= 2 && source.startsWith('/') && source.endsWith('/');
  const body = isRegex ? source.slice(1, -1) : source;
  const tokens = tokenize(body, allowVars, !isRegex);
  const vars = new Set<VarName>();
  for (const t of tokens) if ('v' in t) vars.add(t.v);
  const kind = isRegex ? 'regex' : 'glob';
  if (isRegex && body.length === 0) throw new PatternError('empty regex //');
  // Validate with a placeholder for every variable so a bad or too costly pattern is refused when written.
  const probe = isRegex
    ? tokens.map((t) => ('src' in t ? t.src : 'x')).join('')
    : globProbe(tokens.map((t) => ('v' in t ? { lit: 'x' } : (t as Resolved))));
  if (probe !== undefined) checkProgram(probe, isRegex);
  const tpl: Template = { source, kind, vars, tokens };
  if (vars.size === 0) return { ...tpl, fixed: resolve(tpl, {}) };
  const simple = isRegex ? undefined : simpleShape(tokens as GlobToken[]);
  return simple ? { ...tpl, simple } : { ...tpl, cost: programCost(tokens, isRegex) };
}

const varKey = (t: { v: VarName; key?: string }): string => (t.v === 'labels' ? `labels:${t.key ?? ''}` : t.v);

/** Program size with each variable one character long, and what each further character of each variable adds. */
function programCost(tokens: ReadonlyArray<GlobToken | RegexToken>, isRegex: boolean): NonNullable<Template['cost']> {
  const size = (longer: string | undefined): number => {
    const src = isRegex
      ? tokens.map((t) => ('src' in t ? t.src : varKey(t as { v: VarName; key?: string }) === longer ? 'xx' : 'x')).join('')
      : globRegexSource(mergeLiterals(tokens.map((t): Resolved => ('v' in t ? { lit: varKey(t as { v: VarName; key?: string }) === longer ? 'xx' : 'x' } : (t as Resolved)))));
    return RE2JS.compile(src).programSize();
  };
  const base = size(undefined);
  const perChar = new Map<string, number>();
  for (const t of tokens) if ('v' in t && !perChar.has(varKey(t))) perChar.set(varKey(t), Math.max(0, size(varKey(t)) - base));
  return { base, perChar };
}

function checkProgram(src: string, isRegex: boolean): void {
  let size: number;
  try {
    size = RE2JS.compile(src).programSize();
  } catch (e) {
    throw new PatternError(`invalid regex: ${(e as Error).message}`);
  }
  if (size > MAX_PROGRAM_SIZE) {
    const what = isRegex ? 'regex' : 'glob';
    throw new PatternError(`${what} is too complex: it compiles to ${size} RE2 instructions (at most ${MAX_PROGRAM_SIZE}); use fewer wildcards, groups or repetition counts`);
  }
}

/** Escapes every ASCII punctuation character, so a value stays literal even inside a `[...]` class. */
function quote(v: string): string {
  return v.replace(/[!-/:-@[-`{-~]/g, '\\$&');
}

function simpleShape(tokens: GlobToken[]): Template['simple'] {
  const last = tokens[tokens.length - 1];
  const tail = last && 'wild' in last && last.wild !== '?' ? last.wild : '';
  const body = tail ? tokens.slice(0, -1) : tokens;
  const parts: Array<string | { v: 'namespace' | 'account' }> = [];
  for (const t of body) {
    if ('lit' in t) parts.push(t.lit);
    else if ('v' in t && (t.v === 'namespace' || t.v === 'account')) parts.push({ v: t.v });
    else return undefined;
  }
  return { parts, tail };
}

function matchSimple(shape: NonNullable<Template['simple']>, value: string, values: VarValues): boolean {
  let prefix = '';
  for (const p of shape.parts) {
    if (typeof p === 'string') prefix += p;
    else {
      const v = values[p.v];
      if (v === undefined || (p.v === 'namespace' && v === '')) return false;
      prefix += v;
    }
  }
  if (shape.tail === '') return value === prefix;
  if (!value.startsWith(prefix)) return false;
  return shape.tail === '**' || !value.includes('/', prefix.length);
}

const never: Matcher = () => false;

/**
 * Builds the matcher for the given variable values (a label may have several). Up to
 * MAX_COMBINATIONS combinations are matched one by one (each a cheap, cached matcher); beyond that
 * each variable becomes one alternation of its literal values, so nothing multiplies out.
 */
function resolve(tpl: Template, values: VarValues): Matcher {
  const options: string[][] = [];
  let combos = 1;
  let size = 0;
  // Predicted instructions: one combination with the longest values, and the alternation of all values.
  let longest = tpl.cost?.base ?? 0;
  let alternated = tpl.cost?.base ?? 0;
  for (const t of tpl.tokens) {
    if ('v' in t) {
      const vals = varValues(t, values);
      if (vals.length === 0) return never;
      const per = tpl.cost?.perChar.get(varKey(t)) ?? 0;
      let max = 0;
      let sum = 0;
      for (const v of vals) {
        max = Math.max(max, v.length);
        sum += v.length + 2;
      }
      longest += per * Math.max(0, max - 1);
      alternated += per * sum;
      combos *= vals.length;
      options.push(vals.map((v) => (tpl.kind === 'regex' ? quote(v) : '\u0000L' + v)));
    } else options.push(['src' in t ? t.src : 'lit' in t ? '\u0000L' + t.lit : '\u0000W' + t.wild]);
    for (const o of options[options.length - 1] as string[]) size += o.length;
    if (size > MAX_RESOLVED_SOURCE) return never;
  }
  const build = (parts: string[]): Matcher => (tpl.kind === 'regex' ? cachedRegex(parts.join('')) : globMatcher(parts));
  // Globs whose every combination is a string comparison compile nothing: no budget needed.
  const free = tpl.kind === 'glob' && combos <= MAX_COMBINATIONS && everyComboFast(options);
  const oneByOne = combos <= MAX_COMBINATIONS && (free || !tpl.cost || combos * longest <= MAX_DECISION_PROGRAM);
  if (!oneByOne && tpl.cost && alternated > MAX_DECISION_PROGRAM) return never;
  if (combos === 1 && oneByOne) return build(options.map((o) => o[0] as string));
  if (oneByOne) {
    let all: string[][] = [[]];
    for (const o of options) all = all.flatMap((c) => o.map((x) => [...c, x]));
    const matchers = all.map(build);
    return (v) => matchers.some((m) => m(v));
  }
  return build(options.map((o) => (o.length === 1 ? (o[0] as string) : alternation(o, tpl.kind))));
}

/** Whether a glob with these substituted parts is matched by string comparison whatever the values (values are literals). */
function everyComboFast(options: string[][]): boolean {
  const shape = options.map((o) => (o[0]?.[1] === 'L' ? '\u0000Lx' : (o[0] as string)));
  return globFast(mergeLiterals(shape.map((p) => (p[1] === 'L' ? { lit: p.slice(2) } : { wild: p.slice(2) as '*' | '**' | '?' })))) !== undefined;
}

function alternation(options: string[], kind: Template['kind']): string {
  if (kind === 'regex') return `(?:${options.join('|')})`;
  return `\u0000R(?:${options.map((o) => quote(o.slice(2))).join('|')})`;
}

function varValues(t: { v: VarName; key?: string }, values: VarValues): readonly string[] {
  if (t.v === 'labels') return labelValues(values.labels, t.key);
  const v = values[t.v];
  // A binding without a namespace never satisfies ${namespace}; an empty value is treated the same.
  return v === undefined || (t.v === 'namespace' && v === '') ? [] : [v];
}

/** A request label's values; own keys only, so a key like `constructor` never reaches Object.prototype. */
export function labelValues(labels: VarValues['labels'], key: string | undefined): readonly string[] {
  if (!labels || key === undefined || !Object.hasOwn(labels, key)) return [];
  const v = labels[key];
  return Array.isArray(v) ? v : [];
}

/** Matches `value` against the template with the given variable values. */
export function matchTemplate(tpl: Template, value: string, values: VarValues): boolean {
  if (tpl.fixed) return tpl.fixed(value);
  if (tpl.simple) return matchSimple(tpl.simple, value, values);
  return resolve(tpl, values)(value);
}

/** Plain text of a template after substitution, for explain/effective-permission output. */
export function substitute(tpl: Template, values: VarValues): string {
  if (tpl.vars.size === 0) return tpl.source;
  const body = tpl.tokens
    .map((t) => {
      if (!('v' in t)) return 'src' in t ? t.src : 'lit' in t ? t.lit : t.wild;
      const vals = varValues(t, values);
      if (vals.length === 0) return t.v === 'labels' ? `\${labels:${t.key}}` : `\${${t.v}}`;
      return vals.length === 1 ? (vals[0] as string) : `{${vals.join(',')}}`;
    })
    .join('');
  return tpl.kind === 'regex' ? `/${body}/` : body;
}

// Glob parts arrive as "\0L<literal>", "\0W<wildcard>" or "\0R<RE2 alternation of quoted values>",
// so substituted values stay literal.
type Resolved = { lit: string } | { wild: '*' | '**' | '?' } | { re: string };

function globMatcher(parts: string[]): Matcher {
  const toks: Resolved[] = parts.map((p) => {
    const body = p.slice(2);
    return p[1] === 'L' ? { lit: body } : p[1] === 'R' ? { re: body } : { wild: body as '*' | '**' | '?' };
  });
  const merged = mergeLiterals(toks);
  return globFast(merged) ?? cachedRegex(globRegexSource(merged));
}

function mergeLiterals(toks: readonly Resolved[]): Resolved[] {
  const out: Resolved[] = [];
  for (const t of toks) {
    const last = out[out.length - 1];
    if ('lit' in t && last && 'lit' in last) out[out.length - 1] = { lit: last.lit + t.lit };
    else out.push(t);
  }
  return out;
}

/** String-comparison matchers for the common glob shapes; undefined when the glob needs RE2. */
function globFast(toks: readonly Resolved[]): Matcher | undefined {
  const [a, b, c] = toks;
  if (toks.length === 0) return (v) => v === '';
  if (toks.length === 1 && a && 'lit' in a) return (v) => v === a.lit;
  if (toks.length === 1 && a && 'wild' in a && a.wild === '**') return () => true;
  if (toks.length === 2 && a && 'lit' in a && b && 'wild' in b && b.wild === '**') return (v) => v.startsWith(a.lit);
  if (toks.length === 2 && a && 'lit' in a && b && 'wild' in b && b.wild === '*') {
    return (v) => v.startsWith(a.lit) && !v.includes('/', a.lit.length);
  }
  if (toks.length === 3 && a && 'lit' in a && b && 'wild' in b && b.wild === '**' && c && 'lit' in c) {
    return (v) => v.length >= a.lit.length + c.lit.length && v.startsWith(a.lit) && v.endsWith(c.lit);
  }
  return undefined;
}

function globRegexSource(toks: readonly Resolved[]): string {
  return toks
    .map((t) => ('lit' in t ? quote(t.lit) : 're' in t ? t.re : t.wild === '**' ? '(?s:.*)' : t.wild === '*' ? '[^/]*' : '[^/]'))
    .join('');
}

/** The RE2 source a variable-free glob compiles to, or undefined when it is matched by string comparison. */
function globProbe(toks: readonly Resolved[]): string | undefined {
  const merged = mergeLiterals(toks);
  return globFast(merged) ? undefined : globRegexSource(merged);
}

// Compiled RE2 programs keyed by source; bounded so per-namespace substitutions cannot grow it forever.
const cache = new Map<string, Matcher>();
const CACHE_MAX = 10_000;

function cachedRegex(src: string): Matcher {
  let m = cache.get(src);
  if (!m) {
    let re: RE2JS;
    try {
      re = RE2JS.compile(src);
    } catch {
      // Only reachable if a substituted value breaks a regex; fail closed.
      return never;
    }
    m = (v) => re.matches(v);
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(src, m);
  }
  return m;
}
