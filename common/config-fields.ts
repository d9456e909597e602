/**
 * zod fields the servers' and the controller's configs share (each `src/config.ts` validates once at start,
 * naming the flag): a value parsed by a plain function whose error becomes the field's message, the
 * listen address, and a duration in whole seconds within bounds.
 */
import { z } from 'zod';
import { parseDurationSeconds } from './duration.js';
import { parseListen } from './listen.js';

/**
 * A string turned into `T` by `parse`; what `parse` throws is the field's message — also as a union's
 * string branch (`continue`: the union reports this issue of its one matching branch, not "Invalid input").
 */
export function parsedString<T>(parse: (v: string) => T) {
  return z.string().transform((v, ctx) => {
    try {
      return parse(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message, continue: true });
      return z.NEVER;
    }
  });
}

/** `HOST:PORT` or `[v6]:PORT` → `{host, port}` for `server.listen`. */
export const listenField = () => parsedString(parseListen);

/** A duration (`90s`, `5m`, `1h`, `30d`, bare seconds) in whole seconds, from `min` to `max`. */
export const durationSecondsField = (min: number, max: number) =>
  parsedString((v) => {
    const s = parseDurationSeconds(v);
    // Seconds end up in NumericDate claims and timers: a fraction is a typo, not a setting.
    if (!Number.isInteger(s)) throw new Error(`"${v}" must be a whole number of seconds`);
    if (s < min || s > max) throw new Error(`"${v}" must be between ${min}s and ${max}s`);
    return s;
  });
