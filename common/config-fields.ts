/**
 * zod fields the servers' and the controller's configs share (each `src/config.ts` validates once at start,
 * naming the flag): a value parsed by a plain function whose error becomes the field's message, the
 * listen address, a duration in whole seconds within bounds, an http(s) URL, and the Kubernetes API URL.
 */
import { isIPv4 } from 'node:net';
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

const isHttpUrl = (v: string): boolean => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol);
/** An http(s) URL (authz, an issuer's JWKS). */
export const httpUrlField = () => z.string().refine(isHttpUrl, 'must be an http(s) URL');

/** Loopback by name or address: `localhost`, `[::1]`, any IPv4 in 127.0.0.0/8 (not a DNS name such as `127.example.com`). */
const isLoopback = (host: string): boolean => host === 'localhost' || host === '[::1]' || (isIPv4(host) && host.startsWith('127.'));
/**
 * The Kubernetes API URL (authn's Secret backend, the controller): http(s), plain http only to loopback —
 * the service-account bearer token must not cross a network in clear.
 */
export const k8sApiUrlField = () =>
  httpUrlField().refine((v) => !isHttpUrl(v) || new URL(v).protocol === 'https:' || isLoopback(new URL(v).hostname), 'plain http is allowed only to loopback (127.0.0.0/8, ::1, localhost); use https');
