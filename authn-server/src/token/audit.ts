/**
 * Bounds on what a token request's audit line may hold. Most of it is chosen by the client —
 * `client_id` (up to the 64 KiB body), the user name (up to a 16 KiB Basic header), 64 scopes — and a
 * log line per request must not let ten refused requests add 650 KB to the log. Strings are cut to
 * AUDIT_MAX_CHARS characters (marked `…[+N]`), lists to AUDIT_MAX_ITEMS entries (then one
 * `…[+N more]` entry); numbers and booleans pass as they are.
 */
import { createHash } from 'node:crypto';

const AUDIT_MAX_CHARS = 256;

/**
 * A user name that looks like a secret — someone typed the robot secret or a token into the user-name
 * field — is not logged as typed: a robot secret (`tgr_…`), a JWT (`eyJ…`), or 20+ characters of
 * base64 alphabet mixing upper case, lower case and digits (no account name tollgate makes looks like
 * that: namespaces are lower case, robots and issuer accounts carry a `:`). It is logged as
 * `[redacted secret-like name sha256:<8 hex>]`, enough to tell repeats apart. Names that logged in are
 * never redacted (they are accounts).
 */
export function redactSecretLike(name: string): string {
  const looksSecret =
    /^(tgr_|eyJ)/.test(name) || (name.length >= 20 && /^[A-Za-z0-9_\-+/=.]+$/.test(name) && /[A-Z]/.test(name) && /[a-z]/.test(name) && /[0-9]/.test(name));
  if (!looksSecret) return name;
  return `[redacted secret-like name sha256:${createHash('sha256').update(name).digest('hex').slice(0, 8)}]`;
}
const AUDIT_MAX_ITEMS = 16;

export function truncateText(text: string): string {
  if (text.length <= AUDIT_MAX_CHARS) return text;
  return `${text.slice(0, AUDIT_MAX_CHARS)}…[+${text.length - AUDIT_MAX_CHARS}]`;
}

function bound(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return truncateText(value);
  if (Array.isArray(value)) {
    const kept = value.slice(0, AUDIT_MAX_ITEMS).map((v) => bound(v, depth + 1));
    return value.length > AUDIT_MAX_ITEMS ? [...kept, `…[+${value.length - AUDIT_MAX_ITEMS} more]`] : kept;
  }
  if (value !== null && typeof value === 'object' && depth < 3) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bound(v, depth + 1)]));
  }
  return value;
}

/** True when something in `value` is over a bound (what `bound` would change). */
function oversized(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return value.length > AUDIT_MAX_CHARS;
  if (Array.isArray(value)) return value.length > AUDIT_MAX_ITEMS || value.some((v) => oversized(v, depth + 1));
  if (value !== null && typeof value === 'object' && depth < 3) {
    return Object.values(value).some((v) => oversized(v, depth + 1));
  }
  return false;
}

/**
 * The audit record with every attacker-controlled string and list bounded. Nearly every record is within
 * the bounds: it is then logged as it is, without copying it on every token request.
 */
export function boundAudit(audit: Record<string, unknown>): Record<string, unknown> {
  return oversized(audit, 0) ? (bound(audit, 0) as Record<string, unknown>) : audit;
}
