/**
 * When a credential is renewed. Robots: every `rotateEvery` from the last rotation recorded in the CR's
 * status (so a restart neither rotates everything at once nor forgets one that is due). Tokens: at 80 %
 * of the lifetime the API server actually gave (it may shorten what was asked), and before the token is
 * older than the issuer's maxTokenAge, since authn refuses older ones. Pure.
 */

export interface RobotSchedule {
  /** Rotate now? */
  due: boolean;
  /** When to come back for the next rotation (ms since epoch). */
  next: number;
}

/** `lastRotation` from status (ms) or undefined when it never rotated. */
export function robotSchedule(now: number, lastRotation: number | undefined, rotateEverySec: number): RobotSchedule {
  if (lastRotation === undefined || !Number.isFinite(lastRotation)) return { due: true, next: now + rotateEverySec * 1000 };
  const next = lastRotation + rotateEverySec * 1000;
  // A clock moved backwards (lastRotation in the future) must not postpone rotation by more than one period.
  if (next <= now || lastRotation > now + 60_000) return { due: true, next: now + rotateEverySec * 1000 };
  return { due: false, next };
}

/** When to request a new token for one issued at `iat` that expires at `exp` (ms). */
export function tokenRefreshAt(iat: number, exp: number, maxTokenAgeSec: number): number {
  const life = Math.max(0, exp - iat);
  return iat + Math.min(life * 0.8, maxTokenAgeSec * 1000 * 0.8);
}

/** Parses an RFC 3339 time from status; undefined when absent or not a time. */
export function parseTime(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

/** RFC 3339 with whole seconds, as metav1.Time is written (`2026-12-06T10:00:00Z`). */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * metav1.MicroTime: exactly six fractional digits (`2026-12-06T10:00:00.123456Z`). The API server
 * refuses the three digits of `toISOString()` in Lease `renewTime`/`acquireTime` and Event `eventTime`.
 */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
