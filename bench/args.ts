/**
 * Command-line flags of the bench scripts, read where each script declares its constants: `--name value` or
 * `--name=value` numbers (clamped where a bench bounds them), strings (optionally one of a list), and `--switch`
 * flags; and numbers from environment variables (`numEnv`) for the benches configured that way. Every flag and
 * variable read is listed by `--help` (`helpIfAsked`, called before the bench starts anything). A number whose
 * value is missing or not a number, or a string outside its list, stops the script naming the flag or variable:
 * a typo must not become a NaN-second run.
 */
const argv = process.argv.slice(2);
const known: string[] = [];

function raw(name: string): string | undefined {
  const joined = argv.find((a) => a.startsWith(`--${name}=`));
  if (joined !== undefined) return joined.slice(name.length + 3);
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  return argv[i + 1] ?? '';
}

type Range = { min?: number; max?: number };

function stop(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** `label` (a flag or variable) with its default and bounds, as `--help` lists it. */
function listNumber(label: string, def: number, range: Range): void {
  const bounds = [range.min !== undefined ? `at least ${range.min}` : '', range.max !== undefined ? `at most ${range.max}` : ''].filter(Boolean);
  known.push(`${label}    default ${def}${bounds.length ? ` (${bounds.join(', ')})` : ''}`);
}

/** `v` as a number clamped to `range`, `def` when absent; a value that is not a number stops the script naming `what`. */
function checkedNumber(what: string, v: string | undefined, def: number, range: Range): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) stop(`${what} needs a number, got ${JSON.stringify(v)}`);
  return Math.min(range.max ?? Infinity, Math.max(range.min ?? -Infinity, n));
}

/** `--name N`: `def` when absent, clamped to `[min, max]` when given. */
export function numArg(name: string, def: number, range: Range = {}): number {
  listNumber(`--${name} N`, def, range);
  return checkedNumber(`--${name}`, raw(name), def, range);
}

/** Environment variable `name` as a number: `def` when unset (or empty), clamped to `[min, max]` when given. */
export function numEnv(name: string, def: number, range: Range = {}): number {
  listNumber(`${name}=N`, def, range);
  const v = process.env[name];
  return checkedNumber(name, v === '' ? undefined : v, def, range);
}

/** `--name TEXT`: `def` when absent; with a list of `allowed` values, anything else stops the script naming them. */
export function strArg(name: string, def: string, hint: string | readonly string[] = 'TEXT'): string {
  const allowed = typeof hint === 'string' ? undefined : hint;
  known.push(`--${name} ${allowed ? allowed.join('|') : hint}    default ${def}`);
  const v = raw(name) ?? def;
  if (allowed && !allowed.includes(v)) stop(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v;
}

/** `--name`: a switch, off unless given. */
export function flag(name: string, what: string): boolean {
  known.push(`--${name}    ${what}`);
  return argv.includes(`--${name}`);
}

/** With `--help`: prints `usage` and the flags read so far, and exits before the bench starts anything. */
export function helpIfAsked(usage: string): void {
  if (!argv.includes('--help')) return;
  process.stdout.write(`${usage}\n\n${known.map((k) => `  ${k}`).join('\n')}\n`);
  process.exit(0);
}
