/**
 * Command-line flags of the bench scripts, read where each script declares its constants: `--name value` or
 * `--name=value` numbers (clamped where a bench bounds them), strings, and `--switch` flags. Every flag read
 * is listed by `--help` (`helpIfAsked`, called before the bench starts anything). A number flag whose value
 * is missing or not a number stops the script naming the flag: a typo must not become a NaN-second run.
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

/** `--name N`: `def` when absent, clamped to `[min, max]` when given. */
export function numArg(name: string, def: number, range: { min?: number; max?: number } = {}): number {
  const bounds = [range.min !== undefined ? `at least ${range.min}` : '', range.max !== undefined ? `at most ${range.max}` : ''].filter(Boolean);
  known.push(`--${name} N    default ${def}${bounds.length ? ` (${bounds.join(', ')})` : ''}`);
  const v = raw(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) {
    process.stderr.write(`--${name} needs a number, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return Math.min(range.max ?? Infinity, Math.max(range.min ?? -Infinity, n));
}

/** `--name TEXT`: `def` when absent. */
export function strArg(name: string, def: string, hint = 'TEXT'): string {
  known.push(`--${name} ${hint}    default ${def}`);
  return raw(name) ?? def;
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
